"""Phone numbers however they are written are removed from free text; ordinary numbers stay.

(The basic forms, e-mail and messenger ids are tested in ``test_auth.py``.) Here: dots between
groups, digit-by-digit with spaces, full-width digits and Chinese numerals (一三九…, 幺 for 1,
〇/零 for 0, the financial 壹贰叁…), mixed into Chinese text.
"""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survey_app.auth import REDACTED, redact_contact_details

CHINESE = st.text(alphabet=st.sampled_from("我们对服务很满意，希望改进停车收费价格。商场超市"), max_size=20)
MOBILE = st.builds(lambda second, rest: f"1{second}{rest:09d}", st.integers(3, 9), st.integers(0, 10**9 - 1))
SPOKEN = {"0": "〇零", "1": "一幺壹", "2": "二贰", "3": "三叁", "4": "四肆", "5": "五伍", "6": "六陆", "7": "七柒",
          "8": "八捌", "9": "九玖"}


@st.composite
def written(draw) -> str:
    """A mobile number as people write it in a comment box."""
    number = draw(MOBILE)
    style = draw(st.sampled_from(["dots", "spaced", "chinese", "chinese_grouped", "mixed"]))
    if style == "dots":
        return f"{number[:3]}.{number[3:7]}.{number[7:]}"
    if style == "spaced":
        return draw(st.sampled_from([" ", "  ", "-", "\u3000"])).join(number)
    spoken = "".join(draw(st.sampled_from(SPOKEN[digit])) for digit in number)
    if style == "chinese":
        return spoken
    if style == "chinese_grouped":
        return f"{spoken[:3]} {spoken[3:7]} {spoken[7:]}"
    return number[:3] + spoken[3:]  # 139一二三四五六七八


@settings(max_examples=300, deadline=None)
@given(before=CHINESE, contact=written(), after=CHINESE)
def test_phone_numbers_in_any_writing_are_removed(before, contact, after):
    assert redact_contact_details(f"{before}电话{contact}。{after}") == f"{before}电话{REDACTED}。{after}"


@pytest.mark.parametrize("text", [
    "139.1234.5678", "1 3 9 1 2 3 4 5 6 7 8", "一三九一二三四五六七八", "幺三九幺二三四五六七八",
    "壹叁玖壹贰叁肆伍陆柒捌", "电话 一三九 一二三四 五六七八 谢谢", "０５１３－８５１２３４５６",
])
def test_the_reported_forms_are_removed(text):
    result = redact_contact_details(text)
    assert REDACTED in result
    assert not any(ch.isdigit() or ch in "〇零一二三四五六七八九幺壹贰叁肆伍陆柒捌玖" for ch in result.replace(REDACTED, ""))


@pytest.mark.parametrize("text", [
    "2026年满意度 85 分", "二〇二六年三月", "价格 120 元，2024-05-01 买的", "满意度 4.5 分", "2025.03.12 投诉",
    "打分 5 4 5 3", "第 123 456 号", "一五一十地说了", "排队十五分钟", "3 个 2 元", "v1.2.3 版本",
])
def test_years_scores_dates_and_words_are_kept(text):
    assert redact_contact_details(text) == text


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.sampled_from("满意分元年月日，。 .-0123456789一二三〇"), max_size=30))
def test_only_runs_of_seven_or_more_digits_are_removed(text):
    result = redact_contact_details(text)
    if REDACTED not in result:
        assert result == text
    else:
        assert sum(ch.isdigit() or ch in "一二三〇" for ch in text) >= 7

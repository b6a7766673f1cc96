"""Results in words (issue 13): the hint follows from the distance to the target and the further
interviews; reasons and the design are worded in the interface language, missing numbers as "—"."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from analysis import OVERALL, SurveyDesign
from analysis.targets import assess_target
from survey_app.i18n import t
from survey_app.wording import design_summary, distance_text, format_number, format_value, hint_text, reasons_text
from tests.analysis.test_targets import elderly_care, make_target

ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")


def elderly_row(n: int = 40, interviews: int = 1000, successes: int = 27) -> pd.Series:
    """The elderly-care card with enough respondents for an estimate: 67.5% against 80%."""
    design = SurveyDesign(elderly_care(n, interviews, successes), psu="psu", strata="district", nest=True)
    row = assess_target(design, "y", target=make_target(0.80)).to_frame().loc[OVERALL]
    return pd.concat([row, pd.Series({"statistic": "proportion"})])  # as the report's overview has it


def test_a_card_twelve_points_below_says_so_and_how_many_interviews_would_decide():
    row = elderly_row()
    assert row["verdict"] == "inconclusive" and not row["too_few"]
    extra = int(row["extra_interviews"])
    assert extra > 5 * row["n"]        # the old rule (further interviews > 5 x respondents): "almost equal"
    zh, en = hint_text(row, "zh"), hint_text(row, "en")
    assert zh == t("estimates.hint_toward_not_met", "zh", extra=f"{extra:,}", distance=t(
        "estimates.below", "zh", difference="12.5 个百分点", se=f"{abs(row['distance_se']):.1f}"))
    assert "12.5 percentage points below the target" in en and f"{extra:,} more completed interviews" in en
    assert "hardly" not in en and "难以" not in zh


def test_an_estimate_on_the_target_says_more_interviews_will_hardly_decide():
    row = pd.Series({"estimate": 0.789, "threshold": 0.8, "statistic": "proportion", "distance_se": -0.33,
                     "extra_interviews": 11451, "interviews": 308, "hint": "on threshold"})
    assert hint_text(row, "en") == t("estimates.hint_on_threshold", "en", extra="11,451", times="37",
                                     distance=t("estimates.below", "en", difference="1.1 percentage points", se="0.3"))
    never = row.copy()
    never["estimate"], never["extra_interviews"] = 0.8, pd.NA
    assert hint_text(never, "zh") == t("estimates.hint_on_threshold_never", "zh")
    assert distance_text(never, "zh") == t("estimates.equal", "zh")


def test_no_hint_below_the_minimum_sample_or_without_data():
    for hint in ("too few", "no data"):
        assert hint_text(pd.Series({"hint": hint}), "zh") is None


def test_reasons_and_design_are_worded_without_english_in_chinese(rng):
    reasons = (("effective n", 24.8), ("ci width", 0.41), ("relative ci width", 1.5), ("df", 1.0))
    zh = reasons_text(reasons, "zh")
    assert zh == "有效样本量 24.8 < 30；区间宽度 0.41 ≥ 0.30；相对区间宽度 150.0% > 130%；自由度 1 < 8"
    assert not ENGLISH_WORD.search(zh)
    data = pd.DataFrame({"y": rng.integers(0, 2, 60).astype(float), "psu": np.arange(60) % 6,
                         "district": np.arange(60) % 3})
    design = SurveyDesign(data, psu="psu", strata="district", nest=True, lonely_psu="adjust")
    text = design_summary(design, "zh")
    assert text.startswith("抽样设计：60 名受访者，3 层，6 个初级抽样单元（PSU），自由度 3")
    assert not ENGLISH_WORD.search(text.replace("PSU", ""))


@pytest.mark.parametrize("missing", [float("nan"), None, pd.NA, np.inf])
def test_missing_numbers_are_a_dash(missing):
    assert format_value(missing, "proportion", "zh") == "—"
    assert format_number(missing, ".2f", "en") == "—"


def test_a_distance_of_less_than_a_tenth_of_a_standard_error_is_not_shown_as_zero():
    row = pd.Series({"estimate": 0.7013, "threshold": 0.7, "statistic": "proportion", "distance_se": 0.0418})
    assert distance_text(row, "zh") == t("estimates.above", "zh", difference="0.1 个百分点", se="0.04")

"""The questionnaire model: construction checks, skip logic, answer checks."""
from __future__ import annotations

import dataclasses
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from questionnaires import Choice, Group, Question, Questionnaire, QuestionnaireError, Text

YES_NO = (Choice("yes", Text("是", "Yes")), Choice("no", Text("否", "No")))
CHANNELS = tuple(Choice(code, Text(zh, en)) for code, zh, en in
                 [("phone", "电话", "Phone"), ("web", "网络", "Web"), ("other", "其他", "Other")])


def small_questionnaire(**changes) -> Questionnaire:
    groups = (
        Group("start", Text("开始", "Start"), (
            Question("note", "hello", Text("您好", "Hello")),
            Question("select_one", "consent", Text("同意吗", "Consent?"), list_name="yes_no", required=True),
        )),
        Group("main", Text("主要", "Main"), relevant="${consent} = 'yes'", questions=(
            Question("integer", "age", Text("年龄", "Age"), required=True, constraint=". >= 18 and . <= 99",
                     constraint_message=Text("年龄须在18至99岁之间", "Age must be 18 to 99")),
            Question("select_one", "complained", Text("投诉过吗", "Complained?"), list_name="yes_no", required=True,
                     required_message=Text("请回答是否投诉", "Say whether you complained")),
            Question("select_multiple", "channels", Text("渠道", "Channels"), list_name="channels", required=True,
                     relevant="${complained} = 'yes'"),
            Question("text", "channel_other", Text("其他渠道", "Other channel"), required=True,
                     relevant="selected(${channels}, 'other')"),
            Question("decimal", "spent", Text("花费", "Spent"), constraint=". > 0"),
            Question("text", "comment", Text("意见", "Comment")),
        )),
    )
    fields = dict(id="small", version="1", title=Text("小问卷", "Small"), groups=groups,
                  choice_lists={"yes_no": YES_NO, "channels": CHANNELS})
    fields.update(changes)
    return Questionnaire(**fields)


@pytest.fixture
def form() -> Questionnaire:
    return small_questionnaire()


COMPLETE = {"consent": "yes", "age": 40, "complained": "yes", "channels": ["phone", "other"],
            "channel_other": "信件", "spent": 12.5, "comment": "无"}


def test_text_falls_back_to_chinese_and_rejects_unknown_language():
    assert Text("是", "Yes").get("en") == "Yes"
    assert Text("是", "Yes").get("zh") == "是"
    assert Text("是").get("en") == "是"
    with pytest.raises(ValueError, match="lang='fr'.*zh, en"):
        Text("是").get("fr")
    with pytest.raises(QuestionnaireError, match="missing zh label"):
        Text("")


def test_objects_are_frozen(form):
    with pytest.raises(dataclasses.FrozenInstanceError):
        form.id = "other"
    with pytest.raises(dataclasses.FrozenInstanceError):
        form.question("age").required = False


def test_questions_are_flat_and_in_order(form):
    assert [q.name for q in form.questions] == [
        "hello", "consent", "age", "complained", "channels", "channel_other", "spent", "comment"]
    assert form.question("age").type == "integer"
    assert form.choices("channels") == CHANNELS
    assert form.choices(form.question("consent")) == YES_NO
    assert form.group_of("age").name == "main"


def test_unknown_question_and_choices_of_non_select_are_errors(form):
    with pytest.raises(QuestionnaireError, match="has no question 'agee'"):
        form.question("agee")
    with pytest.raises(QuestionnaireError, match="integer, which has no choices"):
        form.choices("age")
    with pytest.raises(QuestionnaireError, match="has no question or group 'nope'"):
        form.is_relevant("nope", {})


def test_skip_logic_follows_group_and_question_relevance(form):
    assert not form.is_relevant("age", {})
    assert not form.is_relevant(form.group("main"), {"consent": "no"})
    assert form.is_relevant("age", {"consent": "yes"})
    assert not form.is_relevant("channels", {"consent": "yes", "complained": "no"})
    assert form.is_relevant("channels", {"consent": "yes", "complained": "yes"})
    # a question is relevant only if its group is, whatever its own expression says
    assert not form.is_relevant("channels", {"consent": "no", "complained": "yes"})
    # stale answers of skipped questions do not switch later questions on
    assert not form.is_relevant("channel_other", {"consent": "yes", "complained": "no", "channels": ["other"]})


def test_visible_questions_of_a_screen(form):
    names = [q.name for q in form.visible_questions("main", {"consent": "yes", "complained": "no"})]
    assert names == ["age", "complained", "spent", "comment"]
    assert form.visible_questions("main", {"consent": "no"}) == ()
    assert [q.name for q in form.visible_questions(form.group("start"), {})] == ["hello", "consent"]


def test_clean_drops_skipped_blank_and_unknown_answers(form):
    answers = {"consent": "yes", "age": 30, "complained": "no", "channels": ["web"], "comment": "  ",
               "spent": None, "not_a_question": 1}
    assert form.clean(answers) == {"consent": "yes", "age": 30, "complained": "no"}
    assert form.clean({**COMPLETE, "consent": "no"}) == {"consent": "no"}
    assert form.clean(COMPLETE) == COMPLETE


def test_missing_required(form):
    assert form.missing_required({}) == ["consent"]
    assert form.missing_required({"consent": "no"}) == []
    assert form.missing_required({"consent": "yes"}) == ["age", "complained"]
    assert form.missing_required({"consent": "yes", "age": 30, "complained": "yes", "channels": []}) == ["channels"]
    assert form.missing_required({"consent": "yes", "age": 30, "complained": "yes", "channels": ["other"]}) == [
        "channel_other"]
    assert form.missing_required(COMPLETE) == []


@pytest.mark.parametrize(
    ("name", "value", "zh", "en"),
    [
        ("age", None, "此题为必答题。", "This question is required."),
        ("complained", None, "请回答是否投诉", "Say whether you complained"),
        ("age", 17, "年龄须在18至99岁之间", "Age must be 18 to 99"),
        ("age", 100, "年龄须在18至99岁之间", "Age must be 18 to 99"),
        ("age", 30.5, "请输入整数。", "Enter a whole number."),
        ("age", "30", "请输入整数。", "Enter a whole number."),
        ("age", True, "请输入整数。", "Enter a whole number."),
        ("spent", -1.0, "答案不符合要求，请检查。", "This answer is not valid; please check it."),
        ("spent", float("nan"), "请输入数字。", "Enter a number."),
        ("spent", "12", "请输入数字。", "Enter a number."),
        ("consent", "maybe", "请从列表中选择一个选项。", "Choose one of the listed options."),
        ("consent", ["yes"], "请从列表中选择一个选项。", "Choose one of the listed options."),
        ("channels", ["phone", "fax"], "请只选择列表中的选项，每项最多一次。", "Choose only listed options, each at most once."),
        ("channels", ["phone", "phone"], "请只选择列表中的选项，每项最多一次。", "Choose only listed options, each at most once."),
        ("channels", "phone", "请只选择列表中的选项，每项最多一次。", "Choose only listed options, each at most once."),
        ("comment", 5, "请输入文字。", "Enter text."),
    ],
)
def test_check_answer_returns_the_bilingual_message(form, name, value, zh, en):
    answers = {**COMPLETE, name: value}
    assert form.check_answer(name, value, answers, "zh") == zh
    assert form.check_answer(form.question(name), value, answers, "en") == en


@pytest.mark.parametrize(("name", "value"), [("age", 18), ("age", 99), ("spent", 3), ("spent", 0.01),
                                             ("comment", None), ("spent", None), ("channels", ("web",))])
def test_check_answer_accepts_valid_answers(form, name, value):
    assert form.check_answer(name, value, {**COMPLETE, name: value}, "en") is None


def test_check_answer_rejects_unknown_language(form):
    with pytest.raises(ValueError, match="lang='de'"):
        form.check_answer("age", 30, {}, "de")


def test_constraint_sees_other_answers():
    form = small_questionnaire()
    groups = (*form.groups, Group("more", Text("更多", "More"), (
        Question("integer", "years_here", Text("居住年数", "Years here"),
                 constraint=". <= ${age}", constraint_message=Text("不能超过年龄", "Cannot exceed age")),)))
    form = small_questionnaire(groups=groups)
    assert form.check_answer("years_here", 41, {"consent": "yes", "age": 40}, "en") == "Cannot exceed age"
    assert form.check_answer("years_here", 40, {"consent": "yes", "age": 40}, "en") is None


def test_page_errors_cover_visible_questions_only(form):
    answers = {"consent": "yes", "age": 12, "complained": "no", "channels": ["fax"]}
    assert form.page_errors("main", answers, "en") == {"age": "Age must be 18 to 99"}
    assert form.page_errors("main", {"consent": "no"}, "en") == {}
    assert form.page_errors("start", {}, "zh") == {"consent": "此题为必答题。"}
    assert form.page_errors("main", COMPLETE, "zh") == {}


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda f: {"choice_lists": {"yes_no": YES_NO}}, "choice list 'channels' does not exist"),
        (lambda f: {"groups": (*f.groups, Group("extra", Text("额外", "Extra"),
                                                (Question("text", "age", Text("重复", "Dup")),)))},
         "question 'age': duplicate name"),
        (lambda f: {"groups": (*f.groups, Group("start", Text("额外", "Extra"),
                                                (Question("text", "x", Text("x", "x")),)))},
         "duplicate name 'start'"),
        (lambda f: {"groups": (Group("g", Text("组", "G"), (
            Question("text", "a", Text("a", "a"), relevant="${b} = 1"),
            Question("text", "b", Text("b", "b")))),)},
         "question 'a': relevant '${b} = 1' refers to 'b', which is not asked before it"),
        (lambda f: {"groups": (Group("g", Text("组", "G"), (
            Question("text", "a", Text("a", "a"), relevant="${zz} = 1"),)),)},
         "question 'a': relevant '${zz} = 1' refers to unknown question 'zz'"),
        (lambda f: {"groups": (Group("g", Text("组", "G"), (
            Question("note", "n", Text("n", "n")),
            Question("text", "a", Text("a", "a"), constraint="${n} = 1"))),)},
         "refers to note 'n'"),
        (lambda f: {"groups": (Group("g", Text("组"), (Question("text", "a", Text("a", "a")),)),)},
         "group 'g': label has no English (en) text"),
        (lambda f: {"choice_lists": {"yes_no": (Choice("yes", Text("是")),), "channels": CHANNELS}},
         "choice 'yes' label has no English"),
        (lambda f: {"choice_lists": {"yes_no": YES_NO + YES_NO[:1], "channels": CHANNELS}},
         "duplicate choice name 'yes'"),
        (lambda f: {"languages": ("zh", "fr")}, "languages ['zh', 'fr'] not supported"),
        (lambda f: {"default_language": "en", "languages": ("zh",)}, "default_language 'en' is not among"),
        (lambda f: {"version": 1}, "version must be a non-empty string"),
        (lambda f: {"groups": (Group("g", Text("组", "G"), (Question("note", "n", Text("n", "n"), required=True),)),)},
         "a note takes no answer"),
        (lambda f: {"groups": ()}, "has no groups"),
    ],
)
def test_inconsistent_questionnaires_are_refused(change, fragment):
    base = small_questionnaire()
    with pytest.raises(QuestionnaireError) as caught:
        small_questionnaire(**change(base))
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        (dict(type="slider", name="q", label=Text("x")), "unknown type 'slider'"),
        (dict(type="select_one", name="q", label=Text("x")), "select_one needs a choice list"),
        (dict(type="text", name="q", label=Text("x"), list_name="yes_no"), "text question has no choice list"),
        (dict(type="text", name="2q", label=Text("x")), "bad name"),
        (dict(type="text", name="q", label=Text("x"), relevant="${a} ="), "malformed relevant"),
        (dict(type="text", name="q", label=Text("x"), relevant=". > 1"), "uses '.'"),
        (dict(type="text", name="q", label=Text("x"), constraint_message=Text("x")), "without a constraint"),
        (dict(type="text", name="q", label=Text("x"), required_message=Text("x")), "not required"),
        (dict(type="text", name="q", label="x"), "label must be a Text"),
    ],
)
def test_bad_questions_are_refused(fields, fragment):
    with pytest.raises(QuestionnaireError) as caught:
        Question(**fields)
    assert fragment in str(caught.value)
    assert "question 'q'" in str(caught.value) or "2q" in str(caught.value)


answer_values = st.fixed_dictionaries({}, optional={
    "consent": st.sampled_from(["yes", "no", None]),
    "age": st.one_of(st.none(), st.integers(0, 120)),
    "complained": st.sampled_from(["yes", "no", None]),
    "channels": st.lists(st.sampled_from(["phone", "web", "other"]), unique=True),
    "channel_other": st.sampled_from(["", "信件", None]),
    "spent": st.one_of(st.none(), st.floats(-5, 5)),
    "comment": st.text(max_size=3),
    "unrelated": st.integers(),
})


@settings(max_examples=200, deadline=None)
@given(answer_values)
def test_clean_is_idempotent_and_keeps_what_is_asked(answers):
    form = small_questionnaire()
    cleaned = form.clean(answers)
    assert form.clean(cleaned) == cleaned
    assert form.missing_required(cleaned) == form.missing_required(answers)
    for question in form.questions:
        relevant = form.is_relevant(question, answers)
        assert relevant == form.is_relevant(question, cleaned)
        if question.name in cleaned:
            assert relevant and cleaned[question.name] == answers[question.name]
        if question.name in form.missing_required(answers):
            assert relevant and question.required and question.name not in cleaned


def test_questionnaires_survive_pickling_and_hashing(form):
    # the Streamlit app caches questionnaires, which pickles and hashes them
    copy = pickle.loads(pickle.dumps(form))
    assert copy == form and hash(copy) == hash(form)
    assert copy.missing_required({"consent": "yes"}) == form.missing_required({"consent": "yes"})
    assert small_questionnaire(version="2") != form

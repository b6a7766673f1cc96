"""XLSForm in and out: round trips, what pyxform makes of the written workbook, reading
hand-made workbooks and errors that name the sheet, row and column."""
from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyxform.xls2xform import convert

from questionnaires import Choice, Group, Question, Questionnaire, QuestionnaireError, Text, shipped_questionnaires
from questionnaires.xlsform import XLSFormError, check_with_pyxform, read_xlsform, write_xlsform

SHIPPED = shipped_questionnaires()
NS = {"h": "http://www.w3.org/1999/xhtml", "x": "http://www.w3.org/2002/xforms",
      "jr": "http://openrosa.org/javarosa"}
# pyxform straightens typographic quotes in the texts it writes into the XForm
STRAIGHT = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})
XFORM_TYPES = {"integer": "int", "decimal": "decimal", "text": "string", "select_one": "string",
               "select_multiple": "string", "note": "string"}


def xlsx_bytes(form: Questionnaire) -> bytes:
    buffer = io.BytesIO()
    write_xlsform(form, buffer)
    return buffer.getvalue()


def workbook(tmp_path: Path, sheets: dict[str, list[list]], name: str = "form.xlsx") -> Path:
    """Write rows (header first) into a real .xlsx file, one sheet per key."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    path = tmp_path / name
    book.save(path)
    return path


# -- round trips ---------------------------------------------------------------


@pytest.mark.parametrize("form_id", sorted(SHIPPED))
def test_shipped_questionnaire_round_trips_unchanged(form_id, tmp_path):
    form = SHIPPED[form_id]
    path = tmp_path / f"{form_id}.xlsx"
    write_xlsform(form, path)
    again = read_xlsform(path)
    assert again == form
    # equality covers every field, but a failure is easier to read question by question
    assert [(q.name, q) for q in again.questions] == [(q.name, q) for q in form.questions]
    assert dict(again.choice_lists) == dict(form.choice_lists)


@pytest.mark.parametrize("form_id", sorted(SHIPPED))
def test_pyxform_builds_the_xform_the_model_describes(form_id):
    """Read pyxform's XForm (the format ODK Collect runs) back and compare it with the model."""
    form = SHIPPED[form_id]
    result = convert(xlsx_bytes(form), file_type=".xlsx", warnings=[])
    assert result.warnings == []
    root = ET.fromstring(result.xform)
    model = root.find("h:head/x:model", NS)
    instance = model.find("x:instance/x:data", NS)
    assert (instance.get("id"), instance.get("version")) == (form.id, form.version)
    assert root.find("h:head/h:title", NS).text == form.title.zh
    binds = {bind.get("nodeset"): bind for bind in model.findall("x:bind", NS)}
    translations = {t.get("lang"): {text.get("id"): text.find("x:value", NS).text.translate(STRAIGHT)
                                    for text in t.findall("x:text", NS)}
                    for t in model.findall("x:itext/x:translation", NS)}
    assert set(translations) == {"中文 (zh)", "English (en)"}
    for lang, name in (("zh", "中文 (zh)"), ("en", "English (en)")):
        for group in form.groups:
            assert translations[name][f"/data/{group.name}:label"] == group.label.get(lang).translate(STRAIGHT)
            for question in group.questions:
                path = f"/data/{group.name}/{question.name}"
                assert translations[name][f"{path}:label"] == question.label.get(lang).translate(STRAIGHT)
                if question.hint is not None:
                    assert translations[name][f"{path}:hint"] == question.hint.get(lang).translate(STRAIGHT)
                if question.constraint_message is not None:
                    assert translations[name][f"{path}:jr:constraintMsg"] == question.constraint_message.get(lang).translate(STRAIGHT)
    for group in form.groups:
        element = root.find(f".//x:group[@ref='/data/{group.name}']", NS)
        assert element.get("appearance") == "field-list"
        # pyxform writes a group's bind only when it has something to bind
        assert ("relevant" in binds.get(f"/data/{group.name}", ET.Element("bind")).attrib) == (
            group.relevant is not None)
        for question in group.questions:
            bind = binds[f"/data/{group.name}/{question.name}"]
            assert bind.get("type") == XFORM_TYPES[question.type]
            assert (bind.get("required") == "true()") == question.required
            assert ("relevant" in bind.attrib) == (question.relevant is not None)
            assert ("constraint" in bind.attrib) == (question.constraint is not None)
            tag = {"select_one": "select1", "select_multiple": "select"}.get(question.type, "input")
            body = root.find(f".//x:{tag}[@ref='/data/{group.name}/{question.name}']", NS)
            assert body is not None, question.name
            if question.type in ("select_one", "select_multiple"):
                items = model.find(f"x:instance[@id='{question.list_name}']/x:root", NS)
                codes = [item.find("x:name", NS).text for item in items]
                assert codes == [choice.name for choice in form.choices(question)]
    # the interview's start and end times and the interviewer are recorded by the device
    assert binds["/data/start"].get("{http://openrosa.org/javarosa}preloadParams") == "start"
    assert binds["/data/end"].get("{http://openrosa.org/javarosa}preloadParams") == "end"
    assert "/data/username" in binds


WORDS = st.text(alphabet=st.sampled_from(list("满意度问卷非常一般好 abcXYZ019=<>&'\"?，。-\n")), min_size=1,
                max_size=12).filter(lambda text: text.strip() != "")
NAMES = [f"{stem}{index}" for stem in ("q", "rate_", "x_") for index in range(6)]


@st.composite
def questionnaires(draw) -> Questionnaire:
    english = draw(st.booleans())

    def text() -> Text:
        return Text(draw(WORDS), draw(WORDS) if english else None)

    def optional_text() -> Text | None:
        return text() if draw(st.booleans()) else None

    list_names = draw(st.lists(st.sampled_from(["yes_no", "scale", "list_a"]), min_size=1, max_size=2, unique=True))
    choice_lists = {name: tuple(Choice(code, text()) for code in draw(
        st.lists(st.sampled_from(["1", "2", "yes", "no", "a_b", "65_plus"]), min_size=1, max_size=4, unique=True)))
        for name in list_names}
    names = iter(draw(st.permutations(NAMES)))
    answered: list[str] = []
    groups = []
    for group_index in range(draw(st.integers(1, 3))):
        earlier = list(answered)  # a screen's relevant may only use questions of earlier screens
        questions = []
        for _ in range(draw(st.integers(1, 3))):
            kind = draw(st.sampled_from(["select_one", "select_multiple", "integer", "decimal", "text", "note"]))
            name = next(names)
            required = kind != "note" and draw(st.booleans())
            constraint = None
            if kind in ("integer", "decimal") and draw(st.booleans()):
                constraint = draw(st.sampled_from([". >= 0", ". >= 18 and . <= 99", ". != 3"]))
            relevant = f"${{{draw(st.sampled_from(answered))}}} != ''" if answered and draw(st.booleans()) else None
            questions.append(Question(
                type=kind, name=name, label=text(), hint=optional_text(),
                list_name=draw(st.sampled_from(list_names)) if kind in ("select_one", "select_multiple") else None,
                required=required, required_message=optional_text() if required else None,
                relevant=relevant, constraint=constraint,
                constraint_message=optional_text() if constraint else None,
                appearance=draw(st.sampled_from([None, "likert", "multiline"]))))
            if kind != "note":
                answered.append(name)
        group_relevant = f"${{{earlier[0]}}} = 'yes'" if earlier and draw(st.booleans()) else None
        groups.append(Group(f"g{group_index}", text(), tuple(questions), relevant=group_relevant))
    languages = ("zh", "en") if english else ("zh",)
    return Questionnaire(id=draw(st.sampled_from(["mini", "f_2"])), version=draw(st.sampled_from(["1", "2.0b"])),
                         title=text(), groups=tuple(groups), choice_lists=choice_lists,
                         default_language=draw(st.sampled_from(languages)), languages=languages)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(form=questionnaires())
def test_generated_questionnaires_round_trip_unchanged(form):
    data = xlsx_bytes(form)
    assert read_xlsform(data) == form  # read_xlsform also runs pyxform on the workbook


def test_reads_path_bytes_and_file_object_alike(tmp_path):
    form = SHIPPED["salt_consumers"]
    path = tmp_path / "salt.xlsx"
    write_xlsform(form, path)
    with path.open("rb") as handle:
        from_file = read_xlsform(handle)
    assert read_xlsform(str(path)) == read_xlsform(path.read_bytes()) == from_file == form


# -- hand-made workbooks ---------------------------------------------------------------

SURVEY_HEADER = ["type", "name", "label::Chinese (zh)", "label::English (en)", "required", "relevant",
                 "constraint", "$kuid"]
CHOICES = [["list_name", "name", "label::Chinese (zh)", "label::English (en)"],
           ["yn", "yes", "是", "Yes"], ["yn", "no", "否", "No"],
           ["scale", 1, "差", "Poor"], ["scale", 2.0, "好", "Good"]]
SETTINGS = [["form_id", "version", "form_title", "default_language", "style"],
            ["kobo_form", 3, "测试", "Chinese (zh)", "pages"]]


def test_reads_a_typical_hand_made_xlsform(tmp_path):
    survey = [SURVEY_HEADER,
              ["start", "start"], ["today", "today"],
              ["begin_group", "screen1", "第一页", "Page 1", None, None, None, "k1"],
              ["select one yn", "consent", "同意吗", "Agree?", True, None, None, "k2"],
              ["int", "age", "年龄", "Age", "no", None, ". >= 18", "k3"],
              ["end_group"],
              [None] * 8,
              ["begin group", "screen2", "第二页", "Page 2", None, "${consent} = 'yes'"],
              ["select_multiple scale", "rating", "评分", "Rating", "TRUE"],
              ["end group", "screen2"],
              ["end", "end"]]
    form = read_xlsform(workbook(tmp_path, {"survey": survey, "choices": CHOICES, "settings": SETTINGS}))
    expected = Questionnaire(
        id="kobo_form", version="3", title=Text("测试", "测试"), default_language="zh", languages=("zh", "en"),
        groups=(Group("screen1", Text("第一页", "Page 1"), (
                    Question("select_one", "consent", Text("同意吗", "Agree?"), list_name="yn", required=True),
                    Question("integer", "age", Text("年龄", "Age"), constraint=". >= 18"))),
                Group("screen2", Text("第二页", "Page 2"), (
                    Question("select_multiple", "rating", Text("评分", "Rating"), list_name="scale", required=True),),
                      relevant="${consent} = 'yes'")),
        choice_lists={"yn": (Choice("yes", Text("是", "Yes")), Choice("no", Text("否", "No"))),
                      "scale": (Choice("1", Text("差", "Poor")), Choice("2", Text("好", "Good")))})
    assert form == expected


def test_plain_label_column_is_chinese(tmp_path):
    survey = [["type", "name", "label"], ["begin group", "g", "组"], ["text", "t", "意见"], ["end group"]]
    form = read_xlsform(workbook(tmp_path, {"survey": survey, "settings": [["form_id", "version"], ["f", "1"]]}))
    assert form.languages == ("zh",)
    assert form.question("t").label == Text("意见")
    assert form.title == Text("f")


# -- errors name the sheet, row and column ---------------------------------------------------

GOOD_SURVEY = [SURVEY_HEADER,
               ["begin group", "g1", "第一页", "Page 1"],
               ["select_one yn", "consent", "同意吗", "Agree?", "yes"],
               ["integer", "age", "年龄", "Age", None, "${consent} = 'yes'", ". >= 18"],
               ["end group"]]


def replaced(rows: list[list], row: int, column: int | None = None, value=None, *, whole: list | None = None):
    """A copy of ``rows`` with spreadsheet row ``row`` (1-based) changed."""
    copy = [list(r) for r in rows]
    if whole is not None:
        copy[row - 1] = whole
    else:
        copy[row - 1] = copy[row - 1] + [None] * (column + 1 - len(copy[row - 1]))
        copy[row - 1][column] = value
    return copy


def test_the_good_workbook_reads(tmp_path):
    form = read_xlsform(workbook(tmp_path, {"survey": GOOD_SURVEY, "choices": CHOICES, "settings": SETTINGS}))
    assert [q.name for q in form.questions] == ["consent", "age"]


@pytest.mark.parametrize(("change", "sheet", "row", "column", "words"), [
    (lambda s: replaced(s, 4, 0, "date"), "survey", 4, "type", "not supported"),
    (lambda s: replaced(s, 4, 0, "select_one colours"), "survey", 4, "type", "'colours' is not defined"),
    (lambda s: replaced(s, 4, 1, "consent"), "survey", 4, "name", "duplicate name"),
    (lambda s: replaced(s, 4, 1, "bad-name"), "survey", 4, "name", "bad name"),
    (lambda s: replaced(s, 4, 6, ". >= "), "survey", 4, "constraint", "malformed constraint"),
    (lambda s: replaced(s, 4, 6, "regex(., '[0-9]')"), "survey", 4, "constraint", "unknown function"),
    (lambda s: replaced(s, 3, 5, "${age} > 20"), "survey", 3, "relevant", "not asked before it"),
    (lambda s: replaced(s, 3, 5, "${nobody} = 1"), "survey", 3, "relevant", "unknown question"),
    (lambda s: replaced(s, 4, 3, None), "survey", 4, "label::English (en)", "no English"),
    (lambda s: replaced(s, 4, 2, None), "survey", 4, "label::Chinese (zh)", "no Chinese"),
    (lambda s: replaced(s, 3, 4, "${age} > 1"), "survey", 3, "required", "required must be yes or no"),
    (lambda s: s[:2] + [["begin repeat", "r", "重复", "Repeat"]] + s[2:], "survey", 3, "type", "repeats"),
    (lambda s: s[:2] + [["begin group", "inner", "内", "Inner"]] + s[2:], "survey", 3, "type", "nested group"),
    (lambda s: s[:4], "survey", 2, "type", "never closed"),
    (lambda s: [s[0], ["text", "loose", "散", "Loose"], *s[1:]], "survey", 2, "type", "outside a group"),
    (lambda s: [s[0] + ["calculation"], *s[1:3], s[3] + [None, "1 + 1"], *s[4:]], "survey", 4, "calculation",
     "no counterpart"),
    (lambda s: [s[0] + ["label::French (fr)"], *s[1:]], "survey", 1, "label::French (fr)", "not supported"),
])
def test_survey_errors_point_at_the_cell(tmp_path, change, sheet, row, column, words):
    path = workbook(tmp_path, {"survey": change(GOOD_SURVEY), "choices": CHOICES, "settings": SETTINGS})
    with pytest.raises(XLSFormError) as caught:
        read_xlsform(path)
    error = caught.value
    assert (error.sheet, error.row, error.column) == (sheet, row, column), str(error)
    assert words in str(error)
    assert str(error).startswith(f"{sheet} sheet, row {row}")


@pytest.mark.parametrize(("choices", "settings_rows", "sheet", "row", "column", "words"), [
    (CHOICES + [["yn", "yes", "是的", "Yes!"]], SETTINGS, "choices", 6, "name", "appears twice"),
    (CHOICES + [["yn", None, "空", "Empty"]], SETTINGS, "choices", 6, "name", "name is empty"),
    (CHOICES + [["yn", "x", None, "X"]], SETTINGS, "choices", 6, "label::Chinese (zh)", "no Chinese"),
    (CHOICES, [["version"], ["1"]], "settings", 2, "form_id", "form_id is missing"),
    (CHOICES, [["form_id", "version"], ["f-1", "1"]], "settings", 2, "form_id", "bad id"),
    (CHOICES, [["form_id", "version", "form_title::English (en)"], ["f", "1", "T"]], "settings", 1,
     "form_title::English (en)", "form_title_en"),
    (CHOICES, [["form_id", "version", "default_language"], ["f", "1", "Français (fr)"]], "settings", 2,
     "default_language", "not supported"),
])
def test_choices_and_settings_errors_point_at_the_cell(tmp_path, choices, settings_rows, sheet, row, column, words):
    path = workbook(tmp_path, {"survey": GOOD_SURVEY, "choices": choices, "settings": settings_rows})
    with pytest.raises(XLSFormError) as caught:
        read_xlsform(path)
    assert (caught.value.sheet, caught.value.row, caught.value.column) == (sheet, row, column), str(caught.value)
    assert words in str(caught.value)


def test_missing_sheets_are_named(tmp_path):
    with pytest.raises(XLSFormError, match="no settings sheet"):
        read_xlsform(workbook(tmp_path, {"survey": GOOD_SURVEY, "choices": CHOICES}))
    with pytest.raises(XLSFormError, match="no survey sheet"):
        read_xlsform(workbook(tmp_path, {"choices": CHOICES, "settings": SETTINGS}))
    with pytest.raises(XLSFormError, match="not a readable .xlsx"):
        read_xlsform(b"type,name\ntext,a\n")


def test_pyxform_errors_keep_its_location(tmp_path):
    # The model skips metadata rows, so only pyxform sees that 'start' is used twice at the top level.
    survey = [SURVEY_HEADER, ["start", "g1"], *GOOD_SURVEY[1:]]
    with pytest.raises(XLSFormError) as caught:
        read_xlsform(workbook(tmp_path, {"survey": survey, "choices": CHOICES, "settings": SETTINGS}))
    assert (caught.value.sheet, caught.value.row, caught.value.column) == ("survey", 3, "name")
    assert "pyxform rejects the form" in str(caught.value)
    assert "g1" in str(caught.value)


def test_check_with_pyxform_refuses_what_is_not_a_workbook():
    with pytest.raises(XLSFormError, match="not an .xlsx workbook"):
        check_with_pyxform(b"%PDF-1.4")


def test_write_refuses_text_a_workbook_cannot_hold():
    form = SHIPPED["salt_consumers"]
    bad_group = Group("closing_x", Text("结束\x07"), (Question("text", "bell", Text("铃")),))
    broken = Questionnaire(id=form.id, version=form.version, title=form.title, groups=(bad_group,),
                           choice_lists={}, languages=("zh",))
    with pytest.raises(QuestionnaireError, match="control character"):
        write_xlsform(broken, io.BytesIO())


def test_metadata_names_step_aside_for_a_group_of_the_same_name():
    start_group = Group("start", Text("开始"), (Question("text", "note_a", Text("说明")),))
    renamed = Questionnaire(id="f", version="1", title=Text("表"), groups=(start_group,), choice_lists={},
                            languages=("zh",))
    data = xlsx_bytes(renamed)
    check_with_pyxform(data)
    assert read_xlsform(data) == renamed
    sheet = openpyxl.load_workbook(io.BytesIO(data))["survey"]
    assert [row[1] for row in sheet.iter_rows(min_row=2, max_row=4, values_only=True)] == [
        "interview_start", "end", "username"]

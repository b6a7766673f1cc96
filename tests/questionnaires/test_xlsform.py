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
                max_size=12).filter(lambda text: " ".join(text.split()) == text != "")  # pyxform collapses blanks
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

ZH, EN = "label::中文 (zh)", "label::English (en)"
SURVEY_HEADER = ["type", "name", ZH, EN, "required", "relevant", "constraint", "$kuid"]
CHOICES = [["list_name", "name", ZH, EN],
           ["yn", "yes", "是", "Yes"], ["yn", "no", "否", "No"],
           ["scale", 1, "差", "Poor"], ["scale", 2.0, "好", "Good"]]
SETTINGS = [["form_id", "version", "form_title", "default_language", "style"],
            ["kobo_form", 3, "测试", "中文 (zh)", "pages"]]


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
    assert (form.id, form.version, form.title, form.languages) == ("kobo_form", "3", Text("测试", "测试"), ("zh", "en"))
    assert [(group.name, group.implicit) for group in form.groups] == [
        ("_screen_1", True), ("screen1", False), ("screen2", False), ("_screen_4", True)]
    assert [(q.name, q.type) for q in form.questions] == [
        ("start", "start"), ("today", "today"), ("consent", "select_one"), ("age", "integer"),
        ("rating", "select_multiple"), ("end", "end")]
    assert form.question("consent") == Question("select_one", "consent", Text("同意吗", "Agree?"), list_name="yn",
                                                required=True)
    assert form.question("age").constraint == ". >= 18" and form.question("age").required is False
    assert form.group("screen2").relevant == "${consent} = 'yes'"
    assert form.choices("rating") == (Choice("1", Text("差", "Poor")), Choice("2", Text("好", "Good")))
    assert ("style", "pages") in form.settings
    assert read_xlsform(xlsx_bytes(form)) == form


def test_plain_label_column_is_the_default_language(tmp_path):
    # pyxform calls the language of a column without one 'default'; it is not taken for Chinese
    survey = [["type", "name", "label"], ["begin group", "g", "Group"], ["text", "t", "Your view"], ["end group"]]
    form = read_xlsform(workbook(tmp_path, {"survey": survey, "settings": [["form_id", "version"], ["f", "1"]]}))
    assert form.languages == ("default",) and not form.strict
    assert form.question("t").label == Text(texts={"default": "Your view"})
    assert form.question("t").label.get("zh") == "Your view"
    assert read_xlsform(xlsx_bytes(form)) == form


REAL_SURVEY = [
    ["type", "name", "label::English (en)", "label::Português (pt)", "hint:English (en)", "required", "relevant",
     "constraint", "calculation", "choice_filter", "default", "read_only", "parameters", "media::image",
     "required_message::English (en)", "appearance"],
    ["start", "start"], ["today", "today"], ["username", "username"], ["deviceid", "deviceid"],
    ["text", "loose-name.1", "Your name", "O seu nome", None, "yes", None, None, None, None, "Ana", None, None,
     "photo.jpg", "Please answer"],
    ["note", "today_note", "Today is ${today}", "Hoje é ${today}"],
    ["select one from provinces", "province", "Province", "Província"],
    ["select_one districts", "district", "District", "Distrito", None, None, None, None, None,
     "prov=${province}", None, None, None, None, None, "minimal"],
    ["select_one yn or_other", "pet", "Pet?", "Animal?"],
    ["date", "visit_date", "Date", "Data", None, None, None, ". <= today()"],
    ["time", "visit_time", "Time", "Hora"], ["datetime", "visit_dt", "When", "Quando"],
    ["geopoint", "where", "Where", "Onde"], ["image", "picture", "Picture", "Foto"],
    ["audio", "sound", "Sound", "Som"], ["file", "doc", "File", "Ficheiro"], ["barcode", "code", "Code", "Código"],
    ["range", "score", "Score", "Nota", None, None, None, None, None, None, None, None, "start=0 end=10 step=2"],
    ["rank order", "order", "Order", "Ordem"],
    ["acknowledge", "ok", "OK?", "OK?"], ["hidden", "secret"],
    ["calculate", "double", None, None, None, None, None, None, "${score} * 2"],
    ["select_one_from_file towns.csv", "town", "Town", "Cidade"],
    ["begin group", "household", "Household", "Agregado", None, None, "${pet} != ''"],
    ["integer", "size", "Size", "Tamanho", None, None, None, ". > 0", None, None, None, "${score} > 8"],
    ["begin group", "inner", "Inner", "Interior"], ["text", "username_2", "Username", "Utilizador"],
    ["end group"],
    ["begin repeat", "members", "Members", "Membros"],
    ["text", "size_note", "Name ${size}", "Nome ${size}"],
    ["begin group", "member_details", "Details", "Detalhes"], ["integer", "age", "Age", "Idade"], ["end group"],
    ["end repeat"],
    ["end group"],
    ["begin group", "other_group", "Other", "Outro"], ["integer", "age", "Age again", "Idade outra vez"],
    ["end group"],
]
REAL_CHOICES = [["list name", "name", "label::English (en)", "label::Português (pt)", "prov"],
                ["provinces", "n", "North", "Norte"], ["provinces", "s", "South", "Sul"],
                ["districts", "n1", "North 1", "Norte 1", "n"], ["districts", "s1", "South 1", "Sul 1", "s"],
                ["yn", "yes", "Yes", "Sim"], ["yn", "no", "No", "Não"],
                ["order", "a", "A", "A"], ["order", "b", "B", "B"]]


def real_form(tmp_path, survey=REAL_SURVEY, choices=REAL_CHOICES, settings=None):
    sheets = {"survey": survey, "choices": choices}
    if settings is not None:
        sheets["settings"] = settings
    return workbook(tmp_path, sheets)


def test_a_form_written_elsewhere_loads_with_what_pyxform_reads(tmp_path):
    form = read_xlsform(real_form(tmp_path))  # no settings sheet: no version, no form_id
    assert form.id == "form" and form.version.startswith("sha-") and not form.strict
    # 'default' is the language of the label pyxform gives the or_other question
    assert form.languages == ("en", "Português (pt)", "default")
    types = {q.name: q.type for q in form.questions}
    assert {types[name] for name in ("start", "today", "username", "deviceid")} == {
        "start", "today", "username", "deviceid"}
    assert [types[name] for name in ("visit_date", "visit_time", "visit_dt", "where", "picture", "sound", "doc",
                                     "code", "score", "order", "ok", "secret", "double", "town")] == [
        "date", "time", "datetime", "geopoint", "image", "audio", "file", "barcode", "range", "rank",
        "acknowledge", "hidden", "calculate", "select_one_from_file"]
    loose = form.question("loose-name.1")
    assert loose.label == Text(texts={"en": "Your name", "Português (pt)": "O seu nome"})
    assert loose.label.get("en") == "Your name" and loose.label.get("Português (pt)") == "O seu nome"
    assert (loose.default, loose.required, loose.required_message.get("en")) == ("Ana", True, "Please answer")
    assert ("media::image", "photo.jpg") in loose.extra
    assert form.question("district").choice_filter == "prov=${province}"
    assert form.question("province").list_name == "provinces"
    # or_other: the 'other' choice and the text question pyxform adds
    assert [c.name for c in form.choices("pet")] == ["yes", "no", "other"]
    assert form.question("pet_other").relevant == "selected(${pet}, 'other')"
    assert form.question("score").parameter("step") == "2"
    assert form.question("size").read_only == "${score} > 8"
    # nested groups and a repeat with a group inside, in one screen
    household = form.group("household")
    assert [g.name for g in household.subgroups] == ["inner", "members", "member_details"]
    assert form.group("members").repeat and not form.group("inner").repeat
    # the same name in two groups: answers keyed by path
    assert form.key(form.group("member_details").questions[0]) == "household/members/member_details/age"
    assert form.key(form.group("other_group").questions[0]) == "other_group/age"
    assert form.group_of("size_note").name == "household"
    # written back: accepted by pyxform (read_xlsform runs it) and equal
    assert read_xlsform(xlsx_bytes(form)) == form


def test_choice_filter_and_calculation_are_evaluated(tmp_path):
    form = read_xlsform(real_form(tmp_path))
    from questionnaires.expressions import evaluate
    district = form.question("district")
    north = [c.name for c in form.choices(district)
             if evaluate(district.choice_filter, {"province": "n"}, item={"name": c.name, **dict(c.extra)})]
    assert north == ["n1"]
    assert form.clean({"score": 4})["double"] == "8"
    assert form.check_answer("score", 3, {}, "en") == "Choose a number within the range."
    assert form.check_answer("score", 4, {}, "en") is None
    assert form.check_answer("visit_date", "2999-01-01", {}, "en") == "This answer is not valid; please check it."
    assert form.check_answer("visit_date", "2020-01-01", {}, "en") is None


def test_metadata_rows_are_kept_and_written_names_do_not_collide(tmp_path):
    form = read_xlsform(real_form(tmp_path))
    data = xlsx_bytes(form)
    sheet = openpyxl.load_workbook(io.BytesIO(data))["survey"]
    names = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    # the form has start, today, username and deviceid rows: they stay where they were, none is added
    assert names.count("today") == 1 and names.count("username") == 1 and "end" in names
    assert names.index("today") < names.index("today_note")
    assert read_xlsform(data) == form


def test_a_question_named_username_does_not_collide_with_the_added_metadata():
    form = Questionnaire(id="f", version="1", title=Text("表"), languages=("zh",), choice_lists={}, groups=(
        Group("g", Text("组"), (Question("text", "username", Text("用户名")), Question("note", "n", Text("今天")))),))
    data = xlsx_bytes(form)
    check_with_pyxform(data)
    sheet = openpyxl.load_workbook(io.BytesIO(data))["survey"]
    assert [row[:2] for row in sheet.iter_rows(min_row=2, max_row=4, values_only=True)] == [
        ("start", "start"), ("end", "end"), ("username", "interviewer_username")]
    assert read_xlsform(data) == form


def test_the_good_workbook_reads(tmp_path):
    form = read_xlsform(workbook(tmp_path, {"survey": GOOD_SURVEY, "choices": CHOICES, "settings": SETTINGS}))
    assert [q.name for q in form.questions] == ["consent", "age"]
    assert form.strict


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


@pytest.mark.parametrize(("change", "sheet", "row", "column", "words"), [
    (lambda s: replaced(s, 4, 0, "slider"), "workbook", None, None, "Unknown question type 'slider'"),
    (lambda s: replaced(s, 4, 0, "select_one colours"), "survey", 4, None, "colours"),
    (lambda s: replaced(s, 4, 1, "consent"), "survey", 4, None, "consent"),
    (lambda s: replaced(s, 4, 6, ". >= "), "survey", 4, "constraint", "malformed constraint"),
    (lambda s: replaced(s, 3, 5, "${age} > 20"), "survey", 3, "relevant", "not asked before it"),
    (lambda s: replaced(s, 4, 3, None), "survey", 4, EN, "no English"),
    (lambda s: replaced(s, 4, 2, None), "survey", 4, ZH, "no Chinese"),
])
def test_survey_errors_point_at_the_cell(tmp_path, change, sheet, row, column, words):
    path = workbook(tmp_path, {"survey": change(GOOD_SURVEY), "choices": CHOICES, "settings": SETTINGS})
    with pytest.raises(XLSFormError) as caught:
        read_xlsform(path)
    error = caught.value
    assert (error.sheet, error.row) == (sheet, row), str(error)
    if column is not None:
        assert error.column == column, str(error)
    assert words in str(error)
    assert str(error).startswith("workbook" if sheet == "workbook" else f"{sheet} sheet, row {row}")


def test_pyxform_errors_carry_advice_that_works(tmp_path):
    survey = [SURVEY_HEADER, ["begin group", "meta", "元", "Meta"], *GOOD_SURVEY[2:4], ["end group"]]
    with pytest.raises(XLSFormError) as caught:
        read_xlsform(workbook(tmp_path, {"survey": survey, "choices": CHOICES, "settings": SETTINGS}))
    assert (caught.value.sheet, caught.value.row) == ("survey", 2)
    assert "rename the row named 'meta'" in str(caught.value)
    survey[1] = ["begin group", "meta_group", "元", "Meta"]
    assert read_xlsform(workbook(tmp_path, {"survey": survey, "choices": CHOICES, "settings": SETTINGS}))
    duplicated = CHOICES + [["yn", "yes", "是的", "Yes!"]]
    with pytest.raises(XLSFormError, match="allow_choice_duplicates") as caught:
        read_xlsform(workbook(tmp_path, {"survey": GOOD_SURVEY, "choices": duplicated, "settings": SETTINGS}))
    assert (caught.value.sheet, caught.value.row) == ("choices", 6)


def test_header_aliases_load_instead_of_being_refused(tmp_path):
    # 'list name' and 'label:English' are pyxform's aliases, not columns to delete
    survey = [["type", "name", "label:English"], ["select_one yn", "q", "Question"]]
    choices = [["list name", "name", "label:English"], ["yn", "yes", "Yes"], ["yn", "no", "No"]]
    form = read_xlsform(workbook(tmp_path, {"survey": survey, "choices": choices}))
    assert form.languages == ("English",)
    assert [c.label.get("English") for c in form.choices("q")] == ["Yes", "No"]


def test_missing_sheets_are_named(tmp_path):
    with pytest.raises(XLSFormError, match="no survey sheet"):
        read_xlsform(workbook(tmp_path, {"choices": CHOICES, "settings": SETTINGS}))
    with pytest.raises(XLSFormError, match="not a readable .xlsx"):
        read_xlsform(b"type,name\ntext,a\n")


def test_pyxform_errors_keep_its_location(tmp_path):
    survey = [SURVEY_HEADER, ["start", "g1"], *GOOD_SURVEY[1:]]
    with pytest.raises(XLSFormError) as caught:
        read_xlsform(workbook(tmp_path, {"survey": survey, "choices": CHOICES, "settings": SETTINGS}))
    assert (caught.value.sheet, caught.value.row) == ("survey", 3)
    assert "pyxform rejects the form" in str(caught.value)
    assert "g1" in str(caught.value)


def test_check_with_pyxform_refuses_what_is_not_a_workbook():
    with pytest.raises(XLSFormError, match="not a readable .xlsx workbook"):
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


def test_loops_external_choices_osm_and_entities_are_kept(tmp_path):
    survey = [["type", "name", "label", "choice_filter"],
              ["select_one provinces", "province", "Province"],
              ["select_one_external towns", "town", "Town", "prov=${province}"],
              ["begin loop over toilets", "toilet_loop", "Toilets"], ["integer", "number", "How many %(label)s?"],
              ["end loop"],
              ["osm building_tags", "building", "Building"]]
    choices = [["list_name", "name", "label"], ["provinces", "n", "North"], ["toilets", "pit", "Pit latrine"],
               ["toilets", "flush", "Flush toilet"]]
    sheets = {"survey": survey, "choices": choices,
              "external_choices": [["list_name", "name", "label", "prov"], ["towns", "t1", "Town 1", "n"]],
              "osm": [["list_name", "name", "label"], ["building_tags", "building:levels", "Levels"]],
              "entities": [["dataset", "label"], ["households", "${province}"]]}
    form = read_xlsform(workbook(tmp_path, sheets))
    assert form.group("toilet_loop").loop_over == "toilets" and not form.group("toilet_loop").repeat
    assert (form.question("town").type, form.question("town").list_name) == ("select_one_external", "towns")
    assert (form.question("building").type, form.question("building").list_name) == ("osm", "building_tags")
    assert [name for name, _ in form.sheets] == ["external_choices", "entities", "osm"]
    again = read_xlsform(xlsx_bytes(form))  # pyxform builds the written form, entities and all
    assert again == form


def test_a_column_pyxform_cannot_write_is_named_and_removing_it_works(tmp_path):
    survey = [["type", "name", "label", "instance::tag"], ["text", "a", "A", "x"], ["begin group", "g", "G", "hidden"],
              ["text", "q", "Question"], ["end group"]]
    with pytest.raises(XLSFormError) as caught:
        read_xlsform(workbook(tmp_path, {"survey": survey}))
    assert (caught.value.sheet, caught.value.row, caught.value.column) == ("survey", 3, "instance::tag")
    assert "rename or remove the instance::tag column" in str(caught.value)
    fixed = [row[:3] for row in survey]
    assert [q.name for q in read_xlsform(workbook(tmp_path, {"survey": fixed})).questions] == ["a", "q"]

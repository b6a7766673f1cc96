"""Loading YAML definitions: a valid file loads, each kind of broken file is refused with a useful message."""
from __future__ import annotations

import copy
import csv
from pathlib import Path

import pytest
import yaml

from questionnaires import ExpressionError, QuestionnaireError, load_districts, load_questionnaire
from questionnaires.loader import DISTRICTS_FILE

CENSUS_FILE = Path(__file__).parents[2] / "survey_app" / "data" / "census_2020_districts.csv"

VALID = {
    "id": "mini",
    "version": "0.1",
    "title": {"zh": "小问卷", "en": "Mini"},
    "groups": [
        {"name": "start", "label": {"zh": "开始", "en": "Start"}, "questions": [
            {"type": "select_one yes_no", "name": "consent", "label": {"zh": "同意吗", "en": "Agree?"},
             "required": True},
        ]},
        {"name": "main", "label": {"zh": "主要", "en": "Main"}, "relevant": "${consent} = 'yes'", "questions": [
            {"type": "integer", "name": "age", "label": {"zh": "年龄", "en": "Age"},
             "constraint": ". >= 18 and . <= 99", "constraint_message": {"zh": "18-99岁", "en": "18 to 99"}},
            {"type": "select_multiple yes_no", "name": "multi", "label": {"zh": "多选", "en": "Multi"},
             "relevant": "${age} > 20"},
            {"type": "text", "name": "comment", "label": {"zh": "意见", "en": "Comment"},
             "hint": {"zh": "可不填", "en": "Optional"}},
        ]},
    ],
    "choices": {"yes_no": [{"name": "yes", "label": {"zh": "是", "en": "Yes"}},
                           {"name": "no", "label": {"zh": "否", "en": "No"}}]},
}


def write(tmp_path: Path, data, name: str = "form.yaml") -> Path:
    path = tmp_path / name
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def question(data, name):
    return next(q for g in data["groups"] for q in g["questions"] if q["name"] == name)


def test_valid_file_loads_with_xlsform_fields(tmp_path):
    form = load_questionnaire(write(tmp_path, VALID))
    assert (form.id, form.version, form.title.en) == ("mini", "0.1", "Mini")
    assert [g.name for g in form.groups] == ["start", "main"]
    consent = form.question("consent")
    assert (consent.type, consent.list_name, consent.required) == ("select_one", "yes_no", True)
    age = form.question("age")
    assert (age.constraint, age.constraint_message.get("en")) == (". >= 18 and . <= 99", "18 to 99")
    assert form.question("multi").type == "select_multiple"
    assert form.question("comment").hint.get("zh") == "可不填"
    assert form.group("main").relevant == "${consent} = 'yes'"
    assert [c.name for c in form.choices("consent")] == ["yes", "no"]
    assert form.languages == ("zh", "en") and form.default_language == "zh"


def test_plain_string_label_is_chinese_only(tmp_path):
    data = copy.deepcopy(VALID)
    data["languages"] = ["zh"]
    question(data, "comment")["label"] = "意见"
    form = load_questionnaire(write(tmp_path, data))
    assert form.question("comment").label.get("en") == "意见"


def broken(mutate):
    data = copy.deepcopy(VALID)
    mutate(data)
    return data


BROKEN = {
    "unknown type": (lambda d: question(d, "age").update(type="slider"), "age", "unknown type 'slider'"),
    "select without list": (lambda d: question(d, "multi").update(type="select_multiple"), "multi",
                            "must name one choice list"),
    "begin group row": (lambda d: question(d, "age").update(type="begin group"), "age", "not as begin/end group"),
    "relevant names a missing question": (lambda d: question(d, "multi").update(relevant="${agee} > 20"), "multi",
                                          "refers to unknown question 'agee'"),
    "constraint names a missing question": (lambda d: question(d, "age").update(constraint=". < ${max}"), "age",
                                            "refers to unknown question 'max'"),
    "group relevant names a missing question": (lambda d: d["groups"][1].update(relevant="${consnet} = 'yes'"),
                                                "group 'main'", "refers to unknown question 'consnet'"),
    "relevant refers to a later question": (lambda d: question(d, "age").update(relevant="${comment} = 'x'"),
                                            "age", "not asked before it"),
    "missing choice list": (lambda d: question(d, "consent").update(type="select_one yesno"), "consent",
                            "choice list 'yesno' does not exist"),
    "duplicate question names": (lambda d: question(d, "comment").update(name="age"), "age", "duplicate name"),
    "duplicate choice names": (lambda d: d["choices"]["yes_no"].append({"name": "yes", "label": "是"}),
                               "choice list 'yes_no'", "duplicate choice name 'yes'"),
    "malformed relevant": (lambda d: question(d, "multi").update(relevant="${age} >"), "multi",
                           "malformed relevant"),
    "malformed constraint": (lambda d: question(d, "age").update(constraint=". >= 18 and and . <= 99"), "age",
                             "malformed constraint"),
    "unknown function": (lambda d: question(d, "age").update(constraint="today() > ."), "age",
                         "unknown function today()"),
    "missing zh label": (lambda d: question(d, "comment").update(label={"en": "Comment"}), "comment",
                         "missing zh label"),
    "empty zh label": (lambda d: question(d, "comment").update(label={"zh": "", "en": "Comment"}), "comment",
                       "missing zh label"),
    "missing zh hint": (lambda d: question(d, "comment").update(hint={"en": "Optional"}), "comment",
                        "missing zh label"),
    "missing en label": (lambda d: question(d, "comment").update(label={"zh": "意见"}), "comment",
                         "no English (en) text"),
    "missing zh choice label": (lambda d: d["choices"]["yes_no"][0].update(label={"en": "Yes"}), "choice list 'yes_no'",
                                "missing zh label"),
    "unquoted yes as choice name": (lambda d: d["choices"]["yes_no"][0].update(name=True), "choice list 'yes_no'",
                                    "quote numbers and yes/no"),
    "misspelt key": (lambda d: question(d, "age").update(relevent="${consent} = 'yes'"), "age",
                     "unknown key(s) ['relevent']"),
    "required not boolean": (lambda d: question(d, "age").update(required="sometimes"), "age",
                             "required must be true or false"),
    "expression not text": (lambda d: question(d, "age").update(constraint=18), "age", "quote it"),
    "dot in relevant": (lambda d: question(d, "multi").update(relevant=". > 20"), "multi", "uses '.'"),
    "constraint message without constraint": (lambda d: question(d, "comment").update(
        constraint_message={"zh": "错", "en": "Wrong"}), "comment", "constraint_message given without a constraint"),
    "note that is required": (lambda d: question(d, "comment").update(type="note", required=True), "comment",
                              "a note takes no answer"),
    "bad question name": (lambda d: question(d, "comment").update(name="my comment"), "my comment", "bad name"),
    "missing id": (lambda d: d.pop("id"), "the file", "missing key(s) ['id']"),
    "group without questions": (lambda d: d["groups"][1].update(questions=[]), "group 'main'", "has no questions"),
    "numeric version": (lambda d: d.update(version=1), "questionnaire 'mini'", "quote it"),
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_broken_definition_is_refused_naming_file_question_and_problem(tmp_path, kind):
    mutate, where, problem = BROKEN[kind]
    path = write(tmp_path, broken(mutate))
    with pytest.raises(QuestionnaireError) as caught:
        load_questionnaire(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    assert where in message, message
    assert problem in message, message


def test_malformed_expression_keeps_its_error_class(tmp_path):
    path = write(tmp_path, broken(lambda d: question(d, "age").update(constraint="(. > 1")))
    with pytest.raises(ExpressionError, match=r"question 'age': malformed constraint: expected '\)'"):
        load_questionnaire(path)


def test_invalid_yaml_and_missing_file(tmp_path):
    path = write(tmp_path, "id: x\ngroups: [\n")
    with pytest.raises(QuestionnaireError, match=rf"^{path}: not valid YAML"):
        load_questionnaire(path)
    with pytest.raises(QuestionnaireError, match="cannot read the questionnaire file"):
        load_questionnaire(tmp_path / "absent.yaml")
    with pytest.raises(QuestionnaireError, match="expected a mapping"):
        load_questionnaire(write(tmp_path, "- just\n- a list\n"))


def test_choice_list_from_csv_file(tmp_path):
    (tmp_path / "places.csv").write_text("# a comment line\ncode,name_zh,name_en\na,甲,A\nb,乙,B\n", encoding="utf-8")
    data = copy.deepcopy(VALID)
    data["choices"]["places"] = {"file": "places.csv"}
    question(data, "comment").update(type="select_one places")
    form = load_questionnaire(write(tmp_path, data))
    assert [(c.name, c.label.zh, c.label.en) for c in form.choices("comment")] == [("a", "甲", "A"), ("b", "乙", "B")]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "cannot read it"),
        ("code,name\na,甲\n", "expected exactly code,name_zh,name_en"),
        ("code,name_zh,name_en\na,甲\n", "line 2: expected 3 fields"),
        ("code,name_zh,name_en\na b,甲,A\n", "line 2: choice name 'a b' is not usable"),
        ("# only a comment\n", "no header line"),
    ],
)
def test_broken_choice_file_is_refused(tmp_path, content, problem):
    if content is not None:
        (tmp_path / "places.csv").write_text(content, encoding="utf-8")
    data = copy.deepcopy(VALID)
    data["choices"]["places"] = {"file": "places.csv"}
    path = write(tmp_path, data)
    with pytest.raises(QuestionnaireError) as caught:
        load_questionnaire(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert "places.csv" in str(caught.value) and problem in str(caught.value)


def test_districts_are_the_eight_units_of_the_census_bulletin():
    districts = load_districts()
    assert len(districts) == 8
    assert len({d.name for d in districts}) == 8
    assert all(d.name.isascii() and d.name.isidentifier() for d in districts)
    assert districts[0].name == "chongchuan"
    header = DISTRICTS_FILE.read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("#") and "2021-05-24" in header and "No. 2" in header
    with CENSUS_FILE.open(encoding="utf-8") as handle:
        census = [(row["district"], row["district_en"]) for row in csv.DictReader(handle)]
    assert [(d.label.zh, d.label.en) for d in districts] == census


def test_yaml_keeps_to_its_six_types(tmp_path):
    # date, range, geopoint ... come from XLSForm workbooks; the YAML format documents six types
    data = copy.deepcopy(VALID)
    question(data, "comment")["type"] = "date"
    with pytest.raises(QuestionnaireError, match="unknown type 'date'"):
        load_questionnaire(write(tmp_path, data))

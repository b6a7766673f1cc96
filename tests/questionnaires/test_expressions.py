"""The XLSForm expression evaluator, checked against Python arithmetic and XPath 1.0 rules."""
from __future__ import annotations

import math
import operator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from questionnaires import ExpressionError, evaluate
from questionnaires.expressions import parse, references, to_boolean, uses_current

# --- examples from the XLSForm documentation and the brief -----------------


@pytest.mark.parametrize(
    ("expression", "answers", "current", "expected"),
    [
        ("${q1} = '5'", {"q1": "5"}, None, True),
        ("${q1} = '5'", {"q1": "4"}, None, False),
        ("${q1} = '5'", {"q1": 5}, None, True),  # numeric when both sides look numeric
        ("${q1} = 5.0", {"q1": "5"}, None, True),
        ("${q1} = '05'", {"q1": "5"}, None, True),
        ("${q1} = 'a'", {"q1": "A"}, None, False),
        ("${q1} != '5'", {}, None, True),
        ("selected(${q2}, 'a')", {"q2": ["a", "b"]}, None, True),
        ("selected(${q2}, 'c')", {"q2": ["a", "b"]}, None, False),
        ("selected(${q2}, 'a')", {"q2": "b a"}, None, True),  # XLSForm's space-separated storage
        ("selected(${q2}, 'a')", {}, None, False),
        ("count-selected(${q2})", {"q2": ["a", "b", "c"]}, None, 3),
        ("count-selected(${q2})", {"q2": "a c"}, None, 2),
        ("count-selected(${q2})", {}, None, 0),
        (". >= 18 and . <= 99", {}, 18, True),
        (". >= 18 and . <= 99", {}, 99, True),
        (". >= 18 and . <= 99", {}, 17, False),
        (". >= 18 and . <= 99", {}, 100, False),
        (". >= 18 and . <= 99", {}, None, False),
        ("not(${a} = 'yes')", {"a": "no"}, None, True),
        ("not(${a})", {}, None, True),
        ("${a} = 'x' or ${b} = 'y'", {"b": "y"}, None, True),
        ("${a} = 'x' and ${b} = 'y'", {"b": "y"}, None, False),
        ("string-length(${t})", {"t": "南通市"}, None, 3),
        ("string-length(${t})", {}, None, 0),
        ("if(${a} = 'x', 'yes', 'no')", {"a": "x"}, None, "yes"),
        ("if(${a} = 'x', 'yes', 'no')", {}, None, "no"),
        ("number('12') + 1", {}, None, 13),
        ("number(${a}) * 2", {"a": "2.5"}, None, 5.0),
        ("1 + 2 * 3", {}, None, 7),
        ("(1 + 2) * 3", {}, None, 9),
        ("10 - 4 - 3", {}, None, 3),
        ("7 div 2", {}, None, 3.5),
        ("7 mod 3", {}, None, 1),
        ("-7 mod 3", {}, None, -1),  # XPath mod keeps the dividend's sign
        ("7 mod -3", {}, None, 1),
        ("- - 4", {}, None, 4),
        ("-${a}", {"a": 3}, None, -3),
        ("${a} + ${b}", {"a": 2, "b": 0.5}, None, 2.5),
        ("'b' > 'a'", {}, None, True),
        ("'2024-01-31' < '2024-02-01'", {}, None, True),  # ISO dates order as strings
        ("${a} < 5", {}, None, False),  # an unanswered value has no order
        ("${a} > 5", {}, None, False),
        ("${a} = ''", {}, None, True),
        ("${a} = ''", {"a": None}, None, True),
        ("${a} = ''", {"a": 0}, None, False),
        ("true() and not(false())", {}, None, True),
        ("${a} = true()", {"a": "x"}, None, True),  # boolean comparison when one side is boolean
        ("${a} = true()", {}, None, False),
        ('"double" = \'double\'', {}, None, True),
        ("${ a } = 1", {"a": 1}, None, True),
        (".5 + .5 = 1", {}, None, True),
        ("${q2} = 'a b'", {"q2": ["a", "b"]}, None, True),
    ],
)
def test_documented_examples(expression, answers, current, expected):
    result = evaluate(expression, answers, current=current)
    assert result == expected
    assert type(result) is type(expected) or {type(result), type(expected)} <= {int, float}


def test_division_by_zero_gives_infinity_or_nan_like_xpath():
    assert evaluate("1 div 0", {}) == math.inf
    assert evaluate("-1 div 0", {}) == -math.inf
    assert math.isnan(evaluate("0 div 0", {}))
    assert math.isnan(evaluate("5 mod 0", {}))
    assert evaluate("1 div 0 > 1000000", {}) is True


def test_non_numbers_are_nan_in_arithmetic_and_never_equal():
    assert math.isnan(evaluate("number('abc')", {}))
    assert math.isnan(evaluate("${a} + 1", {}))
    assert evaluate("number('abc') = number('abc')", {}) is False
    assert evaluate("number('abc') != number('abc')", {}) is True


def test_unanswered_reference_reads_as_empty_string():
    assert evaluate("${missing}", {}) == ""
    assert evaluate("${missing}", {"missing": None}) == ""
    assert evaluate(".", {}, current=None) == ""


def test_references_and_current():
    assert references("${a} = 1 and selected(${b}, 'x') or if(${c}, ${a}, 0)") == {"a", "b", "c"}
    assert references("1 = 1") == frozenset()
    assert uses_current(". > ${a}")
    assert not uses_current("${a} > 0.5")


def test_to_boolean_follows_xpath():
    assert [to_boolean(v) for v in (0, 0.0, math.nan, "", None, [], False)] == [False] * 7
    assert [to_boolean(v) for v in (1, -0.5, "0", "false", ["a"], True)] == [True] * 6


# --- errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("", "empty expression"),
        ("${q1} =", "expected a value"),
        ("${q1} = 'abc", "unterminated string"),
        ("${q1", "unterminated reference"),
        ("${1q} = 1", "bad question name"),
        ("q1 = 1", "${q1}"),
        ("foo(1)", "unknown function foo()"),
        ("selected(${a})", "selected() takes 2 arguments, got 1"),
        ("not(1, 2)", "not() takes 1 argument, got 2"),
        ("(1 + 2", "expected ')'"),
        ("1 2", "unexpected 2"),
        ("1 # 2", "unexpected character '#'"),
        ("${a} == 1", "expected a value"),
        ("(" * 40 + "1" + ")" * 40, "nested too deeply"),
        ("+".join(["1"] * 500), "too long"),
    ],
)
def test_malformed_expressions_raise_expression_error(expression, fragment):
    with pytest.raises(ExpressionError) as caught:
        parse(expression)
    message = str(caught.value)
    assert fragment in message
    assert "position" in message


def test_error_message_shows_expression_and_position():
    with pytest.raises(ExpressionError) as caught:
        evaluate("${a} = 1 +", {})
    assert "found the end of the expression at position 10 of expression '${a} = 1 +'" in str(caught.value)


# --- properties ------------------------------------------------------------------

TOKENS = ["${a}", "${b}", ".", "'x'", "'5'", "5", "2.5", "0", "=", "!=", "<", "<=", ">", ">=", "+", "-",
          "*", "div", "mod", "and", "or", "not(", "selected(", "count-selected(", "string-length(",
          "if(", "number(", "true()", "false()", "(", ")", ",", "${", "}", "'", '"', "$", "q1"]
ANSWERS = {"a": ["x", "y"], "b": "5"}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_random_text_raises_only_expression_error(text):
    try:
        evaluate(text, ANSWERS, current=3)
    except ExpressionError:
        pass


values = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5),
                   st.lists(st.text(max_size=3), max_size=3))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join), values, values, values)
def test_random_token_soup_raises_only_expression_error(text, a, b, current):
    try:
        evaluate(text, {"a": a, "b": b}, current=current)
    except ExpressionError:
        pass


BINARY = ["=", "!=", "<", "<=", ">", ">=", "+", "-", "*", "div", "mod", "and", "or"]
valid_expressions = st.recursive(
    st.sampled_from(["${a}", "${b}", ".", "'x'", "''", "'5'", "0", "3", "2.5", "true()"]),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(BINARY), inner).map(" ".join),
        inner.map(lambda e: f"-({e})"),
        st.tuples(st.sampled_from(["not", "count-selected", "string-length", "number"]), inner).map(
            lambda t: f"{t[0]}({t[1]})"),
        st.tuples(inner, inner).map(lambda t: f"selected({t[0]}, {t[1]})"),
        st.tuples(inner, inner, inner).map(lambda t: f"if({t[0]}, {t[1]}, {t[2]})"),
    ),
    max_leaves=15,
)


@settings(max_examples=300, deadline=None)
@given(valid_expressions, values, values, values)
def test_valid_expressions_evaluate_without_error_on_any_answers(text, a, b, current):
    evaluate(text, {"a": a, "b": b}, current=current)


small = st.integers(min_value=-999, max_value=999)
ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul}


def _expressions(leaves):
    """(text, value) pairs: fully parenthesised integer arithmetic with its Python value."""
    def extend(children):
        return st.tuples(children, st.sampled_from(sorted(ARITHMETIC)), children).map(
            lambda t: (f"({t[0][0]}) {t[1]} ({t[2][0]})", ARITHMETIC[t[1]](t[0][1], t[2][1])))
    return st.recursive(leaves.map(lambda n: (str(n), n)), extend, max_leaves=6)


@settings(max_examples=200, deadline=None)
@given(_expressions(small))
def test_integer_arithmetic_agrees_with_python(pair):
    text, value = pair
    result = evaluate(text, {})
    assert result == value
    assert isinstance(result, int)


@settings(max_examples=200, deadline=None)
@given(small, small, small)
def test_precedence_and_left_associativity_agree_with_python(a, b, c):
    assert evaluate(f"{a} + {b} * {c}", {}) == a + b * c
    assert evaluate(f"{a} - {b} - {c}", {}) == (a - b) - c
    assert evaluate(f"{a} * {b} - {c}", {}) == a * b - c
    assert evaluate("${x} - ${y} * ${z}", {"x": a, "y": str(b), "z": c}) == a - b * c


@settings(max_examples=200, deadline=None)
@given(st.integers(-(2**53), 2**53), st.integers(-(2**53), 2**53).filter(lambda n: n != 0))
def test_div_and_mod_agree_with_python_true_division_and_fmod(a, b):
    assert evaluate(f"{a} div {b}", {}) == a / b
    # XPath mod is the remainder of truncating division, which is C's fmod
    assert evaluate("${a} mod ${b}", {"a": a, "b": b}) == math.fmod(a, b)


COMPARISONS = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
               ">": operator.gt, ">=": operator.ge}


@settings(max_examples=200, deadline=None)
@given(st.integers(-10**9, 10**9), st.integers(-10**9, 10**9), st.sampled_from(sorted(COMPARISONS)))
def test_comparisons_agree_with_python_for_numbers_and_numeric_strings(a, b, op):
    expected = COMPARISONS[op](a, b)
    assert evaluate(f"{a} {op} {b}", {}) is expected
    assert evaluate(f"${{x}} {op} ${{y}}", {"x": str(a), "y": float(b)}) is expected
    assert evaluate(f"${{x}} {op} '{b}'", {"x": a}) is expected


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abcxyz中文", min_size=1, max_size=5), st.text(alphabet="abcxyz中文", min_size=1, max_size=5),
       st.sampled_from(sorted(COMPARISONS)))
def test_non_numeric_strings_compare_as_python_strings(a, b, op):
    assert evaluate(f"${{x}} {op} ${{y}}", {"x": a, "y": b}) is COMPARISONS[op](a, b)


codes = st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), unique=True, max_size=5)


@settings(max_examples=200, deadline=None)
@given(codes, st.sampled_from(["a", "b", "c", "d", "e", "z"]))
def test_selected_and_count_selected_agree_with_set_membership(selection, code):
    for stored in (selection, " ".join(selection)):
        assert evaluate(f"selected(${{q}}, '{code}')", {"q": stored}) is (code in selection)
        assert evaluate("count-selected(${q})", {"q": stored}) == len(selection)


@settings(max_examples=100, deadline=None)
@given(_expressions(small), st.sampled_from(["", " ", "  \t"]))
def test_whitespace_around_tokens_does_not_change_the_value(pair, padding):
    text, value = pair
    spaced = text.replace("(", f"({padding}").replace(")", f"{padding})")
    assert evaluate(f"{padding}{spaced}{padding}", {}) == value


@settings(max_examples=100, deadline=None)
@given(st.booleans(), st.booleans(), st.booleans())
def test_logic_agrees_with_python(p, q, r):
    answers = {"p": "y" if p else "", "q": "y" if q else "", "r": "y" if r else ""}
    assert evaluate("${p} or ${q} and ${r}", answers) is (p or (q and r))
    assert evaluate("not(${p} and ${q}) = (not(${p}) or not(${q}))", answers) is True
    assert evaluate("if(${p}, ${q}, ${r})", answers) == answers["q" if p else "r"]


def test_non_string_expression_is_an_expression_error():
    with pytest.raises(ExpressionError, match=r"must be a string, got \['x'\]"):
        evaluate(["x"], {})

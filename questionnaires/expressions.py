"""A small, safe evaluator for the XLSForm/XPath expression subset used in definitions.

A tokenizer and a recursive-descent parser turn an expression into a tree of
tuples; an interpreter walks the tree. Nothing is handed to Python's ``eval`` or
``ast``, so a definition file can never run code.

Supported: ``${name}`` references, ``.`` (the value being checked), string
(``'a'`` or ``"a"``) and number literals, ``= != < <= > >=``, ``+ - * div mod``,
unary ``-``, ``and``, ``or``, parentheses and the functions ``not(x)``,
``selected(a, 'x')``, ``count-selected(a)``, ``string-length(s)``,
``if(c, a, b)``, ``number(x)``, ``true()`` and ``false()`` (``parse(e)``, what the
shipped definitions may use).

``parse(e, xpath=True)`` reads XPath as pyxform accepts it in XLSForms from other
teams: any function name, paths (``../name``, ``/data/x``, ``instance('l')/root/item[...]``),
``|`` and bare names (a ``choice_filter``'s choice columns). :func:`evaluate`
evaluates the common XLSForm functions as well (``concat``, ``regex``, ``today``,
``format-date``, ``coalesce``, ... see ``questionnaires/README.md``); a path or a
function it lacks raises :class:`ExpressionError` when evaluated.

Value semantics (XPath 1.0, as ODK/Enketo apply it to form data):

- an unanswered reference (key absent or ``None``) is the empty string ``''``;
- a ``select_multiple`` answer (a list of codes) compares as its codes joined by
  spaces, as XLSForm stores it;
- ``=`` and ``!=`` compare numerically when both sides look like numbers
  (``'5' = 5.0`` is true) and as strings otherwise; if one side is a boolean,
  both are compared as booleans;
- ``< <= > >=`` compare numerically when both sides look like numbers, as
  strings when both are non-empty strings (ISO dates order correctly), and are
  false when a side is empty (an unanswered question has no order, as XPath's NaN);
- arithmetic converts to numbers (a non-number is NaN); integers stay exact,
  ``div`` is true division, ``mod`` keeps the sign of the dividend as XPath's
  ``mod`` does, division by zero gives infinity or NaN instead of an error.
"""
from __future__ import annotations

import datetime
import math
import numbers
import re
import uuid
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from questionnaires.errors import ExpressionError

__all__ = ["evaluate", "parse", "references", "uses_current", "to_boolean", "to_string"]

# name -> (minimum, maximum) number of arguments
FUNCTIONS: dict[str, tuple[int, int]] = {
    "not": (1, 1),
    "selected": (2, 2),
    "count-selected": (1, 1),
    "string-length": (1, 1),
    "if": (3, 3),
    "number": (1, 1),
    "true": (0, 0),
    "false": (0, 0),
}
_KEYWORDS = ("and", "or", "div", "mod")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | \$\{(?P<ref>[^}]*)\}
  | (?P<number>\d+(?:\.\d*)?|\.\d+)
  | (?P<parent>\.\.)
  | (?P<current>\.)
  | '(?P<str1>[^']*)'
  | "(?P<str2>[^"]*)"
  | (?P<op>!=|<=|>=|=|<|>|\+|-|\*|\(|\)|,|//|/|\[|\]|\||@)
  | (?P<word>[A-Za-z_][A-Za-z0-9_.-]*(?::[A-Za-z_][A-Za-z0-9_.-]*)?)
    """,
    re.VERBOSE,
)
# XPath's Number production: optional minus, digits with an optional fraction, no exponent.
_NUMERIC = re.compile(r"\s*-?(?:\d+(?:\.\d*)?|\.\d+)\s*")
# Deep nesting would exhaust Python's recursion limit; no real form comes close.
_MAX_NESTING = 32
_MAX_TREE_DEPTH = 100
# Integers beyond this become floats, so no operation can build a huge integer.
_INT_LIMIT = 2**63


# ---------------------------------------------------------------------------
# Tokenizer and parser


def _tokenize(expression: str) -> list[tuple[str, Any, int]]:
    tokens: list[tuple[str, Any, int]] = []
    position = 0
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None:
            char = expression[position]
            if char in "'\"":
                problem = "unterminated string literal"
                fix = f"close it with {char}"
            elif expression.startswith("${", position):
                problem = "unterminated reference"
                fix = "write references as ${name}"
            else:
                problem = f"unexpected character {char!r}"
                fix = "see questionnaires/README.md for the supported syntax"
            raise _error(expression, position, problem, fix)
        kind = match.lastgroup
        if kind == "ref":
            name = match.group("ref").strip()
            if not _NAME.fullmatch(name):
                raise _error(
                    expression, position, f"bad question name {name!r} in reference",
                    "a name starts with a letter or '_' and has only letters, digits, '_', '-' and '.'",
                )
            tokens.append(("ref", name, position))
        elif kind == "number":
            text = match.group("number")
            value = int(text) if "." not in text and len(text) <= 18 else float(text)
            tokens.append(("number", value, position))
        elif kind in ("str1", "str2"):
            tokens.append(("string", match.group(kind), position))
        elif kind == "current":
            tokens.append(("current", None, position))
        elif kind == "parent":
            tokens.append(("parent", None, position))
        elif kind == "op":
            op = match.group("op")
            # XPath: '*' is a name test unless it follows a value
            tokens.append(("op" if op != "*" or _after_value(tokens) else "word", op, position))
        elif kind == "word":
            word = match.group("word")
            # XPath: and, or, div, mod are operators only after a value, else names
            tokens.append(("op" if word in _KEYWORDS and _after_value(tokens) else "word", word, position))
        position = match.end()
    tokens.append(("end", None, len(expression)))
    return tokens


def _after_value(tokens: list[tuple[str, Any, int]]) -> bool:
    if not tokens:
        return False
    kind, value, _ = tokens[-1]
    return kind in ("number", "string", "ref", "current", "parent", "word") or (kind == "op" and value in (")", "]"))


def _error(expression: str, position: int, problem: str, fix: str) -> ExpressionError:
    shown = expression if len(expression) <= 120 else expression[:117] + "..."
    return ExpressionError(f"{problem} at position {position} of expression {shown!r}; {fix}")


class _Parser:
    """Recursive descent, lowest precedence first: or, and, = !=, < <= > >=, + -, * div mod."""

    def __init__(self, expression: str, xpath: bool = False):
        self.expression = expression
        self.xpath = xpath
        self.tokens = _tokenize(expression)
        self.index = 0
        self.nesting = 0

    def peek(self) -> tuple[str, Any, int]:
        return self.tokens[self.index]

    def take(self) -> tuple[str, Any, int]:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at_op(self, *ops: str) -> bool:
        kind, value, _ = self.peek()
        return kind == "op" and value in ops

    def expect(self, op: str) -> None:
        kind, value, position = self.take()
        if kind != "op" or value != op:
            found = "the end" if kind == "end" else repr(value if value is not None else ".")
            raise _error(self.expression, position, f"expected {op!r} but found {found}",
                         "check the parentheses and commas")

    def parse(self) -> tuple:
        if self.peek()[0] == "end":
            raise _error(self.expression, 0, "empty expression", "write an expression or leave the field out")
        tree = self.binary(0)
        kind, value, position = self.peek()
        if kind != "end":
            raise _error(self.expression, position, f"unexpected {value!r} after a complete expression",
                         "join conditions with 'and' or 'or'")
        if _depth(tree) > _MAX_TREE_DEPTH:
            raise _error(self.expression, 0, "expression is too long or too deeply nested",
                         f"keep it under {_MAX_TREE_DEPTH} levels")
        return tree

    _LEVELS = (("or",), ("and",), ("=", "!="), ("<", "<=", ">", ">="), ("+", "-"), ("*", "div", "mod"))

    def binary(self, level: int) -> tuple:
        if level == len(self._LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.at_op(*self._LEVELS[level]):
            op = self.take()[1]
            left = ("binary", op, left, self.binary(level + 1))
        return left

    def unary(self) -> tuple:
        negations = 0
        while self.at_op("-"):
            self.take()
            negations += 1
        operand = self.union()
        return ("negate", operand) if negations % 2 else (("number", operand) if negations else operand)

    def union(self) -> tuple:
        left = self.path()
        while self.xpath and self.at_op("|"):
            self.take()
            left = ("union", left, self.path())
        return left

    def path(self) -> tuple:
        kind, value, _ = self.peek()
        following = self.tokens[self.index + 1] if self.index + 1 < len(self.tokens) else ("end", None, 0)
        if self.xpath and (self.at_op("/", "//", "@") or kind == "parent" or (
                kind == "word" and not (following[0] == "op" and following[1] == "("))):
            return self.location_path()
        node = self.primary()
        if self.xpath:
            predicates = self.predicates()
            if predicates:
                node = ("filter", node, predicates)
            if self.at_op("/", "//"):
                node = ("path", node, False, self.steps())
        return node

    def location_path(self) -> tuple:
        absolute = self.at_op("/", "//")
        if absolute and self.peek()[1] == "/" and self.tokens[self.index + 1][0] not in ("word", "parent", "current") \
                and not (self.tokens[self.index + 1][0] == "op" and self.tokens[self.index + 1][1] == "@"):
            self.take()
            return ("path", None, True, ())
        return ("path", None, absolute, self.steps() if absolute else (self.step(), *self.steps()))

    def steps(self) -> tuple:
        steps = []
        while self.at_op("/", "//"):
            separator = self.take()[1]
            if separator == "//":
                steps.append(("step", "//", ()))
            steps.append(self.step())
        return tuple(steps)

    def step(self) -> tuple:
        kind, value, position = self.take()
        if kind == "parent":
            return ("step", "..", ())
        if kind == "current":
            return ("step", ".", ())
        prefix = ""
        if kind == "op" and value == "@":
            prefix = "@"
            kind, value, position = self.take()
        if kind != "word":
            found = "the end of the expression" if kind == "end" else repr(value)
            raise _error(self.expression, position, f"expected a name in a path but found {found}",
                         "write a path as a/b, ../name or ${name}")
        return ("step", prefix + value, self.predicates())

    def predicates(self) -> tuple:
        found = []
        while self.at_op("["):
            _, _, position = self.take()
            self.enter(position)
            found.append(self.binary(0))
            self.expect("]")
            self.nesting -= 1
        return tuple(found)

    def primary(self) -> tuple:
        kind, value, position = self.take()
        if kind == "number" or kind == "string":
            return ("literal", value)
        if kind == "ref":
            return ("ref", value)
        if kind == "current":
            return ("current",)
        if kind == "op" and value == "(":
            self.enter(position)
            inner = self.binary(0)
            self.expect(")")
            self.nesting -= 1
            return inner
        if kind == "word":
            return self.call(value, position)
        found = "the end of the expression" if kind == "end" else repr(value)
        raise _error(self.expression, position, f"expected a value but found {found}",
                     "a value is ${name}, '.', a 'string', a number, a function call or (...)")

    def call(self, name: str, position: int) -> tuple:
        if not self.at_op("("):
            raise _error(self.expression, position, f"unknown name {name!r}",
                         f"refer to a question as ${{{name}}}; functions need parentheses")
        if name not in FUNCTIONS and not self.xpath:
            raise _error(self.expression, position, f"unknown function {name}()",
                         f"supported functions: {', '.join(f + '()' for f in FUNCTIONS)}")
        self.take()
        self.enter(position)
        arguments: list[tuple] = []
        if not self.at_op(")"):
            arguments.append(self.binary(0))
            while self.at_op(","):
                self.take()
                arguments.append(self.binary(0))
        self.expect(")")
        self.nesting -= 1
        low, high = FUNCTIONS.get(name, (0, 1 << 16))
        if not low <= len(arguments) <= high:
            raise _error(self.expression, position,
                         f"{name}() takes {low} argument{'s' if low != 1 else ''}, got {len(arguments)}",
                         "fix the number of arguments")
        return ("call", name, tuple(arguments))

    def enter(self, position: int) -> None:
        self.nesting += 1
        if self.nesting > _MAX_NESTING:
            raise _error(self.expression, position, "parentheses nested too deeply",
                         f"use at most {_MAX_NESTING} levels")


def _depth(tree: tuple) -> int:
    # iterative: a long chain such as 1+1+...+1 is parsed without recursion
    deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in _children(node))
    return deepest


def _children(tree: tuple) -> tuple[tuple, ...]:
    kind = tree[0]
    if kind == "binary":
        return (tree[2], tree[3])
    if kind in ("negate", "number"):
        return (tree[1],)
    if kind == "call":
        return tree[2]
    if kind == "union":
        return (tree[1], tree[2])
    if kind == "filter":
        return (tree[1], *tree[2])
    if kind == "path":
        return (*(() if tree[1] is None else (tree[1],)), *(predicate for step in tree[3] for predicate in step[2]))
    return ()


def parse(expression: str, *, xpath: bool = False) -> tuple:
    """Parse ``expression`` into a syntax tree of tuples.

    Raises
    ------
    ExpressionError
        If the expression is not valid; the message shows the position and a fix.
    """
    if not isinstance(expression, str):
        raise ExpressionError(f"an expression must be a string, got {expression!r}; quote it in the YAML file")
    return _parse(expression, xpath)


@lru_cache(maxsize=4096)
def _parse(expression: str, xpath: bool = False) -> tuple:
    # the same few expressions are evaluated on every screen render
    return _Parser(expression, xpath).parse()


def references(expression: str) -> frozenset[str]:
    """The question names that ``expression`` refers to with ``${name}``."""
    found: set[str] = set()
    stack = [parse(expression, xpath=True)]
    while stack:
        node = stack.pop()
        if node[0] == "ref":
            found.add(node[1])
        stack.extend(_children(node))
    return frozenset(found)


def uses_current(expression: str) -> bool:
    """Whether ``expression`` uses ``.``, the value being checked (``./name``, a path, is not that)."""
    stack = [parse(expression, xpath=True)]
    while stack:
        node = stack.pop()
        if node[0] == "current":
            return True
        children = _children(node)
        if node[0] == "path" and node[1] == ("current",):
            children = children[1:]
        stack.extend(children)
    return False


# ---------------------------------------------------------------------------
# Values


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def to_string(value: Any) -> str:
    """XPath ``string()``: the text form of an answer or intermediate value."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "Infinity" if number > 0 else "-Infinity"
        if number.is_integer() and abs(number) < _INT_LIMIT:
            return str(int(number))
        return repr(number)
    if isinstance(value, (list, tuple)):
        return " ".join(to_string(item) for item in value)
    return str(value)


def _to_number(value: Any) -> int | float:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Integral):
        return _bounded(int(value))
    if isinstance(value, numbers.Real):
        return float(value)
    text = to_string(value)
    if not _NUMERIC.fullmatch(text):
        return math.nan
    text = text.strip()
    if "." in text or len(text) > 18:
        return float(text)
    return int(text)


def _looks_numeric(value: Any) -> bool:
    return _is_number(value) or (
        isinstance(value, (str, list, tuple)) and _NUMERIC.fullmatch(to_string(value)) is not None
    )


def to_boolean(value: Any) -> bool:
    """XPath ``boolean()``: a non-zero number, a non-empty string or selection is true."""
    if isinstance(value, bool):
        return value
    if _is_number(value):
        return value != 0 and not math.isnan(value)
    if value is None:
        return False
    if isinstance(value, (list, tuple)):
        return len(value) > 0
    return to_string(value) != ""


def _bounded(number: int) -> int | float:
    return float(number) if abs(number) >= _INT_LIMIT else number


def _selection(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [to_string(item) for item in value]
    return to_string(value).split()


# ---------------------------------------------------------------------------
# Interpreter


def _compare(op: str, left: Any, right: Any) -> bool:
    if op in ("=", "!="):
        if isinstance(left, bool) or isinstance(right, bool):
            equal = to_boolean(left) == to_boolean(right)
        elif _looks_numeric(left) and _looks_numeric(right):
            equal = _to_number(left) == _to_number(right)
        else:
            equal = to_string(left) == to_string(right)
        return equal if op == "=" else not equal
    if isinstance(left, bool):
        left = int(left)
    if isinstance(right, bool):
        right = int(right)
    if _looks_numeric(left) and _looks_numeric(right):
        a, b = _to_number(left), _to_number(right)
    else:
        a, b = to_string(left), to_string(right)
        if a == "" or b == "":
            return False
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def _arithmetic(op: str, left: Any, right: Any) -> int | float:
    a, b = _to_number(left), _to_number(right)
    if op in ("+", "-", "*"):
        result = a + b if op == "+" else a - b if op == "-" else a * b
        return _bounded(result) if isinstance(result, int) else result
    if op == "div":
        if b == 0:
            if a == 0 or math.isnan(a):
                return math.nan
            return math.copysign(math.inf, a) * math.copysign(1.0, b)
        try:
            return a / b
        except OverflowError:
            return math.copysign(math.inf, a) * math.copysign(1.0, b)
    # mod: the remainder of truncating division, with the dividend's sign
    if b == 0 or math.isnan(a) or math.isnan(b) or math.isinf(a):
        return math.nan
    if isinstance(a, int) and isinstance(b, int):
        remainder = abs(a) % abs(b)
        return remainder if a >= 0 else -remainder
    return math.fmod(a, b)


def _evaluate(node: tuple, answers: Mapping[str, Any], current: Any, item: Mapping[str, Any] | None = None) -> Any:
    kind = node[0]
    if kind == "literal":
        return node[1]
    if kind == "ref":
        value = answers.get(node[1])
        return "" if value is None else value
    if kind == "current":
        return "" if current is None else current
    if kind == "negate":
        return -_to_number(_evaluate(node[1], answers, current, item))
    if kind == "number":
        return _to_number(_evaluate(node[1], answers, current, item))
    if kind == "binary":
        op = node[1]
        if op == "and":
            return to_boolean(_evaluate(node[2], answers, current, item)) and to_boolean(
                _evaluate(node[3], answers, current, item))
        if op == "or":
            return to_boolean(_evaluate(node[2], answers, current, item)) or to_boolean(
                _evaluate(node[3], answers, current, item))
        left = _evaluate(node[2], answers, current, item)
        right = _evaluate(node[3], answers, current, item)
        if op in ("=", "!=", "<", "<=", ">", ">="):
            return _compare(op, left, right)
        return _arithmetic(op, left, right)
    if kind == "path":
        steps = node[3]
        # a bare name is a column of the choice being filtered (choice_filter)
        if item is not None and node[1] is None and not node[2] and len(steps) == 1 and not steps[0][2] \
                and steps[0][1] not in (".", "..", "*", "//"):
            value = item.get(steps[0][1].lstrip("@"))
            return "" if value is None else value
        raise ExpressionError("an XPath path (instance(), ../name, /data/...) cannot be evaluated in the browser; "
                              "collect this form with ODK Collect or refer to questions as ${name}")
    if kind in ("union", "filter"):
        raise ExpressionError("XPath node sets cannot be evaluated in the browser; collect this form with ODK Collect")
    # function call
    name, arguments = node[1], node[2]
    if name == "if":
        chosen = arguments[1] if to_boolean(_evaluate(arguments[0], answers, current, item)) else arguments[2]
        return _evaluate(chosen, answers, current, item)
    if name == "coalesce":
        first = _evaluate(arguments[0], answers, current, item)
        return first if to_string(first) != "" else _evaluate(arguments[1], answers, current, item)
    function = _FUNCTIONS.get(name)
    if function is None:
        raise ExpressionError(f"the function {name}() cannot be evaluated in the browser; collect this form with "
                              "ODK Collect")
    return function(*(_evaluate(argument, answers, current, item) for argument in arguments))


def _round(value: Any, places: Any = 0) -> float:
    number, digits = _to_number(value), int(_to_number(places)) if not math.isnan(_to_number(places)) else 0
    if math.isnan(number) or math.isinf(number):
        return number
    scale = 10.0 ** digits
    return math.floor(number * scale + 0.5) / scale  # XPath rounds halves up


def _int(value: Any) -> int | float:
    number = _to_number(value)
    return number if math.isnan(number) or math.isinf(number) else int(number)


def _regex(value: Any, pattern: Any) -> bool:
    try:
        return re.search(to_string(pattern), to_string(value)) is not None
    except re.error:
        raise ExpressionError(f"regex() pattern {to_string(pattern)!r} is not a valid regular expression") from None


def _today() -> str:
    return datetime.date.today().isoformat()


def _now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="milliseconds")


def _date(value: Any) -> str:
    text = to_string(value)
    if _looks_numeric(value) and text:
        return (datetime.date(1970, 1, 1) + datetime.timedelta(days=int(_to_number(value)))).isoformat()
    return text[:10]


def _days(value: Any) -> float:
    """A date or date-time as days since 1970-01-01 (XForms' decimal-date-time)."""
    text = to_string(value)
    if _looks_numeric(value):
        return float(_to_number(value))
    try:
        moment = datetime.datetime.fromisoformat(text if "T" in text else text + "T00:00:00")
    except ValueError:
        return math.nan
    if moment.tzinfo is not None:
        moment = moment.astimezone().replace(tzinfo=None)
    return (moment - datetime.datetime(1970, 1, 1)).total_seconds() / 86400


def _format_date(value: Any, pattern: Any) -> str:
    days = _days(value)
    if math.isnan(days):
        return ""
    moment = datetime.datetime(1970, 1, 1) + datetime.timedelta(days=days)
    codes = {"%Y": "%Y", "%y": "%y", "%m": "%m", "%n": str(moment.month), "%d": "%d", "%e": str(moment.day),
             "%H": "%H", "%h": str(moment.hour), "%M": "%M", "%S": "%S", "%a": "%a", "%b": "%b", "%3": ""}
    out = to_string(pattern)
    for code, replacement in codes.items():
        out = out.replace(code, moment.strftime(replacement) if replacement.startswith("%") else replacement)
    return out


def _power(base: float, exponent: float) -> float:
    try:
        result = float(base) ** float(exponent)
    except (OverflowError, ZeroDivisionError):
        return math.inf
    return result if isinstance(result, float) else math.nan  # a negative base to a fraction is complex


def _substr(value: Any, start: Any, end: Any = None) -> str:
    text = to_string(value)
    first = int(_to_number(start))
    return text[first:] if end is None else text[first:int(_to_number(end))]


def _selected_at(value: Any, index: Any) -> str:
    items = _selection(value)
    position = int(_to_number(index))
    return items[position] if 0 <= position < len(items) else ""


def _numbers(values: tuple) -> list[float]:
    found = []
    for value in values:
        for part in (value if isinstance(value, (list, tuple)) else [value]):
            found.append(_to_number(part))
    return found


def _extreme(pick: Any) -> Any:
    def apply(*values: Any) -> float:
        numbers_ = _numbers(values)
        return math.nan if not numbers_ or any(math.isnan(n) for n in numbers_) else pick(numbers_)
    return apply


_FUNCTIONS: dict[str, Any] = {
    "not": lambda x: not to_boolean(x),
    "selected": lambda x, code: to_string(code).strip() in _selection(x),
    "count-selected": lambda x: len(_selection(x)),
    "selected-at": _selected_at,
    "string-length": lambda x: len(to_string(x)),
    "number": _to_number,
    "true": lambda: True,
    "false": lambda: False,
    "boolean": to_boolean,
    "string": to_string,
    "concat": lambda *values: "".join(to_string(value) for value in values),
    "join": lambda separator, *values: to_string(separator).join(
        to_string(part) for value in values for part in (value if isinstance(value, (list, tuple)) else [value])),
    "contains": lambda a, b: to_string(b) in to_string(a),
    "starts-with": lambda a, b: to_string(a).startswith(to_string(b)),
    "ends-with": lambda a, b: to_string(a).endswith(to_string(b)),
    "substr": _substr,
    "substring-before": lambda a, b: to_string(a).partition(to_string(b))[0] if to_string(b) in to_string(a) else "",
    "substring-after": lambda a, b: to_string(a).partition(to_string(b))[2] if to_string(b) in to_string(a) else "",
    "normalize-space": lambda x: " ".join(to_string(x).split()),
    "translate": lambda x, a, b: to_string(x).translate(
        {ord(c): (to_string(b)[i] if i < len(to_string(b)) else None) for i, c in enumerate(to_string(a))}),
    "regex": _regex,
    "int": _int,
    "round": _round,
    "floor": lambda x: math.floor(_to_number(x)) if math.isfinite(_to_number(x)) else _to_number(x),
    "ceiling": lambda x: math.ceil(_to_number(x)) if math.isfinite(_to_number(x)) else _to_number(x),
    "abs": lambda x: abs(_to_number(x)),
    "pow": lambda a, b: _power(_to_number(a), _to_number(b)),
    "sqrt": lambda x: math.sqrt(_to_number(x)) if _to_number(x) >= 0 else math.nan,
    "min": _extreme(min),
    "max": _extreme(max),
    "today": _today,
    "now": _now,
    "date": _date,
    "date-time": _date,
    "decimal-date-time": _days,
    "decimal-date": _days,
    "format-date": _format_date,
    "format-date-time": _format_date,
    "once": lambda x: x,
    "uuid": lambda *_: str(uuid.uuid4()),
}


def evaluate(expression: str, answers: Mapping[str, Any], *, current: Any = None,
             item: Mapping[str, Any] | None = None) -> Any:
    """Evaluate an XLSForm expression against a set of answers.

    Parameters
    ----------
    expression : str
        For example ``"${q1} = '5'"``, ``"selected(${q2}, 'a')"`` or ``". >= 18 and . <= 99"``.
    answers : Mapping[str, Any]
        Answers by question name: ``str`` codes, ``list`` of codes for
        ``select_multiple``, ``int``, ``float`` or ``str``; absent or ``None``
        means unanswered and reads as ``''``.
    current : Any, optional
        The value that ``.`` stands for (the answer being checked by a constraint).
    item : Mapping, optional
        The columns of the choice a ``choice_filter`` is testing: a bare name
        (``region_id = ${region}``) reads them.

    Returns
    -------
    Any
        ``bool`` for comparisons and logic, ``int``/``float`` for arithmetic,
        or the referenced value itself; use :func:`to_boolean` for a condition.

    Raises
    ------
    ExpressionError
        If the expression cannot be parsed, or uses what the browser cannot
        evaluate (an XPath path, a function such as ``pulldata()``).

    Examples
    --------
    XLSForm tools (ODK Collect, Enketo, pyxform) use the same syntax.

    >>> evaluate("${age} >= 18 and selected(${channels}, '12315')",
    ...          {"age": 30, "channels": ["12315", "other"]})
    True
    >>> evaluate(". mod 2 = 1", {}, current=7)
    True
    """
    tree = parse(expression, xpath=True)
    return _evaluate(tree, answers, current, item)

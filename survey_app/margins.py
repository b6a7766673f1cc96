"""Population margins: read an uploaded CSV/Excel file, check it, store it with its source.

A margins file is a long table with one row per category::

    variable,category,population
    district,chongchuan,1029854
    district,崇川区,...            # a category may be its code or its Chinese/English label
    sex,male,3712000
    ...

``variable`` is one of :data:`MARGIN_VARIABLES` (the weighting questions every questionnaire
asks), ``category`` one of that question's answer codes or labels, ``population`` the number of
people of the survey population (adults, 18+) in the category. Every category of a variable
that appears must be given once. The variables' totals may differ by rounding (at most
:data:`TOTAL_TOLERANCE`); :meth:`PopulationMargins.rake_margins` scales them to a common total.

Margins are saved in the response database (table ``population_margins``) with their source,
reference date and upload time; the statistician's page weights to the latest set.

Examples
--------
>>> margins = read_margins(Path("margins.csv").read_bytes(), "margins.csv",
...                        source="Nantong statistical yearbook 2021, table 2-5",
...                        reference_date=date(2020, 11, 1))          # doctest: +SKIP
>>> MarginsStore(store.url).save(margins)                              # doctest: +SKIP
>>> design.rake(margins.rake_margins(["district", "sex"]))             # doctest: +SKIP
>>> # In R: rake(des, list(~district, ~sex), list(district_pop, sex_pop))
"""
from __future__ import annotations

import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Literal, get_args

import pandas as pd
import sqlalchemy as sa

from survey_app.errors import SurveyAppError
from survey_app.formatting import format_percent
from survey_app.i18n import register
# The store's engine factory (SQLite pragmas, error translation) and password masking, shared
# with the other tables of the response database.
from survey_app.store import StoreTables
from survey_app.uploads import WorkbookError, read_workbook

__all__ = [
    "CENSUS_FILE",
    "FILE_COLUMNS",
    "MARGIN_VARIABLES",
    "TOTAL_TOLERANCE",
    "MarginVariable",
    "MarginsError",
    "MarginsProblem",
    "MarginsStore",
    "PopulationMargins",
    "census_district_totals",
    "margin_categories",
    "margins_template",
    "parse_margins",
    "read_margins",
    "read_table",
]

DATA_DIR = Path(__file__).parent / "data"
#: Resident population by district, 2020 census (see ``survey_app/data/README.md``).
CENSUS_FILE = DATA_DIR / "census_2020_districts.csv"

MarginVariable = Literal["district", "sex", "age_group", "urban_rural"]
MARGIN_VARIABLES: tuple[str, ...] = get_args(MarginVariable)
FILE_COLUMNS: tuple[str, ...] = ("variable", "category", "population")
#: Largest relative difference allowed between the totals of two variables (rounding in
#: published tables); larger differences mean the tables describe different populations.
TOTAL_TOLERANCE = 0.01
# Problems listed in one error message; the rest are counted.
_MAX_LISTED = 12


# Texts of the refusals of a margins file, for the page that shows them (issue 13: no English
# sentence in the Chinese interface). Placeholders are filled from MarginsError.params and
# MarginsProblem.params.
register("margins", {
    "problems": {"zh": "文件 {file} 无法使用（{count} 个问题）：", "en": "File {file} cannot be used ({count} problem(s)):"},
    "more": {"zh": "……另有 {more} 个问题", "en": "... and {more} more problem(s)"},
    "unknown_variable": {"zh": "第 {row} 行：变量「{value}」不是 {allowed} 之一",
                         "en": "row {row}: variable '{value}' is not one of {allowed}"},
    "unknown_category": {"zh": "第 {row} 行：「{value}」不是 {variable} 的类别；请使用 {allowed} 之一",
                         "en": "row {row}: '{value}' is not a {variable} category; use one of {allowed}"},
    "bad_population": {"zh": "第 {row} 行：{variable} {code} 的人口数「{value}」不是正数",
                       "en": "row {row}: population '{value}' of {variable} {code} is not a positive number"},
    "duplicate": {"zh": "第 {row} 行：{variable} {code} 重复（第 {first} 行已给出）",
                  "en": "row {row}: {variable} {code} is given twice (also in row {first})"},
    "no_rows": {"zh": "没有数据行；每个类别一行（{columns}）", "en": "no data rows; give one row per category ({columns})"},
    "incomplete": {"zh": "{variable} 缺少类别 {missing}；每个变量须列出全部类别",
                   "en": "{variable} lacks the categories {missing}; give every category of a variable"},
    "bad_suffix": {"zh": "文件 {file}：请使用 .csv 或 .xlsx 文件（收到的扩展名：{suffix}）。",
                   "en": "File {file}: use a .csv or .xlsx file (got {suffix})."},
    "not_csv": {"zh": "文件 {file} 不是可读的 CSV 表格。", "en": "File {file} is not a readable CSV table."},
    "bad_encoding": {"zh": "文件 {file} 的文字既不是 UTF-8 也不是 GB18030，请另存为 UTF-8 编码的 CSV。",
                     "en": "The text of file {file} is neither UTF-8 nor GB18030; save it as UTF-8 CSV."},
    "not_workbook": {"zh": "文件 {file} 无法作为 Excel 工作簿读取，请另存为 .xlsx 或 CSV 后再上传。",
                     "en": "File {file} cannot be read as an Excel workbook; save it again as .xlsx or CSV."},
    "missing_columns": {"zh": "文件 {file} 缺少列 {missing}；表头须为 {header}（现有：{found}）。",
                        "en": "File {file} lacks the column(s) {missing}; the header must be {header} (found: {found})."},
    "totals_differ": {
        "zh": "各变量的总数相差超过 {tolerance}（{totals}）；所有边际须描述同一总体（例如全部 18 岁及以上常住人口）。",
        "en": "The variables' totals differ by more than {tolerance} ({totals}); every margin must describe the same "
        "population (e.g. all residents aged 18 and over).",
    },
    "other": {"zh": "人口边际无法使用：{detail}", "en": "The margins cannot be used: {detail}"},
})


@dataclass(frozen=True)
class MarginsProblem:
    """One problem of a margins file: its English text, and its text key and values for the page.

    ``key`` names a text of the ``margins`` namespace (:func:`survey_app.i18n.t`); ``params``
    fill its placeholders (cell values and file names as read: escape them before Markdown).
    """

    text: str
    key: str
    params: Mapping[str, object]


class MarginsError(SurveyAppError, ValueError):
    """A margins file or margins argument that cannot be used; the message says where and why.

    Attributes
    ----------
    key, params : str, dict
        The text (``margins`` namespace) and its values that say the same in any language;
        errors of the calling code have ``"margins.other"`` with the English message as ``detail``.
    problems : tuple of MarginsProblem
        For a file with problems (``key`` ``"margins.problems"``): each one, in file order.
    """

    def __init__(self, message: str, *, key: str = "margins.other", params: Mapping[str, object] | None = None,
                 problems: Sequence[MarginsProblem] = ()) -> None:
        super().__init__(message)
        self.key = key
        self.params = dict(params) if params is not None else {"detail": message}
        self.problems = tuple(problems)


@dataclass(frozen=True)
class PopulationMargins:
    """Population counts per category of the weighting variables, with their provenance.

    Attributes
    ----------
    counts : Mapping[str, Mapping[str, float]]
        variable -> answer code -> population count, variables in :data:`MARGIN_VARIABLES`
        order and codes in questionnaire order (a private copy; do not modify).
    source : str
        Where the figures come from (publication, table).
    reference_date : datetime.date
        The date the figures describe (e.g. the census day).
    demonstration : bool
        True for figures built under assumptions for the demo data set; such margins must not
        be used for published estimates.
    filename : str or None
        The uploaded file's name.
    id : int or None
        Row id once saved; None before.
    uploaded_at : datetime or None
        When it was saved (UTC); None before.
    """

    counts: Mapping[str, Mapping[str, float]]
    source: str
    reference_date: date
    demonstration: bool = False
    filename: str | None = None
    id: int | None = None
    uploaded_at: datetime | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.source, str) or not self.source.strip():
            raise MarginsError(
                f"source must say where the figures come from (publication and table), got {self.source!r}"
            )
        if not isinstance(self.reference_date, date) or isinstance(self.reference_date, datetime):
            raise MarginsError(
                f"reference_date must be a datetime.date (the day the figures describe), got {self.reference_date!r}"
            )
        counts = _check_counts(self.counts)
        object.__setattr__(self, "source", self.source.strip())
        # A private copy in plain dicts: picklable, so st.cache_data can take margins as an argument.
        object.__setattr__(self, "counts", counts)

    @property
    def variables(self) -> tuple[str, ...]:
        """The variables that have margins, in :data:`MARGIN_VARIABLES` order."""
        return tuple(self.counts)

    def total(self, variable: str) -> float:
        """The population total of one variable's margin."""
        return math.fsum(self._margin(variable).values())

    def rake_margins(self, variables: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
        """Margins for :meth:`analysis.SurveyDesign.rake`, scaled to one common total.

        Parameters
        ----------
        variables : sequence of str, optional
            The variables to rake on (default: all that have margins). Each margin is
            scaled to the total of the first one, so totals that differ by rounding agree.

        Returns
        -------
        dict
            ``{variable: {code: count}}``.
        """
        chosen = list(self.variables if variables is None else variables)
        if not chosen:
            raise MarginsError(f"variables is empty; choose at least one of {', '.join(self.variables)}")
        reference = self.total(chosen[0])
        return {
            variable: {code: count * reference / self.total(variable) for code, count in self._margin(variable).items()}
            for variable in chosen
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per category: ``variable, category, population, share`` (share within the variable)."""
        rows = [
            {"variable": variable, "category": code, "population": count, "share": count / self.total(variable)}
            for variable, margin in self.counts.items()
            for code, count in margin.items()
        ]
        return pd.DataFrame(rows, columns=["variable", "category", "population", "share"])

    def summary(self) -> str:
        """A short description: provenance, then each variable's total and shares."""
        kind = "DEMONSTRATION margins (not official figures)" if self.demonstration else "Population margins"
        lines = [f"{kind}: {self.source}", f"  reference date {self.reference_date.isoformat()}"]
        if self.uploaded_at is not None:
            origin = f" from {self.filename}" if self.filename else ""
            lines.append(f"  saved {self.uploaded_at.isoformat()}{origin}")
        for variable, margin in self.counts.items():
            total = self.total(variable)
            shares = ", ".join(f"{code} {format_percent(count / total)}" for code, count in margin.items())
            lines.append(f"  {variable} (total {total:,.0f}): {shares}")
        return "\n".join(lines)

    def _margin(self, variable: str) -> Mapping[str, float]:
        if variable not in self.counts:
            raise MarginsError(
                f"variable {variable!r} has no margin here; margins exist for {', '.join(self.variables)}"
            )
        return self.counts[variable]


# -- categories and census --------------------------------------------------------------


@lru_cache(maxsize=1)
def _category_table() -> tuple[tuple[str, tuple[tuple[str, str, str], ...]], ...]:
    from questionnaires import load_districts, shipped_questionnaires

    found: dict[str, tuple[tuple[str, str, str], ...]] = {
        "district": tuple((c.name, c.label.get("zh"), c.label.get("en")) for c in load_districts())
    }
    # Every questionnaire asks the weighting questions with the same codes; take the first that has each.
    for form in shipped_questionnaires().values():
        names = {q.name for q in form.questions}
        for variable in MARGIN_VARIABLES:
            if variable not in found and variable in names:
                found[variable] = tuple((c.name, c.label.get("zh"), c.label.get("en")) for c in form.choices(variable))
    return tuple((variable, found[variable]) for variable in MARGIN_VARIABLES)


def margin_categories() -> dict[str, list[tuple[str, str, str]]]:
    """Allowed categories: variable -> [(code, Chinese label, English label), ...] in questionnaire order."""
    return {variable: list(choices) for variable, choices in _category_table()}


def margins_template() -> pd.DataFrame:
    """An empty margins table (every variable and category, no population) to fill in."""
    rows = [
        {"variable": variable, "category": code, "label": f"{zh} / {en}", "population": None}
        for variable, choices in margin_categories().items()
        for code, zh, en in choices
    ]
    return pd.DataFrame(rows, columns=["variable", "category", "label", "population"])


def census_district_totals() -> dict[str, int]:
    """Resident population of each district on 2020-11-01 (census bulletin No. 2), by district code.

    The census counts all ages; see ``survey_app/data/README.md`` for the source.
    """
    table = pd.read_csv(CENSUS_FILE, dtype={"resident_population_2020": "int64"})
    codes = {zh: code for code, zh, _ in margin_categories()["district"]}
    unknown = sorted(set(table["district"]) - set(codes))
    if unknown or len(table) != len(codes):
        raise MarginsError(
            f"{CENSUS_FILE.name} does not list the eight districts of questionnaires/districts.csv "
            f"(unknown names: {unknown}); restore the file from the reference data"
        )
    return {codes[name]: int(count) for name, count in zip(table["district"], table["resident_population_2020"])}


# -- reading and checking files ---------------------------------------------------------


def read_table(data: bytes, filename: str) -> pd.DataFrame:
    """The raw table of an uploaded margins file (``.csv``, ``.xlsx``), every cell as text.

    CSV files may be UTF-8 (with or without BOM) or GB18030 (Chinese Excel's default).
    """
    suffix = Path(filename).suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise MarginsError(f"file {filename!r}: use a .csv or .xlsx file (got {suffix or 'no extension'})",
                           key="margins.bad_suffix", params={"file": filename, "suffix": suffix or "–"})
    if suffix == ".xlsx":
        try:
            return read_workbook(data, what="margins file", filename=filename, keep_default_na=False)
        except WorkbookError as exc:
            raise MarginsError(str(exc), key="margins.not_workbook", params={"file": filename}) from None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        try:
            return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise MarginsError(f"file {filename!r} is not a readable CSV table: {exc}",
                               key="margins.not_csv", params={"file": filename}) from exc
    raise MarginsError(f"file {filename!r}: the text is neither UTF-8 nor GB18030; save it as UTF-8 CSV",
                       key="margins.bad_encoding", params={"file": filename})


def read_margins(
    data: bytes,
    filename: str,
    *,
    source: str,
    reference_date: date,
    demonstration: bool = False,
) -> PopulationMargins:
    """Read and check an uploaded margins file (see the module docstring for its format).

    Raises
    ------
    MarginsError
        Naming the file rows (header = row 1) and values at fault.
    """
    table = read_table(data, filename)
    return parse_margins(
        table, source=source, reference_date=reference_date, demonstration=demonstration, filename=filename
    )


def parse_margins(
    table: pd.DataFrame,
    *,
    source: str,
    reference_date: date,
    demonstration: bool = False,
    filename: str | None = None,
) -> PopulationMargins:
    """Check a margins table (columns ``variable, category, population``) and build the margins.

    Row numbers in messages count the header as row 1, as a spreadsheet shows them.
    Categories may be codes or Chinese/English labels; they are stored as codes.
    """
    where = f"file {filename!r}" if filename else "margins table"
    if not isinstance(table, pd.DataFrame):
        raise MarginsError(f"table must be a pandas DataFrame, got {type(table).__name__}")
    columns = {str(column).strip().lower(): column for column in table.columns}
    missing = [name for name in FILE_COLUMNS if name not in columns]
    if missing:
        raise MarginsError(
            f"{where} lacks the column(s) {', '.join(missing)}; the header must be "
            f"{','.join(FILE_COLUMNS)} (found: {', '.join(map(str, table.columns)) or 'none'})",
            key="margins.missing_columns",
            params={"file": filename or "", "missing": ", ".join(missing), "header": ",".join(FILE_COLUMNS),
                    "found": ", ".join(map(str, table.columns)) or "–"},
        )
    rows = table[[columns[name] for name in FILE_COLUMNS]].astype(object).where(table.notna(), "")
    lookup = {variable: _category_lookup(choices) for variable, choices in margin_categories().items()}
    problems: list[MarginsProblem] = []
    seen: dict[tuple[str, str], int] = {}
    mentioned: set[tuple[str, str]] = set()  # also rows refused for their number: not "missing"
    counts: dict[str, dict[str, float]] = {}
    for position, (variable_cell, category_cell, population_cell) in enumerate(rows.itertuples(index=False)):
        row = position + 2
        variable = str(variable_cell).strip()
        category = str(category_cell).strip()
        population_text = str(population_cell).strip()
        if not (variable or category or population_text):
            continue  # blank lines at the end of spreadsheets
        if variable not in lookup:
            problems.append(_problem(f"row {row}: variable {variable!r} is not one of {', '.join(MARGIN_VARIABLES)}",
                                     "unknown_variable", row=row, value=variable, allowed=", ".join(MARGIN_VARIABLES)))
            continue
        code = lookup[variable].get(category.casefold())
        if code is None:
            allowed = ", ".join(f"{code} ({zh})" for code, zh, _ in margin_categories()[variable])
            problems.append(_problem(f"row {row}: {category!r} is not a {variable} category; use one of {allowed}",
                                     "unknown_category", row=row, value=category, variable=variable, allowed=allowed))
            continue
        mentioned.add((variable, code))
        population = _population(population_text)
        if population is None:
            problems.append(_problem(
                f"row {row}: population {population_text!r} of {variable} {code!r} is not a positive number",
                "bad_population", row=row, value=population_text, variable=variable, code=code,
            ))
            continue
        if (variable, code) in seen:
            problems.append(_problem(
                f"row {row}: {variable} {code!r} is given twice (also in row {seen[(variable, code)]})",
                "duplicate", row=row, variable=variable, code=code, first=seen[(variable, code)],
            ))
            continue
        seen[(variable, code)] = row
        counts.setdefault(variable, {})[code] = population
    if not problems and not counts:
        problems.append(_problem(f"no data rows; give one row per category ({', '.join(FILE_COLUMNS)})",
                                 "no_rows", columns=", ".join(FILE_COLUMNS)))
    for variable, margin in counts.items():
        absent = [
            f"{code} ({zh})" for code, zh, _ in margin_categories()[variable] if (variable, code) not in mentioned
        ]
        if absent:
            problems.append(_problem(
                f"{variable} lacks the categories {', '.join(absent)}; give every category of a variable",
                "incomplete", variable=variable, missing=", ".join(absent),
            ))
    if problems:
        raise MarginsError(_problem_list(where, [problem.text for problem in problems]), key="margins.problems",
                           params={"file": filename or "", "count": len(problems),
                                   "more": max(0, len(problems) - _MAX_LISTED)},
                           problems=problems[:_MAX_LISTED])
    return PopulationMargins(
        counts={variable: counts[variable] for variable in MARGIN_VARIABLES if variable in counts},
        source=source,
        reference_date=reference_date,
        demonstration=demonstration,
        filename=filename,
    )


def _category_lookup(choices: Iterable[tuple[str, str, str]]) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for code, zh, en in choices:
        for name in (zh, en, code):  # codes last: they win over a label that happens to match
            lookup[name.casefold()] = code
    return lookup


def _population(text: str) -> float | None:
    try:
        value = float(text.replace(",", "").replace("_", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def _problem(text: str, key: str, **params: object) -> MarginsProblem:
    return MarginsProblem(text=text, key=f"margins.{key}", params=params)


def _problem_list(where: str, problems: list[str]) -> str:
    listed = problems[:_MAX_LISTED]
    more = len(problems) - len(listed)
    tail = f"\n  ... and {more} more problem(s)" if more else ""
    return f"{where} cannot be used ({len(problems)} problem(s)):\n  " + "\n  ".join(listed) + tail


def _check_counts(counts: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    if not isinstance(counts, Mapping) or not counts:
        raise MarginsError(f"counts must map at least one of {', '.join(MARGIN_VARIABLES)} to category counts")
    categories = margin_categories()
    checked: dict[str, dict[str, float]] = {}
    for variable in counts:
        if variable not in categories:
            raise MarginsError(f"counts has variable {variable!r}; use {', '.join(MARGIN_VARIABLES)}")
    for variable in MARGIN_VARIABLES:
        if variable not in counts:
            continue
        margin = counts[variable]
        codes = [code for code, _, _ in categories[variable]]
        if not isinstance(margin, Mapping) or set(margin) != set(codes):
            given = sorted(margin) if isinstance(margin, Mapping) else margin
            raise MarginsError(f"counts[{variable!r}] must give exactly the categories {codes}, got {given}")
        values = {}
        for code in codes:
            value = margin[code]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise MarginsError(f"counts[{variable!r}][{code!r}] must be a positive number, got {value!r}")
            values[code] = float(value)
        checked[variable] = values
    totals = {variable: math.fsum(margin.values()) for variable, margin in checked.items()}
    reference = next(iter(totals.values()))
    if any(abs(total - reference) > TOTAL_TOLERANCE * reference for total in totals.values()):
        listed = ", ".join(f"{variable} {total:,.0f}" for variable, total in totals.items())
        raise MarginsError(
            f"the variables' totals differ by more than {format_percent(TOTAL_TOLERANCE, decimals=0)} ({listed}); "
            "every margin must describe the same population (e.g. all residents aged 18 and over)",
            key="margins.totals_differ",
            params={"tolerance": format_percent(TOTAL_TOLERANCE, decimals=0), "totals": listed},
        )
    return checked


# -- storage ------------------------------------------------------------------------------

_metadata = sa.MetaData()
_margins_table = sa.Table(
    "population_margins",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("reference_date", sa.Date, nullable=False),
    sa.Column("demonstration", sa.Boolean, nullable=False),
    sa.Column("filename", sa.String(255), nullable=True),
    # Naive UTC on every backend: the value is only shown and ordered on.
    sa.Column("uploaded_at", sa.DateTime(timezone=False), nullable=False),
    # {variable: {code: count}} as JSON text, written and read as a whole.
    sa.Column("counts", sa.Text, nullable=False),
)


class MarginsStore(StoreTables):
    """Saved population margins, in the response database.

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL of the response database (the ``population_margins`` table is created
        there on first use). Default: as :class:`~survey_app.store.ResponseStore`, the
        ``SURVEY_DB_URL`` environment variable or ``data/survey.db``. Pass ``store.url`` to
        use a given store's database.

    Examples
    --------
    >>> margins_store = MarginsStore(store.url)                        # doctest: +SKIP
    >>> saved = margins_store.save(margins)                            # doctest: +SKIP
    >>> margins_store.latest() == saved                                # doctest: +SKIP
    True
    """

    _metadata = _metadata
    _what = "the population margins table in"

    def save(self, margins: PopulationMargins) -> PopulationMargins:
        """Store a new set of margins and return it with its id and upload time."""
        if not isinstance(margins, PopulationMargins):
            raise MarginsError(f"margins must be PopulationMargins (from read_margins), got {type(margins).__name__}")
        now = datetime.now(timezone.utc).replace(microsecond=0)
        with self._transaction(write=True) as conn:
            result = conn.execute(
                _margins_table.insert().values(
                    source=margins.source,
                    reference_date=margins.reference_date,
                    demonstration=margins.demonstration,
                    filename=margins.filename,
                    uploaded_at=now.replace(tzinfo=None),
                    counts=json.dumps({v: dict(c) for v, c in margins.counts.items()}, sort_keys=False),
                )
            )
            new_id = result.inserted_primary_key[0]
        return self.get(new_id)

    def get(self, margins_id: int) -> PopulationMargins:
        """The saved margins with this id."""
        with self._transaction(write=False) as conn:
            row = conn.execute(sa.select(_margins_table).where(_margins_table.c.id == margins_id)).one_or_none()
        if row is None:
            raise MarginsError(f"no saved population margins have id {margins_id!r}")
        return _from_row(row)

    def all(self) -> list[PopulationMargins]:
        """Every saved set, newest first."""
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                sa.select(_margins_table).order_by(_margins_table.c.uploaded_at.desc(), _margins_table.c.id.desc())
            ).all()
        return [_from_row(row) for row in rows]

    def latest(self, *, include_demonstration: bool = True) -> PopulationMargins | None:
        """The most recently saved set (optionally ignoring demonstration sets), or None."""
        for margins in self.all():
            if include_demonstration or not margins.demonstration:
                return margins
        return None

    def delete_demonstration(self) -> int:
        """Remove every demonstration set; returns how many were removed."""
        with self._transaction(write=True) as conn:
            result = conn.execute(_margins_table.delete().where(_margins_table.c.demonstration.is_(True)))
        return result.rowcount


def _from_row(row: sa.Row) -> PopulationMargins:
    return PopulationMargins(
        counts=json.loads(row.counts),
        source=row.source,
        reference_date=row.reference_date,
        demonstration=bool(row.demonstration),
        filename=row.filename,
        id=row.id,
        uploaded_at=row.uploaded_at.replace(tzinfo=timezone.utc),
    )

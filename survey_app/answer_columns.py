"""Stored interviews in columns: what :meth:`ResponseStore.responses_frame` builds its frame from.

The store keeps each interview's answers as one JSON document. Spreading 100,000 documents
over columns takes seconds, so the store also keeps the result, per column, as codes into the
column's distinct values (:class:`AnswerColumns`, saved in the ``frame_snapshots`` table) and
afterwards parses only the interviews that changed. The frame is made from an
:class:`AnswerColumns` in every case, fresh or kept, so the same interviews give the same frame.

Values are kept as stored (str, int, float or a list of codes) and typed only when the frame
is made, with the questionnaires of the store that reads them.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["AnswerColumns", "Coded", "FORMAT", "flatten_answer"]

#: Version of the layout written by :meth:`AnswerColumns.to_bytes`; kept columns of another
#: version are not read (the store builds them afresh).
FORMAT = 1

# infer_dtype kinds whose values pandas can tell apart by hashing: one type each, so 1 and
# 1.0 (equal, and equally hashed) never meet in one column.
_HASHABLE_KINDS = ("string", "integer", "floating", "empty")
_MAGIC = b"survey-toolkit answer columns\n"


@dataclass(frozen=True, eq=False)
class Coded:
    """One column: ``values[codes[i]]`` is row i's value, code -1 a missing one."""

    codes: np.ndarray
    values: list

    def seen(self) -> np.ndarray:
        """Which of ``values`` some row has (after :meth:`AnswerColumns.take`, not all)."""
        seen = np.zeros(len(self.values) + 1, bool)
        seen[self.codes] = True   # code -1 marks the last slot, which is not a value
        return seen[:-1]

    def used(self) -> list:
        """The distinct values some row has, in code order."""
        return [v for v, s in zip(self.values, self.seen()) if s]

    def decode(self, values: Sequence | None = None, missing: Any = None) -> np.ndarray:
        """Row values (object array; ``values`` in place of the stored ones, e.g. converted)."""
        table = _object_array([*(self.values if values is None else values), missing])
        return table[self.codes]


@dataclass(frozen=True, eq=False)
class AnswerColumns:
    """Interviews as columns of codes.

    Attributes
    ----------
    revision : numpy.ndarray
        Each interview's revision (int64): a stored interview changes only with it.
    metadata : dict
        The frame's metadata columns in order: text columns as :class:`Coded`, times as int64
        nanoseconds since 1970 UTC (``NaT`` as the smallest int64).
    answers : dict of str to Coded
        One column per answered name.
    """

    revision: np.ndarray
    metadata: dict
    answers: dict

    def __len__(self) -> int:
        return len(self.revision)

    @classmethod
    def from_rows(cls, metadata: Mapping[str, Sequence], revision: Sequence[int],
                  documents: Sequence[str]) -> AnswerColumns:
        """Columns of interviews read from the database.

        Parameters
        ----------
        metadata : mapping of str to sequence
            The metadata columns in frame order: text as read, times as ``str`` or
            ``datetime`` (``None`` when unset); names ending in ``_at`` are times.
        revision : sequence of int
        documents : sequence of str
            The answer documents (JSON objects).
        """
        columns: dict = {}
        for name, values in metadata.items():
            if name.endswith("_at"):
                times = pd.to_datetime(pd.Series(np.array(values, dtype=object), dtype=object), utc=True,
                                       format="ISO8601")
                columns[name] = times.astype("datetime64[ns, UTC]").array.asi8.copy()
            else:
                columns[name] = _code(np.array(values, dtype=object))
        # one parse of all documents rather than a json.loads call per interview
        parsed: list[dict[str, Any]] = json.loads("[" + ",".join(documents) + "]")
        names = sorted(set().union(*parsed))
        # pandas spreads the dicts over the columns in C (unanswered -> NaN)
        spread = pd.DataFrame(parsed, columns=names, dtype=object).to_numpy().T if parsed else ()
        answers = {name: _code(values) for name, values in zip(names, spread)}
        return cls(np.asarray(revision, dtype=np.int64).reshape(-1), columns, answers)

    def take(self, rows: np.ndarray) -> AnswerColumns:
        """These rows (positions), in this order."""
        return AnswerColumns(
            self.revision[rows],
            {name: _take(column, rows) for name, column in self.metadata.items()},
            {name: _take(column, rows) for name, column in self.answers.items()},
        )

    def concat(self, other: AnswerColumns) -> AnswerColumns:
        """These rows followed by ``other``'s (the same metadata columns)."""
        if list(self.metadata) != list(other.metadata):
            raise ValueError(f"metadata columns differ: {list(self.metadata)} and {list(other.metadata)}")
        empty_self, empty_other = _missing_column(len(self)), _missing_column(len(other))
        return AnswerColumns(
            np.concatenate([self.revision, other.revision]),
            {name: _concat(column, other.metadata[name]) for name, column in self.metadata.items()},
            {name: _concat(self.answers.get(name, empty_self), other.answers.get(name, empty_other))
             for name in sorted({*self.answers, *other.answers})},
        )

    def text(self, name: str) -> np.ndarray:
        """A text metadata column's values (object array)."""
        return self.metadata[name].decode()

    def to_frame(self, types: Mapping[str, str]) -> pd.DataFrame:
        """The frame of ``ResponseStore.responses_frame``.

        Parameters
        ----------
        types : mapping of str to str
            Question name -> XLSForm type, in column order, of the questionnaires whose
            interviews these are (``note`` questions left out).

        Returns
        -------
        pandas.DataFrame
            The metadata columns (times as ``datetime64[ns, UTC]``), then a column per name of
            ``types``, then any other answered names, sorted; a name of a metadata column is
            not an answer column. Integer and decimal questions, and other names whose
            answers are all numbers, are float64; the rest are objects, lists joined with
            spaces, None where unanswered.
        """
        answered = {name for name, column in self.answers.items() if (column.codes >= 0).any()}
        names = [name for name in [*types, *sorted(answered - set(types))] if name not in self.metadata]
        texts = [name for name, column in self.metadata.items() if isinstance(column, Coded)]
        numbers: dict[str, np.ndarray] = {}
        text_values: dict[str, np.ndarray] = {}
        for name in names:
            column = self.answers.get(name) or _missing_column(len(self))
            seen = column.seen()
            kind = pd.api.types.infer_dtype(_object_array([v for v, s in zip(column.values, seen) if s]),
                                            skipna=True)
            if _is_numeric(types.get(name), kind):
                # values no row has any more (e.g. of a rejected interview) may be of any type
                table = [float(v) if s else np.nan for v, s in zip(column.values, seen)]
                numbers[name] = np.array([*table, np.nan])[column.codes]
            else:
                text_values[name] = column.decode(
                    column.values if kind == "string" else [flatten_answer(v) for v in column.values])
        # the object columns go straight into one block that the frame uses as it is
        # (separate columns would be copied into one when pandas consolidates them)
        order = [*texts, *text_values]
        block = np.empty((len(order), len(self)), dtype=object)
        for row, name in zip(block, texts):
            row[:] = self.metadata[name].decode()
        for row, name in zip(block[len(texts):], text_values):
            row[:] = text_values[name]
        frame = pd.DataFrame(block.T, columns=order, dtype=object, copy=False)
        for position, name in enumerate([*self.metadata, *names]):
            if name in numbers:
                frame.insert(position, name, numbers[name])
            elif name in self.metadata and not isinstance(self.metadata[name], Coded):
                times = pd.DatetimeIndex(self.metadata[name].view("datetime64[ns]")).tz_localize("UTC")
                frame.insert(position, name, times)
        return frame

    def to_bytes(self) -> bytes:
        """The columns as one document: a JSON header (names, distinct values, where each array
        lies) and the arrays' bytes. No pickled objects: reading it runs no code."""
        header: dict = {"format": FORMAT, "metadata": [], "answers": [], "arrays": []}
        arrays = [self.revision]
        for name, column in self.metadata.items():
            coded = isinstance(column, Coded)
            header["metadata"].append([name, column.values if coded else None])
            arrays.append(column.codes if coded else column)
        for name, column in self.answers.items():
            header["answers"].append([name, column.values])
            arrays.append(column.codes)
        offset = 0
        for array in arrays:
            header["arrays"].append([array.dtype.str, len(array), offset])
            offset += array.nbytes
        text = json.dumps(header, ensure_ascii=False, allow_nan=False).encode("utf-8")
        return b"".join([_MAGIC, len(text).to_bytes(8, "little"), text,
                         *(np.ascontiguousarray(a).tobytes() for a in arrays)])

    @classmethod
    def from_bytes(cls, data: bytes) -> AnswerColumns:
        """Columns written by :meth:`to_bytes` (their arrays are read-only views of ``data``).

        Raises
        ------
        ValueError
            ``data`` is not such a document, or one of another :data:`FORMAT`.
        """
        try:
            if data[:len(_MAGIC)] != _MAGIC:
                raise ValueError("it does not start as one")
            size = int.from_bytes(data[len(_MAGIC):len(_MAGIC) + 8], "little")
            start = len(_MAGIC) + 8
            header = json.loads(data[start:start + size].decode("utf-8"))
            if header.get("format") != FORMAT:
                raise ValueError(f"it is of format {header.get('format')!r}, not {FORMAT}")
            arrays = iter([np.frombuffer(data, dtype=np.dtype(dtype), count=count, offset=start + size + offset)
                           for dtype, count, offset in header["arrays"]])
            revision = next(arrays)
            metadata = {name: next(arrays) if values is None else Coded(next(arrays), values)
                        for name, values in header["metadata"]}
            answers = {name: Coded(next(arrays), values) for name, values in header["answers"]}
        except (KeyError, TypeError, StopIteration, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a document of kept columns: {exc!r}") from exc
        except ValueError as exc:
            raise ValueError(f"not a document of kept columns: {exc}") from exc
        return cls(revision, metadata, answers)


def _object_array(values: Sequence) -> np.ndarray:
    """A 1-d object array of ``values`` (lists stay elements, never become a dimension)."""
    return np.fromiter(values, dtype=object, count=len(values))


def _codes_dtype(n_values: int) -> type:
    return np.int8 if n_values < 127 else np.int16 if n_values < 32767 else np.int32


def _code(values: np.ndarray) -> Coded:
    """One column of raw values (NaN or None where missing) as codes and distinct values."""
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in _HASHABLE_KINDS:
        codes, distinct = pd.factorize(values, use_na_sentinel=True)
        distinct = distinct.tolist()
    else:   # lists, or values of several types: tell them apart by type as well as value
        answered = np.flatnonzero(~pd.isna(values))
        present = pd.factorize(_object_array([_key(values[i]) for i in answered]))[0]
        codes = np.full(len(values), -1, dtype=np.int64)
        codes[answered] = present
        first = np.empty(present.max() + 1 if len(present) else 0, dtype=np.int64)
        first[present[::-1]] = answered[::-1]
        distinct = [values[i] for i in first]
    distinct = [v.item() if isinstance(v, np.generic) else v for v in distinct]
    return Coded(codes.astype(_codes_dtype(len(distinct))), distinct)


def _missing_column(n: int) -> Coded:
    return Coded(np.full(n, -1, dtype=np.int8), [])


def _take(column: Coded | np.ndarray, rows: np.ndarray) -> Coded | np.ndarray:
    if isinstance(column, Coded):
        return Coded(column.codes[rows], column.values)
    return column[rows]


def _all_text(values: list) -> bool:
    return all(type(v) is str for v in values)


def _key(value: Any) -> tuple:
    return type(value), tuple(value) if type(value) is list else value


def _concat(first: Coded | np.ndarray, second: Coded | np.ndarray) -> Coded | np.ndarray:
    """Rows of ``first`` then of ``second``, ``second``'s values numbered after ``first``'s."""
    if not isinstance(first, Coded):
        return np.concatenate([first, second])
    remap = np.empty(len(second.values) + 1, dtype=np.int64)
    remap[-1] = -1
    if _all_text(first.values) and _all_text(second.values):   # the usual case, looked up in C
        found = pd.Index(first.values, dtype=object).get_indexer(second.values)
        new = np.flatnonzero(found < 0)
        found[new] = len(first.values) + np.arange(len(new))
        remap[:-1] = found
        values = [*first.values, *(second.values[i] for i in new)]
    else:
        where = {_key(v): i for i, v in enumerate(first.values)}
        values = list(first.values)
        for i, value in enumerate(second.values):
            code = where.get(_key(value))
            if code is None:
                code = where[_key(value)] = len(values)
                values.append(value)
            remap[i] = code
    codes = np.concatenate([first.codes.astype(np.int64), remap[second.codes]])
    return Coded(codes.astype(_codes_dtype(len(values))), values)


def flatten_answer(value: Any) -> Any:
    """An answer as a frame shows it: a list of codes (select_multiple) joined with spaces."""
    return " ".join(value) if isinstance(value, list) else value


def _is_numeric(question_type: str | None, kind: str) -> bool:
    """Whether an answer column is float64: the type is a number and every answer is one.

    ``kind`` is pandas' ``infer_dtype`` of the answers. Names no questionnaire defines are
    numeric when all their answers are numbers. A value of another type (e.g. stored under
    an older questionnaire version) keeps the column as objects rather than being lost.
    """
    if question_type not in ("integer", "decimal") and (question_type is not None or kind == "empty"):
        return False
    return kind in ("integer", "floating", "mixed-integer-float", "empty")

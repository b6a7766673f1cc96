"""Uploaded files: size limits, and the one reader of every uploaded Excel workbook.

``server.maxUploadSize`` in ``.streamlit/config.toml`` makes the browser refuse larger files,
but a page must not rely on the browser: :func:`read_upload` checks the size again on the
server, before reading, and raises :class:`UploadTooLargeError` with a readable message.

An ``.xlsx`` file is a zip archive: a 0.4 MB upload can unpack to over 100 MB of sheet XML
and keep openpyxl busy for minutes (a "decompression bomb"). :func:`read_workbook` therefore

1. checks every zip entry's unpacked size and packing ratio before anything is parsed
   (Python's ``zipfile``, which openpyxl uses, never unpacks more than an entry declares:
   a lying size fails its CRC check), then
2. parses the workbook in a separate, lower-priority worker process with a CPU-time, memory
   and wall-clock limit and a cap on rows and columns. Parsing in the server process would
   hold the interpreter lock and stall every other user's page (a sign-in took 82 s instead
   of 6 s while a bomb was parsed).

Margins, response imports, sampling frames and the assignments of the quality page all
read workbooks through it.
"""
from __future__ import annotations

import hashlib
import io
import os
import pickle
import subprocess
import sys
import threading
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from survey_app.errors import SurveyAppError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEFAULT_LIMIT_MB", "UploadTooLargeError", "WorkbookError", "WorkbookLimits", "XLSX_MAGIC",
    "check_workbook", "read_upload", "read_workbook", "upload_limit_mb",
]

#: The limit when Streamlit's ``server.maxUploadSize`` cannot be read (its own default is 200).
DEFAULT_LIMIT_MB = 50


class UploadTooLargeError(SurveyAppError, ValueError):
    """An uploaded file is larger than allowed."""


class _Upload(Protocol):
    name: str
    size: int

    def getvalue(self) -> bytes: ...


def upload_limit_mb() -> int:
    """The configured ``server.maxUploadSize`` in MB (:data:`DEFAULT_LIMIT_MB` if unset)."""
    import streamlit as st

    value = st.get_option("server.maxUploadSize")
    return int(value) if isinstance(value, (int, float)) and value > 0 else DEFAULT_LIMIT_MB


def read_upload(upload: _Upload | bytes, *, limit_mb: float | None = None, what: str = "file") -> bytes:
    """The bytes of an uploaded file, refused when larger than ``limit_mb``.

    Parameters
    ----------
    upload : streamlit UploadedFile or bytes
        The upload (its ``size`` is checked before its content is read).
    limit_mb : float, optional
        The limit in MB (1 MB = 1024 * 1024 bytes); default :func:`upload_limit_mb`.
    what : str
        What the file is, for the message (e.g. ``"questionnaire"``).
    """
    limit = upload_limit_mb() if limit_mb is None else limit_mb
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not limit > 0:
        raise ValueError(f"limit_mb must be a positive number, got {limit_mb!r}")
    size = len(upload) if isinstance(upload, bytes) else int(upload.size)
    name = "" if isinstance(upload, bytes) else f" {upload.name!r}"
    if size > limit * 1024 * 1024:
        raise UploadTooLargeError(
            f"the {what}{name} is {size / 1024 / 1024:.1f} MB; files up to {limit:g} MB are accepted. "
            "Split it into smaller files, or ask an administrator to raise server.maxUploadSize"
        )
    return upload if isinstance(upload, bytes) else upload.getvalue()


# -- Excel workbooks ------------------------------------------------------------------------

#: The first bytes of every zip archive, hence of every ``.xlsx``/``.xlsm`` file.
XLSX_MAGIC = b"PK\x03\x04"
_MB = 1024 * 1024


class WorkbookError(SurveyAppError, ValueError):
    """An uploaded workbook is refused: unreadable, too large unpacked, or too slow to read."""


@dataclass(frozen=True, kw_only=True)
class WorkbookLimits:
    """How much an uploaded workbook may unpack to and cost to read.

    The defaults allow a 100,000-interview export (28 MB of sheet XML at a ratio of about
    9, read in about 15 s) with room to spare.
    """

    #: Unpacked size of all zip entries together, in MB.
    unpacked_mb: float = 300
    #: Largest unpacked-to-packed ratio of an entry bigger than :attr:`ratio_from_mb`.
    ratio: float = 100
    #: Entries smaller than this (in MB) may have any ratio (tiny XML parts pack very well).
    ratio_from_mb: float = 1
    #: Zip entries in the archive.
    entries: int = 10_000
    #: Data rows (below the header) and columns of the sheet.
    rows: int = 300_000
    columns: int = 2_000
    #: Wall-clock seconds, CPU seconds and address space (MB) of the worker process.
    seconds: float = 120
    cpu_seconds: int = 110
    memory_mb: int = 3_000


def read_workbook(
    data: bytes,
    *,
    what: str = "workbook",
    filename: str | None = None,
    sheet: str | int = 0,
    dtype: Literal["str", "object"] = "str",
    keep_default_na: bool = True,
    limits: WorkbookLimits | None = None,
) -> pd.DataFrame:
    """The table of one sheet of an uploaded ``.xlsx`` workbook, read safely.

    Parameters
    ----------
    data : bytes
        The file's content (see :func:`read_upload` for its size limit).
    what, filename : str
        What the file is and its name, for messages (e.g. ``"sampling frame"``).
    sheet : str or int
        Sheet name or position.
    dtype : {"str", "object"}
        ``"str"``: every cell as text; ``"object"``: numbers and dates as Excel stores them.
    keep_default_na : bool
        As in :func:`pandas.read_excel`: False reads empty cells as ``""``.
    limits : WorkbookLimits, optional
        Sizes and time allowed (default :class:`WorkbookLimits()`).

    Raises
    ------
    WorkbookError
        When the file is not a workbook, unpacks to too much, has too many rows or columns,
        or takes longer than the time or memory limit; the message says which and the fix.
    """
    if dtype not in ("str", "object"):
        raise ValueError(f"dtype must be 'str' or 'object', got {dtype!r}")
    limits = WorkbookLimits() if limits is None else limits
    label = f"the {what}" + (f" {filename!r}" if filename else "")
    _check_archive(data, label, limits)
    options = (sheet, dtype, keep_default_na, limits)
    key = (hashlib.sha256(data).hexdigest(), repr(options))
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            _CACHE.move_to_end(key)
            return cached.copy()
    frame = _parse_in_worker(data, label, sheet=sheet, dtype=dtype, keep_default_na=keep_default_na,
                             limits=limits)
    with _CACHE_LOCK:
        _CACHE[key] = frame
        while len(_CACHE) > _CACHE_ENTRIES:
            _CACHE.popitem(last=False)
    return frame.copy()


# Streamlit reruns a page on every click, and the page reads its upload again each time: the
# last few tables read are kept so a rerun does not start a worker again.
_CACHE_ENTRIES = 8
_CACHE: OrderedDict[tuple[str, str], pd.DataFrame] = OrderedDict()
_CACHE_LOCK = threading.Lock()
# At most one worker at a time: on a two-core server one core always stays with the pages.
_WORKERS = threading.BoundedSemaphore(1)


def check_workbook(data: bytes, *, what: str = "workbook", filename: str | None = None,
                   limits: WorkbookLimits | None = None) -> None:
    """Refuse a workbook whose zip entries unpack to too much (the first step of :func:`read_workbook`),
    for readers that parse in the server process, such as the XLSForm upload (give tight ``limits``).

    Raises
    ------
    WorkbookError
        As :func:`read_workbook`, before anything is unpacked.
    """
    _check_archive(data, f"the {what}" + (f" {filename!r}" if filename else ""), limits or WorkbookLimits())


def _check_archive(data: bytes, label: str, limits: WorkbookLimits) -> None:
    if not data.startswith(XLSX_MAGIC):
        raise WorkbookError(f"{label} is not a readable Excel workbook (not an .xlsx file); "
                            "save it as .xlsx or as CSV")
    try:
        entries = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise WorkbookError(f"{label} is not a readable Excel workbook ({exc}); save it again as .xlsx") from None
    if len(entries) > limits.entries:
        raise WorkbookError(f"{label} holds {len(entries):,} files; a workbook may hold up to "
                            f"{limits.entries:,}. Save it again as .xlsx or as CSV")
    total = 0
    for entry in entries:
        total += entry.file_size
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > limits.ratio_from_mb * _MB and ratio > limits.ratio:
            raise WorkbookError(
                f"{label} is refused: its part {entry.filename!r} unpacks to {entry.file_size / _MB:.0f} MB, "
                f"{ratio:.0f} times its packed size (at most {limits.ratio:g} times is accepted). Such files "
                "are made to exhaust the server (a 'zip bomb') or are damaged; save the data again as "
                ".xlsx from Excel or WPS, or as CSV"
            )
    if total > limits.unpacked_mb * _MB:
        raise WorkbookError(
            f"{label} unpacks to {total / _MB:.0f} MB; workbooks up to {limits.unpacked_mb:g} MB unpacked are "
            "accepted. Split it into smaller files, or save it as CSV"
        )


def _parse_in_worker(data: bytes, label: str, *, sheet: str | int, dtype: str, keep_default_na: bool,
                     limits: WorkbookLimits) -> pd.DataFrame:
    request = pickle.dumps({"data": data, "sheet": sheet, "dtype": dtype, "keep_default_na": keep_default_na,
                            "rows": limits.rows, "cpu_seconds": limits.cpu_seconds,
                            "memory_mb": limits.memory_mb})
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
           # one thread per numerical library keeps the worker's address space small
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    too_slow = (f"{label} could not be read within {limits.seconds:g} s and {limits.memory_mb:,} MB; "
                "split it into smaller files, or save it as CSV")
    if not _WORKERS.acquire(timeout=limits.seconds):
        raise WorkbookError(f"the server is reading other workbooks; upload {label} again in a minute")
    try:
        done = subprocess.run([sys.executable, "-m", "survey_app.uploads"], input=request, capture_output=True,
                              timeout=limits.seconds, env=env, cwd=root, check=False)
    except subprocess.TimeoutExpired:  # subprocess.run has killed the worker
        raise WorkbookError(too_slow) from None
    finally:
        _WORKERS.release()
    try:
        # The worker is this module run by the same user, so its answer is as trusted as the server.
        status, payload = pickle.loads(done.stdout)
    except Exception:  # killed by a limit (SIGXCPU, SIGKILL) or out of memory before answering
        raise WorkbookError(too_slow) from None
    if status == "ok":
        frame = payload
    elif status == "memory":
        raise WorkbookError(too_slow)
    else:
        raise WorkbookError(f"{label} is not a readable Excel workbook ({payload}); "
                            "save it again as .xlsx, or check the sheet name")
    if len(frame) > limits.rows:
        raise WorkbookError(f"{label} has more than {limits.rows:,} rows; split it into smaller files")
    if len(frame.columns) > limits.columns:
        raise WorkbookError(f"{label} has {len(frame.columns):,} columns; at most {limits.columns:,} are "
                            "accepted. Delete the empty or unused columns")
    return frame


def _worker() -> None:
    """Parse one workbook sent on stdin; answer ``(status, frame or message)`` pickled on stdout."""
    import resource

    request = pickle.loads(sys.stdin.buffer.read())
    memory = request["memory_mb"] * _MB
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (request["cpu_seconds"], request["cpu_seconds"] + 1))
    os.nice(10)  # the server's own pages come first
    # Failing to import under the memory limit ends the worker without an answer: "too large".
    import pandas as pd

    try:
        frame = pd.read_excel(io.BytesIO(request["data"]), sheet_name=request["sheet"],
                              dtype=str if request["dtype"] == "str" else object,
                              keep_default_na=request["keep_default_na"], engine="openpyxl",
                              nrows=request["rows"] + 1)
        answer: tuple[str, object] = ("ok", frame)
    except MemoryError:
        answer = ("memory", None)
    except Exception as exc:  # openpyxl and pandas raise many types for a broken workbook
        answer = ("unreadable", f"{type(exc).__name__}: {exc}")
    sys.stdout.buffer.write(pickle.dumps(answer))


if __name__ == "__main__":
    _worker()

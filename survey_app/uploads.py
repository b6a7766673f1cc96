"""Size limits for uploaded files, checked in code as well as by Streamlit.

``server.maxUploadSize`` in ``.streamlit/config.toml`` makes the browser refuse larger files,
but a page must not rely on the browser: :func:`read_upload` checks the size again on the
server, before reading, and raises :class:`UploadTooLargeError` with a readable message.
"""
from __future__ import annotations

from typing import Protocol

from survey_app.errors import SurveyAppError

__all__ = ["DEFAULT_LIMIT_MB", "UploadTooLargeError", "read_upload", "upload_limit_mb"]

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

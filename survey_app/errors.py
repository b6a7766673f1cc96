"""The exception hierarchy of the ``survey_app`` package.

Every error the app, the store, the command-line tool or the Excel writer raises on bad
user input or an unusable database derives from :class:`SurveyAppError`, so a page can
catch one class and show a readable message instead of a traceback.
"""
from __future__ import annotations


class SurveyAppError(Exception):
    """Base class of the errors raised by ``survey_app``."""

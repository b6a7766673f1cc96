"""The exceptions of the ``questionnaires`` package."""
from __future__ import annotations


class QuestionnaireError(Exception):
    """A questionnaire definition, a question name or an answer set is not usable.

    The message names the file or questionnaire, the question and the problem.
    """


class ExpressionError(QuestionnaireError):
    """An XLSForm expression (``relevant``, ``constraint``) cannot be parsed."""

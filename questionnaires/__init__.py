"""Questionnaires: the XLSForm-style model, the expression evaluator and the shipped definitions."""
from questionnaires.errors import ExpressionError, QuestionnaireError
from questionnaires.expressions import evaluate
from questionnaires.loader import load_districts, load_questionnaire, shipped_questionnaires
from questionnaires.model import Choice, Group, Question, Questionnaire, Text

__all__ = [
    "Text", "Choice", "Question", "Group", "Questionnaire",
    "QuestionnaireError", "ExpressionError",
    "load_questionnaire", "shipped_questionnaires", "load_districts", "evaluate",
]

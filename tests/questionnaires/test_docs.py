"""The examples in the docstrings of the questionnaires package run as written."""
from __future__ import annotations

import doctest

import pytest

from questionnaires import expressions, loader, model


@pytest.mark.parametrize("module", [expressions, loader, model], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    failed, attempted = doctest.testmod(module, raise_on_error=False, verbose=False)
    assert failed == 0
    assert attempted > 0

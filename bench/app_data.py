"""Interviews of the shipped questionnaires at any scale, for the report and dashboard works.

The demo generator (``survey_app.demo.generate_demo``) answers every questionnaire through
its skip logic, one interview at a time in Python, and the store saves one interview per
transaction; neither is meant for a million rows.  So a small demo sample (every
questionnaire and wave) is generated once and repeated: copy ``r`` of PSU ``p`` is PSU
``<p>-r<r>``, filled with interviews drawn (a seeded shuffle) from the same questionnaire,
wave and district, so the number of PSUs grows with the interviews (10 per PSU), PSU means
vary as in a real sample and the design stays a stratified cluster sample.
:func:`responses` gives the rows as ``ResponseStore.responses_frame`` would;
:func:`fill_store` writes them into a store's table in bulk.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from functools import lru_cache

import numpy as np
import pandas as pd

from survey_app.demo import DemoInterview, generate_demo
from survey_app.store import ResponseStore

BASE_PSUS = 16            # per questionnaire and wave (two per district)
BASE_PER_PSU = 10
_STARTED = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)


@lru_cache(maxsize=4)
def base_interviews(seed: int) -> tuple[DemoInterview, ...]:
    """The demo sample that is repeated (6 questionnaires x 2 waves x 160 interviews)."""
    return tuple(generate_demo(seed=seed, psus=BASE_PSUS, respondents_per_psu=BASE_PER_PSU))


def _interview_id(i: int) -> str:
    return str(uuid.UUID(int=int(i) + 1, version=4))


def _sources(n: int, seed: int) -> np.ndarray:
    """Base interview answering in each of the ``n`` slots (slot ``i`` = base ``i % B``)."""
    base = base_interviews(seed)
    group = pd.factorize(pd.Series([(b.questionnaire_id, b.wave, b.district) for b in base]))[0]
    slots = np.lexsort((np.arange(len(base)), group))
    rng = np.random.default_rng(seed)
    copies = -(-n // len(base))
    source = np.empty((copies, len(base)), dtype=np.int64)
    source[0] = np.arange(len(base))
    for r in range(1, copies):
        source[r, slots] = np.lexsort((rng.random(len(base)), group))
    return source.ravel()[:n]


def _rows(base: tuple[DemoInterview, ...], source: np.ndarray, start: int,
          stop: int) -> list[dict]:
    rows = []
    for i in range(start, min(stop, len(source))):
        slot, b = base[i % len(base)], base[source[i]]
        started = _STARTED + timedelta(seconds=i)
        rows.append({
            "id": _interview_id(i), "questionnaire_id": b.questionnaire_id,
            "questionnaire_version": b.questionnaire_version, "wave": b.wave,
            "interviewer": slot.interviewer, "district": b.district,
            "psu": f"{slot.psu}-r{i // len(base)}", "status": "submitted", "page": 0,
            "answers": json.dumps(dict(b.answers), ensure_ascii=False, sort_keys=True),
            "revision": 1, "started_at": started, "submitted_at": started + timedelta(minutes=9),
            "updated_at": started + timedelta(minutes=9), "void_reason": None})
    return rows


def fill_store(store: ResponseStore, n: int, *, seed: int, chunk: int = 20_000) -> None:
    """Write ``n`` submitted interviews into ``store`` (an empty store), in bulk."""
    from survey_app.store import _interviews  # the store's own table definition

    base, source = base_interviews(seed), _sources(n, seed)
    with store._engine.begin() as conn:
        for start in range(0, n, chunk):
            conn.execute(_interviews.insert(), _rows(base, source, start, start + chunk))


def responses(n: int, *, seed: int) -> pd.DataFrame:
    """The responses frame a store filled by :func:`fill_store` would give, built directly."""
    base = base_interviews(seed)
    store = ResponseStore("sqlite://")
    try:
        fill_store(store, len(base), seed=seed)
        frame = store.responses_frame()
    finally:
        store.close()
    i = np.arange(n)
    order = frame["interview_id"].map({_interview_id(k): k for k in range(len(base))})
    frame = frame.iloc[np.argsort(order.to_numpy())].reset_index(drop=True)
    slot = frame.iloc[i % len(base)].reset_index(drop=True)
    frame = frame.iloc[_sources(n, seed)].reset_index(drop=True)
    frame["interview_id"] = [_interview_id(k) for k in i]
    frame["interviewer"] = slot["interviewer"]
    frame["psu"] = slot["psu"].str.replace(r"-r0$", "", regex=True) + "-r" \
        + pd.Series(i // len(base)).astype(str)
    started = pd.Timestamp(_STARTED) + pd.to_timedelta(i, unit="s")
    frame["started_at"] = started
    frame["submitted_at"] = frame["updated_at"] = started + pd.Timedelta(minutes=9)
    return frame

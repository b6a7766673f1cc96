"""``ResponseStore.responses_frame`` built the slow, obvious way, a store with every kind of data, and a clock.

Shared by the SQLite tests (``test_store.py``) and the PostgreSQL ones (``test_store_postgres.py``).
"""
from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pandas as pd

from questionnaires import shipped_questionnaires
from survey_app.store import METADATA_COLUMNS, ResponseStore

FORM = "consumer_environment"


class Clock:
    """A clock that advances ``step`` at each reading, so stored times are distinct and known."""

    def __init__(self, start: datetime = datetime(2026, 10, 8, 1, 30, tzinfo=timezone.utc),
                 step: timedelta = timedelta(seconds=1)) -> None:
        self.now, self.step = start, step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


def reference_frame(store: ResponseStore, questionnaire_id: str | None = None, status: str = "submitted",
                    wave: str | None = None) -> pd.DataFrame:
    """``responses_frame`` built the slow, obvious way: interview by interview, value by value."""
    interviews = store.interviews(questionnaire_id=questionnaire_id, status=status, wave=wave)
    forms = shipped_questionnaires()
    used = {questionnaire_id} if questionnaire_id else {i.questionnaire_id for i in interviews}
    types: dict[str, str] = {}
    for qid in sorted(used):
        for question in forms[qid].questions if qid in forms else ():
            if question.type != "note":
                types.setdefault(question.name, question.type)
    extra = sorted({name for i in interviews for name in i.answers} - set(types))
    columns = {
        "interview_id": [i.id for i in interviews],
        "questionnaire_id": [i.questionnaire_id for i in interviews],
        "questionnaire_version": [i.questionnaire_version for i in interviews],
        "wave": [i.wave for i in interviews],
        "interviewer": [i.interviewer for i in interviews],
        "sample_district": [i.district for i in interviews],
        "psu": [i.psu for i in interviews],
        "status": [i.status for i in interviews],
    }
    frame = pd.DataFrame({name: pd.Series(values, dtype=object) for name, values in columns.items()})
    for name in ("started_at", "submitted_at", "updated_at"):
        stamps = [getattr(i, name) for i in interviews]
        frame[name] = pd.Series([pd.NaT if t is None else pd.Timestamp(t) for t in stamps],
                                dtype="datetime64[ns, UTC]")
    for name in [*types, *extra]:
        if name in METADATA_COLUMNS:
            continue
        values = [i.answers.get(name) for i in interviews]
        given = [v for v in values if v is not None]
        numeric = types.get(name) in ("integer", "decimal") or (name not in types and bool(given))
        if numeric and all(type(v) in (int, float) for v in given):
            frame[name] = pd.Series([math.nan if v is None else float(v) for v in values], dtype="float64")
        else:
            frame[name] = pd.Series([" ".join(v) if isinstance(v, list) else v for v in values], dtype=object)
    return frame


def assert_same_frame(frame: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(frame, expected, check_exact=True)
    for name in expected.columns[(expected.dtypes == "object").to_numpy()]:
        # None stays None (not NaN), and a number stored as text stays text and vice versa
        assert list(frame[name].map(type)) == list(expected[name].map(type)), name


def mixed_store(store: ResponseStore) -> None:
    """Every kind of stored interview and answer, including values of the wrong type."""
    def start(**metadata) -> str:
        values = dict(interviewer="A01", district="chongchuan", psu="PSU-1", wave="2026")
        values.update(metadata)
        return store.start_interview(values.pop("questionnaire_id", FORM), "1.0", **values)

    def submitted(answers, **metadata):
        iid = start(**metadata)
        store.submit(iid, answers)
        return iid

    submitted({"consent": "yes", "district": "haimen", "age": 67, "complaint_channels": ["hotline_12315", "other"],
               "suggestions": "多一些抽检", "aa_number": 5, "zz_mixed": 1})
    submitted({"consent": "yes", "age": 45.5, "complaint_channels": [], "suggestions": "=1+2",
               "zz_mixed": "x", "zz_list": ["a", "b"]})
    submitted({"consent": "no"}, wave="2027")
    submitted({"consent": "yes", "age": "unknown", "district": 5, "suggestions": ["not", "text"],
               "aa_number": 2**70, "zz_big": 2**70, "zz_float": 2.5})
    submitted({"consent": "yes", "district": 7, "age": 30}, wave="2028")
    approved = submitted({"consent": "yes", "age": 52, "env_safety": "satisfied"})
    store.set_status(approved, "approved", reason=None, expected="submitted")
    rejected = submitted({"consent": "yes", "age": 18})
    store.set_status(rejected, "rejected", reason="made up", expected="submitted")
    store.save_answers(start(), {"consent": "yes", "age": 33})
    voided = start()
    store.void(voided, "test interview")
    submitted({"consent": "yes", "tourist_score": 85, "visit_type": "leisure"},
              questionnaire_id="tourist_satisfaction")
    submitted({"consent": "yes"}, questionnaire_id="tourist_satisfaction")
    submitted({"q1": "a", "q2": 3}, questionnaire_id="not_shipped")
    now = datetime(2026, 4, 1, 9, 30, 15, 250000, tzinfo=ZoneInfo("Asia/Shanghai"))
    records = [
        SimpleNamespace(interview_id=str(uuid.UUID(int=k + 1, version=4)), questionnaire_id=FORM,
                        questionnaire_version="1.0", wave="2026", interviewer="B02", district="haimen",
                        psu=f"PSU-{k}", started_at=now, submitted_at=now + timedelta(minutes=k),
                        answers={"consent": "yes", "age": 20 + k, "complaint_channels": ["other"]})
        for k in range(3)
    ]
    store.import_interviews(records)

"""The demonstration data set: synthetic interviews and demonstration population margins.

The results pages offer it at any time (whatever the real database holds), so every page can
be seen working at once. It lives in **its own database** beside the real one
(:func:`demo_database_url`: ``data/survey.db`` -> ``data/survey.demo.db``), created by
:func:`load_demo_database` and deleted by :func:`remove_demo`; the pages read either the real
database or the demo one, never both, so a real interview is never counted with demo ones.
Everything here is **synthetic** and labelled so:

- interviews: interviewer codes ``DEMO-01`` ... (:data:`DEMO_INTERVIEWER_PREFIX`), waves
  ``2025`` and ``2026`` (:data:`DEMO_WAVES`), answered by a random model that walks each
  questionnaire's skip logic; every interview is checked with the questionnaire's own
  ``check_answer``/``missing_required``/``clean`` and stored as submitted interviews
  through the store's public bulk path (:meth:`ResponseStore.import_interviews`, the one
  file imports use), with seeded ids, so loading twice stores nothing new;
- margins: a :class:`~survey_app.margins.PopulationMargins` with ``demonstration=True``.
  The district totals are the 2020 census figures (``survey_app/data/``); sex, age group and
  urban/rural are derived from them under the assumptions in :data:`DEMO_ASSUMPTIONS`.

Sample design of each questionnaire and wave: stratified by district, PSUs (communities and
villages) allocated proportionally to the district's population (at least two per district),
:data:`RESPONDENTS_PER_PSU` interviews per PSU, so the design is nearly self-weighting and the
report's equal base weights are close to the design weights (the development area gets the
minimum of two PSUs instead of its 1.7; post-stratifying on district corrects that). Respondents are
drawn with a deliberate tilt towards women, older and rural people, as doorstep interviews
tend to find them, so post-stratification and raking visibly change the estimates.

Satisfaction follows a latent-variable model: a respondent's general satisfaction (with
district, PSU, age and urban/rural effects, so estimates cluster and differ by domain) plus
item noise, cut into the 5-point scale. :data:`DEMO_LEVELS` sets each target question's
share of "satisfied" per wave, chosen so that in 2026 some targets are met, some are not and
some are inconclusive.

Earlier versions loaded the demo into the real database; :func:`remove_demo` deletes those
interviews too (interviewer codes with :data:`DEMO_INTERVIEWER_PREFIX`) with their
demonstration margins, and until then :func:`without_mixed_demo` keeps them out of any count
that has real interviews.

Examples
--------
>>> result = load_demo_database("sqlite:///data/survey.db")   # doctest: +SKIP
>>> result.summary()                                           # doctest: +SKIP
>>> remove_demo("sqlite:///data/survey.db").summary()          # doctest: +SKIP
"""
from __future__ import annotations

import math
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.special import ndtri
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from questionnaires import Question, Questionnaire, shipped_questionnaires
from questionnaires.expressions import evaluate, to_boolean
from survey_app.errors import SurveyAppError
from survey_app.margins import PopulationMargins, census_district_totals
from survey_app.store import DEFAULT_DB_PATH

if TYPE_CHECKING:
    from survey_app.margins import MarginsStore
    from survey_app.store import ResponseStore

__all__ = [
    "DEMO_ASSUMPTIONS",
    "DEMO_INTERVIEWER_PREFIX",
    "DEMO_LEVELS",
    "DEMO_SEED",
    "DEMO_TOURIST_INDEX",
    "DEMO_WAVES",
    "RESPONDENTS_PER_PSU",
    "DemoError",
    "DemoInterview",
    "DemoLoad",
    "DemoRemoval",
    "demo_database_exists",
    "demo_database_url",
    "demo_interviews",
    "demo_margins",
    "generate_demo",
    "is_demo_interviewer",
    "load_demo",
    "load_demo_database",
    "remove_demo",
    "without_mixed_demo",
]

DEMO_INTERVIEWER_PREFIX = "DEMO-"
DEMO_WAVES: tuple[str, ...] = ("2025", "2026")
DEMO_SEED = 20260101
#: Interviews per PSU (community or village).
RESPONDENTS_PER_PSU = 8
#: PSUs per questionnaire and wave, over all districts (allocated proportionally to population).
PSUS_PER_SURVEY = 40

#: Share of respondents answering "satisfied"/"agree" (top two boxes) or "yes", per wave, for
#: the target questions; other rating questions get :data:`_DEFAULT_LEVEL`. ``tourist_score``
#: is the mean 0-100 score.
DEMO_LEVELS: Mapping[str, Mapping[str, float]] = MappingProxyType({
    "overall_satisfaction": {"2025": 0.89, "2026": 0.93},        # target 85%: met
    "heard_campaign": {"2025": 0.64, "2026": 0.72},              # target 70%: inconclusive
    # target 95%: not met (asked only of the aware, who are more content than these levels suggest)
    "campaign_agreement": {"2025": 0.76, "2026": 0.78},
    "public_service_satisfaction": {"2025": 0.84, "2026": 0.89},  # target 80%: met
    "water_satisfaction": {"2025": 0.87, "2026": 0.91},
    "gas_satisfaction": {"2025": 0.79, "2026": 0.82},
    "electricity_satisfaction": {"2025": 0.89, "2026": 0.92},
    "elderly_care_satisfaction": {"2025": 0.66, "2026": 0.72},
    "tourist_score": {"2025": 80.5, "2026": 84.0},               # target 80 points: met
    "telecom_satisfaction": {"2025": 0.79, "2026": 0.80},        # target 90%: not met
    "salt_satisfaction": {"2025": 0.76, "2026": 0.80},           # target 80%: inconclusive
    # issue 16: the consumption environment's four dimensions differ, rights protection lowest
    "env_safety": {"2025": 0.86, "2026": 0.88},
    "env_integrity": {"2025": 0.80, "2026": 0.83},
    "env_convenience": {"2025": 0.89, "2026": 0.90},
    "env_redress": {"2025": 0.64, "2026": 0.68},
    "rate_tariff": {"2025": 0.66, "2026": 0.68},                 # telecom: tariffs rated lowest
    "rate_shopping": {"2025": 0.68, "2026": 0.70},               # tourism: shopping rated lowest
})
_DEFAULT_LEVEL = 0.78
#: Loading of a rating on the latent satisfaction (default 1): the larger, the more the item moves
#: with overall satisfaction, so key-driver analysis finds it more important (issue 16: rights
#: protection, tariffs and shopping are both important and rated lowest: "where to act" names them).
_LOADINGS: Mapping[str, float] = MappingProxyType({
    "env_redress": 1.4, "env_safety": 1.0, "env_integrity": 0.8, "env_convenience": 0.5,
    "rate_tariff": 1.4, "rate_marketing": 0.6, "rate_shopping": 1.4, "rate_information": 0.6,
})

#: The tourist satisfaction index (0-100, ACSI convention) its 1-10 items aim at, per wave
#: (target 80 points).
DEMO_TOURIST_INDEX: Mapping[str, float] = MappingProxyType({"2025": 78.5, "2026": 84.0})
# Each 1-10 index item: its loading on the latent satisfaction (expectations before the trip
# relate least) and its offset from the index level in points of 0-100; _INDEX_SPREAD is the
# spread in points per standard deviation. _INDEX_CEILING makes up for answers cut at 10.
_INDEX_ITEMS: Mapping[str, tuple[float, float]] = MappingProxyType({
    "acsi_expectation": (0.4, -3.0), "acsi_quality": (0.85, 1.0), "acsi_value": (0.75, -3.0),
    "acsi_satisfaction": (0.95, 1.0), "acsi_vs_expectation": (0.85, -1.0), "acsi_vs_ideal": (0.8, -2.0),
    "acsi_revisit": (0.8, 0.0),
})
_INDEX_SPREAD = 13.0
_INDEX_CEILING = 2.0
_COMPLAINT_RATE = 0.07

#: Assumptions behind the demonstration margins (the census bulletin gives district totals only).
DEMO_ASSUMPTIONS: Mapping[str, str] = MappingProxyType({
    "population": "residents aged 18 and over: 87% of each district's 2020 census total "
    "(Qidong and Haimen bulletins: 9.5% and 10.9% aged 0-14; about 3% more aged 15-17)",
    "sex": "48.6% men, the pooled share of the Qidong (467,719 of 967,313) and Haimen "
    "(484,870 of 991,782) district bulletins, applied city-wide",
    "age_group": "assumed adult age distribution 18-34 21%, 35-49 24%, 50-64 29%, 65+ 26% "
    "(not from the census: Nantong is old, 60+ is 31-35% of all residents in Qidong and Haimen)",
    "urban_rural": "66.7% urban, Haimen's share (661,983 of 991,782), applied city-wide",
})
_ADULT_SHARE = 0.87
_MALE_SHARE = (467_719 + 484_870) / (967_313 + 991_782)
_AGE_SHARES = {"18_34": 0.21, "35_49": 0.24, "50_64": 0.29, "65_plus": 0.26}
_URBAN_SHARE = 661_983 / 991_782

# Respondent mix found at the door (tilted against the margins above).
_SAMPLE_FEMALE = 0.57
_SAMPLE_AGE = {"18_34": 0.13, "35_49": 0.21, "50_64": 0.33, "65_plus": 0.33}
_AGE_RANGES = {"18_34": (18, 34), "35_49": (35, 49), "50_64": (50, 64), "65_plus": (65, 92)}
# Share of a district's PSUs that are urban communities (the rest are villages).
_URBAN_PSU_SHARE = {"chongchuan": 0.85, "kaifaqu": 0.7}
_URBAN_PSU_DEFAULT = 0.4
_CHINA = timezone(timedelta(hours=8), "CST")
_CONSENT_RATE = 0.96
_AGE_GIVEN_RATE = 0.9

# Latent model: general satisfaction = district + PSU + age + rural effects + person noise;
# an item adds its own noise and is cut at _CUTS into 1..5 ("4"/"5" above _CUTS[2]).
_DISTRICT_EFFECT = {"chongchuan": 0.25, "kaifaqu": 0.3, "tongzhou": -0.1, "haimen": 0.15,
                    "rudong": -0.3, "qidong": 0.05, "rugao": -0.2, "haian": 0.0}
_AGE_EFFECT = {"18_34": -0.25, "35_49": -0.05, "50_64": 0.1, "65_plus": 0.2}
_RURAL_EFFECT = -0.15
_PSU_SD = 0.35
_PERSON_SD = 1.0
_ITEM_SD = 0.8
_CUTS = np.array([-2.2, -1.4, -0.5, 1.4])
_LATENT_SD = math.sqrt(_PERSON_SD**2 + _PSU_SD**2 + _ITEM_SD**2 + 0.04)  # + spread of the fixed effects
_PERSON_LATENT_SD = math.sqrt(_LATENT_SD**2 - _ITEM_SD**2)  # of the latent satisfaction itself

# Answers of the other closed questions: choice weights (select_one) or the chance of each
# option (select_multiple); questions not listed get equal weights / a 0.3 chance per option.
_CHOICE_WEIGHTS: Mapping[str, Mapping[str, float]] = MappingProxyType({
    "had_problem": {"yes": 0.22, "no": 0.78},
    "complained": {"yes": 0.45, "no": 0.55},
    "no_complaint_reason": {"small_loss": 0.4, "troublesome": 0.3, "no_channel": 0.12, "useless": 0.14, "other": 0.04},
    "telecom_operator": {"china_mobile": 0.55, "china_telecom": 0.22, "china_unicom": 0.18, "china_broadnet": 0.04,
                         "other": 0.01},
    "visited_hall": {"yes": 0.4, "no": 0.6},
    "salt_place": {"supermarket": 0.55, "small_shop": 0.25, "market": 0.14, "online": 0.05, "other": 0.01},
    "salt_type": {"iodised": 0.7, "non_iodised": 0.08, "both": 0.12, "dont_know": 0.1},
    "suspect_salt": {"yes": 0.04, "no": 0.82, "dont_know": 0.14},
    "suspect_salt_reported": {"yes": 0.3, "no": 0.7},
    "tourist_origin": {"nantong": 0.3, "jiangsu": 0.4, "other_province": 0.28, "abroad": 0.02},
    "visit_type": {"day_trip": 0.6, "overnight": 0.4},
    "would_recommend": {"yes": 0.75, "unsure": 0.2, "no": 0.05},
})
_OPTION_CHANCES: Mapping[str, Mapping[str, float]] = MappingProxyType({
    "services_used": {"water": 0.93, "gas": 0.7, "electricity": 0.97, "elderly_care": 0.12},
    "service_problems": {"unfair_terms": 0.08, "opaque_charges": 0.15, "poor_service": 0.1,
                         "broken_promises": 0.05, "slow_repairs": 0.12, "other": 0.02},
    "telecom_services": {"mobile": 0.97, "broadband": 0.7, "iptv": 0.35, "landline": 0.12},
    "info_sources": {"tv_radio": 0.45, "newspaper": 0.15, "online": 0.5, "shop_sign": 0.3, "community": 0.35,
                     "word_of_mouth": 0.25, "other": 0.03},
    "complaint_channels": {"hotline_12315": 0.45, "hotline_12345": 0.3, "consumer_association": 0.1,
                           "business": 0.35, "platform": 0.2, "media": 0.02, "other": 0.03},
})
_OTHER_TEXTS = ("（演示）社区宣传栏", "（演示）朋友转告", "（演示）单位通知")
_SUGGESTIONS = ("（演示）希望加强农村市场监管", "（演示）投诉处理再快一些", "（演示）价格标示要清楚",
                "（演示）多开展消费维权宣传")
_SUGGESTION_RATE = 0.08
# The demo database's file name: the real one's with this before the extension.
_DEMO_SUFFIX = ".demo"


class DemoError(SurveyAppError):
    """The demo data set cannot be built or loaded."""


@dataclass(frozen=True)
class DemoInterview:
    """One synthetic, submitted interview, ready for :meth:`ResponseStore.import_interviews`.

    ``interview_id`` is a UUID drawn from the seeded generator, so loading the demo twice
    stores nothing new; ``started_at``/``submitted_at`` fall in October of the wave's year
    (daytime, China Standard Time); ``answers`` are the final, cleaned answers (read-only).
    """

    interview_id: str
    started_at: datetime
    submitted_at: datetime
    questionnaire_id: str
    questionnaire_version: str
    wave: str
    interviewer: str
    district: str
    psu: str
    answers: Mapping[str, Any]


@dataclass(frozen=True)
class DemoLoad:
    """What :func:`load_demo` stored.

    Attributes
    ----------
    counts : pandas.DataFrame
        Interviews per questionnaire (rows) and wave (columns).
    margins : PopulationMargins
        The demonstration margins as saved.
    seconds : float
        Time taken.
    """

    counts: pd.DataFrame
    margins: PopulationMargins
    seconds: float

    @property
    def n_interviews(self) -> int:
        """Total number of interviews stored."""
        return int(self.counts.to_numpy().sum())

    def to_frame(self) -> pd.DataFrame:
        """Interviews per questionnaire and wave (a copy)."""
        return self.counts.copy()

    def summary(self) -> str:
        """One paragraph describing the load."""
        lines = [f"Demo data set: {self.n_interviews} synthetic interviews stored in {self.seconds:.1f} s"]
        lines += [
            f"  {qid}: " + ", ".join(f"wave {w} {n}" for w, n in row.items()) for qid, row in self.counts.iterrows()
        ]
        lines.append(f"  demonstration margins: {', '.join(self.margins.variables)} (id {self.margins.id})")
        return "\n".join(lines)


@dataclass(frozen=True)
class DemoRemoval:
    """What :func:`remove_demo` removed.

    Attributes
    ----------
    database : str or None
        The demo database file deleted (None: there was none).
    interviews : int
        Demo interviews deleted from the real database (loaded there by earlier versions).
    margins : int
        Demonstration margins deleted from the real database.
    """

    database: str | None
    interviews: int
    margins: int

    @property
    def removed_anything(self) -> bool:
        """Whether anything was removed."""
        return self.database is not None or self.interviews > 0 or self.margins > 0

    def to_frame(self) -> pd.DataFrame:
        """One row: ``database``, ``interviews``, ``margins``."""
        return pd.DataFrame([{"database": self.database, "interviews": self.interviews, "margins": self.margins}])

    def summary(self) -> str:
        """One line describing the removal."""
        if not self.removed_anything:
            return "Demo data set: nothing to remove (no demo database, no demo interviews in the real database)"
        parts = [f"deleted the demo database {self.database}"] if self.database else []
        if self.interviews or self.margins:
            parts.append(f"deleted {self.interviews} demo interviews and {self.margins} demonstration margin "
                         "set(s) from the real database")
        return "Demo data set removed: " + "; ".join(parts)


def is_demo_interviewer(code: str) -> bool:
    """Whether an interviewer code marks a demonstration interview."""
    return isinstance(code, str) and code.startswith(DEMO_INTERVIEWER_PREFIX)


def demo_interviews(frame: pd.DataFrame) -> np.ndarray:
    """Which rows of a ``responses_frame`` are demonstration interviews (a boolean array)."""
    if frame.empty or "interviewer" not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    codes, interviewers = pd.factorize(frame["interviewer"])   # each interviewer's code looked at once
    demo = np.array([is_demo_interviewer(code) for code in interviewers] + [False])
    return demo[codes]


def without_mixed_demo(frame: pd.DataFrame) -> pd.DataFrame:
    """The interviews of a ``responses_frame`` that may be counted together.

    Demo interviews that earlier versions loaded into the real database never count with real
    ones: where both are present only the real ones are kept (``frame`` itself when nothing is
    left out). A database holding demo interviews only keeps them; every report of them is
    labelled demonstration (``ReportTables.demonstration``).
    """
    demo = demo_interviews(frame)
    if not demo.any() or demo.all():
        return frame
    return frame.iloc[np.flatnonzero(~demo)]


def demo_database_url(url: str) -> str:
    """The URL of the demo database that belongs to the real database at ``url``.

    A SQLite file gets a sibling (``sqlite:///data/survey.db`` -> ``sqlite:///data/survey.demo.db``);
    any other database (PostgreSQL) a SQLite file under ``data/`` named after its host and
    database (``data/db.example.internal_survey.demo.db``): the demo never enters the real database.

    Raises
    ------
    DemoError
        ``url`` is not a database URL, is an in-memory database, or is a demo database itself.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DemoError(f"url {url!r} is not a database URL; write e.g. sqlite:///data/survey.db") from None
    database = parsed.database or ""
    if parsed.get_backend_name() == "sqlite":
        if database in ("", ":memory:") or database.startswith("file:"):
            raise DemoError(f"url {url!r} is an in-memory SQLite database; the demo database is a file beside "
                            "the real database file, so give a file URL such as sqlite:///data/survey.db")
        path = Path(database)
        if path.stem.endswith(_DEMO_SUFFIX):
            raise DemoError(f"url {url!r} is a demo database itself; give the URL of the real database")
        return parsed.set(database=str(path.with_name(path.stem + _DEMO_SUFFIX + path.suffix))).render_as_string(
            hide_password=False)
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{parsed.host or 'localhost'}_{database or parsed.get_backend_name()}")
    return f"sqlite:///{DEFAULT_DB_PATH.parent / (name + _DEMO_SUFFIX + '.db')}"


def _demo_file(url: str) -> Path:
    return Path(make_url(demo_database_url(url)).database)


def demo_database_exists(url: str) -> bool:
    """Whether the demo database of the real database at ``url`` has been created (and not removed)."""
    return _demo_file(url).is_file()


def demo_margins() -> PopulationMargins:
    """Demonstration margins: census district totals and derived sex, age and urban/rural margins.

    All four margins describe the same population (adults, :data:`DEMO_ASSUMPTIONS`), so their
    totals agree exactly.
    """
    districts = {code: count * _ADULT_SHARE for code, count in census_district_totals().items()}
    adults = math.fsum(districts.values())
    source = (
        "DEMONSTRATION margins, not official: district totals from the Seventh National Population "
        "Census bulletin No. 2 of Nantong (2021-05-24, preliminary figures; city total 7,726,635); "
        + "; ".join(f"{name}: {text}" for name, text in DEMO_ASSUMPTIONS.items())
    )
    return PopulationMargins(
        counts={
            "district": districts,
            "sex": {"male": adults * _MALE_SHARE, "female": adults * (1 - _MALE_SHARE)},
            "age_group": {group: adults * share for group, share in _AGE_SHARES.items()},
            "urban_rural": {"urban": adults * _URBAN_SHARE, "rural": adults * (1 - _URBAN_SHARE)},
        },
        source=source,
        reference_date=date(2020, 11, 1),
        demonstration=True,
        filename=None,
    )


def psu_allocation(total_psus: int = PSUS_PER_SURVEY) -> dict[str, int]:
    """PSUs per district, proportional to the census population (largest remainders, at least 2)."""
    population = census_district_totals()
    small: set[str] = set()
    while True:  # districts whose share is below two PSUs get two; the rest share what is left
        rest = {code: count for code, count in population.items() if code not in small}
        left = total_psus - 2 * len(small)
        quotas = {code: left * count / sum(rest.values()) for code, count in rest.items()}
        newly_small = {code for code, quota in quotas.items() if quota < 2}
        if not newly_small:
            break
        small |= newly_small
    allocation = {code: 2 for code in small} | {code: int(quota) for code, quota in quotas.items()}
    by_remainder = sorted(quotas, key=lambda code: quotas[code] - int(quotas[code]), reverse=True)
    for code in by_remainder[: left - sum(int(quota) for quota in quotas.values())]:
        allocation[code] += 1
    return {code: allocation[code] for code in population}


def generate_demo(
    *,
    seed: int = DEMO_SEED,
    waves: Sequence[str] = DEMO_WAVES,
    questionnaires: Mapping[str, Questionnaire] | None = None,
    psus: int = PSUS_PER_SURVEY,
    respondents_per_psu: int = RESPONDENTS_PER_PSU,
    progress: Callable[[float], None] | None = None,
) -> list[DemoInterview]:
    """Synthetic interviews for every questionnaire and wave.

    Parameters
    ----------
    seed : int
        Seed of the random generator; the same seed gives the same interviews.
    waves : sequence of str
        Wave labels; :data:`DEMO_LEVELS` needs a level for each (default ``2025``, ``2026``).
    questionnaires : mapping, optional
        Default: the shipped questionnaires.
    psus, respondents_per_psu : int
        PSUs per questionnaire and wave (over all districts) and interviews per PSU.
    progress : callable, optional
        Called with the fraction done (0..1) after each questionnaire and wave.

    Returns
    -------
    list of DemoInterview
        ``len(questionnaires) * len(waves) * psus * respondents_per_psu`` interviews, each
        valid for its questionnaire.

    Raises
    ------
    DemoError
        An unknown wave, too few PSUs, or a generated interview the questionnaire rejects
        (a questionnaire changed in a way this generator does not know).
    """
    forms = shipped_questionnaires() if questionnaires is None else questionnaires
    unknown = [wave for wave in waves if any(wave not in levels for levels in DEMO_LEVELS.values())]
    if unknown or not waves:
        raise DemoError(
            f"waves {list(waves)!r}: demo levels exist for waves {', '.join(DEMO_WAVES)}; choose among them"
        )
    if respondents_per_psu < 1 or psus < 2 * len(census_district_totals()):
        raise DemoError(
            f"psus={psus}, respondents_per_psu={respondents_per_psu}: give at least 2 PSUs per district "
            f"({2 * len(census_district_totals())}) and at least 1 respondent per PSU"
        )
    rng = np.random.default_rng(seed)
    allocation = psu_allocation(psus)
    interviews: list[DemoInterview] = []
    surveys = [(form, wave) for form in forms.values() for wave in waves]
    for done, (form, wave) in enumerate(surveys, start=1):
        interviews.extend(_survey(form, wave, allocation, respondents_per_psu, rng))
        if progress is not None:
            progress(done / len(surveys))
    return interviews


def _survey(
    form: Questionnaire, wave: str, allocation: Mapping[str, int], per_psu: int, rng: np.random.Generator
) -> list[DemoInterview]:
    generator = _Answerer(form, wave, rng)
    interviews = []
    for number, (district, n_psus) in enumerate(allocation.items(), start=1):
        n_urban = round(n_psus * _URBAN_PSU_SHARE.get(district, _URBAN_PSU_DEFAULT))
        for k in range(n_psus):
            urban = k < n_urban
            psu = f"{district}-{'C' if urban else 'V'}{k + 1:02d}"  # C: community (社区), V: village (村)
            interviewer = f"{DEMO_INTERVIEWER_PREFIX}{number:02d}{'A' if k % 2 == 0 else 'B'}"
            psu_effect = rng.normal(0.0, _PSU_SD)
            for _ in range(per_psu):
                answers = generator.interview(district, urban, psu_effect)
                started = _fieldwork_time(wave, rng)
                interviews.append(
                    DemoInterview(
                        interview_id=str(uuid.UUID(bytes=rng.bytes(16), version=4)),
                        started_at=started,
                        submitted_at=started + timedelta(minutes=float(rng.uniform(6, 25))),
                        questionnaire_id=form.id,
                        questionnaire_version=form.version,
                        wave=wave,
                        interviewer=interviewer,
                        district=district,
                        psu=psu,
                        answers=MappingProxyType(answers),
                    )
                )
    return interviews


def _fieldwork_time(wave: str, rng: np.random.Generator) -> datetime:
    """A daytime moment in October of the wave's year (waves are years), China Standard Time."""
    day = datetime(int(wave), 10, 8, 9, tzinfo=_CHINA) + timedelta(days=int(rng.integers(0, 23)))
    return day + timedelta(minutes=float(rng.uniform(0, 9 * 60)))


class _Answerer:
    """Answers one questionnaire in interview order, following its skip logic."""

    def __init__(self, form: Questionnaire, wave: str, rng: np.random.Generator) -> None:
        self.form, self.wave, self.rng = form, wave, rng
        self._locations: dict[str, float] = {}
        self._choices: dict[str, tuple[list[str], np.ndarray]] = {}

    def interview(self, district: str, urban_psu: bool, psu_effect: float) -> dict[str, Any]:
        rng = self.rng
        if rng.random() >= _CONSENT_RATE:
            return self._checked({"consent": "no"})
        urban = urban_psu if rng.random() < 0.92 else not urban_psu
        age_group = str(rng.choice(list(_SAMPLE_AGE), p=list(_SAMPLE_AGE.values())))
        low, high = _AGE_RANGES[age_group]
        person = {
            "consent": "yes",
            "district": district,
            "urban_rural": "urban" if urban else "rural",
            "sex": "female" if rng.random() < _SAMPLE_FEMALE else "male",
            "age_group": age_group,
            # the age itself is optional in the questionnaires; some respondents only give the group
            "age": int(rng.integers(low, high + 1)) if rng.random() < _AGE_GIVEN_RATE else None,
        }
        latent = (_DISTRICT_EFFECT[district] + psu_effect + _AGE_EFFECT[age_group]
                  + (0.0 if urban else _RURAL_EFFECT) + rng.normal(0.0, _PERSON_SD))
        answers: dict[str, Any] = {}
        for group in self.form.groups:
            if group.relevant is not None and not to_boolean(evaluate(group.relevant, answers)):
                continue
            for question in group.questions:
                if question.type == "note":
                    continue
                if question.relevant is not None and not to_boolean(evaluate(question.relevant, answers)):
                    continue
                value = person[question.name] if question.name in person else self._answer(question, latent)
                if value is not None:
                    answers[question.name] = value
        return self._checked(answers)

    def _answer(self, question: Question, latent: float) -> Any:
        rng, name = self.rng, question.name
        if name == "tourist_score":
            score = DEMO_LEVELS[name][self.wave] + 8.0 * (latent + rng.normal(0.0, _ITEM_SD)) / _LATENT_SD
            return int(np.clip(round(score), 0, 100))
        if name in _INDEX_ITEMS:
            return self._scale10(name, latent)
        if name == "acsi_complained":  # the less satisfied complain more often
            z = latent / _PERSON_LATENT_SD
            return "1" if rng.normal(0.0, 1.0) - 0.6 * z > -ndtri(_COMPLAINT_RATE) * math.sqrt(1.36) else "0"
        if question.type == "select_one" and question.list_name in ("satisfaction5", "agreement5"):
            return self._rating(name, latent)
        if question.type == "select_one" and name == "heard_campaign":
            return "yes" if self._rating(name, latent) in ("4", "5") else "no"
        if question.type == "select_one":
            if name not in self._choices:
                codes = [choice.name for choice in self.form.choices(question)]
                weights = np.array([_CHOICE_WEIGHTS.get(name, {}).get(code, 1.0) for code in codes])
                self._choices[name] = (codes, np.cumsum(weights) / weights.sum())
            codes, cumulative = self._choices[name]
            return codes[min(int(np.searchsorted(cumulative, rng.random(), side="right")), len(codes) - 1)]
        if question.type == "select_multiple":
            return self._options(question)
        if question.type == "text":
            if question.required:
                return str(rng.choice(_OTHER_TEXTS))
            return str(rng.choice(_SUGGESTIONS)) if rng.random() < _SUGGESTION_RATE else None
        raise DemoError(
            f"questionnaire {self.form.id!r}: the demo generator cannot answer question {name!r} of type "
            f"{question.type}; extend survey_app/demo.py"
        )

    def _rating(self, name: str, latent: float) -> str:
        loading = _LOADINGS.get(name, 1.0)
        if name not in self._locations:
            level = DEMO_LEVELS.get(name, {}).get(self.wave, _DEFAULT_LEVEL)
            # Item location so that P(item > _CUTS[2]) is about `level` over the whole sample.
            spread = math.sqrt(loading**2 * _PERSON_LATENT_SD**2 + _ITEM_SD**2)
            self._locations[name] = _CUTS[2] + spread * float(ndtri(level))
        value = self._locations[name] + loading * latent + self.rng.normal(0.0, _ITEM_SD)
        return str(1 + int(np.searchsorted(_CUTS, value)))

    def _scale10(self, name: str, latent: float) -> int:
        """A 1-10 index item: the index level plus the item's offset, moved by the latent
        satisfaction (standardised) and the item's own noise, in points of 0-100."""
        loading, offset = _INDEX_ITEMS[name]
        z = loading * latent / _PERSON_LATENT_SD + math.sqrt(1 - loading**2) * self.rng.normal(0.0, 1.0)
        score = DEMO_TOURIST_INDEX[self.wave] + _INDEX_CEILING + offset + _INDEX_SPREAD * z
        return int(np.clip(round(1 + 9 * score / 100), 1, 10))

    def _options(self, question: Question) -> list[str]:
        codes = [choice.name for choice in self.form.choices(question)]
        chances = _OPTION_CHANCES.get(question.name, {})
        chosen = [code for code in codes if code != "none" and self.rng.random() < chances.get(code, 0.3)]
        if chosen:
            return chosen
        # 'none' is exclusive where offered; elsewhere at least the commonest option is chosen
        return ["none"] if "none" in codes else [max(codes, key=lambda code: chances.get(code, 0.3))]

    def _checked(self, answers: dict[str, Any]) -> dict[str, Any]:
        """The answers, after the questionnaire's own checks; DemoError if any fails."""
        form = self.form
        problems = [f"{name}: missing" for name in form.missing_required(answers)]
        cleaned = form.clean(answers)
        problems += [f"{name}: not asked" for name in answers if name not in cleaned]
        for name, value in cleaned.items():
            message = form.check_answer(name, value, cleaned, "en")
            if message is not None:
                problems.append(f"{name}={value!r}: {message}")
        if problems:
            raise DemoError(
                f"questionnaire {form.id!r} rejects a generated demo interview ({'; '.join(problems)}); "
                "update survey_app/demo.py to the questionnaire"
            )
        return cleaned


def load_demo(
    store: ResponseStore,
    margins_store: MarginsStore | None = None,
    *,
    seed: int = DEMO_SEED,
    psus: int = PSUS_PER_SURVEY,
    respondents_per_psu: int = RESPONDENTS_PER_PSU,
    progress: Callable[[float], None] | None = None,
) -> DemoLoad:
    """Generate the demo interviews and store them, with the demonstration margins, in ``store``.

    The app and the command line call :func:`load_demo_database`, which gives this the demo
    database; tests and benchmarks call it on a database of their own.

    Parameters
    ----------
    store : ResponseStore
        Where the interviews go (:meth:`ResponseStore.import_interviews`, as submitted
        interviews; ids already stored are skipped).
    margins_store : MarginsStore, optional
        Where the margins go (replacing earlier demonstration margins); default
        ``MarginsStore(store.url)``.
    seed, psus, respondents_per_psu : int
        Passed to :func:`generate_demo`.
    progress : callable, optional
        Called with the fraction done (0..1) while generating and storing, e.g. a progress
        bar's update.

    Returns
    -------
    DemoLoad
    """
    from survey_app.margins import MarginsStore

    started = time.perf_counter()
    report = progress or (lambda fraction: None)
    interviews = generate_demo(
        seed=seed, psus=psus, respondents_per_psu=respondents_per_psu, progress=lambda f: report(0.7 * f)
    )
    margins_store = margins_store or MarginsStore(store.url)
    _store_interviews(store, interviews, lambda f: report(0.7 + 0.3 * f))
    margins_store.delete_demonstration()
    saved = margins_store.save(demo_margins())
    counts = (
        pd.DataFrame([(i.questionnaire_id, i.wave) for i in interviews], columns=["questionnaire", "wave"])
        .value_counts()
        .unstack("wave", fill_value=0)
        .sort_index()
    )
    counts.columns.name = "wave"
    return DemoLoad(counts=counts, margins=saved, seconds=time.perf_counter() - started)


def _store_interviews(
    store: ResponseStore, interviews: Sequence[DemoInterview], progress: Callable[[float], None]
) -> None:
    # The store's bulk import, in chunks so a progress bar can move; ids already stored are skipped.
    chunk = max(1, math.ceil(len(interviews) / 20))
    for start in range(0, len(interviews), chunk):
        store.import_interviews(interviews[start:start + chunk])
        progress(min(1.0, (start + chunk) / len(interviews)))


def load_demo_database(
    url: str,
    *,
    seed: int = DEMO_SEED,
    psus: int = PSUS_PER_SURVEY,
    respondents_per_psu: int = RESPONDENTS_PER_PSU,
    progress: Callable[[float], None] | None = None,
) -> DemoLoad:
    """Create the demo database of the real database at ``url`` and load the demo into it.

    The interviews and the demonstration margins go to :func:`demo_database_url` only; the real
    database is not touched. Loading again stores nothing new.

    Parameters
    ----------
    url : str
        The real database's URL.
    seed, psus, respondents_per_psu, progress
        As :func:`load_demo`.
    """
    from survey_app.margins import MarginsStore
    from survey_app.store import ResponseStore

    demo_url = demo_database_url(url)
    store = ResponseStore(demo_url)
    margins_store = MarginsStore(demo_url)
    try:
        return load_demo(store, margins_store, seed=seed, psus=psus, respondents_per_psu=respondents_per_psu,
                         progress=progress)
    finally:
        margins_store.close()
        store.close()


def remove_demo(url: str) -> DemoRemoval:
    """Remove the demo data set of the real database at ``url``, and nothing real.

    Deletes the demo database file (:func:`demo_database_url`, with SQLite's ``-wal``/``-shm``
    files), and from the real database the demo interviews that earlier versions loaded there
    (interviewer codes starting with :data:`DEMO_INTERVIEWER_PREFIX`, any status) and the
    demonstration margins. Real interviews and uploaded margins stay.
    """
    from survey_app.margins import MarginsStore
    from survey_app.store import ResponseStore

    path = _demo_file(url)
    removed = None
    if path.is_file():
        try:
            for part in (path, *(path.with_name(path.name + end) for end in ("-wal", "-shm", "-journal"))):
                part.unlink(missing_ok=True)
        except OSError as exc:
            raise DemoError(f"cannot delete the demo database {path}: {exc.strerror or exc}; check the file's "
                            "permissions") from None
        removed = str(path)
    store = ResponseStore(url)
    margins_store = MarginsStore(url)
    try:
        interviews = store.delete_interviews_of(DEMO_INTERVIEWER_PREFIX)
        margins = margins_store.delete_demonstration()
    finally:
        margins_store.close()
        store.close()
    return DemoRemoval(database=removed, interviews=interviews, margins=margins)

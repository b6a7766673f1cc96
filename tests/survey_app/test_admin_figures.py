"""Administrative figures: checked entries, history kept, the audit log, verdicts without intervals."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from survey_app.admin_figures import FigureError, FiguresStore, register_targets, set_figure


def test_entries_keep_their_history_and_the_latest_is_current(accounts, db_url):
    store = FiguresStore(db_url)
    first = set_figure(store, "bank_participation_rate", numerator=30, denominator=60, as_of=date(2026, 3, 31),
                       source="市金融办 2026年一季度统计表", actor="chief")
    second = set_figure(store, "bank_participation_rate", numerator=41, denominator=60, as_of=date(2026, 6, 30),
                        source="市金融办 2026年二季度统计表", actor="S01")
    set_figure(store, "ecommerce_model_units", count=9, as_of=date(2026, 6, 30), source="市工商局 名单", actor="chief")
    target = register_targets()["bank_participation_rate"]
    assert first.verdict(target) == "not met" and second.verdict(target) == "met"  # 50% and 68.3% against 60%
    latest = store.latest()
    assert latest["bank_participation_rate"].value == pytest.approx(41 / 60)
    assert latest["bank_participation_rate"].entered_by == "S01"
    assert latest["ecommerce_model_units"].value == 9
    history = store.history("bank_participation_rate")
    assert list(history["numerator"]) == [41, 30]  # newest first, nothing overwritten
    assert list(history["source"]) == ["市金融办 2026年二季度统计表", "市金融办 2026年一季度统计表"]
    log = accounts.audit_log(accounts.get_user("chief"))
    entries = log[log["action"] == "set_figure"]
    assert len(entries) == 3
    assert set(entries["actor"]) == {"chief", "S01"}
    assert "bank_participation_rate" in set(entries["target"])


def test_a_rate_below_the_threshold_is_met_for_a_below_target(db_url):
    store = FiguresStore(db_url)
    figure = set_figure(store, "abnormal_business_rate", numerator=12, denominator=100, as_of=date(2026, 6, 30),
                        source="企业信用信息公示系统", actor="chief")
    assert figure.verdict(register_targets()["abnormal_business_rate"]) == "met"  # 12% < 13%
    figure = set_figure(store, "abnormal_business_rate", numerator=13, denominator=100, as_of=date(2026, 6, 30),
                        source="企业信用信息公示系统", actor="chief")
    assert figure.verdict(register_targets()["abnormal_business_rate"]) == "not met"  # 13% is not below 13%


@pytest.mark.parametrize(
    ("target", "values", "key"),
    [
        ("food_sampling_pass_rate", dict(numerator=1, denominator=2), "figure_unknown_target"),  # an inspection target
        ("bank_participation_rate", dict(count=3), "figure_fraction_only"),
        ("ecommerce_model_units", dict(numerator=1, denominator=2), "figure_count_only"),
        ("ecommerce_model_units", dict(count=2.5), "figure_bad_number"),
        ("bank_participation_rate", dict(numerator=61, denominator=60), "figure_numerator_too_large"),
        ("bank_participation_rate", dict(numerator=-1, denominator=60), "figure_bad_number"),
        ("bank_participation_rate", dict(numerator=1, denominator=0), "figure_bad_number"),
        ("bank_participation_rate", dict(numerator=1, denominator=2, source=" "), "figure_no_source"),
        ("bank_participation_rate", dict(numerator=1, denominator=2, as_of=date.today() + timedelta(days=2)),
         "figure_bad_date"),
    ],
)
def test_bad_entries_are_refused_and_nothing_is_stored(db_url, target, values, key):
    store = FiguresStore(db_url)
    arguments = {"as_of": date(2026, 6, 30), "source": "统计表", **values}
    with pytest.raises(FigureError) as caught:
        set_figure(store, target, actor="chief", **arguments)
    assert caught.value.key == f"inspections.{key}"
    assert store.history().empty


def test_residents_per_market_is_a_ratio_at_most_30000(db_url):
    store = FiguresStore(db_url)
    figure = set_figure(store, "residents_per_farmers_market", numerator=2_100_000, denominator=80,
                        as_of=date(2026, 6, 30), source="市商务局", actor="chief")  # 26,250 residents per market
    assert figure.verdict(register_targets()["residents_per_farmers_market"]) == "met"


def test_figures_on_postgresql(postgres_url):
    store = FiguresStore(postgres_url)
    set_figure(store, "farm_supply_chain_rate", numerator=7, denominator=10, as_of=date(2026, 6, 30),
               source="市供销合作总社", actor="chief")
    assert store.latest()["farm_supply_chain_rate"].value == pytest.approx(0.7)
    assert store.latest()["farm_supply_chain_rate"].verdict(register_targets()["farm_supply_chain_rate"]) == "met"
    store.close()

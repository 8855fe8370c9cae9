"""A misconfigured night says so first: each typical wrong setting, planted on otherwise correct
books, is named as the likely cause, in the run's terminal summary, the report's verdict and
summary.json; the breaks are still recorded. (Correct books claim no cause: the plant-and-find
property in test_diff.py asserts it over every drawn partner profile.)"""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from recon import pipeline
from recon.config import Config
from tests.books import Books, Profile

D = date(2026, 4, 14)
ORDERS = 40


def night_of(
    tmp_path: Path, profile: Profile, configured: dict[str, Any], later_exports: bool = True
) -> tuple[pipeline.Night, Config]:
    """D's night of clean books kept as `profile` says, diffed under the configuration the
    books would have with `configured` changed in [ledger]."""
    books = Books.clean(11, D, ORDERS, profile=profile)
    settings = books.write(tmp_path)
    if not later_exports:  # the night runs before the partner's next export has come
        for export in tmp_path.glob("ledger-*"):
            if export.stem.removeprefix("ledger-") > D.isoformat():
                export.unlink()
    columns = configured.pop("columns", {})
    ledger = dataclasses.replace(
        settings.ledger,
        **configured,
        columns={**settings.ledger.columns, **columns},
    )
    settings = dataclasses.replace(settings, ledger=ledger)
    return pipeline.diff(settings, D), settings


def the_cause(night: pipeline.Night) -> tuple[str, str]:
    [cause] = night.diff.causes
    return cause["cause"], cause["key"]


def test_clean_books_claim_no_cause(tmp_path: Path) -> None:
    night, _ = night_of(tmp_path, Profile(zone="Asia/Tokyo"), {})
    assert night.findings.num_rows == 0
    assert night.diff.causes == []


def test_minor_units_read_as_major_are_units(tmp_path: Path) -> None:
    night, _ = night_of(tmp_path, Profile(amount_unit="minor"), {"amount_unit": "major"})
    assert the_cause(night) == ("units", "ledger.amount_unit")
    [cause] = night.diff.causes
    # each currency by its own minor unit (JPY has none: its amounts agree)
    assert "exactly 100 or 1,000 times Starship's charge" in cause["text"]
    assert "(now 'major'): minor units?" in cause["text"]
    assert cause["rows"] == night.unexplained() > night.diff.counts["ledger_matched"] / 2


def test_major_units_read_as_minor_are_units(tmp_path: Path) -> None:
    """12.50 is quarantined as a fraction of a cent and 10.00 read as 0.10: units either way,
    said once."""
    night, _ = night_of(tmp_path, Profile(), {"amount_unit": "minor"})
    assert the_cause(night) == ("units", "ledger.amount_unit")
    assert "major units?" in night.diff.causes[0]["text"]


def test_the_opposite_sign_is_purchase_sign(tmp_path: Path) -> None:
    night, _ = night_of(tmp_path, Profile(purchase_sign="negative"), {})
    assert night.diff.causes == []  # the books' own configuration says negative
    night, _ = night_of(
        tmp_path / "wrong", Profile(purchase_sign="negative"), {"purchase_sign": "positive"}
    )
    assert the_cause(night) == ("sign", "ledger.purchase_sign")
    assert "(now 'positive'): negative?" in night.diff.causes[0]["text"]


def test_a_column_mapped_to_another_is_named(tmp_path: Path) -> None:
    night, _ = night_of(tmp_path, Profile(), {"columns": {"amount": "status"}})
    assert the_cause(night) == ("mapping", "ledger.columns.amount")
    assert "check ledger.columns.amount (now 'status')" in night.diff.causes[0]["text"]


def test_crossed_order_id_and_reference_columns_are_a_swap(tmp_path: Path) -> None:
    night, _ = night_of(
        tmp_path, Profile(), {"columns": {"order_id": "reference", "reference": "order_id"}}
    )
    assert the_cause(night) == ("swap", "ledger.columns.order_id")


def test_another_days_export_under_the_nights_name_is_the_wrong_file(tmp_path: Path) -> None:
    books = Books.clean(11, D, ORDERS)
    settings = books.write(tmp_path)
    # the partner's job wrote Monday's file again under Tuesday's name
    shutil.copyfile(tmp_path / f"ledger-{D - timedelta(days=1)}.csv", tmp_path / f"ledger-{D}.csv")
    night = pipeline.diff(settings, D)
    assert the_cause(night) == ("file", "ledger.path")
    assert f"ledger-{D}.csv' the export of this date?" in night.diff.causes[0]["text"]


def test_an_empty_export_is_the_wrong_file(tmp_path: Path) -> None:
    books = Books.clean(11, D, ORDERS)
    settings = books.write(tmp_path)
    (tmp_path / f"ledger-{D}.csv").write_text(",".join(books.profile.fields) + "\n")
    night = pipeline.diff(settings, D)
    assert the_cause(night) == ("file", "ledger.path")
    assert "the export has no usable row" in night.diff.causes[0]["text"]


@pytest.mark.parametrize(
    ("zone", "where", "hours"),
    [("Asia/Tokyo", "ends about 9 hours earlier", 9), ("Asia/Kolkata", "ends about 6 hours", 6)],
)
def test_a_day_cut_in_another_zone_is_the_business_day(
    tmp_path: Path, zone: str, where: str, hours: int
) -> None:
    """A partner ahead of UTC configured as UTC: the day's last hours are on its next export,
    not there yet when the night runs, so exactly the orders of the day's end are missing."""
    night, _ = night_of(
        tmp_path,
        Profile(zone=zone),
        {"timezone": "UTC", "business_day_timezone": "UTC"},
        later_exports=False,
    )
    assert the_cause(night) == ("zone", "ledger.business_day_timezone")
    text = night.diff.causes[0]["text"]
    assert where in text and "(now 'UTC')" in text
    # configured rightly, the same night waits for that export: expected, no cause
    right, _ = night_of(tmp_path / "right", Profile(zone=zone), {}, later_exports=False)
    assert right.diff.causes == []
    assert right.unexplained() < night.unexplained()


def test_the_cause_leads_the_summary_the_verdict_and_summary_json(tmp_path: Path) -> None:
    night, settings = night_of(
        tmp_path, Profile(purchase_sign="negative"), {"purchase_sign": "positive"}
    )
    lines = night.summary()
    assert lines[1].startswith("  LIKELY CAUSE (ledger.purchase_sign): ")
    model, files = pipeline.report(settings, D)
    assert model.verdict.startswith("Likely a setting (ledger.purchase_sign): ")
    assert "breaks" in model.verdict  # still counted and listed
    summary = json.loads(files.summary.read_text())
    assert summary["verdict"] == model.verdict
    [cause] = summary["likely_causes"]
    assert cause["key"] == "ledger.purchase_sign" and cause["rows"] >= 5
    html = files.html.read_text()
    assert html.index("Likely cause: <code>ledger.purchase_sign</code>") < html.index(
        ">amount_mismatch · "
    )
    text = files.text.read_text()
    assert "Likely cause: ledger.purchase_sign." in text
    # a night with the setting mended claims nothing, and the report says nothing of it
    mended = dataclasses.replace(
        settings, ledger=dataclasses.replace(settings.ledger, purchase_sign="negative")
    )
    assert pipeline.diff(mended, D).diff.causes == []
    model, files = pipeline.report(mended, D)
    assert "Likely" not in model.verdict
    assert json.loads(files.summary.read_text())["likely_causes"] == []

"""The discount sheet (`[checks] discount_sheet`) and `discount_drift`, and the ledger's memory
in the lake (`ledger/date=D/`).

The sheet's refusals are a table, each a real file loaded through `recon.config.load`. The
pricing tests run the whole diff over `tests/books.Books`, whose orders all carry their
product's negotiated discount.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from recon import config, memory, pipeline
from recon.errors import ConfigError
from recon.lake import Lake
from recon.money import minor_unit
from recon.sandbox.scenario import discounted
from tests.books import DISCOUNTS, Books

D = date(2026, 4, 14)
HEADER = "product_id,currency,discount_percent,valid_from\n"

SHEET_REFUSALS = [
    ("", "has no rows"),
    ("product_id,currency\ncard-usd,USD\n", "no column 'discount_percent'"),
    (HEADER + ",USD,3.5,\n", "line 2: no product_id"),
    (HEADER + "card-usd,USX,3.5,\n", "line 2: currency 'USX'"),
    (HEADER + "card-usd,USD,three,\n", "line 2: discount_percent 'three' is not a number"),
    (HEADER + "card-usd,USD,-1,\n", "must be at least 0 and below 100"),
    (HEADER + "card-usd,USD,100,\n", "must be at least 0 and below 100"),
    (HEADER + "card-usd,USD,NaN,\n", "must be at least 0 and below 100"),
    (HEADER + "card-usd,USD,3.12345,\n", "more than 4 decimals"),
    (HEADER + "card-usd,USD,3.5,14/04/2026\n", "valid_from '14/04/2026' is not a date"),
    (HEADER + "card-usd,USD,3.5,\ncard-usd,usd,3.0,\n", "line 3: card-usd USD is priced twice"),
]


def load_with_sheet(tmp_path: Path, sheet: str | None) -> config.Config:
    if sheet is not None:
        (tmp_path / "discounts.csv").write_text(sheet, encoding="utf-8")
    toml = tmp_path / "recon.toml"
    toml.write_text('[checks]\ndiscount_sheet = "discounts.csv"\n', encoding="utf-8")
    return config.load(toml)


@pytest.mark.parametrize(("sheet", "fragment"), SHEET_REFUSALS)
def test_a_bad_discount_sheet_is_refused_naming_file_and_line(
    tmp_path: Path, sheet: str, fragment: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        load_with_sheet(tmp_path, sheet)
    assert fragment in str(refused.value)
    assert str(tmp_path / "discounts.csv") in str(refused.value)


def test_a_missing_discount_sheet_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="discount sheet not found"):
        load_with_sheet(tmp_path, None)


def test_a_sheet_loads_beside_the_config_and_defaults_to_none(tmp_path: Path) -> None:
    loaded = load_with_sheet(tmp_path, HEADER + "card-usd,USD,3.5%,\ncard-eur,EUR,0,2026-01-01\n")
    assert loaded.checks.discount_sheet == tmp_path / "discounts.csv"
    assert config.from_dict({}).checks.discount_sheet is None


# -- pricing -------------------------------------------------------------------------------


def findings(night: pipeline.Night) -> dict[tuple[str, str], dict]:
    return {(f["check"], f["key"]): f for f in night.findings.to_pylist()}


def test_discounted_totals_are_not_breaks_and_a_changed_discount_is(tmp_path: Path) -> None:
    books = Books.clean(11, D, 20)
    (check, drifted) = books.plant("discount_drift")
    order = next(o for o in books.orders if o.order_id == drifted)
    night = pipeline.diff(books.write(tmp_path), D)
    assert set(findings(night)) == {(check, drifted)}
    row = findings(night)[(check, drifted)]
    face = order.denomination * order.quantity
    expected = discounted(face, Decimal(DISCOUNTS[order.currency]), order.currency)
    assert row["severity"] == "warning"
    assert row["starship_amount"] == order.total
    assert row["delta"] == order.total - expected
    assert f"expected {expected}" in row["detail"] and f"charged {order.total}" in row["detail"]
    assert night.exit_code == 0  # a warning: the books still agree


def test_without_a_sheet_nothing_is_priced(tmp_path: Path) -> None:
    books = Books.clean(11, D, 20)
    books.plant("discount_drift")
    settings = books.write(tmp_path)
    no_sheet = config.Config(
        starship=settings.starship,
        storage=settings.storage,
        ledger=settings.ledger,
        checks=config.ChecksConfig(
            grace_minutes=settings.checks.grace_minutes,
            stuck_pending_hours=settings.checks.stuck_pending_hours,
        ),
    )
    assert findings(pipeline.diff(no_sheet, D)) == {}


def test_valid_from_picks_the_rate_in_force_and_an_unlisted_product_is_info(
    tmp_path: Path,
) -> None:
    books = Books.clean(12, D, 20, currencies=("USD", "EUR"))
    settings = books.write(tmp_path)
    # USD's rate changed the day after D (not yet in force); an older, other rate before it.
    # EUR is not on the sheet at all.
    sheet = tmp_path / "discounts.csv"
    sheet.write_text(
        HEADER
        + f"card-usd,USD,1.0,{D - timedelta(days=30)}\n"
        + f"card-usd,USD,{DISCOUNTS['USD']},{D - timedelta(days=5)}\n"
        + f"card-usd,USD,9.0,{D + timedelta(days=1)}\n",
        encoding="utf-8",
    )
    night = pipeline.diff(settings, D)
    assert set(findings(night)) == {("unknown_status", "product/card-eur/EUR")}
    row = findings(night)[("unknown_status", "product/card-eur/EUR")]
    assert row["severity"] == "info" and "not in the discount sheet" in row["detail"]


def test_a_product_whose_terms_start_after_the_day_is_reported_not_priced(tmp_path: Path) -> None:
    """Listed, but every row of it starts after D: no discount is in force on D, so its orders
    are neither priced nor silently skipped."""
    books = Books.clean(15, D, 12, currencies=("USD", "KWD"))
    planted = books.plant("discount_not_in_force")
    night = pipeline.diff(books.write(tmp_path), D)
    assert set(findings(night)) == {planted}
    [(product, currency, _, since)] = books.sheet[:1]
    detail = findings(night)[planted]["detail"]
    assert detail.startswith(f"product {product} ({currency}) has no discount in the sheet ")
    assert f"before {since}" in detail and "1 order(s) of the day not priced" in detail


# -- the ledger's memory ---------------------------------------------------------------------


def test_each_night_keeps_its_typed_ledger_with_the_exports_fingerprint(tmp_path: Path) -> None:
    books = Books.clean(13, D, 12)
    settings = books.write(tmp_path)
    pipeline.diff(settings, D)
    lake = Lake(settings.storage.data_dir / "lake")
    export = tmp_path / f"ledger-{D}.csv"
    manifest = lake.manifest("ledger", D)
    assert manifest is not None
    assert manifest["export"] == str(export)
    assert manifest["size"] == export.stat().st_size
    assert manifest["sha256"] == hashlib.sha256(export.read_bytes()).hexdigest()
    assert manifest["rows"] == len(books.ledgers[D])
    on_disk = json.loads((lake.partition("ledger", D) / "_manifest.json").read_text())
    assert on_disk == manifest
    # the earlier exports of the window were read and kept too (the first night remembers)
    assert [lake.manifest("ledger", D - timedelta(days=n)) is not None for n in (1, 2, 3)] == [
        True
    ] * 3
    # only the mapped columns are kept: a free-text column of the export never reaches disk
    kept = pq.read_table(lake.part("ledger", D))
    assert kept.column_names == list(memory.COLUMNS)
    assert kept.num_rows == len(books.ledgers[D])


def test_a_rerun_replaces_the_nights_memory_and_a_corrected_export_is_read_again(
    tmp_path: Path,
) -> None:
    """The late sale of two days ago is cancelled on D and reversed on D's export. Remove the
    reversal: a late cancellation, found against the earlier export. Then the partner corrects
    the earlier export (books the sale as cancelled there): night D reads it again."""
    books = Books.clean(14, D, 12)
    settings = books.write(tmp_path)
    late = next(o for o in books.orders if o.created_at.date() == D - timedelta(days=2))
    assert findings(pipeline.diff(settings, D)) == {}

    books.ledgers[D] = [r for r in books.ledgers[D] if r["order_id"] != late.order_id]
    books.write_ledger(tmp_path, D)
    night = pipeline.diff(settings, D)
    assert set(findings(night)) == {("status_mismatch", late.order_id)}
    detail = findings(night)[("status_mismatch", late.order_id)]["detail"]
    assert f"ledger-{D - timedelta(days=2)}.csv" in detail and "not reversed" in detail
    lake = Lake(settings.storage.data_dir / "lake")
    assert lake.manifest("ledger", D)["rows"] == len(books.ledgers[D])  # replaced, not added

    earlier = D - timedelta(days=2)
    for row in books.ledgers[earlier]:
        if row["order_id"] == late.order_id:
            row["status"] = "cancelled"
    path = books.write_ledger(tmp_path, earlier)
    os.utime(path, ns=(1, 1))  # a different file to the lake's manifest, whatever the clock
    assert findings(pipeline.diff(settings, D)) == {}
    assert (
        lake.manifest("ledger", earlier)["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    )


# -- the same books, exported the other ways partners export them ------------------------------


def _rewrite_amounts(root: Path, books: Books, convert: Callable[[Decimal, str], str]) -> None:
    for day, rows in books.ledgers.items():
        for row in rows:
            row["amount"] = convert(Decimal(row["amount"].replace(",", "")), row["currency"])
        books.write_ledger(root, day)


@pytest.mark.parametrize(
    ("unit", "sign"), [("minor", "positive"), ("major", "negative"), ("minor", "negative")]
)
def test_minor_units_and_negative_purchases_reconcile_like_the_plain_export(
    tmp_path: Path, unit: str, sign: str
) -> None:
    """Discounted sales, a reversal across nights and one on the same day, and a plant of each
    amount-bearing kind: a ledger in minor units, or with purchases negative (reversals then
    positive), finds exactly what the plain export finds."""
    books = Books.clean(21, D, 16)
    planted = {books.plant(kind) for kind in ("amount_mismatch", "late_cancellation")}
    settings = books.write(tmp_path)

    def convert(amount: Decimal, currency: str) -> str:
        if sign == "negative":
            amount = -amount
        if unit == "minor":
            return str(int(amount.scaleb(minor_unit(currency))))
        return str(amount)

    _rewrite_amounts(tmp_path, books, convert)
    other = replace(settings, ledger=replace(settings.ledger, amount_unit=unit, purchase_sign=sign))
    night = pipeline.diff(other, D)
    assert set(findings(night)) == planted
    assert night.diff.counts["ledger_reversals"] >= 2

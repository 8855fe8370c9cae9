"""The scenario generator: deterministic, complete, and its answer key true to its own data.

The invariants below are recomputed here from the generated books, independently of how the
generator planted them, so a plant that went wrong (a second, unplanned break; a plant that
did not land) fails a test rather than poisoning the diff issue's golden answers.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from recon.cli import cli
from recon.money import minor_unit
from recon.sandbox.scenario import (
    DEFAULT_DATE,
    LEDGER_COLUMNS,
    LEDGER_MEMO_COLUMN,
    LEDGER_STATUS_MAP,
    SEVERITY,
    Cut,
    Scenario,
    generate,
)
from tests.conftest import default_scenario
from tests.helpers import FIXTURES

DESIGN_CHECKS = {
    "missing_in_ledger",
    "missing_at_starship",
    "amount_mismatch",
    "currency_mismatch",
    "status_mismatch",
    "duplicate_order",
    "duplicate_ledger_entry",
    "wallet_mismatch",
    "balance_gap",
    "stuck_pending",
    "low_wallet_balance",
    "wallet_runway",
    "starship_reported_drift",
    "discount_drift",
    "unknown_status",
}
KNOWN_SUB_STATUSES = {
    "INITIAL",
    "PROCESSING",
    "INVENTORY_FULFILLED",
    "VENDOR_ORDER_PENDING",
    "VENDOR_ORDER_CREATED",
    "VENDOR_VOUCHER_FETCHED",
    "VENDOR_ORDER_FAILED",
    "PENDING_REPROCESS",
    "REPROCESS_EXPIRED",
    "PARTIAL",
    "COMPLETED",
    "GV_LINK_PENDING",
    "GV_LINK_CLAIMED",
    "GV_LINK_UNCLAIMED",
    "BULK_LIMIT_EXCEEDED",
    "REFUNDED",
    "NOT_REFUNDED",
    "RECONCILED",
}
SEEDS = [1, 7, 99, 20260414]


def findings(scenario: Scenario, check: str) -> list[dict]:
    return [f for f in scenario.answer_key["findings"] if f["check"] == check]


def ledger(scenario: Scenario) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(scenario.ledger_csv())))


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    a, b = generate(5), generate(5)
    assert a.ledger_csv() == b.ledger_csv()
    assert a.answer_key_json() == b.answer_key_json()
    assert [o.order_id for o in a.orders] == [o.order_id for o in b.orders]
    assert generate(6).ledger_csv() != a.ledger_csv()


def test_committed_fixture_is_what_the_generator_makes(tmp_path: Path) -> None:
    written = generate().write_fixture(tmp_path)
    week = [f"ledger-2026-04-{day:02d}.csv" for day in range(8, 15)]
    assert [p.name for p in written] == [*week, "discounts.csv", "answer-key-2026-04-14.json"]
    for path in written:
        assert path.read_bytes() == (FIXTURES / path.name).read_bytes(), (
            f"{path.name} drifted from the generator: regenerate with "
            "`recon sandbox scenario --out data/fixtures` and review the diff"
        )


def test_answer_key_covers_every_check_of_the_design() -> None:
    scenario = default_scenario()
    assert {f["check"] for f in scenario.answer_key["findings"]} == DESIGN_CHECKS
    assert set(SEVERITY) == DESIGN_CHECKS
    assert all(f["severity"] == SEVERITY[f["check"]] for f in scenario.answer_key["findings"])


def test_every_lifecycle_path_and_currency_is_present() -> None:
    scenario = default_scenario()
    paths = Counter(o.path for o in scenario.orders)
    for path in (
        "instant",
        "pending_delivered",
        "pending_cancelled",
        "gv_link",
        "reconciled",
        "late_cancellation",
        "stuck_pending",
        "bulk",
        "partially_delivered",
        "pending",
    ):
        assert paths[path], path
    statuses = {(o.status, o.sub_status) for o in scenario.orders}
    assert ("CANCELLED", "REFUNDED") in statuses
    assert ("CANCELLED", "NOT_REFUNDED") in statuses
    assert ("PARTIALLY_DELIVERED", "PARTIAL") in statuses
    assert {s for _, s in statuses} - KNOWN_SUB_STATUSES == {"VOUCHER_REISSUED"}
    assert {o.currency for o in scenario.orders} == {"USD", "EUR", "JPY", "KWD"}
    bulk = next(o for o in scenario.orders if o.path == "bulk")
    assert bulk.quantity > 50 and bulk.items == [] and bulk.status == "PENDING"
    late = next(o for o in scenario.orders if o.path == "late_cancellation")
    assert late.created_at.date() < scenario.date == late.updated_at.date()
    days = {o.created_at.date() for o in scenario.orders}
    assert days == {scenario.date - timedelta(days=n) for n in range(7)}


def test_delivered_items_carry_voucher_codes() -> None:
    scenario = default_scenario()
    delivered = [i for o in scenario.orders for i in o.items if i.status == "DELIVERED"]
    assert delivered and all(i.voucher_code and i.pin for i in delivered)


@pytest.mark.parametrize("seed", SEEDS)
def test_balances_chain_except_at_the_planted_gap(seed: int) -> None:
    scenario = generate(seed)
    breaks = []
    last: dict[str, Decimal] = {}
    for txn in scenario.transactions:
        if txn.currency in last and last[txn.currency] + txn.amount != txn.balance_after:
            breaks.append(txn.transaction_id)
        last[txn.currency] = txn.balance_after
    assert breaks == [f["transaction_id"] for f in findings(scenario, "balance_gap")]
    # balance_after is Starship's truth, gap included: the last one is the wallet's balance.
    assert last == scenario.wallets


@pytest.mark.parametrize("seed", SEEDS)
def test_wallet_movements_net_to_each_order_except_the_planted(seed: int) -> None:
    scenario = generate(seed)
    orders = {o.order_id: o for o in scenario.orders}
    net: dict[str, Decimal] = defaultdict(Decimal)
    broken = []
    for txn in scenario.transactions:
        if txn.order_id is None:
            continue
        if txn.order_id not in orders:
            broken.append(txn.order_id)
            continue
        net[txn.order_id] += txn.amount
    for order in scenario.orders:
        # a cancelled order keeps the share of the items it delivered (a partial delivery)
        expected = -order.kept_amount
        if order.status == "CANCELLED" and order.sub_status == "NOT_REFUNDED":
            broken.append(order.order_id)  # owed a refund: the wallet check must flag it
            expected = -order.total_amount
        assert net[order.order_id] == expected, order.order_id
    assert sorted(broken) == sorted(f["order_id"] for f in findings(scenario, "wallet_mismatch"))


@pytest.mark.parametrize("seed", SEEDS)
def test_stuck_pending_are_exactly_the_planted(seed: int) -> None:
    scenario = generate(seed)
    cut_off = scenario.snapshot_at - timedelta(minutes=30)  # the end of D
    stuck = {
        o.order_id
        for o in scenario.orders
        if o.status in ("PENDING", "PLACED", "PARTIALLY_DELIVERED")
        and cut_off - o.created_at > timedelta(hours=24)
    }
    assert stuck == {f["order_id"] for f in findings(scenario, "stuck_pending")}


@pytest.mark.parametrize("seed", SEEDS)
def test_ledger_against_starship_gives_exactly_the_planted_breaks(seed: int) -> None:
    """A straightforward reconciliation of D, written here, finds the answer key's ledger
    findings and nothing else."""
    scenario = generate(seed)
    cols = LEDGER_COLUMNS
    d = scenario.date
    day_orders = {o.order_id: o for o in scenario.orders if o.created_at.date() == d}
    by_reference = defaultdict(list)
    for order in day_orders.values():
        by_reference[order.client_reference].append(order)
    quarantined = {q["line"] for q in scenario.answer_key["quarantine"]}
    found: set[tuple[str, str]] = set()
    seen_orders: Counter[str] = Counter()
    week = {o.order_id: o for o in scenario.orders}
    reversed_today = set()
    reversals = {r[cols["order_id"]] for r in ledger(scenario) if r["Memo"].startswith("Reversal ")}
    for line, row in enumerate(ledger(scenario), start=2):
        if line in quarantined:
            continue
        if row["Memo"].startswith("Reversal "):  # of a sale Starship cancelled on D
            order = week[row[cols["order_id"]]]
            assert order.status == "CANCELLED"
            assert order.created_at.date() < d or order.path == "partial_delivery"
            # the sale negated; a partial delivery's, the refund of the undelivered vouchers
            refund = order.total_amount - order.kept_amount
            assert Decimal(row[cols["amount"]].replace(",", "")) == -refund
            reversed_today.add(order.order_id)
            continue
        order_id = row[cols["order_id"]]
        if not order_id:
            [order] = by_reference[row[cols["reference"]]]
            order_id = order.order_id
        order = day_orders.get(order_id)
        if order is None:
            found.add(("missing_at_starship", row[cols["entry_id"]]))
            continue
        seen_orders[order_id] += 1
        if seen_orders[order_id] > 1:
            found.add(("duplicate_ledger_entry", row[cols["entry_id"]]))
            continue
        amount = Decimal(row[cols["amount"]].replace(",", ""))
        if row[cols["currency"]] != order.currency:
            found.add(("currency_mismatch", order_id))
        elif amount != order.total_amount:
            found.add(("amount_mismatch", order_id))
        if LEDGER_STATUS_MAP[row[cols["status"]]] != order.status and order_id not in reversals:
            found.add(("status_mismatch", order_id))
    for order in scenario.orders:  # sold on an earlier export, cancelled on D, not reversed
        cancelled = order.cancelled_at and order.cancelled_at.date() == d
        if cancelled and order.created_at.date() < d and order.order_id not in reversed_today:
            found.add(("status_mismatch", order.order_id))
    for orders in by_reference.values():
        booked = [o for o in orders if o.order_id in seen_orders]
        for order in orders:
            if order.order_id in seen_orders:
                continue
            if booked:
                found.add(("duplicate_order", order.order_id))
            else:
                found.add(("missing_in_ledger", order.order_id))
    ledger_side = ("missing_at_starship", "duplicate_ledger_entry")
    expected = {
        (f["check"], f["ledger_entry_id"] if f["check"] in ledger_side else f["order_id"])
        for f in scenario.answer_key["findings"]
        if f["check"]
        in (
            "missing_at_starship",
            "duplicate_ledger_entry",
            "currency_mismatch",
            "amount_mismatch",
            "status_mismatch",
            "duplicate_order",
            "missing_in_ledger",
        )
    }
    assert found == expected


def faults(row: dict[str, str]) -> list[str]:
    """What is wrong with a ledger row, told from its cells alone."""
    cols, found = LEDGER_COLUMNS, []
    amount, currency = row[cols["amount"]].replace(",", ""), row[cols["currency"]]
    if amount == "":
        found.append("blank amount")
    if currency not in ("USD", "EUR", "KWD", "JPY"):
        found.append("unknown currency")
    if row[cols["entry_id"]] == "":
        found.append("missing entry id")
    try:
        datetime.fromisoformat(row[cols["booked_at"]])
    except ValueError:
        found.append("unparsable timestamp")
    if amount and currency in ("JPY", "KWD", "USD", "EUR"):
        places = len(amount.split(".")[1]) if "." in amount else 0
        if places > minor_unit(currency):
            found.append("more decimals than the currency allows")
    return found


@pytest.mark.parametrize("seed", SEEDS)
def test_quarantine_lines_point_at_the_dirty_rows(seed: int) -> None:
    scenario = generate(seed)
    rows = ledger(scenario)
    reasons = {q["line"]: q["reason"] for q in scenario.answer_key["quarantine"]}
    assert len(reasons) == 5
    cols = LEDGER_COLUMNS
    for line, reason in reasons.items():
        row = rows[line - 2]
        assert row["Memo"] == "manual adjustment"
        assert faults(row) == [reason], row  # its own fault, and no other row's
    clean_lines = set(range(2, len(rows) + 2)) - set(reasons)
    for line in clean_lines:  # every other row parses: amounts fit their currency
        row = rows[line - 2]
        amount = row[cols["amount"]].replace(",", "")
        places = len(amount.split(".")[1]) if "." in amount else 0
        assert places == minor_unit(row[cols["currency"]]), row


def test_counts_add_up() -> None:
    scenario = default_scenario()
    counts = scenario.answer_key["counts"]
    assert counts["ledger_rows"] == len(ledger(scenario))
    assert counts["starship_orders_on_date"] == sum(
        o.created_at.date() == scenario.date for o in scenario.orders
    )
    assert counts["quarantined"] == len(scenario.answer_key["quarantine"])


def test_other_dates_and_sizes_generate() -> None:
    other = generate(3, date(2026, 1, 1), orders_per_day=40)
    assert other.date == date(2026, 1, 1)
    assert len(other.orders) > 7 * 40
    assert {f["check"] for f in other.answer_key["findings"]} == DESIGN_CHECKS
    assert other.date != DEFAULT_DATE


MANY_SEEDS = range(50)


@pytest.mark.parametrize("seed", MANY_SEEDS)
def test_no_seed_breaks_its_own_books(seed: int) -> None:
    """Invariants a reconciler relies on, for many seeds: no wallet goes negative, nothing
    happens after the end of D, and every break is one the answer key lists."""
    scenario = generate(seed)
    end_of_day = scenario.snapshot_at - timedelta(minutes=30)
    assert all(t.balance_after >= 0 for t in scenario.transactions), "a wallet went negative"
    assert all(o.updated_at < end_of_day and o.created_at < end_of_day for o in scenario.orders)
    assert all(t.created_at < end_of_day for t in scenario.transactions)
    assert {f["check"] for f in scenario.answer_key["findings"]} == DESIGN_CHECKS


# -- exports cut by a partner's own business day ------------------------------------------------

CUTS = [
    (Cut("America/Los_Angeles"), date(2026, 11, 1)),  # the 25-hour Pacific day
    (Cut("America/Los_Angeles", weekends=False), date(2026, 11, 4)),
    (Cut("Asia/Kathmandu"), DEFAULT_DATE),  # 5:45 ahead
    (Cut("America/St_Johns"), date(2026, 3, 10)),  # 3:30 behind, two days after its change
]


@pytest.mark.parametrize(("cut", "day"), CUTS, ids=[f"{c.zone}-{d}" for c, d in CUTS])
def test_each_row_sits_on_the_export_of_its_own_business_day(cut: Cut, day: date) -> None:
    """Booked At is the zone's clock, and each row is on the export of that local date (a
    weekend's on Monday's, without weekend exports); the rows no order claims and the
    quarantined ones are on the export whose business day closes on D, which night D judges."""
    scenario = generate(5, day, 12, cut)
    assert generate(5, day, 12, cut).answer_key_json() == scenario.answer_key_json()
    cols, zone = LEDGER_COLUMNS, ZoneInfo(str(cut.zone))
    # the business day whose close (a local midnight) is the last one within UTC day D
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
    midnight = end.astimezone(zone).date()
    while datetime.combine(midnight, time(), tzinfo=zone) > end:
        midnight -= timedelta(days=1)
    closing = midnight - timedelta(days=1)
    unclaimed = {q["entry_id"] for q in scenario.answer_key["quarantine"]} | {
        f["ledger_entry_id"]
        for f in scenario.answer_key["findings"]
        if f["check"] == "missing_at_starship"
    }
    assert len(unclaimed) == 6
    for export, rows in scenario.exports.items():
        if not cut.weekends:
            assert export.weekday() < 5
        for row in rows:
            if row[cols["entry_id"]] in unclaimed:
                assert export == closing, row
                continue
            booked = date.fromisoformat(row[cols["booked_at"]][:10])
            if not cut.weekends and booked.weekday() >= 5:
                booked += timedelta(days=7 - booked.weekday())  # Monday's
            assert export == booked, row
    assert scenario.answer_key["settings"]["ledger_timezone"] == cut.zone


def test_a_row_of_d_moves_to_the_neighbouring_export() -> None:
    """Cut by Pacific days, D's early rows are on the export before D; ahead of UTC, D's
    evening is on the export after it: the neighbours the diff must read."""
    pacific = generate(cut=Cut("America/Los_Angeles"))
    kathmandu = generate(cut=Cut("Asia/Kathmandu"))
    d, before, after = DEFAULT_DATE, DEFAULT_DATE - timedelta(days=1), DEFAULT_DATE + timedelta(1)
    utc_rows = {row[LEDGER_COLUMNS["entry_id"]] for row in generate().ledger_rows}
    assert utc_rows & {r[LEDGER_COLUMNS["entry_id"]] for r in pacific.exports[before]}
    assert after not in pacific.exports
    assert utc_rows & {r[LEDGER_COLUMNS["entry_id"]] for r in kathmandu.exports[after]}
    assert all(r[LEDGER_MEMO_COLUMN] for r in kathmandu.exports[d])


def test_the_scenario_command_cuts_by_a_zone_and_refuses_what_it_cannot_cut(
    tmp_path: Path,
) -> None:
    zone = ["--business-day-zone", "America/Los_Angeles", "--out", str(tmp_path)]
    written = CliRunner().invoke(cli, ["sandbox", "scenario", *zone, "--date", "2026-11-04"])
    assert written.exit_code == 0, written.output
    assert (tmp_path / "ledger-2026-11-03.csv").is_file()
    # an order of D, placed before 08:00 UTC: on the Pacific export of the day before
    assert ",po-20261104-" in (tmp_path / "ledger-2026-11-03.csv").read_text()
    unknown = CliRunner().invoke(
        cli, ["sandbox", "scenario", "--business-day-zone", "Mars/Olympus", "--out", str(tmp_path)]
    )
    assert unknown.exit_code == 2 and "Mars/Olympus" in unknown.output
    weekend = CliRunner().invoke(
        cli, ["sandbox", "scenario", *zone, "--weekdays-only", "--date", "2026-11-01"]
    )
    assert weekend.exit_code == 2 and "2026-10-31" in weekend.output

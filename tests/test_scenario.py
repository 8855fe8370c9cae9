"""The scenario generator: deterministic, complete, and its answer key true to its own data.

The invariants below are recomputed here from the generated books, independently of how the
generator planted them, so a plant that went wrong (a second, unplanned break; a plant that
did not land) fails a test rather than poisoning the diff issue's golden answers.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from recon.money import minor_unit
from recon.sandbox.scenario import (
    DEFAULT_DATE,
    LEDGER_COLUMNS,
    LEDGER_STATUS_MAP,
    SEVERITY,
    Scenario,
    generate,
)
from tests.conftest import default_scenario

FIXTURES = Path(__file__).resolve().parent.parent / "data" / "fixtures"
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
        if reason == "blank amount":
            assert row[cols["amount"]] == ""
        elif reason == "unknown currency":
            assert row[cols["currency"]] == "USX"
        elif reason == "missing entry id":
            assert row[cols["entry_id"]] == ""
        elif reason == "unparsable timestamp":
            assert row[cols["booked_at"]].startswith("2026-04-31")
        else:
            assert row[cols["currency"]] == "JPY" and row[cols["amount"]] == "1,500.5"
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

"""The diff: the fixture's answer key reproduced exactly, planted breaks found exactly, and the
break history across nights.

The answer-key tests extract the scenario from the real sandbox over HTTP (as `recon demo`
does) and diff the committed fixture ledger; the property and history tests write synthetic
books straight into the lake (tests/books.py) so that hypothesis can try many of them.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recon import checks, config, pipeline, report
from recon.cli import cli
from recon.demo import demo_config, run_demo
from recon.errors import InputError
from recon.lake import Lake
from recon.money import format_amount, quantum
from recon.sandbox import scenario
from recon.vocabulary import SEVERITY
from tests.books import FORMATS, PLANTS, Books, Profile, order_row, publish
from tests.helpers import FIXTURES, subject

D = date(2026, 4, 14)
ANSWER_KEY = json.loads((FIXTURES / f"answer-key-{D}.json").read_text())
AMOUNT_FIELDS = ("starship_amount", "ledger_amount", "delta")
TEXT_FIELDS = (
    "currency",
    "reference",
    "starship_status",
    "starship_sub_status",
    "ledger_status",
    "line",
)


@pytest.fixture(scope="module")
def demo_night(tmp_path_factory: pytest.TempPathFactory) -> pipeline.Night:
    folder = tmp_path_factory.mktemp("demo")
    result = run_demo(folder)
    assert result.night.findings.equals(
        pipeline.diff(config.load(result.config_file), D).findings
    )  # the recon.toml the demo leaves behind diffs the same
    return result.night


def test_the_demo_configuration_is_the_scenarios(tmp_path: Path) -> None:
    (tmp_path / scenario.DISCOUNT_SHEET).write_text(scenario.discount_sheet_csv())
    settings = demo_config(tmp_path, "http://127.0.0.1:1/api/v1")
    assert settings.ledger.columns == scenario.LEDGER_COLUMNS
    assert settings.ledger.status_map == scenario.LEDGER_STATUS_MAP
    assert settings.ledger.timezone == scenario.LEDGER_TIMEZONE
    assert settings.checks.low_wallet_balance == {
        currency: Decimal(floor) for currency, floor in scenario.LOW_WALLET_FLOORS.items()
    }
    assert settings.storage.data_dir == tmp_path / "var"
    assert settings.checks.discount_sheet == tmp_path / scenario.DISCOUNT_SHEET


# -- the fixture's answer key ---------------------------------------------------------------------


def test_every_planted_finding_is_found_and_nothing_else(demo_night: pipeline.Night) -> None:
    wanted = {(f["check"], subject(f), f["state"]) for f in ANSWER_KEY["findings"]}
    found = {(f["check"], subject(f), f["state"]) for f in demo_night.findings.to_pylist()}
    assert found == wanted
    # 23 breaks of many kinds, and none of them a setting (recon.causes)
    assert demo_night.diff.causes == []


def test_each_finding_carries_the_answer_keys_amounts_and_statuses(
    demo_night: pipeline.Night,
) -> None:
    ours = {(f["check"], subject(f)): f for f in demo_night.findings.to_pylist()}
    for expected in ANSWER_KEY["findings"]:
        mine = ours[(expected["check"], subject(expected))]
        for name in AMOUNT_FIELDS:
            if name in expected:
                assert format_amount(mine[name], expected["currency"]) == expected[name], (
                    expected,
                    name,
                )
        for name in TEXT_FIELDS:
            if name in expected:
                assert mine[name] == expected[name], (expected, name)
        assert mine["severity"] == SEVERITY[expected["check"]]


def test_quarantine_holds_exactly_the_dirty_rows(demo_night: pipeline.Night) -> None:
    quarantined = [
        {"entry_id": q["entry_id"], "reason": q["reason"], "line": q["line"]}
        for q in demo_night.diff.quarantine.to_pylist()
    ]
    assert quarantined == ANSWER_KEY["quarantine"]


def test_every_input_row_is_accounted_for(demo_night: pipeline.Night) -> None:
    counts, key = demo_night.diff.counts, ANSWER_KEY["counts"]
    assert counts["ledger_rows"] == key["ledger_rows"]
    assert counts["quarantined"] == key["quarantined"]
    assert (
        counts["ledger_matched"] + counts["ledger_reported"] + counts["quarantined"]
        == (key["ledger_rows"])
    )
    assert counts["starship_orders"] == key["starship_orders_on_date"]
    assert counts["starship_matched"] + counts["starship_reported"] == counts["starship_orders"]


def test_clean_but_tricky_rows_are_not_flagged(demo_night: pipeline.Night) -> None:
    named = {subject(finding) for finding in demo_night.findings.to_pylist()}
    for tricky in ANSWER_KEY["clean_but_tricky"]:
        assert not {tricky.get("order_id"), tricky.get("ledger_entry_id")} & named, tricky


def test_the_night_has_unexplained_errors(demo_night: pipeline.Night) -> None:
    assert demo_night.exit_code == 1
    assert demo_night.diff.complete


# -- planted discrepancies, found exactly ---------------------------------------------------------


def found_keys(night: pipeline.Night) -> set[tuple[str, str]]:
    return {(f["check"], f["key"]) for f in night.findings.to_pylist()}


# Partners as they are: cut by their own business day (behind UTC, ahead of it, by half an
# hour, across DST), with or without weekend exports, in any format, unit and sign.
PROFILES = st.builds(
    Profile,
    zone=st.sampled_from(
        [
            "UTC",
            "America/Los_Angeles",
            "Asia/Tokyo",
            "Asia/Kolkata",
            "Australia/Adelaide",
            "America/St_Johns",
            "Europe/Berlin",
        ]
    ),
    weekends=st.booleans(),
    format=st.sampled_from(FORMATS),
    amount_unit=st.sampled_from(["major", "minor"]),
    purchase_sign=st.sampled_from(["positive", "negative"]),
    # the export's regional shape (a delimiter is written for CSV exports only)
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    decimal_separator=st.sampled_from([".", ","]),
    date_format=st.sampled_from(["iso", "day-first", "month-first", "%d.%m.%Y %H:%M:%S"]),
    sides=st.booleans(),
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 2**32),
    kinds=st.lists(st.sampled_from(PLANTS), max_size=8),
    orders=st.integers(12, 30),
    profile=PROFILES,
    tricky=st.booleans(),
    nightly=st.booleans(),
    day=st.sampled_from([D, date(2026, 11, 1), date(2026, 11, 2), date(2026, 10, 4)]),
)
def test_recon_finds_exactly_the_planted_discrepancies(
    tmp_path_factory: pytest.TempPathFactory,
    seed: int,
    kinds: list[str],
    orders: int,
    profile: Profile,
    tricky: bool,
    nightly: bool,
    day: date,
) -> None:
    """Discounted books across four nights' exports (sales, reversals on later nights, late
    cancellations, a partial refund), cut by the partner's own business day, with random plants
    on night D: recon reports exactly those. `nightly` diffs the two nights before D first, so
    D remembers them from the lake rather than reading their exports itself; either way D's
    findings are the same. The days include the Sunday of the US and the Australian changes of
    clock, and a Monday whose export books a weekend."""
    books = Books.clean(seed, day, orders, profile=profile)
    if tricky:
        books.tricky()
    planted = {key for key in map(books.plant, kinds) if key is not None}
    settings_ = books.write(tmp_path_factory.mktemp("books"))
    if nightly:
        for back in (2, 1):
            pipeline.diff(settings_, day - timedelta(days=back))
    night = pipeline.diff(settings_, day)
    assert found_keys(night) == planted
    assert night.exit_code == (1 if any(SEVERITY[c] == "error" for c, _ in planted) else 0)
    # correct books, however messy, point to no misconfigured setting (recon.causes)
    assert night.diff.causes == []


@pytest.mark.parametrize(
    "profile",
    [
        Profile(delimiter=";", decimal_separator=",", date_format="day-first", sides=True),
        Profile(date_format="month-first", purchase_sign="negative", sides=True),
        Profile(format="parquet", decimal_separator=",", amount_unit="minor", sides=True),
        Profile(format="xlsx", zone="Europe/Berlin", date_format="%d.%m.%Y %H:%M:%S"),
    ],
    ids=["german-debit-credit", "us-credit-purchases", "parquet-minor-comma", "xlsx-pattern"],
)
def test_every_plant_is_found_in_regional_and_debit_credit_shapes(
    tmp_path: Path, profile: Profile
) -> None:
    """Every kind of plant at once, in shapes the drawn profiles reach only by chance."""
    books = Books.clean(7, D, 30, profile=profile)
    books.tricky()
    planted = {key for key in map(books.plant, PLANTS) if key is not None}
    night = pipeline.diff(books.write(tmp_path), D)
    assert found_keys(night) == planted
    assert night.diff.counts["quarantined"] == 0
    assert night.diff.causes == []


def test_clean_books_agree(tmp_path: Path) -> None:
    books = Books.clean(1, D, 25)
    books.tricky()
    night = pipeline.diff(books.write(tmp_path), D)
    assert found_keys(night) == set()
    assert night.exit_code == 0
    assert night.diff.counts["starship_orders"] == night.diff.counts["starship_matched"]


def test_a_balance_gap_across_midnight_is_reported_on_the_day_it_shows(tmp_path: Path) -> None:
    """D's first movement chains to the last one before D (balance_gap sorts D's rows and
    that one alone); a gap between D-2 and D-1 is D-1's, not D's."""
    books = Books.clean(13, D, 12, currencies=("USD",))
    for back in (1, 2):  # a top-up at the very end of the day, missing from the API
        last_moment = datetime.combine(D - timedelta(days=back), time(23, 59, 59), tzinfo=UTC)
        books.move("TOPUP", None, Decimal("700.00"), "USD", last_moment).served = False
    first_of_d = min(
        (t for t in books.transactions if t.created_at.date() == D),
        key=lambda t: (t.created_at, t.transaction_id),
    )
    night = pipeline.diff(books.write(tmp_path), D)
    assert found_keys(night) == {("balance_gap", first_of_d.transaction_id)}


@pytest.mark.parametrize("currencies", [("JPY",), ("KWD",), ("JPY", "KWD")])
def test_minor_units_of_jpy_and_kwd(tmp_path: Path, currencies: tuple[str, ...]) -> None:
    books = Books.clean(7, D, 15, currencies=currencies)
    planted = {books.plant("amount_mismatch"), books.plant("currency_mismatch")}
    night = pipeline.diff(books.write(tmp_path), D)
    assert found_keys(night) == planted


def test_one_minor_unit_within_a_tolerance_is_not_a_break(tmp_path: Path) -> None:
    books = Books.clean(3, D, 15, currencies=("USD",))
    order = books.fresh()
    books.row_of(order)["amount"] = str(order.total + quantum("USD"))
    settings_ = books.write(tmp_path)
    assert found_keys(pipeline.diff(settings_, D)) == {("amount_mismatch", order.order_id)}
    settings_.checks.tolerance_minor_units["USD"] = 1
    assert found_keys(pipeline.diff(settings_, D)) == set()


def test_an_empty_ledger_reports_every_order_of_the_day(tmp_path: Path) -> None:
    books = Books.clean(5, D, 10)
    books.ledgers[D] = []
    night = pipeline.diff(books.write(tmp_path), D)
    day_orders = {o.order_id for o in books.orders if o.created_at.date() == D}
    # and the sale of two days ago that Starship cancelled on D: D's export never reversed it
    unreversed = {
        o.order_id for o in books.orders if o.created_at.date() < D and o.status == "CANCELLED"
    }
    assert unreversed
    assert found_keys(night) == {("missing_in_ledger", o) for o in day_orders} | {
        ("status_mismatch", o) for o in unreversed
    }


def test_an_empty_starship_day_reports_every_ledger_row(tmp_path: Path) -> None:
    books = Books.clean(5, D, 0, currencies=("USD",), movements=False)
    books.ledgers[D] = [
        {
            "entry_id": f"LE-{n}",
            "order_id": f"ord_ghost{n}",
            "reference": f"po-ghost-{n}",
            "amount": "10.00",
            "currency": "USD",
            "status": "delivered",
            "booked_at": "2026-04-14 10:00:00",
        }
        for n in range(3)
    ]
    night = pipeline.diff(books.write(tmp_path), D)
    assert found_keys(night) == {("missing_at_starship", f"LE-{n}") for n in range(3)}


def test_every_row_quarantined(tmp_path: Path) -> None:
    books = Books.clean(5, D, 6, movements=False)
    for row in books.ledgers[D]:
        row["amount"] = "n/a"
    night = pipeline.diff(books.write(tmp_path), D)
    assert night.diff.counts["quarantined"] == 6
    assert night.diff.counts["ledger_matched"] == 0
    assert {c for c, _ in found_keys(night)} == {"missing_in_ledger"}


def test_a_ledger_booked_across_local_midnight_still_matches(tmp_path: Path) -> None:
    # Tokyo is UTC+9: an order at 20:00 UTC on D is booked at 05:00 on D+1, local time.
    books = Books.clean(9, D, 12, timezone="Asia/Tokyo")
    books.order("USD", books.moment(D).replace(hour=20), book=True)
    assert any(r["booked_at"].startswith("2026-04-15") for r in books.ledgers[D])
    assert found_keys(pipeline.diff(books.write(tmp_path), D)) == set()


def test_a_reference_only_reversal_beside_its_sale_is_the_sales_reversal(tmp_path: Path) -> None:
    """D's export books a sale by order id and, after Starship cancels it that afternoon, its
    reversal by the partner's reference alone: matched as the reversal (its amount compared
    with the sale's), not an entry Starship has no order for beside a sale still delivered."""
    books = Books.clean(61, D, 12, movements=False)
    sold = books.order("USD", books.moment(D, latest=time(12)), book=True)
    books.cancel(sold, books.moment(D, time(13), time(20)))
    reversal = books.reverse(sold)
    reversal["order_id"] = ""
    settings_ = books.write(tmp_path)
    night = pipeline.diff(settings_, D)
    assert found_keys(night) == set()
    assert night.diff.counts["ledger_reversals"] == 1
    reversal["amount"] = "-1.00"
    books.write_ledger(tmp_path, D)
    assert found_keys(pipeline.diff(settings_, D)) == {
        ("amount_mismatch", f"{sold.order_id}/reversal")
    }


def test_a_reference_only_sale_beside_its_retry_books_the_other_order(tmp_path: Path) -> None:
    """A retry without the Idempotency-Key: two orders, one reference. The ledger books the
    first by order id and the second by the reference alone; the second row is the second
    order's sale (not a second sale of the first), and the copy is a duplicate_order."""
    books = Books.clean(62, D, 12, movements=False)
    first = books.fresh()
    copy = books.order(
        first.currency,
        first.created_at + timedelta(seconds=31),
        book=True,
        reference=first.reference,
    )
    copy.touched = True
    books.row_of(copy)["order_id"] = ""
    night = pipeline.diff(books.write(tmp_path), D)
    assert found_keys(night) == {("duplicate_order", copy.order_id)}
    assert night.diff.counts["ledger_matched"] == len(books.ledgers[D])


@pytest.mark.parametrize("starship_row", ["its partition", "read again by id"])
def test_a_reversal_of_a_sale_older_than_the_memory_is_matched(
    tmp_path: Path, starship_row: str
) -> None:
    """Sold and booked eight days before D, outside the three-day memory; cancelled at Starship
    yesterday; reversed (negated) on D's export. Starship's row is in the order's own partition
    of the lake, or, that partition stale (still delivered), in the night's `refreshed_orders`:
    either way `orders_all` has it, and the row is the sale's reversal, compared with the
    order's total sign aside. Nothing to report, not a negated sale."""
    books = Books.clean(71, D, 12, movements=False)
    old = books.order("EUR", books.moment(D - timedelta(days=8)), book=True)
    books.cancel(old, books.moment(D - timedelta(days=1)))
    reversal = books.reverse(old, books.moment(D))
    reversal["amount"] = f"{-old.total:,}"
    settings_ = books.write(tmp_path)
    if starship_row == "read again by id":
        lake = Lake(settings_.storage.data_dir / "lake")
        stale = replace(old, status="DELIVERED", sub_status="COMPLETED", updated_at=None)
        publish(lake, "orders", old.created_at.date(), [order_row(stale)])
        publish(lake, "refreshed_orders", D, [order_row(old)])
    night = pipeline.diff(settings_, D)
    assert found_keys(night) == set()
    assert night.diff.counts["ledger_reversals"] == 1

    reversal["amount"] = f"{-(old.total + 1):,}"
    books.write_ledger(tmp_path, D)
    [finding] = pipeline.diff(settings_, D).findings.to_pylist()
    assert (finding["check"], finding["key"]) == ("amount_mismatch", f"{old.order_id}/reversal")
    assert (finding["starship_amount"], finding["delta"]) == (old.total, Decimal(1))
    assert "older than the ledger's memory" in finding["detail"]


def test_a_second_reversal_of_a_sale_older_than_the_memory_is_a_duplicate(tmp_path: Path) -> None:
    """The memory's first booking of an older order is its reversal (yesterday's export); D's
    export reverses it again: a duplicate that names the reversal already booked."""
    books = Books.clean(72, D, 12, movements=False)
    old = books.order("USD", books.moment(D - timedelta(days=6)), book=True)
    books.cancel(old, books.moment(D - timedelta(days=2)))
    first = books.reverse(old, books.moment(D - timedelta(days=1)))
    again = books.reverse(old, books.moment(D))
    night = pipeline.diff(books.write(tmp_path), D)
    assert found_keys(night) == {("duplicate_ledger_entry", again["entry_id"])}
    [finding] = night.findings.to_pylist()
    assert f"order already booked by entry {first['entry_id']}" in finding["detail"]
    assert finding["detail"].endswith("it is already cancelled in the books")


def test_a_missing_lake_partition_is_a_clear_error(tmp_path: Path) -> None:
    settings_ = Books.clean(1, D, 3).write(tmp_path)
    with pytest.raises(InputError, match="recon extract --date 2026-04-15"):
        pipeline.diff(settings_, D + timedelta(days=1))


# -- re-runs and the break history ----------------------------------------------------------------


def test_a_rerun_gives_identical_findings(tmp_path: Path) -> None:
    books = Books.clean(11, D, 20)
    for kind in PLANTS:
        books.plant(kind)
    settings_ = books.write(tmp_path)
    first = pipeline.diff(settings_, D).findings
    second = pipeline.diff(settings_, D).findings
    assert first.equals(second)
    assert set(second.column("state").to_pylist()) <= {"new", "expected"}


def test_breaks_age_persist_and_resolve_across_nights(tmp_path: Path) -> None:
    books = Books.clean(21, D, 15, currencies=("USD", "EUR"))
    late = books.fresh()  # not booked on D; the entry arrives on D+1's export
    books.ledgers[D].remove(books.row_of(late))
    # created yesterday: still inside D+2's look-back window, so D+2's lake sees it delivered
    stuck = books.order("USD", books.moment(D - timedelta(days=1)), book=True)
    stuck.status, stuck.sub_status, stuck.touched = "PENDING", "VENDOR_ORDER_PENDING", True
    books.row_of(stuck)["status"] = "pending"
    settings_ = books.write(tmp_path, nights=(D,))

    night1 = pipeline.diff(settings_, D)
    assert states(night1) == {
        ("missing_in_ledger", late.order_id): ("new", str(D)),
        ("stuck_pending", stuck.order_id): ("new", str(D)),
    }

    # D+1: the late entry is booked; the stuck order is still PENDING; a new break appears.
    d1 = D + timedelta(days=1)
    books.book(late, on=d1)
    books.day = d1
    books.order("EUR", books.moment(d1), book=True)
    fresh_break = books.plant("missing_in_ledger")
    books.write(tmp_path, nights=(d1,))
    night2 = pipeline.diff(settings_, d1)
    assert states(night2) == {
        ("stuck_pending", stuck.order_id): ("persisting", str(D)),
        fresh_break: ("new", str(d1)),
    }
    assert [(r["check"], r["key"]) for r in night2.resolved] == [
        ("missing_in_ledger", late.order_id)
    ]
    ages = {f["key"]: f["age_hours"] for f in night2.findings.to_pylist()}
    assert ages[stuck.order_id] > 48  # two days and more, measured at the end of D+1

    # D+2: the stuck order was delivered; the missing entry from D+1 is still missing.
    d2 = D + timedelta(days=2)
    stuck.status, stuck.sub_status = "DELIVERED", "COMPLETED"
    books.day = d2
    books.order("USD", books.moment(d2), book=True)
    night3 = pipeline.diff(books.write(tmp_path, nights=(d2,)), d2)
    assert states(night3) == {fresh_break: ("persisting", str(d1))}
    assert [(r["check"], r["key"]) for r in night3.resolved] == [("stuck_pending", stuck.order_id)]

    # The report of D+2 tells the same story: three nights of trend, one resolved, one open.
    model = report.build(pipeline.history_of(settings_), d2)
    assert [n["run_date"] for n in model.trend] == [D, d1, d2]
    assert [n["errors"] for n in model.trend] == [1, 1, 1]
    summary = model.summary()
    assert (summary["resolved"], summary["states"]["persisting"]) == (1, 1)
    html = report.render_html(model)
    assert "The last 3 nights" in html
    assert "Resolved since last night · 1" in html
    assert f"first reported {d1}" in html


@pytest.mark.parametrize("sold_back", [1, 3])
def test_a_late_cancellation_stays_open_until_a_later_export_reverses_it(
    tmp_path: Path, sold_back: int
) -> None:
    """Sold and booked `sold_back` days before D, cancelled and refunded at Starship on D, and
    D's export does not reverse it: a status_mismatch on D. D+1's export still does not:
    persisting, naming the same sale (three days old, the sale has left D+1's memory, and the
    break's own evidence stands in for it). D+2's export books the reversal: resolved. Beside
    it, a reversal of a sale Starship still has delivered stays open until Starship cancels."""
    books = Books.clean(81, D, 14, currencies=("USD", "JPY"), timezone="Europe/Berlin")
    late = books.order("JPY", books.moment(D - timedelta(days=sold_back)), book=True)
    late.touched = True
    books.cancel(late, books.moment(D))
    sold_on = late.created_at.date()
    sale = books.row_of(late)
    sale_line = books.ledgers[sold_on].index(sale) + 2  # the header is line 1
    reversed_delivered = books.plant("reversal_of_delivered")[1]
    settings_ = books.write(tmp_path, nights=(D,))

    def evidence(night: pipeline.Night) -> tuple[str, int, str, str]:
        finding = next(f for f in night.findings.to_pylist() if f["key"] == late.order_id)
        return (
            finding["ledger_entry_id"],
            finding["line"],
            Path(finding["ledger_source"]).name,
            finding["detail"],
        )

    night1 = pipeline.diff(settings_, D)
    assert states(night1) == {
        ("status_mismatch", late.order_id): ("new", str(D)),
        ("status_mismatch", reversed_delivered): ("new", str(D)),
    }
    entry, line, source, detail = evidence(night1)
    assert (entry, line, source) == (sale["entry_id"], sale_line, f"ledger-{sold_on}.csv")
    assert "is not reversed by any export since" in detail

    d1 = D + timedelta(days=1)  # a night of new, clean sales; still no reversal
    books.day = d1
    books.order("USD", books.moment(d1), book=True)
    night2 = pipeline.diff(books.write(tmp_path, nights=(d1,)), d1)
    assert states(night2) == {
        ("status_mismatch", late.order_id): ("persisting", str(D)),
        ("status_mismatch", reversed_delivered): ("persisting", str(D)),
    }
    assert night2.resolved == []
    entry, line, source, detail = evidence(night2)
    assert (entry, line, source) == (sale["entry_id"], sale_line, f"ledger-{sold_on}.csv")
    # the stream reaches back to the day before the window (a partner behind UTC books its
    # first hours there)
    remembered = sold_on >= d1 - timedelta(days=settings_.starship.lookback_days + 1)
    assert ("of the export of" in detail) == remembered
    assert ("older than the ledger's memory" in detail) == (not remembered)

    d2 = D + timedelta(days=2)  # the partner reverses the late cancellation; Starship cancels
    books.day = d2
    books.reverse(late, books.moment(d2))
    books.cancel(
        next(o for o in books.orders if o.order_id == reversed_delivered), books.moment(d2)
    )
    night3 = pipeline.diff(books.write(tmp_path, nights=(d2,)), d2)
    assert states(night3) == {}
    assert sorted((r["check"], r["key"]) for r in night3.resolved) == sorted(
        [("status_mismatch", late.order_id), ("status_mismatch", reversed_delivered)]
    )


def test_a_reversal_against_a_stale_older_order_resolves_once_it_is_read_again(
    tmp_path: Path,
) -> None:
    """An order older than the window is never paged again, so the lake's row can be stale: D's
    export reverses a sale Starship cancelled on D, but the lake still has it delivered, so D
    reports the reversal. The break is open, so D+1 looks at it again: still stale, still open;
    once the night's extraction has read the order again by id (`refreshed_orders`), cancelled,
    the books agree and the break resolves."""
    books = Books.clean(82, D, 12, movements=False)
    old = books.order("USD", books.moment(D - timedelta(days=8)), book=True)
    old.touched = True
    books.cancel(old, books.moment(D))
    books.reverse(old)
    stale = replace(old, status="DELIVERED", sub_status="COMPLETED", updated_at=None)

    def write_night(night: date) -> config.Config:
        settings_ = books.write(tmp_path, nights=(night,))
        lake = Lake(settings_.storage.data_dir / "lake")
        publish(lake, "orders", old.created_at.date(), [order_row(stale)])  # as last paged
        return settings_

    night1 = pipeline.diff(write_night(D), D)
    assert states(night1) == {("status_mismatch", old.order_id): ("new", str(D))}
    assert night1.findings.to_pylist()[0]["detail"] == (
        "the books reverse a sale Starship has DELIVERED"
    )

    d1 = D + timedelta(days=1)
    books.day = d1
    settings_ = write_night(d1)
    night2 = pipeline.diff(settings_, d1)
    assert states(night2) == {("status_mismatch", old.order_id): ("persisting", str(D))}
    assert "Starship has DELIVERED" in night2.findings.to_pylist()[0]["detail"]

    publish(Lake(settings_.storage.data_dir / "lake"), "refreshed_orders", d1, [order_row(old)])
    night2 = pipeline.diff(settings_, d1)  # D+1 again, as `recon run` does after extracting
    assert states(night2) == {}
    assert [(r["check"], r["key"]) for r in night2.resolved] == [("status_mismatch", old.order_id)]


def states(night: pipeline.Night) -> dict[tuple[str, str], tuple[str, str]]:
    return {
        (f["check"], f["key"]): (f["state"], str(f["first_seen"]))
        for f in night.findings.to_pylist()
    }


def test_acknowledgements_survive_reruns_and_stop_counting(tmp_path: Path) -> None:
    books = Books.clean(31, D, 12)
    books.plant("amount_mismatch")
    books.plant("stuck_pending")
    settings_ = books.write(tmp_path)
    config_file = write_config(tmp_path, settings_)
    runner = CliRunner()

    first = runner.invoke(cli, ["diff", "--date", str(D), "--config", str(config_file)])
    assert first.exit_code == 1, first.output
    listing = runner.invoke(cli, ["breaks", "--config", str(config_file)])
    amount_id = next(
        line.split()[0] for line in listing.output.splitlines() if "amount_mismatch" in line
    )
    refused = runner.invoke(cli, ["breaks", "--config", str(config_file), "ack", amount_id])
    assert refused.exit_code == 2  # --note is required
    acked = runner.invoke(
        cli,
        ["breaks", "--config", str(config_file), "ack", amount_id[:6], "--note", "fee, agreed"],
    )
    assert acked.exit_code == 0, acked.output

    again = runner.invoke(cli, ["diff", "--date", str(D), "--config", str(config_file)])
    assert again.exit_code == 0, again.output  # the only error is explained; warnings remain
    night = pipeline.diff(settings_, D)
    by_check = {f["check"]: f for f in night.findings.to_pylist()}
    assert by_check["amount_mismatch"]["state"] == "acknowledged"
    assert by_check["amount_mismatch"]["note"] == "fee, agreed"
    assert by_check["stuck_pending"]["state"] == "new"

    reopened = runner.invoke(cli, ["breaks", "--config", str(config_file), "reopen", amount_id])
    assert reopened.exit_code == 0
    assert pipeline.diff(settings_, D).exit_code == 1


def test_a_snoozed_break_wakes_after_its_date(tmp_path: Path) -> None:
    books = Books.clean(41, D, 12)
    books.plant("missing_at_starship")
    settings_ = books.write(tmp_path)
    night = pipeline.diff(settings_, D)
    break_id = night.findings.column("break_id")[0].as_py()
    history = pipeline.history_of(settings_)
    history.act(break_id, "snooze", until=D, note="supplier reissues it")
    assert pipeline.diff(settings_, D).findings.column("state").to_pylist() == ["snoozed"]
    history.act(break_id, "snooze", until=D - timedelta(days=1))
    assert pipeline.diff(settings_, D).findings.column("state").to_pylist() == ["new"]


def write_config(folder: Path, settings_: Any) -> Path:
    ledger = settings_.ledger
    text = f"""
[starship]
lookback_days = {settings_.starship.lookback_days}
[storage]
data_dir = "{settings_.storage.data_dir}"
[ledger]
path = "{ledger.path}"
timezone = "{ledger.timezone}"
[ledger.status_map]
delivered = "DELIVERED"
cancelled = "CANCELLED"
[checks]
grace_minutes = {settings_.checks.grace_minutes}
stuck_pending_hours = {settings_.checks.stuck_pending_hours}
"""
    path = folder / "recon.toml"
    path.write_text(text)
    return path


def test_the_diff_connection_is_held_to_the_memory_limit(tmp_path: Path) -> None:
    limited = config.from_dict(
        {"storage": {"data_dir": str(tmp_path / "var"), "memory_limit": "300MiB"}}
    )
    with checks.connect(limited) as con:
        [(limit, spill)] = con.sql(
            "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
        ).fetchall()
    assert limit == "300.0 MiB"
    assert spill == str(tmp_path / "var" / "spill")


def test_conservation_counts_the_checks_that_say_what_they_account_for() -> None:
    """A rule whose findings are the rows nothing matched says so in its header; conservation
    reads that, not a list of names, and a misspelt declaration is refused."""
    assert checks.accounts_for("entries") == ["duplicate_ledger_entry", "missing_at_starship"]
    assert checks.accounts_for("orders") == ["duplicate_order", "missing_in_ledger"]
    with pytest.raises(ValueError, match="one of"):
        checks.accounts_for("transactions")


def test_a_night_that_runs_out_of_memory_exits_2_and_names_the_setting(tmp_path: Path) -> None:
    # exit 1 would say "discrepancies found": an out-of-memory night is the run failing
    books = Books.clean(31, D, 400)
    settings_ = books.write(tmp_path)
    config_file = write_config(tmp_path, settings_)
    config_file.write_text(
        config_file.read_text().replace("[storage]\n", '[storage]\nmemory_limit = "2MiB"\n')
    )
    result = CliRunner().invoke(cli, ["diff", "--date", str(D), "--config", str(config_file)])
    assert result.exit_code == 2, result.output
    assert "DuckDB ran out of memory" in result.output
    assert "raise [storage] memory_limit" in result.output
    assert "Traceback" not in result.output

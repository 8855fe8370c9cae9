"""Books cut by the partner's own business day: nights across a change of clock, near UTC midnight
on both sides, weekends without an export, and an export job that stopped.

Night D is Starship's UTC day D; the partner's exports are cut by its own day. These tests run
several nights in a row, as cron would, on books with breaks planted near the boundaries, and
check that each night reports exactly its own.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from recon import config, pipeline
from recon.cli import cli
from recon.demo import DEMO_TOML
from recon.errors import InputError
from recon.money import quantum
from recon.sandbox.scenario import DEFAULT_ORDERS_PER_DAY, DEFAULT_SEED, Cut, generate
from tests.books import Books, Profile
from tests.conftest import MakeSandbox
from tests.helpers import credentials, subject

# The US changes back to standard time on Sunday 2026-11-01 at 09:00 UTC: the Pacific day of
# 1 November is 25 hours long, 07:00 UTC on 1 November to 08:00 UTC on 2 November.
N1, N2, N3 = date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 2)
PACIFIC = Profile(zone="America/Los_Angeles", format="xlsx", purchase_sign="negative")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def keys(night: pipeline.Night) -> set[tuple[str, str]]:
    return {(f["check"], f["key"]) for f in night.findings.to_pylist()}


def test_a_pacific_partner_across_the_change_of_clock(tmp_path: Path) -> None:
    """Three nights of a Pacific partner's spreadsheets (purchases negative): breaks of every
    kind planted on orders near UTC midnight, booked on the neighbouring export, and partial
    refunds booked and not; each night reports exactly its own, and the clean orders near
    midnight on either side give nothing."""
    books = Books.clean(7, N1, 10, currencies=("USD", "EUR"), profile=PACIFIC, movements=False)
    clean_near_midnight = [
        books.order("USD", at(N1, 0, 2), book=True),  # 17:02 on the Pacific 30th
        books.order("EUR", at(N1, 6, 59) + timedelta(seconds=30), book=True),  # booked 00:00 PDT
        books.order("USD", at(N1, 23, 58), book=True),  # booked just after UTC midnight
        books.order("EUR", at(N2, 8, 30), book=True),  # 01:30 PDT, the hour that comes twice
        books.order("USD", at(N2, 9, 20), book=True),  # 01:20 PST, its second time
        books.order("USD", at(N3, 7, 50), book=True),  # 23:50 PST on the 1st
    ]
    assert books.row_of(clean_near_midnight[1]) in books.ledgers[N1]  # the next Pacific day's
    expected: dict[date, set[tuple[str, str]]] = {N1: set(), N2: set(), N3: set()}

    # N1: a 0.01 under-booking of an order of 04:00 UTC, booked at 21:00 on the export of the
    # 30th; a row on that export for an order Starship never had
    drifted = books.order("USD", at(N1, 4), book=True)
    books.row_of(drifted)["amount"] = f"{drifted.total - quantum('USD')}"
    expected[N1].add(("amount_mismatch", drifted.order_id))
    phantom = {**books.row_of(drifted), "entry_id": books.next_id("LE"), "order_id": "ord_none"}
    phantom["reference"] = books.next_id("po")
    books.ledgers[N1 - timedelta(days=1)].append(phantom)
    expected[N1].add(("missing_at_starship", phantom["entry_id"]))

    # N2: an order of the repeated hour never booked; partial deliveries, one refund booked
    # and one not
    unbooked = books.order("EUR", at(N2, 8, 40), book=False)
    expected[N2].add(("missing_in_ledger", unbooked.order_id))
    refunded = books.order("USD", at(N2, 10), book=True, quantity=3)
    books.cancel(refunded, at(N2, 18), delivered=2)
    books.refund(refunded)
    forgotten = books.order("EUR", at(N2, 11), book=True, quantity=3)
    books.cancel(forgotten, at(N2, 19), delivered=1)
    expected[N2].add(("status_mismatch", forgotten.order_id))

    # N3: a second sale of an order of 03:00 UTC on the export of the 1st; a sale of 12:00 UTC
    # booked in another currency; an order of N1 that Starship cancels on N3 (below), and no
    # export reverses
    late = books.order("EUR", at(N1, 15), book=True)
    twice = books.order("USD", at(N3, 3), book=True)
    again = {**books.row_of(twice), "entry_id": books.next_id("LE")}
    books.ledgers[N2].append(again)
    expected[N3].add(("duplicate_ledger_entry", again["entry_id"]))
    other = books.order("USD", at(N3, 12), book=True)
    books.row_of(other)["currency"] = "EUR"
    expected[N3].add(("currency_mismatch", other.order_id))
    expected[N3].add(("status_mismatch", late.order_id))

    # each night as cron runs it: the lake as extracted that night, every export there
    found = {}
    for night in (N1, N2, N3):
        if night == N3:
            books.cancel(late, at(N3, 14))
        settings = books.write(tmp_path, nights=(night,))
        found[night] = keys(pipeline.diff(settings, night))
    assert (tmp_path / f"ledger-{N2}.xlsx").is_file()
    # the breaks that stay open are looked at again the next night
    carried = {("missing_in_ledger", unbooked.order_id), ("status_mismatch", forgotten.order_id)}
    assert found[N1] == expected[N1]
    assert found[N2] == expected[N2]
    assert found[N3] == expected[N3] | carried


def test_a_pacific_partner_whose_export_comes_after_the_night(tmp_path: Path) -> None:
    """Cron at 02:00 UTC: the Pacific day of D has not closed, so D's orders after 07:00 UTC
    are expected, awaiting D's export; the next night reads it, resolves them and judges
    its rows there, a drift among them."""
    profile = Profile(zone="America/Los_Angeles")
    books = Books.clean(11, N1, 0, currencies=("USD",), profile=profile, movements=False)
    early = books.order("USD", at(N1, 3), book=True)  # on the export of the 30th
    evening = books.order("USD", at(N1, 20), book=True)  # on the export of the 31st
    drifted = books.order("USD", at(N1, 21), book=True)
    books.row_of(drifted)["amount"] = f"{drifted.total + Decimal('0.05')}"
    settings = books.write(tmp_path, nights=(N1,))
    export = tmp_path / f"ledger-{N1}.csv"
    export.unlink()  # not written yet when night N1 runs

    first = pipeline.diff(settings, N1)
    states = {f["key"]: (f["state"], f["detail"]) for f in first.findings.to_pylist()}
    assert set(states) == {evening.order_id, drifted.order_id}
    assert {s for s, _ in states.values()} == {"expected"}
    assert all(d.startswith(f"awaits the export of {N1}") for _, d in states.values())
    assert first.exit_code == 0
    assert first.diff.missing_exports == [{"date": str(N1), "path": str(export)}]
    assert early.order_id not in states

    settings = books.write(tmp_path, nights=(N2,))  # the next night: N1's export is there
    second = pipeline.diff(settings, N2)
    assert keys(second) == {("amount_mismatch", drifted.order_id)}
    assert {r["key"] for r in second.resolved} == {evening.order_id, drifted.order_id}


def test_a_weekend_without_exports(tmp_path: Path) -> None:
    """A partner that exports on business days only: the Saturday and Sunday nights run, name
    the missing export and expect their orders; Monday's export books the weekend, and the
    one weekend order it does not book is missing on Monday."""
    saturday, sunday, monday = date(2026, 11, 7), date(2026, 11, 8), date(2026, 11, 9)
    books = Books.clean(
        13, saturday, 4, currencies=("USD",), profile=Profile(weekends=False), movements=False
    )
    books.order("USD", at(sunday, 10), book=True)
    lost = books.order("USD", at(sunday, 11), book=False)
    books.order("USD", at(monday, 9), book=True)
    settings = books.write(tmp_path, nights=(saturday, sunday, monday))
    assert not (tmp_path / f"ledger-{saturday}.csv").exists()
    monday_export = tmp_path / f"ledger-{monday}.csv"
    held = monday_export.read_bytes()
    monday_export.unlink()  # written at the end of Monday

    for night, orders in ((saturday, 4), (sunday, 6)):  # Sunday: Saturday's are still waiting
        done = pipeline.diff(settings, night)
        assert done.exit_code == 0
        assert {f["state"] for f in done.findings.to_pylist()} == {"expected"}
        assert done.diff.counts["awaiting_export"] == orders
        assert done.diff.missing_exports[-1]["date"] == str(night)
        assert f"no ledger export for {saturday}" in "\n".join(done.summary())

    monday_export.write_bytes(held)
    done = pipeline.diff(settings, monday)
    assert keys(done) == {("missing_in_ledger", lost.order_id)}
    assert done.exit_code == 1
    assert len(done.resolved) == 5  # the weekend's orders, booked on Monday


def test_a_gap_longer_than_a_long_weekend_fails_the_night(tmp_path: Path) -> None:
    books = Books.clean(17, N3, 4, currencies=("USD",), movements=False)
    settings = books.write(tmp_path)
    for back in range(5):
        (tmp_path / f"ledger-{N3 - timedelta(days=back)}.csv").unlink(missing_ok=True)
    with pytest.raises(InputError, match=r"no ledger export for 5 days in a row") as error:
        pipeline.diff(settings, N3)
    assert f"ledger-{N3 - timedelta(days=4)}.csv" in str(error.value)
    books.write_ledger(tmp_path, N3 - timedelta(days=4))
    assert pipeline.diff(settings, N3).exit_code == 0  # four days: a long weekend


def test_an_order_of_d_booked_on_the_export_before_and_again_on_ds_is_a_duplicate(
    tmp_path: Path,
) -> None:
    """The night used to stop on conservation: the sale sits on the export before D (a partner
    behind UTC), D's export books it again. Now the second row is a duplicate_ledger_entry and
    every row and order adds up."""
    books = Books.clean(19, N3, 6, currencies=("USD",), movements=False)
    order = books.order("USD", at(N3, 1), book=False)
    books.book(order, on=N3 - timedelta(days=1))
    again = books.book(order)
    night = pipeline.diff(books.write(tmp_path), N3)
    assert keys(night) == {("duplicate_ledger_entry", again["entry_id"])}
    counts = night.diff.counts
    assert (
        counts["ledger_matched"] + counts["ledger_reported"] + counts["quarantined"]
        == (counts["ledger_rows"])
    )
    assert counts["starship_matched"] == counts["starship_orders"]


# -- the sandbox's own books, cut like a real partner's: `recon run` against it ----------------

# (zone, night, exports on weekends): the Pacific nights across the change back; weekdays only
# (the weekend's bookings on Monday's export, in the night's memory); a zone ahead of UTC by
# a half hour (D's evening sits on D+1's export); one whose clocks change back on the night.
CUT_NIGHTS = [
    ("America/Los_Angeles", N1, True),
    ("America/Los_Angeles", N2, True),
    ("America/Los_Angeles", N3, True),
    ("America/Los_Angeles", date(2026, 11, 4), False),
    ("Asia/Kolkata", date(2026, 4, 14), True),
    ("Australia/Adelaide", date(2026, 4, 5), True),
]


def partner_toml(base_url: str, zone: str) -> str:
    """The demo's configuration for a partner whose exports and clocks are `zone`'s: it sets
    only `timezone`, and the business day follows it."""
    text = DEMO_TOML.format(base_url=base_url)
    utc_cut = (
        'timezone = "Europe/Berlin"\n# its exports are cut at midnight UTC, though its clocks '
        'are in Berlin\nbusiness_day_timezone = "UTC"\n'
    )
    assert utc_cut in text
    return text.replace(utc_cut, f'timezone = "{zone}"\n')


@pytest.mark.parametrize(
    ("zone", "night", "weekends"), CUT_NIGHTS, ids=[f"{z}-{n}" for z, n, _ in CUT_NIGHTS]
)
def test_recon_run_finds_the_answer_key_on_books_cut_by_the_business_day(
    make_sandbox: MakeSandbox, tmp_path: Path, zone: str, night: date, weekends: bool
) -> None:
    """The scenario's exports cut by `zone`'s business day (its rows on the neighbouring
    exports, its clean orders near midnight among them): `recon run` reports exactly the
    answer key, at the lines of the exports that hold the rows, and accounts for every row."""
    scenario = generate(DEFAULT_SEED, night, DEFAULT_ORDERS_PER_DAY, Cut(zone, weekends))
    key = scenario.answer_key
    assert key["settings"]["business_day_timezone"] == zone
    scenario.write_fixture(tmp_path)
    sandbox = make_sandbox(scenario=scenario, reconciliation="planned")
    path = tmp_path / "recon.toml"
    path.write_text(partner_toml(sandbox.base_url, zone), encoding="utf-8")

    result = CliRunner().invoke(
        cli, ["run", "--date", night.isoformat(), "--config", str(path)], env=credentials(sandbox)
    )
    assert result.exit_code == 1, result.output  # the planted errors

    history = pipeline.history_of(config.load(path))
    found = history.findings(night).to_pylist()
    assert {(f["check"], subject(f), f["state"]) for f in found} == {
        (f["check"], subject(f), f["state"]) for f in key["findings"]
    }
    lines = {(f["check"], subject(f)): f["line"] for f in found}
    placed = {(f["check"], subject(f)): f["line"] for f in key["findings"] if "line" in f}
    assert placed and {k: lines[k] for k in placed} == placed
    quarantined = history.quarantine(night)
    assert [(q["entry_id"], q["reason"], q["line"]) for q in quarantined] == [
        (q["entry_id"], q["reason"], q["line"]) for q in key["quarantine"]
    ]
    counts = history.run(night)["counts"]
    assert counts["ledger_rows"] == key["counts"]["ledger_rows"]
    assert counts["starship_orders"] == key["counts"]["starship_orders_on_date"]
    tricky = {t.get("order_id") or t.get("ledger_entry_id") for t in key["clean_but_tricky"]}
    assert not tricky & {subject(f) for f in found}

"""The wallet's runway and the canary's 48-hour verdict.

The runway is worked from a week of planted wallet movements written into a real lake and
diffed by the real pipeline; every figure below is worked by hand from those movements. The
canary's streak is recorded night by night into a real break history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from recon import config, pipeline
from recon.checks import Diff
from recon.history import History
from recon.lake import Lake
from recon.ledger import LedgerLoad
from recon.report import Report
from recon.vocabulary import FINDING_SCHEMA, QUARANTINE_SCHEMA
from tests.books import publish

D = date(2026, 4, 14)
LEDGER_HEADER = "entry_id,order_id,reference,amount,currency,status,booked_at\n"


@dataclass(frozen=True)
class Move:
    """One wallet movement `days` before D at noon: negative out, positive in."""

    days: int
    amount: str
    currency: str = "USD"
    order_id: str | None = "ord"  # None: a top-up, a fee or an adjustment for no order


def opening(amount: str, currency: str = "USD", days: int = 9) -> Move:
    return Move(days, amount, currency, None)


def week(amount: str, currency: str = "USD", days: int = 7) -> list[Move]:
    """A debit of `amount` on each of the `days` days up to D."""
    return [Move(back, f"-{amount}", currency) for back in range(days)]


def diff_night(root: Path, moves: list[Move], **checks: Any) -> pipeline.Night:
    """The lake from 9 days before D with `moves` chained into balances, an empty export a
    day, and D diffed."""
    lake = Lake(root / "var" / "lake")
    chained, balances = [], {}
    for n, move in enumerate(sorted(moves, key=lambda m: -m.days)):
        at = datetime.combine(D - timedelta(days=move.days), time(12), tzinfo=UTC)
        balance = balances.get(move.currency, Decimal(0)) + Decimal(move.amount)
        balances[move.currency] = balance
        order_id = None if move.order_id is None else f"{move.order_id}_{n}"
        chained.append(
            {
                "transaction_id": f"txn_{n:03}",
                "type": "TOPUP" if order_id is None and balance > 0 else "ORDER_DEBIT",
                "order_id": order_id,
                "amount": Decimal(move.amount),
                "currency": move.currency,
                "balance_after": balance,
                "created_at": at,
                "trace_id": f"trc_{n:03}",
            }
        )
    for back in range(9, -1, -1):
        day = D - timedelta(days=back)
        publish(lake, "orders", day, [])
        publish(lake, "transactions", day, [t for t in chained if t["created_at"].date() == day])
        (root / f"ledger-{day}.csv").write_text(LEDGER_HEADER)
    publish(
        lake,
        "wallets",
        D,
        [{"currency": c, "wallet_id": f"wal_{c}", "balance": b} for c, b in balances.items()],
    )
    settings = config.from_dict(
        {
            "starship": {"lookback_days": 7},
            "storage": {"data_dir": str(root / "var")},
            "ledger": {"path": str(root / "ledger-{date}.csv")},
            "checks": checks,
        }
    )
    return pipeline.diff(settings, D)


def wallets(night: pipeline.Night) -> dict[str, dict[str, Any]]:
    return {w["currency"]: w for w in night.diff.wallets}


def runway_findings(night: pipeline.Night) -> dict[str, dict[str, Any]]:
    return {f["key"]: f for f in night.findings.to_pylist() if f["check"] == "wallet_runway"}


# -- the runway ---------------------------------------------------------------------------------


def test_runway_figures_are_exact_in_each_currencys_minor_unit(tmp_path: Path) -> None:
    night = diff_night(
        tmp_path,
        [
            opening("1000.00"),
            *week("100.00"),
            Move(3, "30.00"),  # a refund: spend is net of it
            opening("100.000", "KWD"),
            *week("12.345", "KWD"),
            opening("10000", "JPY"),
            *week("1001", "JPY", days=3),
        ],
    )
    usd, kwd, jpy = (wallets(night)[c] for c in ("USD", "KWD", "JPY"))
    # USD: 7 x 100.00 - 30.00 = 670.00 over 7 days = 95.714... a day; 330.00 / that = 3.447
    assert usd["spent"] == Decimal("670.00")
    assert usd["rate_days"] == 7
    assert usd["daily_spend"] == Decimal("95.71")
    assert usd["balance"] == Decimal("330.00")
    assert usd["days_left"] == Decimal("3.4")  # rounded down, never up
    assert usd["runs_out"] == D + timedelta(days=4)
    assert not usd["short"]
    # KWD: 86.415 over 7 days = 12.345 a day; 13.585 left = 1.100 days: inside the notice
    assert (kwd["spent"], kwd["daily_spend"], kwd["balance"]) == (
        Decimal("86.415"),
        Decimal("12.345"),
        Decimal("13.585"),
    )
    assert (kwd["days_left"], kwd["runs_out"], kwd["short"]) == (
        Decimal("1.1"),
        D + timedelta(days=2),
        True,
    )
    # JPY: 3,003 over the 7 days of the window (no movement on 4 of them) = 429 a day
    assert (jpy["spent"], jpy["daily_spend"], jpy["balance"]) == (3003, 429, 6997)
    assert jpy["days_left"] == Decimal("16.3")

    found = runway_findings(night)
    assert set(found) == {"KWD"}
    assert found["KWD"]["severity"] == "warning"
    assert found["KWD"]["starship_amount"] == Decimal("13.585")
    assert found["KWD"]["delta"] == Decimal("13.585") - 2 * Decimal("12.345")
    # the trace of the page that carried the balance: D's KWD debit, the 20th movement in time
    assert found["KWD"]["trace_id"] == kwd["trace_id"] == "trc_019"
    assert "runs out on 2026-04-16" in found["KWD"]["detail"]
    assert "1.1 day(s) at 12.345 a day" in found["KWD"]["detail"]


def test_a_spike_on_d_shortens_the_runway(tmp_path: Path) -> None:
    ordinary = wallets(diff_night(tmp_path / "a", [opening("1000.00"), *week("100.00")]))
    spiked = diff_night(
        tmp_path / "b", [opening("1000.00"), *week("100.00"), Move(0, "-250.00", order_id="big")]
    )
    assert ordinary["USD"]["days_left"] == Decimal("3.0")  # 300.00 x 7 / 700.00
    assert wallets(spiked)["USD"]["days_left"] == Decimal("0.3")  # 50.00 x 7 / 950.00
    assert set(runway_findings(spiked)) == {"USD"}


def test_a_refund_lengthens_the_runway(tmp_path: Path) -> None:
    short = diff_night(tmp_path / "a", [opening("900.00"), *week("120.00")])
    refunded = diff_night(
        tmp_path / "b", [opening("900.00"), *week("120.00"), Move(0, "240.00", order_id="back")]
    )
    assert wallets(short)["USD"]["days_left"] == Decimal("0.5")  # 60.00 x 7 / 840.00
    assert wallets(refunded)["USD"]["days_left"] == Decimal("3.5")  # 300.00 x 7 / 600.00
    assert set(runway_findings(short)) == {"USD"}
    assert runway_findings(refunded) == {}


def test_no_spend_no_runway(tmp_path: Path) -> None:
    """Top-ups alone are no spend, and a wallet nobody spends from has no runway finding,
    however low its balance."""
    night = diff_night(tmp_path, [opening("5.00"), Move(2, "1.00", order_id=None)])
    usd = wallets(night)["USD"]
    assert (usd["spent"], usd["daily_spend"], usd["days_left"], usd["runs_out"]) == (
        0,
        None,
        None,
        None,
    )
    assert runway_findings(night) == {}


def test_a_fee_for_no_order_is_spend(tmp_path: Path) -> None:
    night = diff_night(tmp_path, [opening("100.00"), Move(1, "-90.00", order_id=None)])
    assert wallets(night)["USD"]["spent"] == Decimal("90.00")
    assert wallets(night)["USD"]["days_left"] == Decimal("0.7")  # 10.00 x 7 / 90.00
    assert set(runway_findings(night)) == {"USD"}


def test_a_partial_first_week_says_how_many_days_the_rate_rests_on(tmp_path: Path) -> None:
    """A wallet opened two days before D: its rate is the spend of its three days, not a
    week's spend diluted by days before it existed."""
    night = diff_night(tmp_path, [opening("1000.00", days=2), *week("100.00", days=3)])
    usd = wallets(night)["USD"]
    assert (usd["rate_days"], usd["daily_spend"]) == (3, Decimal("100.00"))
    assert usd["days_left"] == Decimal("7.0")
    report_text = Report(
        day=D,
        run={"wallets": night.diff.wallets},
        findings=[],
        resolved=[],
        quarantine=[],
        trend=[],
        generated_at=datetime.now(UTC),
    ).summary()["wallets"]["USD"]
    assert report_text["rate_days"] == 3 and report_text["days_left"] == "7.0"


def test_the_notice_is_a_setting(tmp_path: Path) -> None:
    moves = [opening("1000.00"), *week("100.00")]  # 3.0 days left
    assert set(runway_findings(diff_night(tmp_path / "a", moves, wallet_runway_days=5))) == {"USD"}
    assert runway_findings(diff_night(tmp_path / "b", moves, wallet_runway_days=3)) == {}
    assert runway_findings(diff_night(tmp_path / "c", moves, wallet_runway_days=0)) == {}
    # a window of 2 days rests the rate on D and D-1 only
    two = wallets(diff_night(tmp_path / "d", moves, wallet_runway_window_days=2))["USD"]
    assert (two["spent"], two["rate_days"]) == (Decimal("200.00"), 2)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("wallet_runway_days", -1, "wallet_runway_days must not be negative"),
        ("wallet_runway_window_days", 0, "wallet_runway_window_days must be at least 1"),
    ],
)
def test_bad_runway_settings_are_refused(key: str, value: int, message: str) -> None:
    with pytest.raises(config.ConfigError, match=message):
        config.from_dict({"checks": {key: value}})


# -- the canary's verdict ---------------------------------------------------------------------


def record(history: History, day: date, *findings: tuple[str, str], complete: bool = True) -> None:
    """Record night `day` with findings of (check, key); severities from the vocabulary."""
    from recon.vocabulary import SEVERITY

    rows = [
        {"check": check, "severity": SEVERITY[check], "key": key, "expected": False}
        for check, key in findings
    ]
    diff = Diff(
        day=day,
        findings=pa.Table.from_pylist(rows, FINDING_SCHEMA),
        quarantine=QUARANTINE_SCHEMA.empty_table(),
        ledger=LedgerLoad(Path(f"ledger-{day}.csv"), 0, 0, 0),
        incomplete=[] if complete else ["the orders did not tie"],
    )
    history.record(diff, datetime.now(UTC))


def night(n: int) -> date:
    return date(2026, 5, 1) + timedelta(days=n - 1)


def test_the_streak_runs_across_a_resolved_and_an_acknowledged_break(tmp_path: Path) -> None:
    history = History(tmp_path / "recon.duckdb")
    record(history, night(1), ("missing_in_ledger", "ord_a"))
    record(history, night(2), ("missing_in_ledger", "ord_a"))
    record(history, night(3), ("amount_mismatch", "ord_b"))  # ord_a resolved; ord_b new
    record(history, night(4), ("stuck_pending", "ord_c"))  # a warning is no break
    assert history.canary(night(2))["met"] is False
    before_ack = history.canary(night(4))
    assert (before_ack["met"], before_ack["streak"]) == (False, 1)

    history.act(_break_id(history, night(3), "ord_b"), "ack", note="booked by hand")
    record(history, night(5))
    canary = history.canary(night(5))
    assert canary["met"] is True
    assert (canary["streak"], canary["since"]) == (3, night(3))
    note = _report(history, night(5)).canary_note
    assert note == (
        "Canary met: no unexplained break on 2026-05-04 or 2026-05-05; "
        "none for 3 nights in a row, since 2026-05-03."
    )


def test_a_lapsed_snooze_a_gap_and_an_incomplete_night_end_the_streak(tmp_path: Path) -> None:
    history = History(tmp_path / "recon.duckdb")
    record(history, night(1))
    record(history, night(2), ("wallet_mismatch", "ord_s"))
    history.act(_break_id(history, night(2), "ord_s"), "snooze", note="ticket", until=night(2))
    record(history, night(3), ("wallet_mismatch", "ord_s"))  # the snooze ended on night 2
    assert history.canary(night(2))["met"] is True
    assert history.canary(night(3))["met"] is False
    assert _report(history, night(3)).canary_note == (
        "Canary not met (48 hours without an unexplained break): 1 unexplained break on 2026-05-03."
    )

    record(history, night(5))  # night 4 was never diffed
    gap = history.canary(night(5))
    assert (gap["met"], gap["streak"], gap["since"]) == (False, 1, night(5))
    assert "2026-05-04 was not reconciled" in _report(history, night(5)).canary_note

    record(history, night(6), complete=False)
    assert history.canary(night(6))["streak"] == 0
    assert "2026-05-06 is incomplete" in _report(history, night(6)).canary_note


def _break_id(history: History, day: date, key: str) -> str:
    return next(f["break_id"] for f in history.findings(day).to_pylist() if f["key"] == key)


def _report(history: History, day: date) -> Report:
    from recon import report

    return report.build(history, day)

"""A break history of many nights, recorded through `History.record` as `recon diff` records
one: the real schema, states and trend SQL, without extracting and diffing a month of books.

Each night's findings are drawn from a seeded generator: per currency some errors that move
the books (a missing entry, an amount off), some of them persisting from the night before and
some inside the cut-off grace (`expected`), a PENDING order or two (warning) and an unknown
status (info). The same seed gives the same history.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

from recon.checks import Diff
from recon.history import History
from recon.ledger import LedgerLoad
from recon.money import quantum
from recon.vocabulary import FINDING_SCHEMA, QUARANTINE_SCHEMA, SEVERITY

CURRENCIES = ("CHF", "EUR", "GBP", "JPY", "KWD", "USD")


def finding(check: str, key: str, currency: str | None, **values: Any) -> dict[str, Any]:
    """One row of FINDING_SCHEMA: the check's severity, every other column empty unless given."""
    row: dict[str, Any] = dict.fromkeys(FINDING_SCHEMA.names)
    row |= {"check": check, "severity": SEVERITY[check], "key": key, "currency": currency}
    return row | values


def record(history: History, day: date, findings: list[dict[str, Any]]) -> None:
    """Record `findings` as night `day`'s diff."""
    diff = Diff(
        day=day,
        findings=pa.Table.from_pylist(findings, schema=FINDING_SCHEMA),
        quarantine=QUARANTINE_SCHEMA.empty_table(),
        ledger=LedgerLoad(Path(f"ledger-{day}.csv"), rows=0, usable=0, quarantined=0),
        counts={"ledger_rows": 0},
    )
    history.record(diff, datetime.now(UTC))


def night(rng: random.Random, day: date, currencies: tuple[str, ...]) -> list[dict[str, Any]]:
    """A night's findings: errors and warnings per currency, a few of them expected. Keys come
    from a small pool per currency, so many breaks are found again on later nights."""
    rows = []
    for currency in currencies:
        for n in rng.sample(range(8), rng.randint(0, 4)):
            amount = (Decimal(rng.randint(100, 99_999)) / 100).quantize(quantum(currency))
            rows.append(
                finding(
                    "missing_in_ledger",
                    f"ord_{currency}_{n}",
                    currency,
                    order_id=f"ord_{currency}_{n}",
                    starship_amount=amount,
                    expected=rng.random() < 0.2,
                )
            )
        if rng.random() < 0.5:
            delta = (Decimal(rng.randint(-500, 500)) / 100).quantize(quantum(currency))
            key = f"le_{currency}_{day:%d}"
            rows.append(finding("amount_mismatch", key, currency, ledger_entry_id=key, delta=delta))
        for n in rng.sample(range(3), rng.randint(0, 2)):
            key = f"ord_{currency}_pending_{n}"
            rows.append(finding("stuck_pending", key, currency, order_id=key))
    if rng.random() < 0.3:
        rows.append(finding("unknown_status", f"ord_odd_{day:%d}", None, order_id="ord_odd"))
    return rows


def record_nights(
    history: History,
    last: date,
    count: int,
    currencies: tuple[str, ...] = CURRENCIES,
    seed: int = 0,
) -> list[date]:
    """`count` consecutive nights ending on `last`, recorded oldest first; their dates."""
    rng = random.Random(seed)
    days = [last - timedelta(days=n) for n in reversed(range(count))]
    for day in days:
        record(history, day, night(rng, day, currencies))
    return days

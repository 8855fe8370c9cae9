"""Likely causes: when most of a night's breaks are one setting, not hundreds of breaks.

A new partner's first nights fail in a few typical ways, each with its own signature in the
findings, and each pointing at one key of `[ledger]`:

- `mapping`: nearly every row quarantined for one reason (a column mapped to the wrong one,
  the amounts read in the wrong unit, the dates in the wrong order);
- `swap`: the column mapped as Starship's order id holds the partner's references;
- `file`: nearly every order of the day missing and the export booking none of them (another
  day's export, or another partner's, under the night's name);
- `units`: the matched amounts off by a factor of 10^n (minor units read as major, or back);
- `sign`: the matched amounts of the opposite sign (purchase_sign);
- `zone`: the day's missing orders exactly those at one end of the day (the business day cut
  in another zone than `[ledger] business_day_timezone` says).

`likely(con, scope, counts)` runs after the checks, on the diff's connection (its `findings`
table, `quarantine` view and `orders_all`), and returns the causes whose evidence is strong
enough: at least MIN_ROWS rows, and most of what they are measured against. The breaks are
still recorded and listed: a cause is a likely cause with its figures, never applied.
Correct books, however messy, claim none (tests/test_diff.py draws them).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from recon import queries

# Fewer rows than this are what a night's real breaks look like, not a setting's.
MIN_ROWS = 5
# The share of the rows a cause is measured against that it must explain.
MOST = 0.5
NEARLY_ALL = 0.8

# A quarantine reason (its start) and the key that most often causes it, with the other
# settings worth a look.
REASON_KEYS: tuple[tuple[str, str, str], ...] = (
    ("a fraction in minor units", "ledger.amount_unit", "the amounts have decimals: major units?"),
    ("unparsable amount", "ledger.columns.amount", "or ledger.decimal_separator for 1.289,50"),
    ("blank amount", "ledger.columns.amount", "is it the amount column?"),
    ("neither debit nor credit filled", "ledger.columns.debit", "and ledger.columns.credit"),
    ("both debit and credit filled", "ledger.columns.debit", "and ledger.columns.credit"),
    ("unparsable timestamp", "ledger.columns.booked_at", "or ledger.date_format for 14.04.2026"),
    ("missing timestamp", "ledger.columns.booked_at", "is it the booked timestamp column?"),
    ("unknown currency", "ledger.columns.currency", "is it the currency column?"),
    ("missing entry id", "ledger.columns.entry_id", "is it the entry id column?"),
    ("missing status", "ledger.columns.status", "is it the status column?"),
    ("unknown status word", "ledger.status_map", "or ledger.columns.status"),
    ("control character in", "ledger.columns", "is a column of free text mapped?"),
)


@dataclass(frozen=True)
class Cause:
    cause: str  # mapping | swap | file | units | sign | zone
    key: str  # the setting to look at, as `recon.toml` spells it: ledger.purchase_sign
    rows: int  # the breaks or rows it explains
    text: str  # one sentence with its figures

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def likely(
    con: duckdb.DuckDBPyConnection,
    day_start: datetime,
    day_end: datetime,
    counts: dict[str, int],
    settings: dict[str, str],
) -> list[Cause]:
    """The likely causes of the night's breaks, strongest evidence first; `settings`: the
    `[ledger]` values the texts quote (business_day_timezone, amount_unit, purchase_sign,
    path, and the mapped columns as `columns.<field>`)."""
    found = _mapping(con, counts, settings)
    if not found:
        # with the rows unreadable, what is missing says nothing more
        found = _swap(con, counts, settings) or _file(con, day_start, day_end, counts, settings)
    found += _amounts(con, counts, settings)
    found += _zone(con, day_start, day_end, settings)
    # one line per setting: minor units show as fractions quarantined and amounts scaled
    strongest: dict[str, Cause] = {}
    for cause in sorted(found, key=lambda c: -c.rows):
        strongest.setdefault(cause.key, cause)
    return list(strongest.values())


def _mapping(
    con: duckdb.DuckDBPyConnection, counts: dict[str, int], settings: dict[str, str]
) -> list[Cause]:
    rows = counts.get("ledger_rows", 0)
    reasons = queries.fetch(con, "causes/reasons.sql").fetchall()
    causes = []
    for start, key, hint in REASON_KEYS:
        hits = sum(n for reason, n in reasons if reason.startswith(start))
        if hits >= MIN_ROWS and hits >= MOST * rows:
            setting = settings.get(key.removeprefix("ledger."))
            now = f" (now {setting!r})" if setting else ""
            causes.append(
                Cause(
                    "units" if key == "ledger.amount_unit" else "mapping",
                    key,
                    hits,
                    f"{hits:,} of {rows:,} ledger rows are quarantined as {start!r}: "
                    f"check {key}{now}, {hint}",
                )
            )
    return causes


def _missing_orders(con: duckdb.DuckDBPyConnection) -> int:
    [(n,)] = queries.fetch(con, "causes/missing_orders.sql").fetchall()
    return int(n)


def _books_none(counts: dict[str, int]) -> bool:
    usable = counts.get("ledger_rows", 0) - counts.get("quarantined", 0)
    return counts.get("ledger_matched", 0) <= (1 - NEARLY_ALL) * usable


def _swap(
    con: duckdb.DuckDBPyConnection, counts: dict[str, int], settings: dict[str, str]
) -> list[Cause]:
    if not _books_none(counts):
        return []
    # the ledger's "order ids" that are Starship references: the columns are crossed
    [(rows, references)] = queries.fetch(con, "causes/references.sql").fetchall()
    if references < MIN_ROWS or references < NEARLY_ALL * rows:
        return []
    column = settings.get("columns.order_id")
    return [
        Cause(
            "swap",
            "ledger.columns.order_id",
            int(references),
            f"{references:,} of {rows:,} values of the column mapped as Starship's order id "
            f"({column!r}) are the references of Starship orders: ledger.columns.order_id and "
            "ledger.columns.reference look crossed",
        )
    ]


def _file(
    con: duckdb.DuckDBPyConnection,
    day_start: datetime,
    day_end: datetime,
    counts: dict[str, int],
    settings: dict[str, str],
) -> list[Cause]:
    orders = _orders_of_the_day(con, day_start, day_end)
    missing = _missing_orders(con)
    if missing < MIN_ROWS or missing < NEARLY_ALL * orders or not _books_none(counts):
        return []
    usable = counts.get("ledger_rows", 0) - counts.get("quarantined", 0)
    books = (
        f"{usable - counts.get('ledger_matched', 0):,} of its {usable:,} usable rows book "
        "no order of it"
        if usable
        else "the export has no usable row"
    )
    return [
        Cause(
            "file",
            "ledger.path",
            missing,
            f"{missing:,} of {orders:,} Starship orders of the day are not in the export, and "
            f"{books}: is {settings.get('path')!r} the export of this date?",
        )
    ]


def _amounts(
    con: duckdb.DuckDBPyConnection, counts: dict[str, int], settings: dict[str, str]
) -> list[Cause]:
    matched = counts.get("ledger_matched", 0)
    # each amount_mismatch's factor 10^n, and whether the signs are opposite
    rows = queries.fetch(con, "causes/factors.sql").fetchall()
    causes = []
    for larger in (True, False):
        factors = sorted({n for n, _, _ in rows if (n > 0 if larger else n < 0)}, key=abs)
        hits = sum(count for n, _, count in rows if n in factors)
        if hits >= MIN_ROWS and hits >= MOST * matched:
            # each currency scaled by its own minor unit: 100 for USD, 1,000 for KWD
            times = " or ".join(f"{10 ** abs(n):,}" for n in factors)
            how = "times" if larger else "times smaller than"
            unit = settings.get("amount_unit")
            causes.append(
                Cause(
                    "units",
                    "ledger.amount_unit",
                    hits,
                    f"{hits:,} of {matched:,} matched amounts are exactly {times} {how} "
                    f"Starship's charge: check ledger.amount_unit (now {unit!r}): "
                    f"{'minor' if larger else 'major'} units?",
                )
            )
    flipped = sum(hits for _, opposite, hits in rows if opposite)
    if flipped >= MIN_ROWS and flipped >= MOST * matched:
        sign = settings.get("purchase_sign")
        other = "negative" if sign == "positive" else "positive"
        causes.append(
            Cause(
                "sign",
                "ledger.purchase_sign",
                flipped,
                f"{flipped:,} of {matched:,} matched amounts are minus Starship's charge: check "
                f"ledger.purchase_sign (now {sign!r}): {other}?",
            )
        )
    return causes


def _orders_of_the_day(
    con: duckdb.DuckDBPyConnection, day_start: datetime, day_end: datetime
) -> int:
    [(n,)] = queries.fetch(
        con, "causes/orders_of_the_day.sql", {"start": day_start, "end": day_end}
    ).fetchall()
    return int(n)


def _zone(
    con: duckdb.DuckDBPyConnection,
    day_start: datetime,
    day_end: datetime,
    settings: dict[str, str],
) -> list[Cause]:
    if _missing_orders(con) < MIN_ROWS:
        return []
    # a day cut in another zone misses a band of orders at one end (causes/zone.sql)
    [(orders, missing, first, last, up_to_last, from_first)] = queries.fetch(
        con, "causes/zone.sql", {"start": day_start, "end": day_end}
    ).fetchall()
    if missing < MIN_ROWS or missing == orders:
        return []
    zone = settings.get("business_day_timezone")
    start, end, first, last = map(_utc, (day_start, day_end, first, last))
    if up_to_last == missing:
        hours = -(-(last - start).total_seconds() // 3600)
        where, when = "start", f"from the day's start to {last:%H:%M} UTC"
        shift = f"begins about {int(hours)} hours later"
    elif from_first == missing:
        hours = -(-(end - first).total_seconds() // 3600)
        where, when = "end", f"from {first:%H:%M} UTC to the day's end"
        shift = f"ends about {int(hours)} hours earlier"
    else:
        return []
    return [
        Cause(
            "zone",
            "ledger.business_day_timezone",
            int(missing),
            f"{missing:,} of {orders:,} Starship orders of the day are missing from the "
            f"export, every one {when} and none of the others: the partner's business day "
            f"likely {shift} than ledger.business_day_timezone (now {zone!r}) says, at the "
            f"day's {where}; check it and ledger.timezone",
        )
    ]


def _utc(moment: datetime) -> datetime:
    """`moment` as naive UTC: DuckDB hands TIMESTAMPTZ back aware, TIMESTAMP naive."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment

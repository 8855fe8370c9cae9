"""The ledger's memory: every export recon has read, typed and kept in the lake, read as one stream.

    <data_dir>/lake/ledger/date=2026-04-14/part.parquet        the export's usable rows, typed
    <data_dir>/lake/ledger/date=2026-04-14/quarantine.parquet  the rows it could not use, and why
    <data_dir>/lake/ledger/date=2026-04-14/_manifest.json      its path, size, sha256, typing
    <data_dir>/lake/ledger/date=2026-04-14/_first_read         the first night that read it

Night D is Starship's UTC day D, but a partner cuts its exports by its own business day
(`[ledger] business_day_timezone`, default `timezone`) and may skip days: a Pacific partner's
export of D holds the orders of 08:00 UTC on D to 08:00 UTC on D+1, and Monday's export holds
the weekend's. So the bookings are a stream, not a file per night. Night D reads every export
from the day before its look-back window to `max_export_gap_days` + 1 days after D that exists
when it runs (`bookings`): an order of D is matched wherever they hold it.

Each row is *judged* (its amount, status and duplicates checked, or reported as unmatched) on
one night, its `night` (sql/setup/match.sql): a row that books an order, on the later of the
order's day and the row's own booking day; a row no order claims, and a quarantined row, on the
last UTC day its export's business day touches (`closes_on`: every order it could book is in
the lake by then). Unless that night had already run when the export was first read (the export
came late): then the night that first read it judges the row. Each export's first reader, and
the nights recorded before it read the export, are kept beside it (`_first_read`).

An export is ingested once and kept; it is read again when its file changed (path, size,
modification time) or recon would type it differently now (the `[ledger]` settings that shape
the typed rows). A partition is replaced atomically (written beside its place, then renamed).
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Set as AbstractSet
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from recon import ledger
from recon.config import LedgerConfig
from recon.errors import InputError
from recon.lake import MANIFEST_KEY, Lake, atomic_write_text
from recon.resources import sql_literal
from recon.vocabulary import LEDGER_COLUMNS, QUARANTINE_SCHEMA, duckdb_columns

DATASET = "ledger"
QUARANTINE = "quarantine.parquet"
FIRST_READ = "_first_read"  # JSON: the first night that read the export, and those run before
COLUMNS = {
    "export_date": "DATE",
    "source": "VARCHAR",  # the export's path, the evidence a finding about its row cites
    "line": "BIGINT",
    **LEDGER_COLUMNS,
}
QUARANTINE_COLUMNS = duckdb_columns(QUARANTINE_SCHEMA)
# A stream row's identity: its export's day and its line, as one number (lines stay below 1e10).
ROW_ID_DAYS = 10_000_000_000


def _empty(columns: dict[str, str]) -> str:
    return "SELECT " + ", ".join(f"NULL::{k} AS {n}" for n, k in columns.items()) + " WHERE false"


# The kept rows' columns with no rows: the memory of a window no export of which is kept.
EMPTY = _empty(COLUMNS)


@dataclass(frozen=True)
class Export:
    """One export date of the stream: where its file would be, and the partner's business day
    it covers, in UTC."""

    day: date
    path: Path
    opens_at: datetime
    closes_at: datetime
    first_read: date | None = None  # the first night that read it; None while absent
    # the nights already recorded when it was first read: a row whose night is one of them
    # came late, and is judged on `first_read`
    ran_before: tuple[date, ...] = ()

    @property
    def present(self) -> bool:
        return self.first_read is not None

    @property
    def closes_on(self) -> date:
        """The last UTC day the business day touches: every order it can book is in the lake
        once that night runs."""
        return (self.closes_at - timedelta(microseconds=1)).date()

    def judging(self, night: date) -> date:
        """The night that judges a row of this export whose own night is `night`."""
        if self.first_read is not None and night in self.ran_before:
            return self.first_read
        return night

    @property
    def judged_on(self) -> date:
        """The night that judges its rows no order claims, and its quarantined rows."""
        return self.judging(self.closes_on)


@dataclass(frozen=True)
class Stream:
    """The exports night D reads: each date of the span, present or not."""

    night: date
    exports: list[Export]
    missing: list[date]  # the night's own export date and the days before it without one

    @property
    def own(self) -> Export:
        return next(e for e in self.exports if e.day == self.night)

    def read(self) -> list[Export]:
        return [e for e in self.exports if e.present]


def business_day(zone: str, day: date) -> tuple[datetime, datetime]:
    """The UTC instants a partner's business day `day` in `zone` opens and closes (23 or 25
    hours long across a DST change)."""
    local = ZoneInfo(zone)
    opens = datetime.combine(day, time(), tzinfo=local).astimezone(UTC)
    closes = datetime.combine(day + timedelta(days=1), time(), tzinfo=local).astimezone(UTC)
    return opens, closes


def span(config: LedgerConfig, window_start: date, night: date) -> list[date]:
    """The export dates night D reads: from the day before the window (a partner behind UTC
    books the window's first hours there) to the last one that can still hold D's orders."""
    first = window_start - timedelta(days=1)
    last = night + timedelta(days=1 + config.max_export_gap_days)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def stream(
    con: duckdb.DuckDBPyConnection,
    config: LedgerConfig,
    lake: Lake,
    window_start: date,
    night: date,
    diffed: AbstractSet[date] = frozenset(),
) -> Stream:
    """Read every export of the span that exists into the lake (those not kept yet, or kept from
    another file or other settings), note the night as a reader of each, and make the views of
    `con`: `bookings` (every usable row, with `row_id`, `first_read` and `judged_on`),
    `stream_quarantine` (every quarantined row, with `judged_on`) and the table `exports`.
    `diffed`: the nights recorded so far (the break history's).

    InputError (`missing_exports`) when the exports stopped coming."""
    missing = missing_exports(config, night)
    exports = []
    for day in span(config, window_start, night):
        path = ledger.export_path(config, day)
        opens, closes = business_day(config.business_zone, day)
        first_read: date | None = None
        ran_before: tuple[date, ...] = ()
        if path.is_file():
            if not _kept(lake.manifest(DATASET, day), path, config):
                keep(con, ledger.load(con, config, day), lake, day, config)
                ledger.drop(con)
            earliest = day - timedelta(days=2)  # no row of the export has a night before it
            first_read, ran_before = _note_reader(
                lake, day, night, sorted(d for d in diffed if earliest <= d < night)
            )
        exports.append(Export(day, path, opens, closes, first_read, ran_before))
    found = Stream(night, exports, missing)
    _views(con, lake, found)
    return found


def missing_exports(config: LedgerConfig, night: date) -> list[date]:
    """The night's own export date and the days in a row before it without an export, oldest
    first (empty when the night's own export is there). InputError (exit 2) when they are more
    than `max_export_gap_days`: the partner's export job has probably stopped. A shorter gap
    (a weekend, a holiday) is a night that runs with the exports it has."""
    gap = []
    for back in range(config.max_export_gap_days + 1):
        day = night - timedelta(days=back)
        if ledger.export_path(config, day).is_file():
            break
        gap.append(day)
    gap.reverse()
    if len(gap) <= config.max_export_gap_days:
        return gap
    raise InputError(
        f"no ledger export for {len(gap)} day{'s' if len(gap) > 1 else ''} in a row "
        f"({gap[0]} to {gap[-1]}: "
        f"{ledger.export_path(config, gap[0]).name} to {ledger.export_path(config, gap[-1]).name} "
        f"are missing): more than [ledger] max_export_gap_days = {config.max_export_gap_days}, "
        f"so the partner's export job has probably stopped (ledger.path = {config.path!r})"
    )


def _views(con: duckdb.DuckDBPyConnection, lake: Lake, found: Stream) -> None:
    usable, quarantined = [], []
    for export in found.read():
        epoch_days = export.day.toordinal() - date(1970, 1, 1).toordinal()
        ran = ", ".join(f"DATE {sql_literal(str(d))}" for d in export.ran_before)
        constants = (
            f"{epoch_days}::BIGINT * {ROW_ID_DAYS} + line AS row_id, "
            f"DATE {sql_literal(str(export.first_read))} AS first_read, "
            f"[{ran}]::DATE[] AS ran_before, "
            f"DATE {sql_literal(str(export.judged_on))} AS judged_on"
        )
        part = lake.part(DATASET, export.day)
        usable.append(f"SELECT *, {constants} FROM read_parquet({sql_literal(str(part))})")
        quarantine = part.with_name(QUARANTINE)
        if quarantine.exists():
            quarantined.append(
                f"SELECT *, DATE {sql_literal(str(export.judged_on))} AS judged_on "
                f"FROM read_parquet({sql_literal(str(quarantine))})"
            )
    extra = (
        "NULL::BIGINT AS row_id, NULL::DATE AS first_read, NULL::DATE[] AS ran_before, "
        "NULL::DATE AS judged_on"
    )
    con.execute(
        "CREATE OR REPLACE TEMP VIEW bookings AS "
        + (" UNION ALL ".join(usable) or f"SELECT *, {extra} FROM ({EMPTY})")
    )
    con.execute(
        "CREATE OR REPLACE TEMP VIEW stream_quarantine AS "
        + (
            " UNION ALL ".join(quarantined)
            or f"SELECT *, NULL::DATE AS judged_on FROM ({_empty(QUARANTINE_COLUMNS)})"
        )
    )
    rows = [
        {
            "export_date": e.day,
            "present": e.present,
            "source": str(e.path),
            "opens_at": e.opens_at.replace(tzinfo=None),
            "closes_at": e.closes_at.replace(tzinfo=None),
            "first_read": e.first_read,
            "ran_before": list(e.ran_before),
        }
        for e in found.exports
    ]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE exports (export_date DATE, present BOOLEAN, "
        "source VARCHAR, opens_at TIMESTAMP, closes_at TIMESTAMP, first_read DATE, "
        "ran_before DATE[])"
    )
    con.executemany(
        "INSERT INTO exports VALUES ($export_date, $present, $source, $opens_at, $closes_at, "
        "$first_read, $ran_before)",
        rows,
    )


def keep(
    con: duckdb.DuckDBPyConnection,
    ingest: ledger.LedgerLoad,
    lake: Lake,
    day: date,
    config: LedgerConfig,
) -> None:
    """Write the rows of `con`'s `ledger` and `quarantine` views (the export of `day`, just
    loaded) as the lake's `ledger/date=D`."""
    stat = ingest.path.stat()
    manifest: dict[str, Any] = {
        "dataset": DATASET,
        "date": day.isoformat(),
        "export": str(ingest.path),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "sha256": _sha256(ingest.path),
        "typing": typing_digest(config),
        "rows": ingest.rows,
        "usable": ingest.usable,
        "quarantined": ingest.quarantined,
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    final = lake.part(DATASET, day)
    final.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(manifest, sort_keys=True)
    _copy(con, "SELECT * FROM quarantine", final.with_name(QUARANTINE))
    _copy(
        con,
        remembered(ingest.path, day),
        final,
        f"KV_METADATA {{{sql_literal(MANIFEST_KEY.decode())}: {sql_literal(text)}}}",
    )
    atomic_write_text(
        final.with_name("_manifest.json"), json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    )


def _copy(con: duckdb.DuckDBPyConnection, select: str, final: Path, options: str = "") -> None:
    temporary = final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")
    try:
        con.execute(
            f"COPY ({select}) TO {sql_literal(str(temporary))} "
            f"(FORMAT parquet{', ' + options if options else ''})"
        )
        os.replace(temporary, final)
    finally:
        temporary.unlink(missing_ok=True)


def remembered(path: Path, day: date) -> str:
    """The SELECT of the rows kept for D's export (COLUMNS) from `con`'s typed `ledger` view."""
    return (
        f"SELECT DATE {sql_literal(day.isoformat())} AS export_date, "
        f"{sql_literal(str(path))} AS source, line, {', '.join(LEDGER_COLUMNS)} FROM ledger"
    )


def typing_digest(config: LedgerConfig) -> str:
    """A digest of the [ledger] settings that shape the typed rows: a kept export typed under
    other settings is read again."""
    shape = asdict(config)
    for key in ("path", "business_day_timezone", "max_export_gap_days", "max_unpacked_mb"):
        shape.pop(key, None)
    # keys added since: at their defaults they type as before, and leaving them out keeps the
    # digest of the exports kept before them (which need no typing again)
    for key in ("delimiter", "decimal_separator", "date_format"):
        if shape[key] == getattr(LedgerConfig, key):
            del shape[key]
    return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]


def _kept(manifest: dict[str, Any] | None, path: Path, config: LedgerConfig) -> bool:
    """Whether the lake's partition was made from this very file, as it is now, typed as
    recon would type it now."""
    if not manifest:
        return False
    stat = path.stat()
    return (
        manifest.get("export") == str(path)
        and manifest.get("size") == stat.st_size
        and manifest.get("mtime_ns") == stat.st_mtime_ns
        and manifest.get("typing") == typing_digest(config)
    )


def _note_reader(
    lake: Lake, day: date, night: date, ran: list[date]
) -> tuple[date, tuple[date, ...]]:
    """The first night, in the order nights ran, that read the export of `day`, and the nights
    recorded before it did (`night` and `ran`, if no night has read it yet). Never moved
    afterwards: a re-run judges the rows its first run judged."""
    marker = lake.part(DATASET, day).with_name(FIRST_READ)
    try:
        kept = json.loads(marker.read_text(encoding="utf-8"))
        return (
            date.fromisoformat(kept["first_read"]),
            tuple(date.fromisoformat(d) for d in kept["ran_before"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        text = json.dumps({"first_read": str(night), "ran_before": [str(d) for d in ran]})
        atomic_write_text(marker, text + "\n")
        return night, tuple(ran)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()

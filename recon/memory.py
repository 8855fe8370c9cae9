"""The ledger's memory: each night's typed export, kept in the lake beside Starship's data.

    <data_dir>/lake/ledger/date=2026-04-14/part.parquet     D's usable rows, typed
    <data_dir>/lake/ledger/date=2026-04-14/_manifest.json   the export's path, size and sha256

Partners book a cancellation days after the sale, as a reversal row on a later export. So
night D reads the bookings of the look-back window's earlier exports too (`ledger_memory`):
a late cancellation with no reversal is found on the night it happens, and a reversal on D's
export is matched to a sale booked nights before. A partition is replaced atomically (written
beside its place, then renamed over it), so a re-run of D replaces D's memory, never appends.

An earlier export on disk that the lake does not hold yet (the first night after install, a
backfill out of order) or holds from another file, size or modification time (a corrected
export) is ingested and kept when the window needs it.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from recon import ledger
from recon.config import LedgerConfig
from recon.lake import MANIFEST_KEY, PART, Lake, atomic_write_text
from recon.resources import sql_literal

DATASET = "ledger"
COLUMNS = {
    "export_date": "DATE",
    "source": "VARCHAR",  # the export's path, the evidence a late cancellation's finding cites
    "line": "BIGINT",
    **ledger.TYPED,
}

# The kept rows' columns with no rows: the memory of a window no export of which is kept.
EMPTY = (
    "SELECT "
    + ", ".join(f"NULL::{kind} AS {name}" for name, kind in COLUMNS.items())
    + " WHERE false"
)


def keep(con: duckdb.DuckDBPyConnection, ingest: ledger.LedgerLoad, lake: Lake, day: date) -> None:
    """Write the usable rows of `con`'s `ledger` view (D's export) as the lake's `ledger/date=D`."""
    stat = ingest.path.stat()
    manifest: dict[str, Any] = {
        "dataset": DATASET,
        "date": day.isoformat(),
        "export": str(ingest.path),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "sha256": _sha256(ingest.path),
        "rows": ingest.rows,
        "usable": ingest.usable,
        "quarantined": ingest.quarantined,
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    final = lake.part(DATASET, day)
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.with_name(f".{PART}.{uuid.uuid4().hex}.tmp")
    text = json.dumps(manifest, sort_keys=True)
    try:
        con.execute(
            f"COPY ({remembered(ingest.path, day)}) "
            f"TO {sql_literal(str(temporary))} (FORMAT parquet, KV_METADATA "
            f"{{{sql_literal(MANIFEST_KEY.decode())}: {sql_literal(text)}}})"
        )
        os.replace(temporary, final)
    finally:
        temporary.unlink(missing_ok=True)
    atomic_write_text(
        final.with_name("_manifest.json"), json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    )


def remembered(path: Path, day: date) -> str:
    """The SELECT of the rows kept for D's export (COLUMNS) from `con`'s typed `ledger` view."""
    return (
        f"SELECT DATE {sql_literal(day.isoformat())} AS export_date, "
        f"{sql_literal(str(path))} AS source, line, {', '.join(ledger.TYPED)} FROM ledger"
    )


def recall(
    con: duckdb.DuckDBPyConnection, config: LedgerConfig, lake: Lake, since: date, day: date
) -> list[date]:
    """The view `ledger_memory` of `con`: the kept rows of the exports of [since, day).

    Returns the dates whose exports it holds."""
    held = []
    for offset in range((day - since).days):
        each = since + timedelta(days=offset)
        path = ledger.export_path(config, each)
        if path.is_file() and not _kept(lake.manifest(DATASET, each), path):
            with duckdb.connect() as other:
                other.execute("SET TimeZone = 'UTC'")
                keep(other, ledger.load(other, config, each), lake, each)
        if lake.part(DATASET, each).exists():
            held.append(each)
    if held:
        files = ", ".join(sql_literal(str(lake.part(DATASET, d))) for d in held)
        source = f"SELECT * FROM read_parquet([{files}])"
    else:
        source = EMPTY
    con.execute(f"CREATE OR REPLACE TEMP VIEW ledger_memory AS {source}")
    return held


def _kept(manifest: dict[str, Any] | None, path: Path) -> bool:
    """Whether the lake's partition was made from this very file, as it is now."""
    if not manifest:
        return False
    stat = path.stat()
    return (
        manifest.get("export") == str(path)
        and manifest.get("size") == stat.st_size
        and manifest.get("mtime_ns") == stat.st_mtime_ns
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()

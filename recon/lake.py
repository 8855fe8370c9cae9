"""The Parquet lake: Hive-partitioned datasets, one file per partition, replaced atomically.

    <data_dir>/lake/orders/date=2026-04-14/part.parquet
    <data_dir>/lake/orders/date=2026-04-14/_manifest.json

A partition is written beside its final place and renamed over it (`os.replace`, atomic on
one file system), so a reader sees the old file or the new one, never a partial one; a run
killed mid-way leaves the previous partition intact. The manifest (rows, window, pages,
retries, re-pages, start and finish, schema version) travels inside the Parquet file's
metadata, so it can never disagree with the rows; `_manifest.json` beside it is a copy for
people. Pages are appended to a staging file as they arrive (bounded memory), and
de-duplicated on the primary key (latest `updated_at` wins, then the latest fetched) by
DuckDB on the way to the final file.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from recon.errors import InputError
from recon.resources import sql_literal
from recon.starship import reconciliation, records
from recon.vocabulary import DUCKDB_TYPES, QUARANTINE_SCHEMA

MANIFEST_KEY = b"recon.manifest"
PART = "part.parquet"


@dataclass(frozen=True)
class Dataset:
    name: str
    schema: pa.Schema
    key: str
    latest: str  # the ORDER BY that picks the row kept among duplicates
    order: str  # the order rows are written in


DATASETS = {
    "orders": Dataset(
        "orders",
        records.ORDERS,
        "order_id",
        "updated_at DESC NULLS LAST, file_row_number DESC",
        "created_at, order_id",
    ),
    "transactions": Dataset(
        "transactions",
        records.TRANSACTIONS,
        "transaction_id",
        "file_row_number DESC",
        "created_at, transaction_id",
    ),
    "wallets": Dataset("wallets", records.WALLETS, "currency", "file_row_number DESC", "currency"),
    # Orders older than the look-back window that have breaks still open, read again one by
    # one on night D (`GET /orders/{id}`), so that such a break can resolve; the checks let the
    # latest of these rows stand in for the order's row in its (never re-paged) partition.
    "refreshed_orders": Dataset(
        "refreshed_orders",
        records.ORDERS,
        "order_id",
        "updated_at DESC NULLS LAST, file_row_number DESC",
        "created_at, order_id",
    ),
    # Starship's own reconciliation of the date: its drifts; the summary is in the manifest.
    "reconciliation": Dataset(
        "reconciliation", reconciliation.DRIFTS, "drift_id", "file_row_number DESC", "order_id"
    ),
}


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` so that a reader sees the old content or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


class Staging:
    """Pages of one partition, appended as they arrive; published by `Lake.publish`.

    Pages are held until a row group's worth has arrived (a row group per page of 100 rows
    would cost more than parsing it), so memory stays bounded by `ROW_GROUP_ROWS`.
    """

    ROW_GROUP_ROWS = 65_536

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.schema = schema
        self.rows = 0
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writer: pq.ParquetWriter | None = pq.ParquetWriter(path, schema)

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows and self._writer:
            self._pending.append(batch)
            self._pending_rows += batch.num_rows
            self.rows += batch.num_rows
            if self._pending_rows >= self.ROW_GROUP_ROWS:
                self._flush()

    def _flush(self) -> None:
        if self._pending and self._writer:
            self._writer.write_table(pa.Table.from_batches(self._pending, self.schema))
        self._pending, self._pending_rows = [], 0

    def close(self) -> None:
        if self._writer:
            self._flush()
            self._writer.close()
            self._writer = None

    def discard(self) -> None:
        self._pending = []
        self.close()
        self.path.unlink(missing_ok=True)


class Lake:
    def __init__(self, root: Path) -> None:
        self.root = root

    def partition(self, dataset: str, day: date) -> Path:
        return self.root / dataset / f"date={day.isoformat()}"

    def part(self, dataset: str, day: date) -> Path:
        return self.partition(dataset, day) / PART

    def glob(self, dataset: str) -> str:
        """The pattern DuckDB reads a dataset with: `read_parquet(glob, hive_partitioning=1)`."""
        return str(self.root / dataset / "date=*" / PART)

    @contextlib.contextmanager
    def staging(self, dataset: str, day: date) -> Iterator[Staging]:
        """A staging file, discarded whatever happens once the block ends."""
        folder = self.root / ".staging"
        for stale in folder.glob(f"{dataset}-{day.isoformat()}-*.parquet"):
            stale.unlink(missing_ok=True)  # left by a run that was killed
        staging = Staging(
            folder / f"{dataset}-{day.isoformat()}-{uuid.uuid4().hex}.parquet",
            DATASETS[dataset].schema,
        )
        try:
            yield staging
        finally:
            staging.discard()

    def publish(
        self, staging: Staging, dataset_name: str, day: date, manifest: dict[str, Any]
    ) -> int:
        """De-duplicate the staging file into the partition, atomically; return the rows."""
        dataset = DATASETS[dataset_name]
        staging.close()
        final = self.part(dataset_name, day)
        final.parent.mkdir(parents=True, exist_ok=True)
        temporary = final.with_name(f".{PART}.{uuid.uuid4().hex}.tmp")
        # Identifiers come from DATASETS (code, not input); the path is a bound parameter.
        params = {"path": str(staging.path)}
        twice = f"SELECT count(*) > count(DISTINCT {dataset.key}) FROM read_parquet($path)"
        keep_latest = (
            f"QUALIFY row_number() OVER (PARTITION BY {dataset.key} ORDER BY {dataset.latest}) = 1"
        )
        rows = 0
        try:
            with duckdb.connect() as con:
                con.execute("SET TimeZone = 'UTC'")
                # A key staged twice (its window paged again, or rows drifting under the
                # pages) keeps its latest row. When every key is there once, the window
                # function would keep every row, at three quarters of the cost of publishing.
                [(duplicates,)] = con.sql(twice, params=params).fetchall()
                query = (
                    "SELECT * EXCLUDE (file_row_number) "
                    "FROM read_parquet($path, file_row_number = true) "
                    f"{keep_latest if duplicates else ''} ORDER BY {dataset.order}"
                )
                reader = con.sql(query, params=params).to_arrow_reader(64_000)
                with pq.ParquetWriter(temporary, dataset.schema) as writer:
                    for batch in reader:
                        batch = batch.cast(dataset.schema)
                        writer.write_batch(batch)
                        rows += batch.num_rows
                    manifest = {**manifest, "rows": rows, "schema_version": records.SCHEMA_VERSION}
                    writer.add_key_value_metadata(
                        {MANIFEST_KEY: json.dumps(manifest, sort_keys=True)}
                    )
            os.replace(temporary, final)
        finally:
            temporary.unlink(missing_ok=True)
        atomic_write_text(
            final.with_name("_manifest.json"), json.dumps(manifest, indent=2, sort_keys=True) + "\n"
        )
        return rows

    def manifest(self, dataset: str, day: date) -> dict[str, Any] | None:
        """The manifest inside the partition's Parquet file, or None without a partition."""
        path = self.part(dataset, day)
        if not path.exists():
            return None
        metadata = pq.read_metadata(path).metadata or {}
        raw = metadata.get(MANIFEST_KEY)
        return json.loads(raw) if raw else None

    def read(self, dataset: str, day: date) -> pa.Table:
        return pq.read_table(self.part(dataset, day), schema=DATASETS[dataset].schema)


# -- the views a diff reads ----------------------------------------------------------------


def parquet_scan(paths: list[Path]) -> str:
    """A read of the given partitions' files, as a FROM clause."""
    return "read_parquet([" + ", ".join(sql_literal(str(p)) for p in paths) + "])"


def diff_views(con: duckdb.DuckDBPyConnection, lake: Lake, day: date) -> list[str]:
    """Views over the lake: each dataset up to `day`, and `day`'s own partition (which holds
    exactly the rows created on D). Returns why rows may be missing: the partitions read that
    were published incomplete.

    An order older than the look-back window is never paged again; the nights up to `day` that
    read it again one by one (`refreshed_orders`: it had a break still open) hold a fresher
    row, and the latest of those (by night, then `updated_at`) stands in `orders_all` for the
    one in its partition. Without any, `orders_all` is the plain view: the few refreshed rows
    cost an anti-join against a small table, never a second pass over the orders."""
    refreshed = [
        lake.part("refreshed_orders", each)
        for each in partitions_up_to(lake, "refreshed_orders", day)
        if (lake.manifest("refreshed_orders", each) or {}).get("rows")
    ]
    if refreshed:
        files = ", ".join(sql_literal(str(path)) for path in refreshed)
        # `date` is the partition the order lives in, as in the plain view: its creation day.
        con.execute(
            "CREATE OR REPLACE TEMP TABLE refreshed_orders AS "
            "SELECT * EXCLUDE (refreshed_on), created_at::DATE AS date FROM ("
            "SELECT * EXCLUDE (date), date AS refreshed_on "
            f"FROM read_parquet([{files}], hive_partitioning = true)) "
            "QUALIFY row_number() OVER (PARTITION BY order_id "
            "ORDER BY refreshed_on DESC, updated_at DESC NULLS LAST) = 1"
        )
    incomplete = []
    for dataset in ("orders", "transactions"):
        if lake.manifest(dataset, day) is None:
            raise InputError(
                f"{lake.root}: no {dataset} extracted for {day}; "
                f"run `recon extract --date {day}` first"
            )
        parts = partitions_up_to(lake, dataset, day)
        for each in parts:
            manifest = lake.manifest(dataset, each) or {}
            if not manifest.get("complete", True):
                incomplete.append(
                    f"the {dataset} of {each} did not tie to the API's totals after "
                    f"{manifest.get('passes', '?')} passes (`recon extract --date {each}` again)"
                )
        everything = parquet_scan([lake.part(dataset, d) for d in parts])
        overlay = ""
        if dataset == "orders" and refreshed:
            everything += " ANTI JOIN refreshed_orders USING (order_id)"
            overlay = " UNION ALL BY NAME SELECT * FROM refreshed_orders"
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {dataset}_all AS SELECT * FROM {everything}{overlay}"
        )
        today = parquet_scan([lake.part(dataset, day)])
        con.execute(f"CREATE OR REPLACE TEMP VIEW {dataset}_day AS SELECT * FROM {today}")
        if dataset == "transactions":  # the days a wallet's rate of spend rests on
            con.register("transaction_days", pa.table({"day": pa.array(parts, pa.date32())}))
    wallets = lake.part("wallets", day)
    source = (
        parquet_scan([wallets])
        if wallets.exists()
        else f"({empty_select(DATASETS['wallets'].schema)})"
    )
    con.execute(f"CREATE OR REPLACE TEMP VIEW wallets_day AS SELECT * FROM {source}")
    return incomplete


def reconciliation_views(
    con: duckdb.DuckDBPyConnection, lake: Lake, day: date
) -> dict[str, Any] | None:
    """`reported_drifts`, Starship's own reconciliation's drifts for `day` (empty when it was
    not available or not extracted), and `reported_rejected`, the drifts recon could not use,
    shaped as quarantine rows. Returns the partition's manifest (None: never extracted)."""
    manifest = lake.manifest("reconciliation", day)
    source = (
        parquet_scan([lake.part("reconciliation", day)])
        if manifest is not None
        else f"({empty_select(DATASETS['reconciliation'].schema)})"
    )
    con.execute(f"CREATE OR REPLACE TEMP VIEW reported_drifts AS SELECT * FROM {source}")
    where = f"Starship GET /reconciliation/{day}"
    if manifest and manifest.get("trace_id"):
        where += f" (X-Trace-ID {manifest['trace_id']})"
    rejected = (manifest or {}).get("rejected", [])
    con.register(
        "reported_rejected",
        pa.table(
            {
                "source": [where] * len(rejected),
                "line": pa.array([r["line"] for r in rejected], pa.int64()),
                "entry_id": [r.get("entry_id") or "" for r in rejected],
                "reason": [r["reason"] for r in rejected],
                "raw": [r["raw"] for r in rejected],
            },
            schema=QUARANTINE_SCHEMA,
        ),
    )
    return manifest


def empty_select(schema: pa.Schema) -> str:
    """A SELECT of no rows with `schema`'s columns, for a view of data not extracted yet."""
    columns = ", ".join(f"NULL::{DUCKDB_TYPES[f.type]} AS {f.name}" for f in schema)
    return f"SELECT {columns} WHERE false"


def partitions_up_to(lake: Lake, dataset: str, day: date) -> list[date]:
    found = []
    for folder in (lake.root / dataset).glob("date=*"):
        try:
            when = date.fromisoformat(folder.name.removeprefix("date="))
        except ValueError:
            continue
        if when <= day and (folder / PART).exists():
            found.append(when)
    return sorted(found)

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

from recon.starship import reconciliation, records

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

"""Arrow tables as the notebook's pandas DataFrames, and the scratch DuckDB that reads them.

Every column a `pd.ArrowDtype`: money stays `decimal128(18, 4)`, exact and vectorised, and a
naive timestamp (DuckDB's TIMESTAMP, which recon keeps in UTC) becomes tz-aware UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pandas as pd
import pyarrow as pa


def dataframe(table: pa.Table) -> pd.DataFrame:
    return _utc(table).to_pandas(types_mapper=pd.ArrowDtype)


@contextmanager
def scratch() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB in UTC, closed after the block."""
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        yield con


def _utc(table: pa.Table) -> pa.Table:
    for number, column in enumerate(table.schema):
        kind = column.type
        if pa.types.is_timestamp(kind) and kind.tz is None:
            table = table.set_column(
                number, column.name, table.column(number).cast(pa.timestamp(kind.unit, "UTC"))
            )
    return table

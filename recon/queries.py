"""Running the SQL files of `sql/` by name: scripts of statements, bound parameters, timings.

    queries.execute_script(con, "setup/match.sql", parameters, seconds)
    queries.fetch(con, "history/trend.sql", {"day": day, "nights": 30})
    queries.relation(con, "history/breaks.sql", {"today": today}).to_arrow_table()

A file's `$name` parameters are bound from the values given (DuckDB refuses a value the
statement does not name, and recon refuses a name it was not given), never formatted into the
SQL text.
"""

from __future__ import annotations

import re
import time as clock
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import duckdb

from recon.errors import ReconError
from recon.resources import sql_text

_PARAMETER = re.compile(r"\$([a-z_]+)")
_MADE = re.compile(
    r"(?:CREATE (?:OR REPLACE )?(?:TEMP )?(?:TABLE|VIEW)|DELETE FROM|INSERT INTO) (\w+)"
)


def bind(sql: str, available: Mapping[str, Any]) -> dict[str, Any]:
    """The values of the `$name` parameters `sql` uses, from `available`."""
    wanted = set(_PARAMETER.findall(sql))
    missing = wanted - set(available)
    if missing:
        raise ReconError(f"SQL uses parameters recon does not provide: {sorted(missing)}")
    return {name: available[name] for name in wanted}


def fetch(
    con: duckdb.DuckDBPyConnection, name: str, available: Mapping[str, Any] | None = None
) -> duckdb.DuckDBPyConnection:
    """Execute the one statement of `sql/<name>` with what it binds; fetch from the result."""
    sql = sql_text(name)
    return con.execute(sql, bind(sql, available or {}))


def relation(
    con: duckdb.DuckDBPyConnection, name: str, available: Mapping[str, Any] | None = None
) -> duckdb.DuckDBPyRelation:
    """The one statement of `sql/<name>` as a relation, with what it binds: for Arrow output,
    which a DB-API result (`fetch`'s) would copy once more."""
    sql = sql_text(name)
    return con.sql(sql, params=bind(sql, available or {}))


def execute_script(
    con: duckdb.DuckDBPyConnection,
    name: str,
    available: Mapping[str, Any],
    seconds: dict[str, float] | None = None,
) -> None:
    """Run a file of `;`-separated statements, binding what each statement names; the time
    of each goes into `seconds` under the file's name and the table it makes."""
    for statement in statements(sql_text(name)):
        made = _MADE.search(statement)
        with timed(seconds, f"{name}: {made.group(1)}" if made else name):
            con.execute(statement, bind(statement, available))


def statements(text: str) -> list[str]:
    """A script's statements, without its comment lines."""
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    return [part.strip() for part in re.split(r";\s*(?:\n|$)", body) if part.strip()]


@contextmanager
def timed(seconds: dict[str, float] | None, label: str) -> Iterator[None]:
    """Add the block's wall time to `seconds[label]` (nothing kept when `seconds` is None)."""
    started = clock.perf_counter()
    try:
        yield
    finally:
        if seconds is not None:
            seconds[label] = seconds.get(label, 0.0) + clock.perf_counter() - started

"""recon from a notebook: the data the CLI reads, as pandas DataFrames.

    import recon
    r = recon.open("recon.toml")          # the same configuration the CLI reads
    r.findings("2026-04-14")              # the night's findings: discrepancies.csv's columns
    r.breaks(state="open")                # every break across nights, first seen, age, notes
    r.trend(nights=30)                    # per night: findings by severity, net drift
    r.runway("2026-04-14")                # per wallet: balance, spend, days left, runs out
    r.orders("2026-04-14"); r.transactions("2026-04-14"); r.ledger("2026-04-14")
    r.explain("ord_...")                  # an order, ledger entry, reference or break id
    r.ack(break_id, note="..."); r.snooze(break_id, until="2026-05-01"); r.reopen(break_id)
    r.apply("reports/2026-04-14/discrepancies.xlsx", dry_run=True)  # an analyst's edited sheet

Every column is a `pd.ArrowDtype`. Money is `decimal128(18, 4)`: exact like `Decimal` (a cell
is a `Decimal`), the very type of the lake and of DuckDB, so nothing is converted on the way,
and vectorised, so `df.groupby("currency")["delta"].sum()` stays exact without a Python loop
over objects (which `object` columns of `Decimal` would be). Timestamps are tz-aware UTC;
integers with gaps stay integers (`<NA>`, never a float NaN).

Reading takes no lock and opens the break history read-only, so a notebook left open never
holds up the nightly run (a read that meets a night's write fails with a message: read again).
`ack`, `snooze` and `reopen` take the data directory's lock, as the CLI does.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from recon import config as configs
from recon import ledger, memory, pipeline, sheet
from recon.config import Config
from recon.errors import InputError
from recon.history import history_of
from recon.lake import DATASETS, Lake, empty_select
from recon.lock import exclusive
from recon.money import amount_text
from recon.queries import bind
from recon.report import CSV_COLUMNS, finding_order
from recon.resources import sql_literal, sql_text
from recon.vocabulary import AMOUNT, QUARANTINE_SCHEMA, RUNWAY_SCHEMA

Day = date | str
BREAK_STATES = ("open", "expected", "acknowledged", "snoozed", "resolved")
# breaks(state=...): "open" is every break not resolved, explained or not, as `recon breaks`
# lists them; "unexplained" the ones that count against the exit code; "all" every break.
BREAK_FILTERS: dict[str, tuple[str, ...]] = {
    "open": ("open", "expected", "acknowledged", "snoozed"),
    "unexplained": ("open",),
    "all": BREAK_STATES,
    **{state: (state,) for state in BREAK_STATES if state != "open"},
}


def open(config_path: Path | str = "recon.toml") -> Workbench:
    """The notebook's entry point: `recon.open("recon.toml")`."""
    return Workbench(configs.load(Path(config_path)))


class Workbench:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.history = history_of(config, read_only=True)
        self.lake = Lake(config.storage.data_dir / "lake")

    def __repr__(self) -> str:
        return f"recon.open({str(self.config.source or 'recon.toml')!r})"

    # -- a night ------------------------------------------------------------------------------

    def findings(self, day: Day) -> pd.DataFrame:
        """D's findings, one row each: the columns of D's discrepancies.csv in its order, then
        `ledger_source`, `match_method`, `drift` and `at_risk` (as the report computes them),
        in the report's order of checks."""
        night = _day(day)
        self._require_diffed(night)
        table = self.history.findings(night)
        table = table.select([*CSV_COLUMNS, "ledger_source", "match_method", "drift", "at_risk"])
        rows = sorted(table.to_pylist(), key=finding_order)
        return _frame(pa.Table.from_pylist(rows, table.schema))

    def quarantine(self, day: Day) -> pd.DataFrame:
        """The input rows D could not use, with their reason: quarantine.csv."""
        night = _day(day)
        self._require_diffed(night)
        rows = self.history.quarantine(night)
        return _frame(pa.Table.from_pylist(rows, QUARANTINE_SCHEMA))

    def summary(self, day: Day) -> dict[str, Any]:
        """D's recorded diff: when it ran (UTC), complete or not (and why), the inputs' counts,
        and `totals`, per currency, as a DataFrame (money exact)."""
        run = dict(self._require_diffed(_day(day)))
        for moment in ("started_at", "finished_at"):
            if run.get(moment) is not None:
                run[moment] = run[moment].replace(tzinfo=UTC)
        money = [f.name for f in _TOTALS if f.type == AMOUNT]
        totals = [  # kept as JSON text: the amounts come back as strings
            {k: Decimal(v) if k in money and v is not None else v for k, v in row.items()}
            for row in run["totals"] or []
        ]
        run["totals"] = _frame(pa.Table.from_pylist(totals, _TOTALS))
        run["wallets"] = self.runway(day)
        run["canary"] = self.history.canary(_day(day))
        return run

    def runway(self, day: Day) -> pd.DataFrame:
        """Each wallet at the end of D, as the night's diff found it (the report's wallet
        panel): `balance`, `spent` (net, over the window), `rate_days` (the days the rate rests
        on), `daily_spend`, `days_left` (rounded down to a tenth), `runs_out`, the configured
        `floor`, and `short` (inside `[checks] wallet_runway_days`)."""
        wallets = self._require_diffed(_day(day)).get("wallets") or []
        return _frame(pa.Table.from_pylist(wallets, RUNWAY_SCHEMA))

    # -- across nights ------------------------------------------------------------------------

    def breaks(self, state: str = "open") -> pd.DataFrame:
        """Every break of that state across nights, one row each: first and last seen, nights
        found, resolved_on, age_hours (at the end of the last night that saw it), the latest
        finding's amounts and the analyst's note. `state`: open (not resolved, as `recon
        breaks` lists them), unexplained, expected, acknowledged, snoozed, resolved or all."""
        if state not in BREAK_FILTERS:
            raise InputError(f"breaks(state={state!r}): one of {', '.join(BREAK_FILTERS)}")
        table = self.history.breaks()
        keep = pc.is_in(table.column("state"), pa.array(BREAK_FILTERS[state]))
        return _frame(table.filter(keep))

    def trend(self, nights: int = 30, until: Day | None = None) -> pd.DataFrame:
        """The last `nights` diffed nights up to `until` (default the latest), oldest first:
        findings per severity (errors, warnings, infos), the errors and warnings nothing
        explains (unexplained_errors, unexplained_warnings: the report's trend), and the net
        drift (ledger minus Starship) per currency as one `net_drift_<CCY>` column each."""
        if nights < 1:
            raise InputError(f"trend(nights={nights}): at least one night")
        last = _day(until) if until is not None else self._latest_night()
        rows = self.history.trend(last, nights)
        currencies = sorted({ccy for row in rows for ccy in row["drift"]})
        table = pa.table(
            {
                "run_date": pa.array([row["run_date"] for row in rows], pa.date32()),
                "errors": pa.array([row["errors"] for row in rows], pa.int64()),
                "warnings": pa.array([row["warnings"] for row in rows], pa.int64()),
                "infos": pa.array([row["infos"] for row in rows], pa.int64()),
                **{
                    column: pa.array([row[column] for row in rows], pa.int64())
                    for column in ("unexplained_errors", "unexplained_warnings")
                },
                **{
                    f"net_drift_{ccy}": pa.array([row["drift"].get(ccy) for row in rows], AMOUNT)
                    for ccy in currencies
                },
            }
        )
        return _frame(table)

    def runs(self, limit: int = 50) -> pd.DataFrame:
        """The latest recorded `recon run`s, newest first, as `recon runs` lists them."""
        return _frame(self.history.attempts_table(limit))

    # -- the inputs, as extracted and as booked ------------------------------------------------

    def orders(self, day: Day) -> pd.DataFrame:
        """Starship's orders created on D, as the latest extraction of their partition left
        them. An order older than the look-back window with an open break is also read again
        by id each night; `explain(order_id)` shows those later sightings too."""
        return self._partition("orders", _day(day))

    def transactions(self, day: Day) -> pd.DataFrame:
        """Starship's wallet transactions of D, as extracted."""
        return self._partition("transactions", _day(day))

    def wallets(self, day: Day) -> pd.DataFrame:
        """The wallets' balances as D's extraction found them."""
        return self._partition("wallets", _day(day))

    def ledger(self, day: Day) -> pd.DataFrame:
        """D's ledger export, typed as the diff reads it (amounts in major units, purchases
        positive, timestamps UTC), with the file and line of each row. The rows the diff
        kept when it ran; before D is diffed, the export as it is now. Quarantined rows are
        in `quarantine(D)`."""
        night = _day(day)
        part = self.lake.part(memory.DATASET, night)
        with _duckdb() as con:
            if part.exists():
                source = f"SELECT * FROM {_parquet(part)}"
            else:
                source = memory.remembered(ledger.load(con, self.config.ledger, night).path, night)
            return _frame(con.sql(f"{source} ORDER BY line").to_arrow_table())

    # -- one id, every side --------------------------------------------------------------------

    def explain(self, id: str) -> Explanation:
        """Everything recon knows of one order id, ledger entry id, partner reference or break
        id: the Starship order as each lake partition holds it (with the X-Trace-ID of the page
        that carried it), its wallet transactions, the ledger rows that booked it (file, line,
        export date), every night's findings about it and the breaks' states, and what
        analysts said. InputError (exit 2) for an id recon has never seen."""
        wanted = id.strip()
        if not wanted:
            raise InputError("explain: give an order id, ledger entry id, reference or break id")
        with _duckdb() as con:
            self._explain_views(con)
            kind, keys = _resolve(con, wanted)
            if kind is None:
                raise InputError(
                    f"{wanted!r}: recon has never seen it (no order id, ledger entry id, "
                    f"reference, transaction id or break id of that name in "
                    f"{self.config.storage.data_dir})"
                )
            keys["today"] = datetime.now(UTC).date()
            found = {
                name: con.sql(sql, params=bind(sql, keys)).to_arrow_table()
                for name, sql in _EXPLAIN_QUERIES.items()
            }
        found["orders"] = self._with_extraction_times(found["orders"])
        return Explanation(wanted, kind, **{name: _frame(t) for name, t in found.items()})

    # -- what analysts say ---------------------------------------------------------------------

    def ack(self, break_id: str, note: str) -> str:
        """Mark a break explained (it stays listed, but no longer counts against the exit
        code); its full id. Takes the data directory's lock."""
        with self._lock(f"ack {break_id}"):
            return pipeline.act(self.config, break_id, "ack", note=note)

    def snooze(self, break_id: str, until: Day, note: str | None = None) -> str:
        """Hide a break from the exit code until a date (inclusive); its full id."""
        with self._lock(f"snooze {break_id}"):
            return pipeline.act(self.config, break_id, "snooze", note=note, until=_day(until))

    def reopen(self, break_id: str) -> str:
        """Undo an acknowledgement or a snooze; the break's full id."""
        with self._lock(f"reopen {break_id}"):
            return pipeline.act(self.config, break_id, "reopen")

    def apply(
        self, path: Path | str, dry_run: bool = False, skip_refused: bool = False
    ) -> sheet.Applied:
        """`recon breaks apply`: the actions marked in an edited discrepancies.xlsx (or .csv),
        all or nothing unless `skip_refused`. The result's `frame()` has one row per marked
        row (result `apply`, `done` or `refused`, and why); `applied` says whether anything
        was recorded. Takes the data directory's lock unless `dry_run`."""
        with contextlib.nullcontext() if dry_run else self._lock(f"apply {Path(path).name}"):
            return sheet.apply(self.config, Path(path), dry_run=dry_run, skip_refused=skip_refused)

    def _lock(self, command: str) -> contextlib.AbstractContextManager[Path]:
        return exclusive(self.config.storage.data_dir, f"breaks {command} (notebook)")

    # -- the parts ---------------------------------------------------------------------------

    def _require_diffed(self, night: date) -> dict[str, Any]:
        run = self.history.run(night) if self.history.path.exists() else None
        if run is None:
            raise InputError(
                f"{self.history.path}: no diff recorded for {night}; "
                f"run `recon diff --date {night}` first"
            )
        return run

    def _latest_night(self) -> date:
        with self.history.connect() as con:
            [(latest,)] = con.execute("SELECT max(run_date) FROM runs").fetchall()
        if latest is None:
            raise InputError(f"{self.history.path}: no night diffed yet")
        return latest

    def _partition(self, dataset: str, night: date) -> pd.DataFrame:
        if not self.lake.part(dataset, night).exists():
            raise InputError(
                f"{self.lake.root}: no {dataset} extracted for {night}; "
                f"run `recon extract --date {night}` first"
            )
        return _frame(self.lake.read(dataset, night))

    def _explain_views(self, con: duckdb.DuckDBPyConnection) -> None:
        """Views over every partition the lake holds, and the history attached read-only."""
        for name, datasets in _EXPLAIN_SOURCES.items():
            selects = [
                f"SELECT '{dataset}' AS dataset, * "
                f"FROM read_parquet({sql_literal(self.lake.glob(dataset))}, "
                "hive_partitioning = true, union_by_name = true)"
                for dataset in datasets
                if any((self.lake.root / dataset).glob("date=*/part.parquet"))
            ]
            none = (
                memory.EMPTY
                if datasets[0] == memory.DATASET
                else empty_select(DATASETS[datasets[0]].schema)
            )
            source = " UNION ALL BY NAME ".join(selects) or (
                f"SELECT '{datasets[0]}' AS dataset, *, NULL::DATE AS date FROM ({none})"
            )
            con.execute(f"CREATE TEMP VIEW {name} AS {source}")
        if self.history.path.exists():
            self.history.attach(con, "h")
            con.execute("USE h")
        else:  # nothing diffed yet: the lake alone speaks, beside an empty history
            con.execute("ATTACH ':memory:' AS h")
            con.execute("USE h")
            con.execute(sql_text("history/schema.sql"))

    def _with_extraction_times(self, orders: pa.Table) -> pa.Table:
        """Each sighting of the order with the time its partition was extracted (manifest)."""
        at = [
            (self.lake.manifest(dataset, night) or {}).get("finished_at")
            for dataset, night in zip(
                orders.column("dataset").to_pylist(), orders.column("date").to_pylist(), strict=True
            )
        ]
        moments = pa.array(
            [datetime.fromisoformat(t.replace("Z", "+00:00")) if t else None for t in at],
            pa.timestamp("us", tz="UTC"),
        )
        return orders.append_column("extracted_at", moments).sort_by(
            [("extracted_at", "ascending"), ("date", "ascending")]
        )


@dataclass
class Explanation:
    """Everything about one id, each side as a DataFrame; `lines()` for a terminal, `as_dict()`
    for JSON."""

    id: str
    kind: str  # order, ledger entry, reference, transaction or break
    orders: pd.DataFrame  # every sighting of the order(s) in the lake, oldest extraction first
    transactions: pd.DataFrame
    ledger: pd.DataFrame  # the ledger rows that booked it, every export the lake remembers
    quarantine: pd.DataFrame  # its ledger rows some night could not use
    findings: pd.DataFrame  # every night's findings about it
    breaks: pd.DataFrame  # the breaks those findings are, with their state today
    actions: pd.DataFrame  # what analysts said of them, oldest first

    _TABLES = ("orders", "transactions", "ledger", "quarantine", "findings", "breaks", "actions")

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            **{name: _records(getattr(self, name)) for name in self._TABLES},
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, default=_json_value)

    def lines(self) -> list[str]:
        """What each side says, for a terminal."""
        out = [f"{self.id}: {self.kind}"]
        out += _section(
            "Starship order, as each lake partition holds it",
            self.orders,
            lambda o: (
                f"{o['order_id']}  {o['status']}/{_text(o['sub_status'])}  "
                f"{o['currency']} {_money(o['total_amount'], o['currency'])}  "
                f"ref {_text(o['client_reference'])}  created {_instant(o['created_at'])}  "
                f"updated {_instant(o['updated_at'])}  [{o['dataset']} date={o['date']}, "
                f"extracted {_instant(o['extracted_at'])}, trace {_text(o['trace_id'])}]"
            ),
        )
        out += _section(
            "Wallet transactions",
            self.transactions,
            lambda t: (
                f"{t['transaction_id']}  {t['type']}  {t['currency']} "
                f"{_money(t['amount'], t['currency'])}  balance after "
                f"{_money(t['balance_after'], t['currency'])}  {_instant(t['created_at'])}  "
                f"[trace {_text(t['trace_id'])}]"
            ),
        )
        out += _section(
            "Ledger rows that booked it",
            self.ledger,
            lambda e: (
                f"{Path(e['source']).name} line {e['line']} (export of {e['export_date']})  "
                f"{e['entry_id']}  order {_text(e['order_id'])}  ref {_text(e['reference'])}  "
                f"{e['currency']} {_money(e['amount'], e['currency'])}  {e['status']}  "
                f"booked {_instant(e['booked_at'])}"
            ),
        )
        out += _section(
            "Quarantined ledger rows",
            self.quarantine,
            lambda q: (
                f"night {q['run_date']}: {Path(q['source']).name} line {q['line']}  "
                f"{q['entry_id']}: {q['reason']}"
            ),
        )
        out += _section(
            "Findings, night by night",
            self.findings,
            lambda f: (
                f"{f['run_date']}  {f['break_id']}  {f['check']} ({f['severity']})  "
                f"{_amounts(f)}{_statuses(f)}{'' if _missing(f['detail']) else f['detail']}"
            ),
        )
        out += _section(
            "Breaks",
            self.breaks,
            lambda b: (
                f"{b['break_id']}  {b['check']}  {b['state']}  first seen {b['first_seen']}, "
                f"last seen {b['last_seen']} ({b['nights']} night(s))"
                + (f", resolved {b['resolved_on']}" if not _missing(b["resolved_on"]) else "")
                + (f"  [{b['note']}]" if not _missing(b["note"]) else "")
            ),
        )
        out += _section(
            "What analysts said",
            self.actions,
            lambda a: (
                f"{_instant(a['acted_at'])}  {a['break_id']}  {a['action']} by {a['by_user']}"
                + (f" until {a['until']}" if not _missing(a["until"]) else "")
                + (f": {a['note']}" if not _missing(a["note"]) else "")
            ),
        )
        return out


# -- resolving an id ---------------------------------------------------------------------------

# The views explain() reads: every partition of these datasets, with the dataset's name.
_EXPLAIN_SOURCES = {
    "orders_seen": ("orders", "refreshed_orders"),
    "transactions_seen": ("transactions",),
    "ledger_seen": (memory.DATASET,),
}
# What one id names, and what that reaches: the orders, ledger entries and references that are
# the same booking. An order reaches its reference and the ledger rows booking it by order id
# or reference; a ledger row reaches its order and reference; a break, what its findings name.
_RESOLVE = """
WITH named_breaks AS (  -- a break id, or a unique prefix of one as `recon breaks ack` takes
    SELECT DISTINCT break_id FROM findings
    WHERE length($id) >= 6 AND starts_with(break_id, lower($id))
),
seed AS (
    SELECT 'order' AS kind, order_id, NULL AS entry_id, NULL AS reference, NULL AS transaction_id
        FROM orders_seen WHERE order_id = $id
    UNION ALL SELECT 'ledger entry', order_id, entry_id, reference, NULL
        FROM ledger_seen WHERE entry_id = $id
    UNION ALL SELECT 'ledger entry', order_id, ledger_entry_id, reference, transaction_id
        FROM findings WHERE ledger_entry_id = $id
    UNION ALL SELECT 'ledger entry', NULL, entry_id, NULL, NULL  -- a row no night could use
        FROM quarantine WHERE entry_id = $id
    UNION ALL SELECT 'reference', order_id, NULL, client_reference, NULL
        FROM orders_seen WHERE client_reference = $id
    UNION ALL SELECT 'reference', order_id, entry_id, reference, NULL
        FROM ledger_seen WHERE reference = $id
    UNION ALL SELECT 'transaction', order_id, NULL, NULL, transaction_id
        FROM transactions_seen WHERE transaction_id = $id
    UNION ALL SELECT 'transaction', order_id, ledger_entry_id, reference, transaction_id
        FROM findings WHERE transaction_id = $id
    UNION ALL SELECT 'order', order_id, NULL, NULL, NULL
        FROM transactions_seen WHERE order_id = $id
    UNION ALL SELECT 'order', order_id, ledger_entry_id, reference, transaction_id
        FROM findings WHERE order_id = $id
    UNION ALL SELECT 'break', order_id, ledger_entry_id, reference, transaction_id
        FROM findings WHERE break_id IN (SELECT break_id FROM named_breaks)
),
seed_orders AS (SELECT order_id FROM seed WHERE order_id <> ''),
seed_entries AS (SELECT entry_id FROM seed WHERE entry_id <> ''),
seed_refs AS (SELECT reference FROM seed WHERE reference <> ''),
orders AS (
    SELECT order_id FROM seed_orders
    UNION SELECT order_id FROM ledger_seen
        WHERE order_id <> '' AND (entry_id IN (SELECT entry_id FROM seed_entries)
            OR reference IN (SELECT reference FROM seed_refs))
),
refs AS (
    SELECT reference FROM seed_refs
    UNION SELECT client_reference FROM orders_seen
        WHERE client_reference <> '' AND order_id IN (SELECT order_id FROM orders)
),
entries AS (
    SELECT entry_id FROM seed_entries
    UNION SELECT entry_id FROM ledger_seen
        WHERE entry_id <> '' AND (order_id IN (SELECT order_id FROM orders)
            OR reference IN (SELECT reference FROM refs))
)
SELECT
    (SELECT kind FROM seed ORDER BY list_position(
        ['break', 'order', 'ledger entry', 'reference', 'transaction'], kind) LIMIT 1),
    (SELECT list(DISTINCT order_id) FROM orders),
    (SELECT list(DISTINCT entry_id) FROM entries),
    (SELECT list(DISTINCT reference) FROM refs),
    (SELECT list(DISTINCT transaction_id) FROM seed WHERE transaction_id <> ''),
    (SELECT list(break_id ORDER BY break_id) FROM named_breaks)
"""

_ABOUT = """(
    order_id IN (SELECT unnest($orders)) OR ledger_entry_id IN (SELECT unnest($entries))
    OR reference IN (SELECT unnest($references)) OR break_id IN (SELECT unnest($breaks))
    OR transaction_id IN (SELECT unnest($transactions))
)"""
_BREAK_IDS = f"(SELECT DISTINCT break_id FROM findings WHERE {_ABOUT})"
_EXPLAIN_QUERIES = {
    "orders": """SELECT * FROM orders_seen
        WHERE order_id IN (SELECT unnest($orders))
            OR client_reference IN (SELECT unnest($references))""",
    "transactions": """SELECT * EXCLUDE (dataset) FROM transactions_seen
        WHERE order_id IN (SELECT unnest($orders))
            OR transaction_id IN (SELECT unnest($transactions))
        ORDER BY created_at, transaction_id""",
    "ledger": """SELECT * EXCLUDE (dataset, date) FROM ledger_seen
        WHERE entry_id IN (SELECT unnest($entries)) OR order_id IN (SELECT unnest($orders))
            OR reference IN (SELECT unnest($references))
        ORDER BY export_date, line""",
    "quarantine": """SELECT * FROM quarantine WHERE entry_id IN (SELECT unnest($entries))
        ORDER BY run_date, source, line""",
    "findings": f"""SELECT run_date, break_id, "check", severity, key, expected, order_id,
            ledger_entry_id, transaction_id, reference, currency, starship_amount,
            ledger_amount, delta, starship_status, starship_sub_status, ledger_status,
            created_at, line, ledger_source, trace_id, detail
        FROM findings WHERE {_ABOUT} ORDER BY run_date, "check", key""",
    "breaks": f"SELECT * FROM ({sql_text('history/breaks.sql')}) WHERE break_id IN {_BREAK_IDS}",
    "actions": f"""SELECT acted_at, break_id, action, note, until, by_user FROM actions
        WHERE break_id IN {_BREAK_IDS} ORDER BY number""",
}


def _resolve(con: duckdb.DuckDBPyConnection, wanted: str) -> tuple[str | None, dict[str, Any]]:
    [(kind, orders, entries, references, transactions, breaks)] = con.execute(
        _RESOLVE, {"id": wanted}
    ).fetchall()
    if breaks and len(breaks) > 1:
        raise InputError(f"{wanted!r} is ambiguous: breaks {', '.join(breaks[:5])}")
    if kind is None and re.fullmatch(r"[0-9a-fA-F]{1,5}", wanted):
        raise InputError(f"{wanted!r}: a break id prefix needs at least 6 of its 12 characters")
    keys = {
        "orders": orders or [],
        "entries": entries or [],
        "references": references or [],
        "transactions": transactions or [],
        "breaks": breaks or [],
    }
    return kind, keys


# -- conversions -------------------------------------------------------------------------------

_TOTALS = pa.schema(  # report/totals.sql's columns, as the history keeps them (JSON)
    [
        ("currency", pa.string()),
        ("starship_orders", pa.int64()),
        ("starship_total", AMOUNT),
        ("ledger_entries", pa.int64()),
        ("ledger_total", AMOUNT),
    ]
)


def _day(value: Day) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"{value!r} is not a date (YYYY-MM-DD)") from None


@contextmanager
def _duckdb() -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        yield con


def _parquet(part: Path) -> str:
    """One partition's file, without the `date` its folder name would add."""
    return f"read_parquet({sql_literal(str(part))}, hive_partitioning = false)"


def _utc(table: pa.Table) -> pa.Table:
    """Naive timestamps (DuckDB's TIMESTAMP, which recon keeps in UTC) as tz-aware UTC."""
    for number, column in enumerate(table.schema):
        kind = column.type
        if pa.types.is_timestamp(kind) and kind.tz is None:
            table = table.set_column(
                number, column.name, table.column(number).cast(pa.timestamp(kind.unit, "UTC"))
            )
    return table


def _frame(table: pa.Table) -> pd.DataFrame:
    return _utc(table).to_pandas(types_mapper=pd.ArrowDtype)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows as plain values; an amount as the text of its row's currency (24.13, not
    24.1300), exact, as discrepancies.csv writes it."""
    rows = pa.Table.from_pandas(frame, preserve_index=False).to_pylist()
    for row in rows:
        for name, value in row.items():
            if isinstance(value, Decimal):
                row[name] = amount_text(value, row.get("currency"))
    return rows


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _text(value: Any) -> str:
    return "-" if _missing(value) else str(value)


def _instant(value: Any) -> str:
    if _missing(value):
        return "-"
    return pd.Timestamp(value).tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%SZ")


def _money(amount: Any, currency: Any) -> str:
    return (
        "-" if _missing(amount) else amount_text(amount, None if _missing(currency) else currency)
    )


def _amounts(finding: Any) -> str:
    currency = finding["currency"]
    parts = [
        f"{label} {_money(finding[column], currency)}"
        for label, column in (
            ("starship", "starship_amount"),
            ("ledger", "ledger_amount"),
            ("delta", "delta"),
        )
        if not _missing(finding[column])
    ]
    return (f"{_text(currency)} " + ", ".join(parts) + "  ") if parts else ""


def _statuses(finding: Any) -> str:
    """What each side's status was that night: the order's status history, night by night."""
    sides = [
        f"{side} {'/'.join(str(v) for v in values if not _missing(v))}"
        for side, values in (
            ("Starship", (finding["starship_status"], finding["starship_sub_status"])),
            ("ledger", (finding["ledger_status"],)),
        )
        if not _missing(values[0])
    ]
    return f"[{', '.join(sides)}]  " if sides else ""


def _section(title: str, frame: pd.DataFrame, line: Any) -> list[str]:
    rows = frame.to_dict("records")
    return (
        ["", f"{title} ({len(rows)})", *(f"  {line(row)}".rstrip() for row in rows)] if rows else []
    )

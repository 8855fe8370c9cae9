"""Run every rule in `sql/checks/` in DuckDB over the lake and D's ledger -> D's findings.

    with checks.connect(config) as con:
        diff = checks.run(con, config, date(2026, 4, 14))
    diff.findings      # a pyarrow Table, one row per finding (FINDING_SCHEMA)

The lake's partitions up to D are views (`orders_all`, `orders_day`, `transactions_all`,
`transactions_day`, `wallets_day`); the ledger export is ingested by `recon.ledger`; the rows
are matched by `sql/setup/match.sql`; then each check's SELECT is appended to `findings` by
column name, so a rule names only the columns it has. Parameters are bound, never formatted
into the SQL text; the check's name is its file name.

Conservation is asserted after the checks: every usable ledger row is matched or reported,
every Starship order of D is matched or reported, and quarantine holds the rest.
"""

from __future__ import annotations

import re
import time as clock
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import pyarrow as pa

from recon import causes, discounts, ledger, memory
from recon.config import Config
from recon.errors import InputError, ReconError
from recon.lake import DATASETS, PART, Lake
from recon.money import quantum
from recon.resources import resource_dir, sql_literal, sql_text

# The vocabulary of the `check` column (design.md), in the order reports list them.
SEVERITY: dict[str, str] = {
    "missing_in_ledger": "error",
    "missing_at_starship": "error",
    "amount_mismatch": "error",
    "currency_mismatch": "error",
    "status_mismatch": "error",
    "duplicate_order": "error",
    "duplicate_ledger_entry": "error",
    "wallet_mismatch": "error",
    "balance_gap": "error",
    "stuck_pending": "warning",
    "low_wallet_balance": "warning",
    "wallet_runway": "warning",
    "starship_reported_drift": "warning",
    "discount_drift": "warning",
    "unknown_status": "info",
}

# Breaks these checks find can resolve on a later night without D being re-run (the entry
# arrives on the next export, a late cancellation's reversal is booked, the refund lands, the
# order leaves PENDING): each night looks at the open ones again, and one it no longer finds
# is resolved.
CARRIED_CHECKS = ("missing_in_ledger", "status_mismatch", "stuck_pending", "wallet_mismatch")


class Carried(NamedTuple):
    """A break still open from an earlier night, for its check (CARRIED_CHECKS) to look at
    again: the order it is about and the books' side its latest finding saw. status_mismatch
    falls back on that side once the order's bookings are older than the ledger's memory."""

    check: str
    order_id: str
    ledger_status: str | None = None
    ledger_entry_id: str | None = None
    line: int | None = None
    ledger_amount: Decimal | None = None
    ledger_source: str | None = None  # the export `line` is in


AMOUNT = pa.decimal128(18, 4)
QUARANTINE_COLUMNS = ("source", "line", "entry_id", "reason", "raw")  # design.md's contract
FINDING_SCHEMA = pa.schema(
    [
        pa.field("check", pa.string(), nullable=False),
        pa.field("severity", pa.string(), nullable=False),
        pa.field("key", pa.string(), nullable=False),  # the break's identity within its check
        pa.field("expected", pa.bool_()),  # may still resolve by itself (inside the grace)
        pa.field("order_id", pa.string()),
        pa.field("transaction_id", pa.string()),
        pa.field("ledger_entry_id", pa.string()),
        pa.field("line", pa.int64()),
        pa.field("reference", pa.string()),
        pa.field("currency", pa.string()),
        pa.field("starship_amount", AMOUNT),
        pa.field("ledger_amount", AMOUNT),
        pa.field("delta", AMOUNT),
        pa.field("starship_status", pa.string()),
        pa.field("starship_sub_status", pa.string()),
        pa.field("ledger_status", pa.string()),
        pa.field("created_at", pa.timestamp("us", tz="UTC")),
        pa.field("trace_id", pa.string()),
        pa.field("match_method", pa.string()),
        pa.field("detail", pa.string()),
        # the export `line` is in when it is not D's (a late cancellation's sale); NULL: D's
        pa.field("ledger_source", pa.string()),
    ]
)
QUARANTINE_SCHEMA = pa.schema(
    [(name, pa.int64() if name == "line" else pa.string()) for name in QUARANTINE_COLUMNS]
)
# setup/runway.sql's `runway`, one row per currency: the report's wallet panel, the run record's
# `wallets` and the notebook's r.runway(D)
RUNWAY_SCHEMA = pa.schema(
    [
        ("currency", pa.string()),
        ("balance", AMOUNT),
        ("spent", AMOUNT),
        ("rate_days", pa.int64()),
        ("daily_spend", AMOUNT),
        ("days_left", pa.decimal128(18, 1)),
        ("runs_out", pa.date32()),
        ("floor", AMOUNT),
        ("short", pa.bool_()),
        ("trace_id", pa.string()),  # of the page that carried the balance
    ]
)
_CARRIED_SCHEMA = pa.schema(  # Carried's fields, as the `carried` table holds them
    [
        ("check", pa.string()),
        ("order_id", pa.string()),
        ("ledger_status", pa.string()),
        ("ledger_entry_id", pa.string()),
        ("line", pa.int64()),
        ("ledger_amount", AMOUNT),
        ("ledger_source", pa.string()),
    ]
)
_DUCKDB_TYPES = {
    pa.string(): "VARCHAR",
    pa.bool_(): "BOOLEAN",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    AMOUNT: "DECIMAL(18, 4)",
    pa.timestamp("us", tz="UTC"): "TIMESTAMP",  # naive UTC inside DuckDB
}


@dataclass(frozen=True)
class Scope:
    """The instants a diff of `day` works with, all UTC; ages are measured at `day_end`."""

    day: date
    lookback_days: int

    @property
    def day_start(self) -> datetime:
        return datetime.combine(self.day, time(), tzinfo=UTC)

    @property
    def day_end(self) -> datetime:
        return self.day_start + timedelta(days=1)

    @property
    def window_start(self) -> datetime:
        return self.day_start - timedelta(days=self.lookback_days)


@dataclass
class Diff:
    day: date
    findings: pa.Table
    quarantine: pa.Table  # source, line, entry_id, reason, raw
    ledger: ledger.LedgerLoad
    counts: dict[str, int] = field(default_factory=dict)
    incomplete: list[str] = field(default_factory=list)  # why rows may be missing, if they may
    totals: list[dict[str, Any]] = field(default_factory=list)  # per currency (report/totals.sql)
    reconciliation: dict[str, Any] = field(default_factory=dict)  # control_total()
    seconds: dict[str, float] = field(default_factory=dict)  # per SQL file (and statement)
    # the night's own export and the days before it in a row without one: {date, path} each
    missing_exports: list[dict[str, str]] = field(default_factory=list)
    # per currency, RUNWAY_SCHEMA's columns
    wallets: list[dict[str, Any]] = field(default_factory=list)
    # the one setting most of the night's breaks point to, if any (recon.causes): Cause dicts
    causes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every partition read was extracted completely, and Starship's control total (when
        it answered) ties to what recon counted."""
        return not self.incomplete

    def by_check(self) -> dict[str, int]:
        counts = dict.fromkeys(SEVERITY, 0)
        for check in self.findings.column("check").to_pylist():
            counts[check] += 1
        return counts


@dataclass(frozen=True)
class CheckText:
    """What a check catches, why it matters and what to do: its SQL file's header."""

    summary: str
    why: str
    action: str


def describe(check: str) -> CheckText:
    """The header of `sql/checks/<check>.sql`: `-- name (severity): summary`, then a paragraph
    with `Why it matters:` and `What to do:`. The report shows it beside the check's rows."""
    files = check_files()
    if check not in files:
        raise ReconError(f"no rule file for check {check!r}")
    paragraphs: list[list[str]] = [[]]
    for line in files[check].read_text(encoding="utf-8").splitlines():
        if not line.startswith("--"):
            break
        text = line.removeprefix("--").strip()
        if text:
            paragraphs[-1].append(text)
        elif paragraphs[-1]:
            paragraphs.append([])
    title = " ".join(paragraphs[0])
    body = " ".join(paragraphs[1]) if len(paragraphs) > 1 else ""
    why, _, action = body.removeprefix("Why it matters:").partition("What to do:")
    return CheckText(*(_for_readers(t) for t in (title.partition(": ")[2], why, action)))


def _for_readers(text: str) -> str:
    """A header's words for an analyst: without the developers' pointers to the Starship
    documentation seeds and without code quotes."""
    text = re.sub(r"\s*\(seed \d+\)", "", text)
    text = re.sub(r"seed \d+ says (\w)", lambda m: m.group(1).upper(), text)
    text = re.sub(r"Seed \d+ asks for this alert\.\s*", "", text)
    return text.replace("`", "").strip()


ACCOUNTED = ("entries", "orders")


def accounts_for(kind: str) -> list[str]:
    """The checks whose header says `-- Accounts for: entries` (or `orders`): the ones whose
    findings are the ledger rows (or D's orders) that nothing matched. Conservation counts
    those as reported, so a new rule that reports such rows says so in its own file."""
    if kind not in ACCOUNTED:
        raise ValueError(f"accounts for {kind!r}: one of {ACCOUNTED}")
    found = []
    for check, path in check_files().items():
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.startswith("--"):
                break
            declared = re.match(r"--\s*Accounts for:\s*(\w+)", line)
            if declared and declared[1] not in ACCOUNTED:
                raise ReconError(f"{path}: 'Accounts for: {declared[1]}': one of {ACCOUNTED}")
            if declared and declared[1] == kind:
                found.append(check)
    return found


def check_files() -> dict[str, Path]:
    """{check name: its .sql file}; a file for a name outside the vocabulary is a bug."""
    files = {path.stem: path for path in sorted((resource_dir("sql") / "checks").glob("*.sql"))}
    unknown = set(files) - set(SEVERITY)
    if unknown:
        raise ReconError(f"sql/checks holds rules outside the vocabulary: {sorted(unknown)}")
    return files


def connect(config: Config) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for a diff, held to `[storage] memory_limit`: beyond it, DuckDB
    spills to `<data_dir>/spill` (and removes what it wrote when the connection closes)."""
    spill = config.storage.data_dir / "spill"
    spill.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(
        config={"memory_limit": config.storage.memory_limit, "temp_directory": str(spill)}
    )


def run(
    con: duckdb.DuckDBPyConnection,
    config: Config,
    day: date,
    *,
    carried: Iterable[Carried | tuple[str, str]] = (),
    diffed: Iterable[date] = (),
) -> Diff:
    """Diff `day`: read the ledger's stream of exports, run every check, return the findings.

    `carried` holds the breaks still open from earlier nights (`Carried`, or just (check,
    order id)), for the checks in CARRIED_CHECKS to look at again; `diffed`, the nights
    already recorded, so that the rows of an export that came after their night ran are
    judged on the night that first reads it (recon.memory).
    """
    scope = Scope(day, config.starship.lookback_days)
    seconds: dict[str, float] = {}
    con.execute("SET TimeZone = 'UTC'")
    lake = Lake(config.storage.data_dir / "lake")
    incomplete = _lake_views(con, lake, day)
    reported = _reported_views(con, lake, day)
    ledger.prepare(con, config.ledger)
    with timed(seconds, "ledger stream (read, keep)"):
        stream = memory.stream(
            con, config.ledger, lake, scope.window_start.date(), day, set(diffed)
        )
    _reference_tables(con, config, carried)
    # From here on every result is ordered where it is read, so DuckDB may keep no row order
    # of its own (the ledger's `line` numbers, which rely on it, are assigned by now).
    con.execute("SET preserve_insertion_order = false")
    execute_script(con, "setup/vocabulary.sql", scope, seconds)
    execute_script(con, "setup/match.sql", scope, seconds)
    execute_script(con, "setup/runway.sql", scope, seconds, config)
    _judged_views(con, day)

    columns = ", ".join(f'"{f.name}" {_DUCKDB_TYPES[f.type]}' for f in FINDING_SCHEMA)
    # not reported: `row_id`, the stream row a ledger-side finding is about (for conservation);
    # `awaited_export`, the business day whose export an expected missing order awaits
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE findings ({columns}, row_id BIGINT, awaited_export DATE)"
    )
    for check in check_files():
        sql = sql_text(f"checks/{check}.sql")
        with timed(seconds, f"checks/{check}.sql"):
            con.execute(
                f"INSERT INTO findings BY NAME SELECT '{check}' AS \"check\", "
                f"'{SEVERITY[check]}' AS severity, * FROM ({sql})",
                _parameters(sql, scope, config),
            )
    con.execute("UPDATE findings SET expected = coalesce(expected, false)")

    with timed(seconds, "conservation"):
        counts = _conserve(con)
    ingest = ledger.LedgerLoad(
        stream.own.path,
        counts["ledger_rows"],
        counts["ledger_rows"] - counts["quarantined"],
        counts["quarantined"],
    )
    counts["earlier_exports"] = sum(1 for e in stream.read() if e.day < day)
    counts["later_exports"] = sum(1 for e in stream.read() if e.day > day)
    [(reversals, awaiting)] = con.sql(
        "SELECT (SELECT count(*) FROM matches WHERE role = 'reversal'), "
        "(SELECT count(awaited_export) FROM findings)"
    ).fetchall()
    counts["ledger_reversals"] = int(reversals)
    counts["awaiting_export"] = int(awaiting)
    control = control_total(con, reported)
    [(drifts,)] = con.sql("SELECT count(*) FROM reported_drifts").fetchall()
    counts["reconciliation_drifts"] = int(drifts)
    counts["reconciliation_rejected"] = len((reported or {}).get("rejected", []))
    incomplete += _untied(control)
    findings = (
        con.sql('SELECT * EXCLUDE (row_id, awaited_export) FROM findings ORDER BY "check", key')
        .to_arrow_table()
        .cast(FINDING_SCHEMA)
    )
    quarantine = con.sql(
        "SELECT * FROM quarantine UNION ALL BY NAME SELECT * FROM reported_rejected "
        "ORDER BY source, line"
    ).to_arrow_table()
    totals = con.sql(sql_text("report/totals.sql")).to_arrow_table().to_pylist()
    wallets = (
        con.sql(f"SELECT {', '.join(RUNWAY_SCHEMA.names)} FROM runway ORDER BY currency")
        .to_arrow_table()
        .to_pylist()
    )
    missing = [
        {"date": day.isoformat(), "path": str(ledger.export_path(config.ledger, day))}
        for day in stream.missing
    ]
    with timed(seconds, "likely causes"):
        likely = causes.likely(
            con, scope.day_start, scope.day_end, counts, _quoted_settings(config, day)
        )
    return Diff(
        day,
        findings,
        quarantine,
        ingest,
        counts,
        incomplete,
        totals,
        control,
        seconds,
        missing,
        wallets,
        [cause.as_dict() for cause in likely],
    )


def _quoted_settings(config: Config, day: date) -> dict[str, str]:
    """The [ledger] values a likely cause quotes (recon.causes)."""
    settings = config.ledger
    return {
        "path": str(ledger.export_path(settings, day)),
        "amount_unit": settings.amount_unit,
        "purchase_sign": settings.purchase_sign,
        "business_day_timezone": settings.business_zone,
        "timezone": settings.timezone,
        **{f"columns.{name}": column for name, column in settings.columns.items()},
    }


def _judged_views(con: duckdb.DuckDBPyConnection, day: date) -> None:
    """`ledger`, the usable rows tonight judges (typed, as an export's), and `quarantine`, the
    unusable rows of the exports whose rows no order claims are judged tonight."""
    con.execute(
        "CREATE OR REPLACE TEMP VIEW ledger AS SELECT export_date, source, line, entry_id, "
        "booked_order_id AS order_id, reference, ledger_amount AS amount, ledger_currency AS "
        "currency, ledger_status AS status, ledger_booked_at AS booked_at FROM matches"
    )
    con.execute(
        "CREATE OR REPLACE TEMP VIEW quarantine AS SELECT source, line, "
        "coalesce(entry_id, '') AS entry_id, reason, raw FROM stream_quarantine "
        f"WHERE judged_on = DATE {sql_literal(day.isoformat())}"
    )


# -- the inputs ---------------------------------------------------------------------------------


def _parquet(paths: list[Path]) -> str:
    return "read_parquet([" + ", ".join(sql_literal(str(p)) for p in paths) + "])"


def _lake_views(con: duckdb.DuckDBPyConnection, lake: Lake, day: date) -> list[str]:
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
        for each in _partitions_up_to(lake, "refreshed_orders", day)
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
        parts = _partitions_up_to(lake, dataset, day)
        for each in parts:
            manifest = lake.manifest(dataset, each) or {}
            if not manifest.get("complete", True):
                incomplete.append(
                    f"the {dataset} of {each} did not tie to the API's totals after "
                    f"{manifest.get('passes', '?')} passes (`recon extract --date {each}` again)"
                )
        everything = _parquet([lake.part(dataset, d) for d in parts])
        overlay = ""
        if dataset == "orders" and refreshed:
            everything += " ANTI JOIN refreshed_orders USING (order_id)"
            overlay = " UNION ALL BY NAME SELECT * FROM refreshed_orders"
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {dataset}_all AS SELECT * FROM {everything}{overlay}"
        )
        today = _parquet([lake.part(dataset, day)])
        con.execute(f"CREATE OR REPLACE TEMP VIEW {dataset}_day AS SELECT * FROM {today}")
        if dataset == "transactions":  # the days a wallet's rate of spend rests on
            con.register("transaction_days", pa.table({"day": pa.array(parts, pa.date32())}))
    wallets = lake.part("wallets", day)
    source = (
        _parquet([wallets]) if wallets.exists() else f"({empty_select(DATASETS['wallets'].schema)})"
    )
    con.execute(f"CREATE OR REPLACE TEMP VIEW wallets_day AS SELECT * FROM {source}")
    return incomplete


def _reported_views(con: duckdb.DuckDBPyConnection, lake: Lake, day: date) -> dict[str, Any] | None:
    """`reported_drifts`, Starship's own reconciliation's drifts for `day` (empty when it was
    not available or not extracted), and `reported_rejected`, the drifts recon could not use,
    shaped as quarantine rows. Returns the partition's manifest (None: never extracted)."""
    manifest = lake.manifest("reconciliation", day)
    source = (
        _parquet([lake.part("reconciliation", day)])
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
    columns = ", ".join(f"NULL::{_DUCKDB_TYPES[f.type]} AS {f.name}" for f in schema)
    return f"SELECT {columns} WHERE false"


def control_total(
    con: duckdb.DuckDBPyConnection, manifest: dict[str, Any] | None
) -> dict[str, Any]:
    """Starship's reconciliation summary against recon's own count of D's orders and of the
    vouchers delivered on them. `ties` is None when there was nothing to compare (the
    endpoint not available, or the summary without those counts), else whether both agree;
    a False marks the night incomplete: the extraction may have missed rows."""
    status = (manifest or {}).get("status", "not_extracted")
    [(orders, vouchers)] = con.sql(
        "SELECT count(*), coalesce(sum(delivered_item_count), 0)::BIGINT FROM orders_day"
    ).fetchall()
    ours = {"orders_total": int(orders), "vouchers_allocated": int(vouchers)}
    theirs = (manifest or {}).get("summary") or {}
    compared = {name: theirs.get(name) for name in ours if theirs.get(name) is not None}
    ties = None if not compared else all(ours[name] == compared[name] for name in compared)
    return {
        "status": status,
        "trace_id": (manifest or {}).get("trace_id"),
        "reason": (manifest or {}).get("reason"),
        "starship": theirs,
        "recon": ours,
        "ties": ties,
    }


def _untied(control: dict[str, Any]) -> list[str]:
    """Why Starship's reconciliation makes the night incomplete, if it does."""
    if control["status"] == "unreadable":
        return [f"Starship's reconciliation could not be read: {control['reason']}"]
    if control["ties"] is False:
        theirs, ours = control["starship"], control["recon"]
        apart = ", ".join(
            f"{name} {theirs[name]} at Starship, {ours[name]} extracted"
            for name in ours
            if theirs.get(name) is not None and theirs[name] != ours[name]
        )
        return [f"Starship's reconciliation does not tie: {apart}; rows may be missing"]
    return []


def _partitions_up_to(lake: Lake, dataset: str, day: date) -> list[date]:
    found = []
    for folder in (lake.root / dataset).glob("date=*"):
        try:
            when = date.fromisoformat(folder.name.removeprefix("date="))
        except ValueError:
            continue
        if when <= day and (folder / PART).exists():
            found.append(when)
    return sorted(found)


def _reference_tables(
    con: duckdb.DuckDBPyConnection,
    config: Config,
    carried: Iterable[Carried | tuple[str, str]],
) -> None:
    tolerances = config.checks.tolerance_minor_units
    con.register(
        "tolerances",
        pa.table(
            {
                "currency": list(tolerances),
                "tolerance": pa.array(
                    [quantum(c) * units for c, units in tolerances.items()], AMOUNT
                ),
            }
        ),
    )
    floors = config.checks.low_wallet_balance
    con.register(
        "floors",
        pa.table(
            {
                "currency": list(floors),
                "floor": pa.array([Decimal(v) for v in floors.values()], AMOUNT),
            }
        ),
    )
    sheet = config.checks.discount_sheet
    con.register("discount_sheet", discounts.read(sheet) if sheet else discounts.empty())
    breaks: dict[tuple[str, str], Carried] = {}
    for each in carried:  # one row per check and order, so a check may join on it
        open_break = Carried(*each)
        breaks.setdefault((open_break.check, open_break.order_id), open_break)
    rows = [breaks[pair] for pair in sorted(breaks)]
    con.register(
        "carried",
        pa.table(
            {name: [getattr(row, name) for row in rows] for name in Carried._fields},
            schema=_CARRIED_SCHEMA,
        ),
    )


# -- SQL files ------------------------------------------------------------------------------


def execute_script(
    con: duckdb.DuckDBPyConnection,
    name: str,
    scope: Scope,
    seconds: dict[str, float] | None = None,
    config: Config | None = None,
) -> None:
    """Run a file of `;`-separated statements, binding what each statement names; the time
    of each goes into `seconds` under the file's name and the table it makes."""
    for statement in _statements(sql_text(name)):
        made = re.search(
            r"(?:CREATE (?:OR REPLACE )?(?:TEMP )?(?:TABLE|VIEW)|DELETE FROM|INSERT INTO) (\w+)",
            statement,
        )
        with timed(seconds, f"{name}: {made.group(1)}" if made else name):
            con.execute(statement, _parameters(statement, scope, config))


@contextmanager
def timed(seconds: dict[str, float] | None, label: str) -> Iterator[None]:
    """Add the block's wall time to `seconds[label]` (nothing kept when `seconds` is None)."""
    started = clock.perf_counter()
    try:
        yield
    finally:
        if seconds is not None:
            seconds[label] = seconds.get(label, 0.0) + clock.perf_counter() - started


def _statements(text: str) -> list[str]:
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    return [part.strip() for part in re.split(r";\s*(?:\n|$)", body) if part.strip()]


def _parameters(sql: str, scope: Scope, config: Config | None = None) -> dict[str, Any]:
    """The values of the `$name` parameters `sql` uses (DuckDB refuses unused ones)."""
    available: dict[str, Any] = {
        "day_start": scope.day_start.replace(tzinfo=None),
        "day_end": scope.day_end.replace(tzinfo=None),
        "window_start": scope.window_start.replace(tzinfo=None),
    }
    if config is not None:
        available["grace_minutes"] = config.checks.grace_minutes
        available["stuck_pending_hours"] = config.checks.stuck_pending_hours
        available["runway_days"] = config.checks.wallet_runway_days
        # the window of the rate of spend ends with D: D and the days before it
        window = config.checks.wallet_runway_window_days
        available["runway_start"] = (scope.day_end - timedelta(days=window)).replace(tzinfo=None)
    wanted = set(re.findall(r"\$([a-z_]+)", sql))
    missing = wanted - set(available)
    if missing:
        raise ReconError(f"SQL uses parameters recon does not provide: {sorted(missing)}")
    return {name: available[name] for name in wanted}


# -- conservation ---------------------------------------------------------------------------


def _conserve(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Every input row is matched, reported or quarantined: count, and refuse to go on if not.

    The ledger's rows are those tonight judges; D's orders are matched when any row of the
    stream books them (a row judged on another night is checked then)."""
    # Each big set is looked up once: D's orders are marked matched in one pass, and the
    # reported rows and orders are the few in the findings.
    [counted] = con.sql(
        """
            WITH day_orders AS (
                SELECT order_id, order_id IN (
                    SELECT order_id FROM found WHERE order_id IS NOT NULL
                ) AS matched
                FROM orders_day
            )
            SELECT
                (SELECT count(*) FROM matches),
                (SELECT count(*) FROM matches WHERE role IN ('sale', 'reversal')),
                (SELECT count(*) FROM matches WHERE row_id IN (
                    SELECT row_id FROM findings
                    WHERE "check" IN (SELECT unnest($entries)))),
                (SELECT count(*) FROM quarantine),
                count(*),
                count(*) FILTER (WHERE matched),
                count(*) FILTER (WHERE NOT matched AND order_id IN (
                    SELECT order_id FROM findings
                    WHERE "check" IN (SELECT unnest($orders))))
            FROM day_orders
            """,
        params={"entries": accounts_for("entries"), "orders": accounts_for("orders")},
    ).fetchall()
    judged, matched_rows, reported_rows, quarantined, orders, matched_orders, reported_orders = (
        counted
    )
    if matched_rows + reported_rows != judged:
        raise ReconError(
            f"ledger rows do not add up: {judged} usable, {matched_rows} matched, "
            f"{reported_rows} reported (a bug in the checks; nothing was recorded)"
        )
    if matched_orders + reported_orders != orders:
        raise ReconError(
            f"Starship orders of the day do not add up: {orders}, {matched_orders} matched, "
            f"{reported_orders} reported (a bug in the checks; nothing was recorded)"
        )
    return {
        "ledger_rows": judged + quarantined,
        "ledger_matched": matched_rows,
        "ledger_reported": reported_rows,
        "quarantined": quarantined,
        "starship_orders": orders,
        "starship_matched": matched_orders,
        "starship_reported": reported_orders,
    }

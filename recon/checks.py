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
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from recon import causes, discounts, ledger, memory
from recon.config import Config
from recon.errors import ReconError
from recon.lake import Lake, diff_views, reconciliation_views
from recon.money import quantum
from recon.queries import bind, execute_script, fetch, timed
from recon.resources import resource_dir, sql_literal, sql_text
from recon.vocabulary import (
    AMOUNT,
    CARRIED_SCHEMA,
    FINDING_SCHEMA,
    RUNWAY_SCHEMA,
    SEVERITY,
    Carried,
    duckdb_columns,
)

# Run in this order before the checks: the status vocabulary, how each ledger row found its
# order, the per-order facts the checks filter, the wallets' runway.
SETUP_SCRIPTS = ("setup/vocabulary.sql", "setup/match.sql", "setup/facts.sql", "setup/runway.sql")


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
    """A header's words for an analyst: without code quotes. (Pointers to docs/ for developers
    go in a header's later paragraphs, which the report does not show.)"""
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
    incomplete = diff_views(con, lake, day)
    reported = reconciliation_views(con, lake, day)
    ledger.prepare(con, config.ledger)
    with timed(seconds, "ledger stream (read, keep)"):
        stream = memory.stream(
            con, config.ledger, lake, scope.window_start.date(), day, set(diffed)
        )
    _reference_tables(con, config, carried)
    # From here on every result is ordered where it is read, so DuckDB may keep no row order
    # of its own (the ledger's `line` numbers, which rely on it, are assigned by now).
    con.execute("SET preserve_insertion_order = false")
    available = parameters(scope, config)
    for script in SETUP_SCRIPTS:
        execute_script(con, script, available, seconds)
    _judged_views(con, day)

    columns = ", ".join(f'"{name}" {kind}' for name, kind in duckdb_columns(FINDING_SCHEMA).items())
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
                bind(sql, available),
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
            schema=CARRIED_SCHEMA,
        ),
    )


# -- parameters -------------------------------------------------------------------------------


def parameters(scope: Scope, config: Config | None = None) -> dict[str, Any]:
    """The values a diff's SQL may name as `$name` (queries.bind takes those each uses)."""
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
    return available


# -- conservation ---------------------------------------------------------------------------


def _conserve(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Every input row is matched, reported or quarantined: count, and refuse to go on if not.

    The ledger's rows are those tonight judges; D's orders are matched when any row of the
    stream books them (a row judged on another night is checked then)."""
    [counted] = fetch(
        con,
        "setup/conservation.sql",
        {"entries": accounts_for("entries"), "orders": accounts_for("orders")},
    ).fetchall()
    judged, matched_rows, reported_rows, quarantined, orders, judged_orders = counted[:6]
    matched_orders, reported_orders = counted[6:]
    if judged_orders != orders:
        raise ReconError(
            f"Starship orders of the day do not add up: {orders} in the lake, {judged_orders} "
            "judged (a bug in setup/facts.sql; nothing was recorded)"
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

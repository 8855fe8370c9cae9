"""Break history across nights, in `<data_dir>/recon.duckdb`.

A finding's identity is its check and key (an order id, an entry id, a transaction id, a
currency); `break_id` is a short hash of both, the same every night. Against the nights
before it, each of D's findings is **new** or **persisting** (with its first-seen date and
age), or **expected** (inside the cut-off grace), **acknowledged** or **snoozed** (an analyst
explained it). A break of a check that looks again every night (NIGHTLY_CHECKS) that D no
longer finds is **resolved** on D; a break about one day's books closes when that day is re-run
and no longer finds it.

Recording a night replaces that night's rows in one transaction, so a re-run gives the same
history; acknowledgements live in their own append-only table and survive re-runs.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import os
import re
import socket
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from recon import __version__, queries
from recon.checks import Diff, Scope
from recon.config import Config
from recon.errors import InputError, ReconError
from recon.resources import sql_literal, sql_text
from recon.vocabulary import CARRIED_CHECKS, RUNWAY_SCHEMA, Carried

# looked at again every night
NIGHTLY_CHECKS = (*CARRIED_CHECKS, "low_wallet_balance", "wallet_runway")
ACTIONS = ("ack", "snooze", "reopen")
EXPLAINED = ("expected", "acknowledged", "snoozed")  # states that do not count against D


FAIL_ON = {"error": ("error",), "warning": ("error", "warning")}  # --fail-on: what exits 1


def unexplained(findings: Iterable[Mapping[str, Any]], severity: str) -> int:
    """How many of a night's findings at `severity` nothing explains: the exit code's count."""
    return sum(1 for f in findings if f["severity"] == severity and f["state"] not in EXPLAINED)


def exit_code(
    findings: Sequence[Mapping[str, Any]], *, complete: bool, fail_on: str = "error"
) -> int:
    """0 when the books agree; 1 when unexplained findings at the `fail_on` severity (or
    above) say they do not, or when the night is incomplete and cannot show that they do."""
    if not complete:
        return 1
    return 1 if any(unexplained(findings, s) for s in FAIL_ON[fail_on]) else 0


HISTORY_FILE = "recon.duckdb"  # in [storage] data_dir
# The schema's own digest, kept in the file: a writer applies the schema once per version, not
# on every connection.
_SCHEMA = sql_text("history/schema.sql")
SCHEMA_DIGEST = hashlib.sha256(_SCHEMA.encode()).hexdigest()[:16]
# (table, column) of every `ADD COLUMN` in the schema: what a read-only reader needs.
_ADDED_COLUMNS = re.findall(r"ALTER TABLE (\w+) ADD COLUMN IF NOT EXISTS (\w+)", _SCHEMA)


def history_of(config: Config, *, read_only: bool = False) -> History:
    """The break history; `read_only` for readers that take no lock (`recon breaks`, `runs`,
    the notebook)."""
    return History(config.storage.data_dir / HISTORY_FILE, read_only=read_only)


class History:
    """`read_only`: for readers that hold no lock (a notebook): the file is opened read-only
    and never created or migrated, so reading cannot change what a nightly run writes."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only

    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if self.read_only and not self.path.exists():
            raise InputError(f"{self.path}: no break history yet; run `recon diff` first")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            con = duckdb.connect(str(self.path), read_only=self.read_only)
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            raise self._busy(exc) from None
        try:
            con.execute("SET TimeZone = 'UTC'")
            if self.read_only:
                self._require_current(con, "")
            else:
                _migrate(con)
            con.execute(sql_text("report/drift.sql"))
            con.execute(sql_text("history/open_before.sql"))
            yield con
        finally:
            con.close()

    def attach(self, con: duckdb.DuckDBPyConnection, alias: str) -> None:
        """Attach the history to another connection, read-only, as `alias`."""
        try:
            con.execute(f"ATTACH {sql_literal(str(self.path))} AS {alias} (READ_ONLY)")
        except (duckdb.IOException, duckdb.ResourceInUseException) as exc:
            raise self._busy(exc) from None
        self._require_current(con, f"{alias}.")

    def _busy(self, exc: duckdb.Error) -> ReconError:
        return ReconError(
            f"{self.path}: cannot open the break history (a nightly run may be writing it: "
            f"try again in a moment): {str(exc).splitlines()[0]}"
        )

    def _require_current(self, con: duckdb.DuckDBPyConnection, prefix: str) -> None:
        """A history read without migrating it must have the columns later versions added."""
        catalog = prefix.rstrip(".") or None
        for table, column in _ADDED_COLUMNS:
            [(present,)] = con.execute(
                "SELECT count(*) FROM duckdb_columns() WHERE table_name = $table "
                "AND column_name = $column AND ($catalog IS NULL OR database_name = $catalog)",
                {"table": table, "column": column, "catalog": catalog},
            ).fetchall()
            if not present:
                raise InputError(
                    f"{self.path}: written by an older recon (no {table}.{column}); any "
                    "command that writes it, such as `recon diff`, brings it up to date"
                )

    # -- a night ------------------------------------------------------------------------------

    def carried(self, day: date) -> list[Carried]:
        """The breaks open before `day` that `day` should look at again, each with the books'
        side its latest finding saw: the entry, its line and the export that line is in (the
        night's own when the finding names none)."""
        if not self.path.exists():
            return []
        with self.connect() as con:
            rows = queries.fetch(
                con, "history/carried.sql", {"day": day, "checks": list(CARRIED_CHECKS)}
            ).fetchall()
        return [Carried(*row) for row in rows]

    def open_orders(self, day: date, created_before: datetime) -> list[tuple[str, bool]]:
        """(order id, carried) of the orders created before `created_before` that a break
        open when `day` begins is about, in any state (acknowledged and snoozed breaks are
        still open), by order id. `carried` says whether one of its breaks is of a check that
        looks again every night, which a fresh status of the order can resolve.

        The order's age is the finding's `created_at`: a finding without one (a ledger entry
        Starship has no order for) names no order Starship could be asked about.
        """
        if not self.path.exists():
            return []
        with self.connect() as con:
            rows = queries.fetch(
                con,
                "history/open_orders.sql",
                {"day": day, "checks": list(CARRIED_CHECKS), "before": _naive(created_before)},
            ).fetchall()
        return [(order_id, bool(carried)) for order_id, carried in rows]

    def record(self, diff: Diff, started_at: datetime) -> None:
        """Store `diff` as its night's findings, replacing any earlier run of the same date."""
        day = diff.day
        with self.connect() as con:
            con.register("tonight", diff.findings)
            con.register("tonight_quarantine", diff.quarantine)
            con.execute("BEGIN TRANSACTION")
            try:
                queries.execute_script(
                    con,
                    "history/record.sql",
                    {
                        "day": day,
                        "checks": list(NIGHTLY_CHECKS),
                        "started": _naive(started_at),
                        "complete": diff.complete,
                        "counts": json.dumps(diff.counts, sort_keys=True),
                        "path": str(diff.ledger.path),
                        "totals": json.dumps(diff.totals, default=str),
                        "reconciliation": json.dumps(diff.reconciliation, sort_keys=True),
                        "incomplete": json.dumps(diff.incomplete),
                        "missing_exports": json.dumps(diff.missing_exports),
                        "wallets": json.dumps(diff.wallets, default=str),
                        "causes": json.dumps(diff.causes),
                        # the rows are written in the milliseconds that follow
                        "finished": _naive(datetime.now(UTC)),
                    },
                )
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def findings(self, day: date) -> pa.Table:
        """`day`'s findings with state, first_seen, age_hours, the analyst's note, and the
        drift and money at risk each one stands for (report/drift.sql)."""
        with self.connect() as con:
            return queries.relation(
                con, "history/states.sql", _day_parameters(day)
            ).to_arrow_table()

    def run(self, day: date) -> dict[str, Any] | None:
        """The record of `day`'s latest diff: when, complete or not, counts and totals."""
        if not self.path.exists():
            return None
        with self.connect() as con:
            rows = _dicts(queries.fetch(con, "history/run.sql", {"day": day}))
        if not rows:
            return None
        run = rows[0]
        run["counts"] = json.loads(run["counts"] or "{}")
        run["totals"] = json.loads(run["totals"] or "[]", parse_float=Decimal)
        run["reconciliation"] = json.loads(run["reconciliation"] or "{}")
        run["missing_exports"] = json.loads(run.get("missing_exports") or "[]")
        run["wallets"] = _wallets(run.get("wallets"))
        run["causes"] = json.loads(run.get("causes") or "[]")
        run["incomplete"] = json.loads(run["incomplete"] or "[]") or (
            [] if run["complete"] else ["an extraction was left incomplete"]  # older histories
        )
        return run

    def quarantine(self, day: date) -> list[dict[str, Any]]:
        """The input rows `day` could not use, in file order."""
        with self.connect() as con:
            return _dicts(queries.fetch(con, "history/quarantine.sql", {"day": day}))

    def trend(self, day: date, nights: int = 30) -> list[dict[str, Any]]:
        """The last `nights` diffed dates up to `day`, oldest first (history/trend.sql):
        findings per severity, the errors and warnings nothing explains, and the net drift per
        currency ({currency: Decimal}) of its findings (`drift`) and of those nothing explains
        (`unexplained_drift`)."""
        with self.connect() as con:
            rows = _dicts(queries.fetch(con, "history/trend.sql", {"day": day, "nights": nights}))
        for row in rows:
            row["drift"] = dict(row["drift"] or {})
            row["unexplained_drift"] = dict(row["unexplained_drift"] or {})
        return rows

    def canary(self, day: date) -> dict[str, Any]:
        """The canary's verdict on `day`: whether D-1 and D, the last 48 hours, each ran
        complete with no unexplained break at error severity (`met`), each night's figures,
        and the streak of such nights ending on D (`streak` nights, `since` its first); a
        night never diffed ends the streak, as it cannot show that the books agreed."""
        with self.connect() as con:
            rows = queries.fetch(con, "history/canary.sql", {"day": day}).fetchall()
        nights = {row[0]: {"complete": bool(row[1]), "unexplained": int(row[2])} for row in rows}

        def clean(night: date) -> bool:
            figures = nights.get(night)
            return figures is not None and bool(figures["complete"]) and figures["unexplained"] == 0

        streak, since = 0, None
        while clean(day - timedelta(days=streak)):
            since = day - timedelta(days=streak)
            streak += 1
        window = [day - timedelta(days=1), day]
        return {
            "met": all(clean(night) for night in window),
            "nights": [
                {"date": night, "diffed": night in nights, **nights.get(night, {})}
                for night in window
            ],
            "streak": streak,
            "since": since,
        }

    def resolved(self, day: date) -> list[dict[str, Any]]:
        """The breaks `day` resolved, each as its last finding (with the night it was seen)."""
        with self.connect() as con:
            return _dicts(queries.fetch(con, "history/resolved.sql", {"day": day}))

    def breaks(self, today: date | None = None) -> pa.Table:
        """Every break ever found, one row each (history/breaks.sql): state (open, expected,
        acknowledged, snoozed or resolved as of `today`, default the current date), first and
        last seen, nights, age and the analyst's latest note."""
        with self.connect() as con:
            return queries.relation(
                con, "history/breaks.sql", {"today": today or datetime.now(UTC).date()}
            ).to_arrow_table()

    def open_breaks(self) -> list[dict[str, Any]]:
        """Every break not resolved since it was last found, with its latest action."""
        if not self.path.exists():
            return []
        return [row for row in self.breaks().to_pylist() if row["state"] != "resolved"]

    # -- run attempts ---------------------------------------------------------------------------

    def begin_attempt(self, day: date, command: str) -> int:
        """Record that a run of `day` started; its attempt number, for `finish_attempt`.

        The caller holds the data directory's lock, so an attempt still `running` belongs to
        a process that was killed: it is marked so."""
        with self.connect() as con:
            queries.execute_script(con, "history/killed_attempts.sql", {})
            [(number,)] = queries.fetch(
                con,
                "history/begin_attempt.sql",
                {
                    "day": day,
                    "command": command,
                    "at": _naive(datetime.now(UTC)),
                    "host": socket.gethostname(),
                    "pid": os.getpid(),
                    "version": __version__,
                },
            ).fetchall()
        return int(number)

    def finish_attempt(
        self,
        number: int,
        *,
        status: str,
        exit_code: int,
        seconds: Mapping[str, float],
        error: str | None = None,
    ) -> None:
        with self.connect() as con:
            queries.execute_script(
                con,
                "history/finish_attempt.sql",
                {
                    "at": _naive(datetime.now(UTC)),
                    "status": status,
                    "code": exit_code,
                    "error": error,
                    "seconds": json.dumps({k: round(v, 3) for k, v in seconds.items()}),
                    "number": number,
                },
            )

    def attempts(self, limit: int = 50) -> list[dict[str, Any]]:
        """The latest run attempts, newest first."""
        if not self.path.exists():
            return []
        return self.attempts_table(limit).to_pylist()

    def attempts_table(self, limit: int = 50) -> pa.Table:
        with self.connect() as con:
            return queries.relation(con, "history/attempts.sql", {"limit": limit}).to_arrow_table()

    def diffed(self) -> set[date]:
        """The dates whose diff is recorded: the nights that have judged their ledger rows."""
        if not self.path.exists():
            return set()
        with self.connect() as con:
            return {row[0] for row in queries.fetch(con, "history/diffed.sql").fetchall()}

    def succeeded(self, since: date, until: date) -> set[date]:
        """The dates in [since, until] with a run that finished: the books agree or not, but
        the run did its work (exit code 0 or 1)."""
        if not self.path.exists():
            return set()
        with self.connect() as con:
            rows = queries.fetch(
                con, "history/succeeded.sql", {"since": since, "until": until}
            ).fetchall()
        return {row[0] for row in rows}

    # -- what analysts say ----------------------------------------------------------------------

    def act(
        self, break_id: str, action: str, *, note: str | None = None, until: date | None = None
    ) -> str:
        """Acknowledge, snooze or reopen a break (by id or a unique prefix); its full id."""
        check_action(action, note=note, until=until)
        wanted = break_id.strip().lower()
        if len(wanted) < MIN_PREFIX:  # `ack e` would acknowledge whichever break starts so
            raise InputError(
                f"{break_id!r}: a break id prefix needs at least {MIN_PREFIX} of its 12 characters"
            )
        if not self.path.exists():
            raise InputError(f"{self.path}: no break history yet; run `recon diff` first")
        with self.connect() as con:
            matches = [
                row[0]
                for row in queries.fetch(
                    con, "history/break_prefix.sql", {"prefix": wanted}
                ).fetchall()
            ]
            if len(matches) != 1:
                raise InputError(
                    f"no break {break_id!r} in {self.path}"
                    if not matches
                    else f"{break_id!r} is ambiguous: {', '.join(sorted(matches)[:5])}"
                )
            _record_action(con, matches[0], action, note, until)
        return matches[0]

    def act_all(self, actions: Iterable[tuple[str, str, str | None, date | None]]) -> int:
        """Record many (full break id, action, note, until) in one transaction, each checked as
        `act` checks one: all of them or, if any is refused, none. How many were recorded."""
        wanted = list(actions)
        for _, action, note, until in wanted:
            check_action(action, note=note, until=until)
        if not wanted:
            return 0
        with self.connect() as con:
            known = {
                row[0]
                for row in queries.fetch(
                    con, "history/known_breaks.sql", {"ids": [break_id for break_id, *_ in wanted]}
                ).fetchall()
            }
            unknown = [break_id for break_id, *_ in wanted if break_id not in known]
            if unknown:
                raise InputError(f"no break {unknown[0]!r} in {self.path}")
            con.execute("BEGIN TRANSACTION")
            try:
                for break_id, action, note, until in wanted:
                    _record_action(con, break_id, action, note, until)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return len(wanted)


def check_action(action: str, *, note: str | None = None, until: date | None = None) -> None:
    """InputError unless `action` with `note` and `until` is something an analyst may record:
    the one set of rules for `recon breaks ack|snooze|reopen`, the notebook and `apply`."""
    if action not in ACTIONS:
        raise InputError(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
    if action == "ack" and not (note and note.strip()):
        raise InputError("acknowledging a break needs a note saying why it is explained")
    if action == "snooze" and until is None:
        raise InputError("snoozing a break needs --until DATE")


def snooze_passed(until: date, today: date) -> str | None:
    """Why a snooze until `until` would do nothing on `today` (UTC), or None if it would not:
    1999-01-01 typed for 2099 hides nothing."""
    if until < today:
        return f"{until} has passed: a snooze lasts until today or later"
    return None


def _record_action(
    con: duckdb.DuckDBPyConnection,
    break_id: str,
    action: str,
    note: str | None,
    until: date | None,
) -> None:
    queries.execute_script(
        con,
        "history/action.sql",
        {
            "id": break_id,
            "action": action,
            "note": note.strip() if note else None,
            "until": until,
            "at": _naive(datetime.now(UTC)),
            "user": _user(),
        },
    )


MIN_PREFIX = 6  # of a break id's 12 characters, as `recon explain` asks


def _wallets(text: str | None) -> list[dict[str, Any]]:
    """The runs' `wallets` JSON (money and dates kept as text) typed as RUNWAY_SCHEMA."""
    wallets = json.loads(text or "[]")
    for wallet in wallets:
        for column in RUNWAY_SCHEMA:
            value = wallet.get(column.name)
            if value is not None and pa.types.is_decimal(column.type):
                wallet[column.name] = Decimal(value)
            elif value is not None and pa.types.is_date(column.type):
                wallet[column.name] = date.fromisoformat(value)
    return wallets


def _day_parameters(day: date) -> dict[str, Any]:
    return {"day": day, "day_end": _naive(Scope(day, 0).day_end)}


def _dicts(result: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [column[0] for column in result.description or []]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def _migrate(con: duckdb.DuckDBPyConnection) -> None:
    """Bring the file up to history/schema.sql, unless the file says it is at this version."""
    try:
        [(digest,)] = con.execute("SELECT digest FROM schema_version").fetchall()
    except (duckdb.CatalogException, ValueError):  # no such table yet, or not one row
        digest = None
    if digest == SCHEMA_DIGEST:
        return
    con.execute(_SCHEMA)
    con.execute(
        "CREATE OR REPLACE TABLE schema_version AS SELECT $digest AS digest",
        {"digest": SCHEMA_DIGEST},
    )


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"

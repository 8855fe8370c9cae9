"""The stages put together for one date, each reading what the one before wrote to disk.

night = pipeline.diff(config, date(2026, 4, 14))     # ledger + lake -> recon.duckdb
report, files = pipeline.report(config, day)         # recon.duckdb -> reports/D/
pipeline.email(config, day)                          # reports/D/ -> the finance inbox
done = pipeline.run(config, day)                     # extract, then all of the above
done.exit_code   # 0 the books agree, 1 unexplained breaks at error severity
pipeline.backfill(config, pipeline.missing_days(config, since, until))  # nights never run

Every `run` is recorded in the history's `attempts` table (status, exit code, seconds per
stage), which is how `backfill` knows which nights are missing. Callers that may overlap hold
`recon.lock.exclusive(data_dir, ...)` around these and `act`: the CLI and the notebook do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa

from recon import checks, mail, memory
from recon import report as reports
from recon.config import Config
from recon.errors import ConfigError, Interrupted, ReconError
from recon.extract import ExtractResult, Progress, window_start
from recon.extract import extract as extract_lake
from recon.history import exit_code, history_of, unexplained
from recon.queries import timed
from recon.starship.client import StarshipClient


@dataclass
class Night:
    """D's diff, placed in the break history."""

    diff: checks.Diff
    findings: pa.Table  # with state, first_seen, age_hours and note (history.states.sql)
    resolved: list[dict[str, Any]]
    fail_on: str = "error"  # the severity that makes the exit code 1 (history.FAIL_ON)

    @property
    def day(self) -> date:
        return self.diff.day

    def unexplained(self, severity: str = "error") -> int:
        return unexplained(self.findings.select(["severity", "state"]).to_pylist(), severity)

    @property
    def exit_code(self) -> int:
        rows = self.findings.select(["severity", "state"]).to_pylist()
        return exit_code(rows, complete=self.diff.complete, fail_on=self.fail_on)

    def summary(self) -> list[str]:
        c = self.diff.counts
        states = self.findings.column("state").to_pylist()
        lines = [
            f"recon diff {self.day}: {c['ledger_rows']} ledger rows ({c['ledger_matched']} "
            f"matched, {c['ledger_reported']} reported, {c['quarantined']} quarantined); "
            f"{c['starship_orders']} Starship orders ({c['starship_matched']} matched, "
            f"{c['starship_reported']} reported)",
        ]
        # before anything else: most of what follows may be this one setting
        lines.extend(
            f"  LIKELY CAUSE ({cause['key']}): {cause['text']}" for cause in self.diff.causes
        )
        if c.get("earlier_exports") or c.get("ledger_reversals") or c.get("later_exports"):
            later = c.get("later_exports", 0)
            lines.append(
                f"  ledger memory: {c.get('earlier_exports', 0)} earlier export(s) of the window"
                + (f" and {later} later one(s)" if later else "")
                + f"; {c.get('ledger_reversals', 0)} reversal(s) of D matched to their sale"
            )
        lines.extend(f"  INCOMPLETE: {reason}" for reason in self.diff.incomplete)
        if self.diff.missing_exports:
            lines.append(f"  {reports.missing_exports_note(self.diff.missing_exports, c)}")
        if not states:
            lines.append("  the books agree: no findings")
        by_state = Counter(zip(self.findings.column("check").to_pylist(), states, strict=True))
        for check, count in self.diff.by_check().items():
            if count:
                kinds = ", ".join(
                    f"{by_state[check, state]} {state}"
                    for state in sorted({s for c, s in by_state if c == check})
                )
                lines.append(f"  {check:<24} {count:>6}  ({kinds})")
        if self.resolved:
            lines.append(f"  resolved since the night before: {len(self.resolved)}")
        errors = self.unexplained("error")
        lines.append(
            f"  {errors} unexplained break(s) at error severity"
            if errors
            else "  nothing unexplained at error severity"
        )
        return lines


def extract(
    config: Config,
    day: date,
    *,
    client: StarshipClient | None = None,
    progress: Progress | None = None,
) -> ExtractResult:
    """`recon extract --date D`: D's partitions of the lake, with the older orders that open
    breaks are about read again."""
    return extract_lake(
        config, day, client=client, progress=progress, open_orders=open_orders(config, day)
    )


def open_orders(config: Config, day: date) -> list[tuple[str, bool]]:
    """(order id, carried) of the orders older than D's window that breaks open when D begins
    are about: what D's extraction reads again."""
    return history_of(config).open_orders(day, window_start(config, day))


def diff(config: Config, day: date, fail_on: str = "error") -> Night:
    """Ingest D's ledger, run every check against the lake, and record the night."""
    started = datetime.now(UTC)
    history = history_of(config)
    with checks.connect(config) as con:
        result = checks.run(con, config, day, carried=history.carried(day), diffed=history.diffed())
    with timed(result.seconds, "history (record, states)"):
        history.record(result, started)
        night = Night(result, history.findings(day), history.resolved(day), fail_on)
    return night


def act(
    config: Config,
    break_id: str,
    action: str,
    *,
    note: str | None = None,
    until: date | None = None,
) -> str:
    """Acknowledge, snooze or reopen a break (by id or a unique prefix): its full id."""
    return history_of(config).act(break_id, action, note=note, until=until)


def report(
    config: Config, day: date, fail_on: str = "error"
) -> tuple[reports.Report, reports.ReportFiles]:
    """Write D's report files from the break history (D must have been diffed)."""
    model = reports.build(history_of(config), day, fail_on)
    return model, reports.write(model, config.report.out_dir)


def email(config: Config, day: date) -> list[str]:
    """Send D's written report to `[email] to`; the recipients. MailError if it fails."""
    if config.email is None:
        raise mail.MailError(
            f"{config.source or 'the configuration'} has no [email] section: nothing to send to"
        )
    files = reports.ReportFiles(config.report.out_dir / day.isoformat())
    mail.send(mail.compose(files, config.email), config.email)
    return list(config.email.to)


@dataclass
class Run:
    """One night of `recon run`: what each stage did, and how long it took."""

    extraction: ExtractResult
    night: Night
    report: reports.Report
    files: reports.ReportFiles
    emailed_to: list[str]
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return self.report.exit_code

    @property
    def status(self) -> str:
        """How the run ended, for the attempts table: agree, breaks or incomplete."""
        if not self.report.complete:
            return "incomplete"
        return "breaks" if self.exit_code else "agree"

    def lines(self) -> list[str]:
        sent = f"e-mailed to {', '.join(self.emailed_to)}" if self.emailed_to else "not e-mailed"
        return [
            *self.extraction.summary(),
            *self.night.summary(),
            f"report: {self.files.html}",
            f"  {self.report.verdict}; {sent}",
        ]


def run(
    config: Config,
    day: date,
    *,
    progress: Progress | None = None,
    send: bool = True,
    fail_on: str = "error",
    command: str = "run",
) -> Run:
    """Extract D, diff it, write its report and e-mail it when `[email]` is configured.

    The attempt is recorded whatever happens: a failure with its message and exit code.
    """
    history = history_of(config)
    attempt = history.begin_attempt(day, command)
    seconds: dict[str, float] = {}
    try:
        # Before the API is asked anything: a night whose exports stopped coming fails at once
        # (and `backfill` tries it again the next night) instead of after a full extraction. A
        # night without its own export (a weekend) runs with the exports it has.
        memory.missing_exports(config.ledger, day)
        with timed(seconds, "extract"):
            extraction = extract(config, day, progress=progress)
        with timed(seconds, "diff"):
            night = diff(config, day, fail_on)
        with timed(seconds, "report"):
            model, files = report(config, day, fail_on)
        emailed: list[str] = []
        if send and config.email is not None:
            with timed(seconds, "email"):
                emailed = email(config, day)
    except BaseException as error:
        code = (
            error.exit_code
            if isinstance(error, ReconError)
            else Interrupted.exit_code
            if isinstance(error, KeyboardInterrupt)
            else 2
        )
        message = str(error) or type(error).__name__
        history.finish_attempt(
            attempt, status="failed", exit_code=code, seconds=seconds, error=message
        )
        raise
    done = Run(extraction, night, model, files, emailed, seconds)
    history.finish_attempt(attempt, status=done.status, exit_code=done.exit_code, seconds=seconds)
    return done


@dataclass
class Backfilled:
    """One date `backfill` ran: its exit code and a line to show (the verdict or the error)."""

    day: date
    exit_code: int
    line: str


def missing_days(config: Config, since: date, until: date) -> list[date]:
    """The dates in [since, until], oldest first, with no run that finished 0 or 1."""
    if since > until:
        raise ConfigError(f"--since {since} is after --until {until}: nothing to run")
    done = history_of(config).succeeded(since, until)
    span = (until - since).days + 1
    return [d for d in (since + timedelta(days=n) for n in range(span)) if d not in done]


def backfill(
    config: Config,
    days: list[date],
    *,
    send: bool = True,
    fail_on: str = "error",
    progress: Progress | None = None,
    each: Callable[[Backfilled], None] | None = None,
) -> list[Backfilled]:
    """`run` each of `days` in order: `backfill(config, missing_days(config, since, until))`.

    A date that fails is recorded and the next one is tried (one bad ledger export should
    not hold back the nights after it); a configuration error stops at once, since every
    date would fail the same way.
    """
    outcomes = []
    for day in days:
        try:
            done = run(
                config, day, progress=progress, send=send, fail_on=fail_on, command="backfill"
            )
            outcome = Backfilled(day, done.exit_code, done.report.verdict)
        except ConfigError:
            raise
        except ReconError as error:
            outcome = Backfilled(day, error.exit_code, f"failed: {error}")
        outcomes.append(outcome)
        if each:
            each(outcome)
    return outcomes

"""The stages put together for one date, each reading what the one before wrote to disk.

night = pipeline.diff(config, date(2026, 4, 14))     # ledger + lake -> recon.duckdb
report, files = pipeline.report(config, day)         # recon.duckdb -> reports/D/
pipeline.email(config, day)                          # reports/D/ -> the finance inbox
done = pipeline.run(config, day)                     # extract, then all of the above
done.exit_code   # 0 the books agree, 1 unexplained breaks at error severity
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import pyarrow as pa

from recon import checks, mail
from recon import report as reports
from recon.config import Config
from recon.extract import ExtractResult, Progress
from recon.extract import extract as extract_lake
from recon.history import History, unexplained


@dataclass
class Night:
    """D's diff, placed in the break history."""

    diff: checks.Diff
    findings: pa.Table  # with state, first_seen, age_hours and note (history.states.sql)
    resolved: list[dict[str, Any]]

    @property
    def day(self) -> date:
        return self.diff.day

    def unexplained(self, severity: str = "error") -> int:
        return unexplained(self.findings.select(["severity", "state"]).to_pylist(), severity)

    @property
    def exit_code(self) -> int:
        return 1 if self.unexplained("error") else 0

    def summary(self) -> list[str]:
        c = self.diff.counts
        states = self.findings.column("state").to_pylist()
        lines = [
            f"recon diff {self.day}: {c['ledger_rows']} ledger rows ({c['ledger_matched']} "
            f"matched, {c['ledger_reported']} reported, {c['quarantined']} quarantined); "
            f"{c['starship_orders']} Starship orders ({c['starship_matched']} matched, "
            f"{c['starship_reported']} reported)",
        ]
        if not self.diff.complete:
            lines.append("  INCOMPLETE: a partition read was not extracted completely")
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


def history_of(config: Config) -> History:
    return History(config.storage.data_dir / "recon.duckdb")


def diff(config: Config, day: date) -> Night:
    """Ingest D's ledger, run every check against the lake, and record the night."""
    started = datetime.now(UTC)
    history = history_of(config)
    with duckdb.connect() as con:
        result = checks.run(con, config, day, carried=history.carried(day))
    history.record(result, started)
    return Night(result, history.findings(day), history.resolved(day))


def report(config: Config, day: date) -> tuple[reports.Report, reports.ReportFiles]:
    """Write D's report files from the break history (D must have been diffed)."""
    model = reports.build(history_of(config), day)
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
    """One night of `recon run`: what each stage did."""

    extraction: ExtractResult
    night: Night
    report: reports.Report
    files: reports.ReportFiles
    emailed_to: list[str]

    @property
    def exit_code(self) -> int:
        return self.report.exit_code

    def lines(self) -> list[str]:
        sent = f"e-mailed to {', '.join(self.emailed_to)}" if self.emailed_to else "not e-mailed"
        return [
            *self.extraction.summary(),
            *self.night.summary(),
            f"report: {self.files.html}",
            f"  {self.report.verdict}; {sent}",
        ]


def run(config: Config, day: date, *, progress: Progress | None = None, send: bool = True) -> Run:
    """Extract D, diff it, write its report and e-mail it when `[email]` is configured."""
    extraction = extract_lake(config, day, progress=progress)
    night = diff(config, day)
    model, files = report(config, day)
    emailed = email(config, day) if send and config.email is not None else []
    return Run(extraction, night, model, files, emailed)

"""The stages put together for one date: diff now; report, e-mail and run as they land.

night = pipeline.diff(config, date(2026, 4, 14))
night.exit_code   # 0 the books agree, 1 unexplained breaks at error severity
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import pyarrow as pa

from recon import checks
from recon.config import Config
from recon.history import History

EXPLAINED = ("expected", "acknowledged", "snoozed")


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
        rows = zip(
            self.findings.column("severity").to_pylist(),
            self.findings.column("state").to_pylist(),
            strict=True,
        )
        return sum(1 for sev, state in rows if sev == severity and state not in EXPLAINED)

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

"""Date D's report, from the break history: what a finance analyst reads at 8 am.

    report = build(history, date(2026, 4, 14))   # the model: computed here, only formatted later
    files = write(report, Path("reports"))        # reports/2026-04-14/, replaced atomically

`D/` holds the output contract (docs/design.md, The finding columns), `report.html` (the e-mail
body), `discrepancies.csv`, `summary.json` and `quarantine.csv`, plus `report.txt`, the e-mail's
plain-text part, and `discrepancies.xlsx` (recon/sheet.py: the same findings, typed, for `recon
breaks apply`). The templates in `reports/templates/` only format: every figure is computed here.
Partner references and API strings are hostile input, so HTML is autoescaped and every CSV text cell
that a spreadsheet would read as a formula is neutralised.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

from recon import __version__
from recon.checks import CheckText, describe
from recon.errors import InputError
from recon.history import EXPLAINED, History, exit_code, unexplained
from recon.money import amount_text
from recon.resources import resource_dir
from recon.strings import clip, neutral
from recon.vocabulary import CSV_COLUMNS, MONEY_COLUMNS, QUARANTINE_COLUMNS, SEVERITY, STATES

# Gmail clips a message whose HTML passes 102 KB, hiding the rest behind a link; the report
# keeps under this, showing fewer rows per check until it fits (the CSV has them all).
EMAIL_BYTES = 100_000
ROWS_PER_CHECK = (25, 10, 5, 3, 1, 0)
TREND_NIGHTS = 30
# The trend's bars, drawn with table cells and divs (every mail client renders them): the
# tallest night's unexplained breaks, and each currency's largest drift either side of zero.
TREND_BREAKS_PX = 40
TREND_DRIFT_PX = 12
# the alerts Starship asks an integration for (docs/starship-api.md, Integration journey)
ALERT_CHECKS = ("stuck_pending", "low_wallet_balance", "wallet_runway")

# OWASP's rule for CSV injection: a text cell starting with one of these is a formula to a
# spreadsheet; a leading apostrophe makes it text again.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Section:
    """One check's open breaks, most money first; `shown` of them fit in the e-mail."""

    check: str
    severity: str
    text: CheckText
    rows: list[dict[str, Any]]
    shown: int

    @property
    def more(self) -> int:
        return len(self.rows) - self.shown


@dataclass
class Report:
    day: date
    run: dict[str, Any]  # History.run: counts, totals, complete, timings, ledger path
    findings: list[dict[str, Any]]  # every finding of D, in reading order
    resolved: list[dict[str, Any]]
    quarantine: list[dict[str, Any]]
    trend: list[dict[str, Any]]  # History.trend, oldest night first
    generated_at: datetime
    fail_on: str = "error"  # the severity that makes the exit code 1 (history.FAIL_ON)
    canary: dict[str, Any] = field(default_factory=dict)  # History.canary

    # -- the wallets ---------------------------------------------------------------------------

    @property
    def wallets(self) -> list[dict[str, Any]]:
        """Each currency's balance at the end of D, its spend and how long the balance lasts
        (setup/runway.sql), as the night recorded them."""
        return list(self.run.get("wallets") or [])

    @property
    def canary_note(self) -> str:
        """The canary's 48-hour exit criterion, in one sentence: 'Canary met: no unexplained
        break on 2026-04-13 or 2026-04-14; none for 5 nights in a row, since 2026-04-10.'"""
        if not self.canary:
            return ""
        before, tonight = self.canary["nights"]
        if self.canary["met"]:
            text = f"Canary met: no unexplained break on {before['date']} or {tonight['date']}"
            streak = self.canary["streak"]
            if streak > 2:
                text += f"; none for {streak} nights in a row, since {self.canary['since']}"
            return text + "."
        why = [note for note in map(_night_note, (tonight, before)) if note]
        return "Canary not met (48 hours without an unexplained break): " + "; ".join(why) + "."

    # -- the verdict --------------------------------------------------------------------------

    @property
    def causes(self) -> list[dict[str, Any]]:
        """The setting most of the night's breaks point to, if any (recon.causes): cause, key,
        rows, text."""
        return list(self.run.get("causes") or [])

    @property
    def missing_exports(self) -> list[dict[str, str]]:
        """The night's own ledger export and the days before it in a row without one."""
        return list(self.run.get("missing_exports") or [])

    @property
    def open(self) -> list[dict[str, Any]]:
        return [f for f in self.findings if f["state"] not in EXPLAINED]

    @property
    def explained(self) -> list[dict[str, Any]]:
        return [f for f in self.findings if f["state"] in EXPLAINED]

    def unexplained(self, severity: str) -> int:
        return unexplained(self.findings, severity)

    @property
    def agree(self) -> bool:
        return self.unexplained("error") == 0

    @property
    def exit_code(self) -> int:
        return exit_code(self.findings, complete=self.complete, fail_on=self.fail_on)

    @property
    def complete(self) -> bool:
        return bool(self.run.get("complete", True))

    @property
    def incomplete(self) -> list[str]:
        """Why rows may be missing (empty when the night is complete)."""
        return list(self.run.get("incomplete") or [])

    @property
    def reconciliation_note(self) -> str:
        """One sentence on Starship's own reconciliation of D, the control total."""
        control = self.run.get("reconciliation") or {}
        status, ours = control.get("status"), control.get("recon") or {}
        counts = f"{ours.get('orders_total')} orders, {ours.get('vouchers_allocated')} vouchers"
        if status == "available" and control.get("ties") is not None:
            ties = "ties to" if control["ties"] else "does NOT tie to"
            return f"Starship's own reconciliation {ties} what recon extracted ({counts})."
        if status == "available":
            return "Starship's own reconciliation answered without counts to compare."
        if status == "unreadable":
            return "Starship's own reconciliation could not be read."
        return "Starship's own reconciliation (GET /reconciliation) is not available yet."

    @property
    def net_drift(self) -> dict[str, Decimal]:
        """Ledger minus Starship per currency, over the open breaks that move the books."""
        return _sum_by_currency(self.open, "drift")

    @property
    def at_risk(self) -> dict[str, Decimal]:
        return _sum_by_currency(self.open, "at_risk")

    @property
    def verdict(self) -> str:
        """'Books agree', or 'N breaks, net drift USD -12.34, EUR 0.05'."""
        errors, warnings = self.unexplained("error"), self.unexplained("warning")
        if errors:
            text = _plural(errors, "break")
            drift = ", ".join(f"{c} {amount_text(v, c)}" for c, v in self.net_drift.items() if v)
            if drift:
                text += f", net drift {drift}"
        else:
            text = "Books agree"
        if warnings:
            text += f"; {_plural(warnings, 'warning')}"
        if self.causes:
            keys = ", ".join(dict.fromkeys(cause["key"] for cause in self.causes))
            text = f"Likely a setting ({keys}): {text}"
        if not self.complete:
            text = "INCOMPLETE: " + text
        if self.missing_exports:
            text += "; " + missing_exports_note(self.missing_exports, self.run.get("counts", {}))
        return text

    # -- what the report lists ----------------------------------------------------------------

    def states(self) -> Counter[str]:
        return Counter(f["state"] for f in self.findings)

    def by_check(self) -> dict[str, Counter[str]]:
        """{check: Counter of states}, every check of the vocabulary, in its order."""
        counts: dict[str, Counter[str]] = {check: Counter() for check in SEVERITY}
        for f in self.findings:
            counts[f["check"]][f["state"]] += 1
        return counts

    def sections(self, rows_per_check: int) -> list[Section]:
        """A section per check with open breaks; the alerts first, then the vocabulary's order."""
        grouped: dict[str, list[dict[str, Any]]] = {}
        for f in self.open:
            grouped.setdefault(f["check"], []).append(f)
        order = [*ALERT_CHECKS, *(c for c in SEVERITY if c not in ALERT_CHECKS)]
        return [
            Section(
                check,
                SEVERITY[check],
                describe(check),
                grouped[check],
                min(len(grouped[check]), rows_per_check),
            )
            for check in order
            if check in grouped
        ]

    def summary(self) -> dict[str, Any]:
        """summary.json: counts per check, matches, totals and drift per currency, inputs, run."""
        counts = self.run.get("counts", {})
        by_check = self.by_check()
        drift, risk = self.net_drift, self.at_risk
        currencies: dict[str, dict[str, Any]] = {}
        for total in self.run.get("totals", []):
            currency = total["currency"]
            currencies[currency] = {
                "starship_orders": int(total["starship_orders"] or 0),
                "starship_total": _money(total["starship_total"], currency),
                "ledger_entries": int(total["ledger_entries"] or 0),
                "ledger_total": _money(total["ledger_total"], currency),
            }
        for currency in sorted({*currencies, *drift, *risk}):
            entry = currencies.setdefault(currency, {})
            entry["net_drift"] = _money(drift.get(currency, Decimal(0)), currency)
            entry["at_risk"] = _money(risk.get(currency, Decimal(0)), currency)
        return {
            "date": self.day.isoformat(),
            "verdict": self.verdict,
            "likely_causes": self.causes,
            "canary": _canary_summary(self.canary),
            "wallets": {w["currency"]: _wallet_summary(w) for w in self.wallets},
            "agree": self.agree,
            "exit_code": self.exit_code,
            "complete": self.complete,
            "incomplete": self.incomplete,
            "missing_exports": self.missing_exports,
            "breaks": self.unexplained("error"),
            "warnings": self.unexplained("warning"),
            "findings": len(self.findings),
            "states": _all_states(self.states()),
            "resolved": len(self.resolved),
            "checks": {
                check: {
                    "severity": SEVERITY[check],
                    "findings": sum(states.values()),
                    **_all_states(states),
                }
                for check, states in by_check.items()
            },
            "matched": {
                "ledger_rows": counts.get("ledger_matched", 0),
                "starship_orders": counts.get("starship_matched", 0),
            },
            "inputs": {
                "ledger_file": self.run.get("ledger_path"),
                "ledger_rows": counts.get("ledger_rows", 0),
                "ledger_reported": counts.get("ledger_reported", 0),
                "quarantined": counts.get("quarantined", 0),
                "starship_orders": counts.get("starship_orders", 0),
                "starship_reported": counts.get("starship_reported", 0),
            },
            "currencies": dict(sorted(currencies.items())),
            "reconciliation": self.run.get("reconciliation") or {},
            "run": {
                "recon_version": __version__,
                "diff_started_at": _instant(self.run.get("started_at")),
                "diff_finished_at": _instant(self.run.get("finished_at")),
                "report_generated_at": _instant(self.generated_at),
            },
        }


_CHECK_ORDER = {check: n for n, check in enumerate(SEVERITY)}


def finding_order(finding: dict[str, Any]) -> tuple[int, Decimal | int, float | int]:
    """The report's order: by check, then the most money at risk, then the oldest."""
    return (
        _CHECK_ORDER[finding["check"]],
        -(finding["at_risk"] or 0),
        -(finding["age_hours"] or 0),
    )


def build(history: History, day: date, fail_on: str = "error") -> Report:
    """D's report model from `history`; InputError if D has not been diffed."""
    run = history.run(day)
    if run is None:
        raise InputError(
            f"{history.path}: no diff recorded for {day}; run `recon diff --date {day}` first"
        )
    findings = sorted(history.findings(day).to_pylist(), key=finding_order)
    return Report(
        day=day,
        run=run,
        findings=findings,
        resolved=history.resolved(day),
        quarantine=history.quarantine(day),
        trend=history.trend(day, TREND_NIGHTS),
        generated_at=datetime.now(UTC),
        fail_on=fail_on,
        canary=history.canary(day),
    )


# -- rendering ------------------------------------------------------------------------------


def _shown(value: Any) -> Any:
    """What a template prints of `value`: a string with its bidi controls made visible (a
    string already marked safe stays safe; HTML escaping comes after this)."""
    if isinstance(value, markupsafe.Markup):
        return markupsafe.Markup(neutral(str(value)))
    return neutral(value) if isinstance(value, str) else value


@cache
def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(resource_dir("templates")),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # every value shown: its bidi controls visible (HTML escaping comes after)
        finalize=_shown,
    )
    env.filters["clip"] = clip
    env.filters["money"] = display_money
    env.filters["age"] = display_age
    env.filters["basename"] = lambda path: Path(path).name
    env.filters["plural"] = _plural
    return env


def render_html(report: Report) -> str:
    """The e-mail body, with as many rows per check as keep it under Gmail's clipping size."""
    template = _templates().get_template("report.html.j2")
    context = _context(report)
    for rows in ROWS_PER_CHECK:
        html = template.render(**_showing(context, rows))
        if len(html.encode("utf-8")) <= EMAIL_BYTES:
            return html
    return html  # only the summary is left: the CSV carries the rows


def render_text(report: Report) -> str:
    template = _templates().get_template("report.txt.j2")
    return template.render(**_showing(_context(report), 10))


def _context(report: Report) -> dict[str, Any]:
    """Everything the templates show, each figure computed once (a night may have 100,000
    findings, and the HTML may be rendered several times to fit)."""
    return {
        "r": report,
        "verdict": report.verdict,
        "at_risk": report.at_risk,
        "explained": report.explained,
        "sections": report.sections(0),
        "by_check": report.by_check(),
        "states": report.states(),
        "chart": trend_chart(report.trend),
        "ledger_name": Path(report.run.get("ledger_path") or "").name,
        "severity": SEVERITY,
        "version": __version__,
        "alerts": ALERT_CHECKS,
        "wallets_by_currency": {w["currency"]: w for w in report.wallets},
    }


def trend_chart(trend: list[dict[str, Any]]) -> dict[str, Any]:
    """The trend's bar heights in px, computed here so the template only draws them: per night
    its unexplained errors and warnings (one scale for the whole window) and the net drift of
    its unexplained findings per currency (signed; each currency scaled to its own largest
    night, as a yen and a dinar share no scale). Any break or drift gets a bar one can see."""
    most = max((n["unexplained_errors"] + n["unexplained_warnings"] for n in trend), default=0)
    drifts = [night["unexplained_drift"] for night in trend]
    currencies = sorted({currency for drift in drifts for currency in drift})
    largest = {c: max(abs(drift.get(c, Decimal(0))) for drift in drifts) for c in currencies}
    return {
        "currencies": currencies,
        "nights": [
            {
                "error": _bar(night["unexplained_errors"], most, TREND_BREAKS_PX),
                "warning": _bar(night["unexplained_warnings"], most, TREND_BREAKS_PX),
                "drift": {
                    c: _bar(drift.get(c, Decimal(0)), largest[c], TREND_DRIFT_PX)
                    for c in currencies
                },
            }
            for night, drift in zip(trend, drifts, strict=True)
        ],
    }


def _bar(value: Decimal | int, most: Decimal | int, height: int) -> int:
    """`value`'s bar out of `height` px for the largest, `most`; signed, at least 2 px."""
    if not value or not most:
        return 0
    px = max(2, round(abs(Decimal(value) * height / Decimal(most))))
    return px if value > 0 else -px


def _showing(context: dict[str, Any], rows_per_check: int) -> dict[str, Any]:
    sections = [replace(s, shown=min(len(s.rows), rows_per_check)) for s in context["sections"]]
    return {**context, "sections": sections, "rows_per_check": rows_per_check}


def display_money(amount: Decimal | None, currency: str | None = None, sign: bool = False) -> str:
    """'1,234.50' with the currency's decimals (more if the amount has more); '' for none."""
    if amount is None:
        return ""
    text = amount_text(amount, currency)
    whole, dot, fraction = text.lstrip("-").partition(".")
    grouped = f"{int(whole):,}" + dot + fraction
    if amount < 0:
        return "\u2212" + grouped  # a real minus sign: a hyphen wraps and reads as a dash
    return ("+" + grouped) if sign and amount > 0 else grouped


def display_age(hours: Decimal | float | None) -> str:
    """'5 h', '3 d 4 h'."""
    if hours is None:
        return ""
    whole = int(hours)
    days, rest = divmod(whole, 24)
    return f"{days} d {rest} h" if days else f"{rest} h"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


# -- files ----------------------------------------------------------------------------------


@dataclass
class ReportFiles:
    folder: Path

    @property
    def html(self) -> Path:
        return self.folder / "report.html"

    @property
    def text(self) -> Path:
        return self.folder / "report.txt"

    @property
    def discrepancies(self) -> Path:
        return self.folder / "discrepancies.csv"

    @property
    def workbook(self) -> Path:
        return self.folder / "discrepancies.xlsx"

    @property
    def summary(self) -> Path:
        return self.folder / "summary.json"

    @property
    def quarantine(self) -> Path:
        return self.folder / "quarantine.csv"


def write(report: Report, out_dir: Path) -> ReportFiles:
    """Write D's files into a fresh folder beside `out_dir/D`, then swap it in: a reader sees
    the old set or the new one, never a mix, and a re-run replaces rather than adds."""
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{report.day}.", dir=out_dir))
    try:
        files = ReportFiles(staging)
        files.html.write_text(render_html(report), encoding="utf-8")
        files.text.write_text(render_text(report), encoding="utf-8")
        files.discrepancies.write_text(discrepancies_csv(report), encoding="utf-8", newline="")
        files.quarantine.write_text(quarantine_csv(report), encoding="utf-8", newline="")
        from recon.sheet import write_workbook  # openpyxl-free until a workbook is written

        write_workbook(report, files.workbook)
        files.summary.write_text(
            json.dumps(report.summary(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        target = out_dir / report.day.isoformat()
        _swap(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ReportFiles(target)


def _swap(staging: Path, target: Path) -> None:
    if not target.exists():
        os.replace(staging, target)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
    os.replace(target, retired / target.name)
    os.replace(staging, target)
    shutil.rmtree(retired, ignore_errors=True)


def discrepancies_csv(report: Report) -> str:
    return _csv(CSV_COLUMNS, (_csv_finding(f) for f in report.findings))


def quarantine_csv(report: Report) -> str:
    return _csv(
        QUARANTINE_COLUMNS,
        ([text_cell(row[c]) for c in QUARANTINE_COLUMNS] for row in report.quarantine),
    )


def _csv_finding(finding: dict[str, Any]) -> list[str]:
    currency = finding["currency"]
    cells = []
    for column in CSV_COLUMNS:
        value = finding.get(column)
        if value is None:
            cells.append("")
        elif column in MONEY_COLUMNS:  # a number: never neutralised, so it stays numeric
            cells.append(amount_text(value, currency))
        elif column == "created_at":
            cells.append(_instant(value) or "")
        elif column == "age_hours":
            cells.append(f"{Decimal(str(value)).normalize():f}")
        else:
            cells.append(text_cell(value))
    return cells


def _csv(columns: Iterable[str], rows: Iterable[list[str]]) -> str:
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\r\n")
    out.writerow(columns)
    out.writerows(rows)
    return buffer.getvalue()


def text_cell(value: Any) -> str:
    """A text cell a spreadsheet will not run: OWASP's leading apostrophe before a formula."""
    if value is None:
        return ""
    text = neutral(value.isoformat() if isinstance(value, date) else str(value))
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


# -- small helpers --------------------------------------------------------------------------


def _all_states(counts: Counter[str]) -> dict[str, int]:
    """Every state, zero or not, so a script can read any of them without a default."""
    return {state: counts[state] for state in STATES}


def _sum_by_currency(findings: list[dict[str, Any]], column: str) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for f in findings:
        if f[column] is not None and f["currency"]:
            totals[f["currency"]] = totals.get(f["currency"], Decimal(0)) + f[column]
    return dict(sorted(totals.items()))


def _money(value: Any, currency: str) -> str | None:
    return None if value is None else amount_text(Decimal(str(value)), currency)


def _instant(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z; the history keeps naive UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _night_note(night: dict[str, Any]) -> str:
    """Why one night of the canary's window does not count as clean ('' when it does)."""
    if not night["diffed"]:
        return f"{night['date']} was not reconciled"
    if night["unexplained"]:
        return f"{_plural(night['unexplained'], 'unexplained break')} on {night['date']}"
    if not night["complete"]:
        return f"{night['date']} is incomplete"
    return ""


def _canary_summary(canary: dict[str, Any]) -> dict[str, Any]:
    """summary.json's `canary`: dates as ISO text."""
    if not canary:
        return {}
    return {
        "met": canary["met"],
        "nights": [{**night, "date": night["date"].isoformat()} for night in canary["nights"]],
        "streak": canary["streak"],
        "since": canary["since"].isoformat() if canary["since"] else None,
    }


def _wallet_summary(wallet: dict[str, Any]) -> dict[str, Any]:
    """summary.json's figures of one wallet: money with its currency's decimals, as text."""
    currency = wallet["currency"]
    return {
        "balance": _money(wallet["balance"], currency),
        "spent": _money(wallet["spent"], currency),
        "rate_days": wallet["rate_days"],
        "daily_spend": _money(wallet["daily_spend"], currency),
        "days_left": None if wallet["days_left"] is None else str(wallet["days_left"]),
        "runs_out": wallet["runs_out"].isoformat() if wallet["runs_out"] else None,
        "floor": _money(wallet["floor"], currency),
        "short": bool(wallet["short"]),
    }


def missing_exports_note(missing: list[dict[str, str]], counts: dict[str, Any]) -> str:
    """'no ledger export for 2026-11-07 yet (ledger-2026-11-07.csv): 12 orders await it'."""
    days = missing[0]["date"]
    if len(missing) > 1:
        days += f" to {missing[-1]['date']}"
    names = ", ".join(Path(m["path"]).name for m in missing)
    awaiting = int(counts.get("awaiting_export", 0))
    return (
        f"no ledger export for {days} yet ({names}): "
        f"{_plural(awaiting, 'order')} await{'s' if awaiting == 1 else ''} it"
    )

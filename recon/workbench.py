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
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from recon import config as configs
from recon import explain, ledger, memory, pipeline, sheet
from recon.config import Config
from recon.errors import InputError
from recon.explain import Explanation
from recon.frames import dataframe, scratch
from recon.history import history_of
from recon.lake import Lake
from recon.lock import exclusive
from recon.report import finding_order
from recon.resources import sql_literal
from recon.vocabulary import AMOUNT, CSV_COLUMNS, QUARANTINE_SCHEMA, RUNWAY_SCHEMA

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
        return dataframe(pa.Table.from_pylist(rows, table.schema))

    def quarantine(self, day: Day) -> pd.DataFrame:
        """The input rows D could not use, with their reason: quarantine.csv."""
        night = _day(day)
        self._require_diffed(night)
        rows = self.history.quarantine(night)
        return dataframe(pa.Table.from_pylist(rows, QUARANTINE_SCHEMA))

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
        run["totals"] = dataframe(pa.Table.from_pylist(totals, _TOTALS))
        run["wallets"] = self.runway(day)
        run["canary"] = self.history.canary(_day(day))
        return run

    def runway(self, day: Day) -> pd.DataFrame:
        """Each wallet at the end of D, as the night's diff found it (the report's wallet
        panel): `balance`, `spent` (net, over the window), `rate_days` (the days the rate rests
        on), `daily_spend`, `days_left` (rounded down to a tenth), `runs_out`, the configured
        `floor`, and `short` (inside `[checks] wallet_runway_days`)."""
        wallets = self._require_diffed(_day(day)).get("wallets") or []
        return dataframe(pa.Table.from_pylist(wallets, RUNWAY_SCHEMA))

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
        return dataframe(table.filter(keep))

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
        return dataframe(table)

    def runs(self, limit: int = 50) -> pd.DataFrame:
        """The latest recorded `recon run`s, newest first, as `recon runs` lists them."""
        return dataframe(self.history.attempts_table(limit))

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
        with scratch() as con:
            if part.exists():
                source = f"SELECT * FROM {_parquet(part)}"
            else:
                source = memory.remembered(ledger.load(con, self.config.ledger, night).path, night)
            return dataframe(con.sql(f"{source} ORDER BY line").to_arrow_table())

    # -- one id, every side --------------------------------------------------------------------

    def explain(self, id: str) -> Explanation:
        """Everything recon knows of one order id, ledger entry id, partner reference or break
        id: the Starship order as each lake partition holds it (with the X-Trace-ID of the page
        that carried it), its wallet transactions, the ledger rows that booked it (file, line,
        export date), every night's findings about it and the breaks' states, and what
        analysts said. InputError (exit 2) for an id recon has never seen."""
        return explain.explain(self.lake, self.history, id)

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
        return dataframe(self.lake.read(dataset, night))


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


def _parquet(part: Path) -> str:
    """One partition's file, without the `date` its folder name would add."""
    return f"read_parquet({sql_literal(str(part))}, hive_partitioning = false)"

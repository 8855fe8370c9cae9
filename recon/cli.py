"""The `recon` command: a thin click layer over the library.

Each command parses its options, calls one library function, and prints. A `ReconError`
becomes a one-line message and its exit code (2); anything else is a bug and keeps its
traceback. Exit codes, like diff(1): 0 the books agree, 1 breaks found, 2 the run failed.

The nightly job's commands are here; `recon sandbox` is recon/sandbox/commands.py and `recon
bench` recon/bench/commands.py, added to this group (and so under its error handling).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click

from recon import __version__, logs
from recon.bench.commands import bench
from recon.cli_options import iso_date
from recon.errors import InputError, Interrupted, ReconError, from_os_error
from recon.sandbox.commands import sandbox


class ReconFailure(click.ClickException):
    """A ReconError on its way out of click: `recon: message` (or a JSON log line), redacted,
    with the error's exit code."""

    def __init__(self, error: ReconError, log_format: str) -> None:
        super().__init__(logs.redact(str(error)))
        # click declares exit_code a ClassVar, yet reads it from the instance it catches
        self.exit_code = error.exit_code  # type: ignore[misc]
        self.log_format = log_format
        self.kind = type(error).__name__

    def show(self, file: Any = None) -> None:
        if self.log_format == "json":
            logging.getLogger("recon").error(
                self.format_message(), extra={"exit_code": self.exit_code, "error": self.kind}
            )
        else:
            click.echo(f"recon: {self.format_message()}", err=True)


class ReconGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ReconError as error:
            raise ReconFailure(error, ctx.meta.get("recon.log_format", "text")) from error
        except OSError as error:
            stopped = from_os_error(error)
            raise ReconFailure(stopped, ctx.meta.get("recon.log_format", "text")) from error
        except Exception as error:
            if not _out_of_memory(error):
                raise  # a bug: its traceback is the report
            stopped = ReconError(
                f"DuckDB ran out of memory ({str(error).splitlines()[0]}). Nothing of the "
                "unfinished step was kept; raise [storage] memory_limit (the diff spills to "
                "<data_dir>/spill up to it) and run it again"
            )
            raise ReconFailure(stopped, ctx.meta.get("recon.log_format", "text")) from error
        except KeyboardInterrupt:
            stopped = Interrupted(
                "interrupted: nothing of the unfinished step was kept; run it again"
            )
            raise ReconFailure(stopped, ctx.meta.get("recon.log_format", "text")) from None


def _out_of_memory(error: Exception) -> bool:
    """Whether DuckDB ran out of memory: the machine's state, not a bug, and a traceback would
    leave Python's exit code 1, which says "discrepancies found". duckdb is looked up, not
    imported: a command that never loaded it cannot have run out of its memory."""
    duckdb = sys.modules.get("duckdb")
    return duckdb is not None and isinstance(error, duckdb.OutOfMemoryException)


BACKFILL_MAX_DAYS = 400  # a year and a bit: more is a typo more often than a plan


def _night(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    """A date recon may judge: a UTC day that has ended (today too with --allow-today, as far
    as it has gone). A later one would age every open break to a day that has not come."""
    day = iso_date(ctx, param, value)
    if day is None:
        return None
    latest = yesterday() + timedelta(days=1 if ctx.params.get("allow_today") else 0)
    if day > latest:
        raise click.BadParameter(
            f"{day} has not ended yet in UTC: the latest night recon judges is {latest}"
            + ("" if ctx.params.get("allow_today") else " (--allow-today for today so far)")
        )
    return day


allow_today_option = click.option(
    "--allow-today",
    is_flag=True,
    is_eager=True,  # read before --date, whose check depends on it
    help="Accept today's date (UTC), which has not ended: a partial night.",
)


class TerminalProgress:
    """One status line, rewritten in place on a terminal; nothing at all under cron."""

    def __init__(self) -> None:
        self.width = 0

    def __call__(self, dataset: str, day: date, rows: int, total: int | None) -> None:
        line = f"  {dataset} {day}: {rows}" + (f" of {total}" if total is not None else "")
        click.echo("\r" + line.ljust(self.width), nl=False, err=True)
        self.width = len(line)

    def done(self) -> None:
        if self.width:
            click.echo("\r" + " " * self.width + "\r", nl=False, err=True)


@contextmanager
def showing_progress() -> Iterator[TerminalProgress | None]:
    """A progress line on a terminal (cleared after the block), None under cron."""
    progress = TerminalProgress() if sys.stderr.isatty() else None
    try:
        yield progress
    finally:
        if progress:
            progress.done()


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("recon.toml"),
    show_default=True,
    help="The configuration file.",
)


fail_on_option = click.option(
    "--fail-on",
    type=click.Choice(["error", "warning"]),  # history.FAIL_ON, not imported: --help stays fast
    default="error",
    show_default=True,
    help="The severity of unexplained findings that makes the exit code 1.",
)
wait_option = click.option(
    "--wait",
    type=click.FloatRange(0),
    default=0.0,
    show_default=True,
    help="Seconds to wait for another recon using the same data directory to finish.",
)


def yesterday() -> date:
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC).date() - timedelta(days=1)


@contextmanager
def exclusive(settings: Any, command: str, wait: float = 0.0) -> Iterator[None]:
    """Hold the data directory's lock (recon.lock) while a command writes to it."""
    from recon.lock import exclusive as lock

    with lock(settings.storage.data_dir, command, wait):
        yield


@click.group(cls=ReconGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="recon")
@click.option("-v", "--verbose", count=True, help="More log detail (-vv for every request).")
@click.option(
    "--log-format",
    type=click.Choice(logs.FORMATS),
    default="text",
    show_default=True,
    help="Log lines on stderr for people (text) or log shippers (json); both redacted.",
)
@click.pass_context
def cli(ctx: click.Context, verbose: int, log_format: str) -> None:
    """Reconcile a partner's books against the Starship Rewards API, every night."""
    ctx.meta["recon.log_format"] = log_format
    logs.setup(log_format, verbose)


def date_option(command: Any) -> Any:
    command = click.option(
        "--date", "day", callback=_night, required=True, help="The date (YYYY-MM-DD)."
    )(command)
    return allow_today_option(command)


email_option = click.option(
    "--email/--no-email",
    "send",
    default=True,
    show_default=True,
    help="E-mail the report when [email] is configured.",
)


@cli.command()
@date_option
@config_option
@wait_option
def extract(day: date, allow_today: bool, config_path: Path, wait: float) -> None:
    """Page the Starship API into the Parquet lake for a date and its look-back window."""
    from recon import config, pipeline

    settings = config.load(config_path)
    with exclusive(settings, f"extract --date {day}", wait), showing_progress() as progress:
        result = pipeline.extract(settings, day, progress=progress)
    for line in result.summary():
        click.echo(line)


@cli.command()
@date_option
@config_option
@fail_on_option
@wait_option
def diff(day: date, allow_today: bool, config_path: Path, fail_on: str, wait: float) -> None:
    """Ingest the ledger export for a date and run every check against the lake.

    Exit code 0 when nothing unexplained is at error severity, 1 when something is.
    """
    from recon import config, pipeline

    settings = config.load(config_path)
    with exclusive(settings, f"diff --date {day}", wait):
        night = pipeline.diff(settings, day, fail_on)
    for line in night.summary():
        click.echo(line)
    sys.exit(night.exit_code)


@cli.command()
@date_option
@config_option
@fail_on_option
@wait_option
def report(day: date, allow_today: bool, config_path: Path, fail_on: str, wait: float) -> None:
    """Write a date's report (HTML, CSV, JSON) from its recorded diff.

    Exit code 0 when the books agree, 1 when they do not.
    """
    from recon import config, pipeline

    settings = config.load(config_path)
    with exclusive(settings, f"report --date {day}", wait):
        model, files = pipeline.report(settings, day, fail_on)
    click.echo(f"{model.verdict}\nreport: {files.html}")
    sys.exit(model.exit_code)


@cli.command()
@date_option
@config_option
def email(day: date, allow_today: bool, config_path: Path) -> None:
    """E-mail a date's written report to the [email] recipients."""
    from recon import config, pipeline

    recipients = pipeline.email(config.load(config_path), day)
    click.echo(f"sent the report of {day} to {', '.join(recipients)}")


@cli.command()
@click.option(
    "--date", "day", callback=_night, help="The date (YYYY-MM-DD).  [default: yesterday, UTC]"
)
@allow_today_option
@email_option
@config_option
@fail_on_option
@wait_option
def run(
    day: date | None, allow_today: bool, send: bool, config_path: Path, fail_on: str, wait: float
) -> None:
    """Extract, diff, report and e-mail a date: the nightly job.

    Exit code 0 when the books agree, 1 when they do not (or the night is incomplete), 2 when
    the run failed. Every run is recorded (`recon runs`).
    """
    from recon import config, pipeline

    settings = config.load(config_path)
    day = day or yesterday()
    with exclusive(settings, f"run --date {day}", wait), showing_progress() as progress:
        done = pipeline.run(settings, day, progress=progress, send=send, fail_on=fail_on)
    for line in done.lines():
        click.echo(line)
    _log_outcome(day, done.exit_code, done.report.verdict, done.seconds)
    sys.exit(done.exit_code)


@cli.command()
@click.option(
    "--ledger",
    "export",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="One of the partner's ledger exports.",
)
@click.option(
    "--date", "day", callback=iso_date, help="The export's date.  [default: the date in its name]"
)
@click.option("--base-url", help="Starship's API root, when there is no configuration file yet.")
@click.option("--api-key-env", default="STARSHIP_API_KEY", show_default=True)
@click.option("--api-secret-env", default="STARSHIP_API_SECRET", show_default=True)
@click.option(
    "--write", is_flag=True, help="Merge the section into the configuration (a .bak beside it)."
)
@config_option
@wait_option
def init(
    export: Path,
    day: date | None,
    base_url: str | None,
    api_key_env: str,
    api_secret_env: str,
    write: bool,
    config_path: Path,
    wait: float,
) -> None:
    """Propose the [ledger] section from one export, against Starship's side in the lake.

    Extracts the export's date first if the lake lacks it. Prints the section as TOML, each
    choice's evidence as a comment; exit 2, with the candidates, where the data cannot decide.
    """
    from recon import onboard

    settings, text = onboard.starting_config(config_path, base_url, api_key_env, api_secret_env)
    with exclusive(settings, f"init --ledger {export}", wait):
        proposal = onboard.propose(settings, export, day)
    click.echo(proposal.toml(), nl=False)
    if write:
        backup = onboard.write(config_path, proposal, text)
        click.echo(
            f"wrote [ledger] into {config_path}"
            + (f" (the file before: {backup})" if backup else "")
        )


@cli.command()
@click.option(
    "--date", "day", callback=iso_date, help="The date (YYYY-MM-DD).  [default: yesterday, UTC]"
)
@config_option
def doctor(day: date | None, config_path: Path) -> None:
    """Check, before a night runs, what it needs: the configuration, its environment
    variables, Starship, the ledger export, the folders and the SMTP relay.

    One line per check. Exit code 0 when every check passed (warnings allowed), 2 otherwise.
    Takes no lock, sends no mail and writes nothing (but a temporary file it removes).
    """
    from recon import doctor as checkup

    checks = checkup.run(config_path, day or yesterday())
    for line in checkup.lines(checks):
        click.echo(line)
    sys.exit(checkup.exit_code(checks))


@cli.command()
@click.option("--since", callback=iso_date, required=True, help="The first date (YYYY-MM-DD).")
@click.option(
    "--until", callback=_night, help="The last date (YYYY-MM-DD).  [default: yesterday, UTC]"
)
@click.option(
    "--max-days",
    type=click.IntRange(1),
    default=BACKFILL_MAX_DAYS,
    show_default=True,
    help="Refuse a longer range unless --yes (1900-01-01 typed for 2026-01-01).",
)
@click.option("--yes", is_flag=True, help="Run a range longer than --max-days all the same.")
@email_option
@config_option
@fail_on_option
@wait_option
def backfill(
    since: date,
    until: date | None,
    max_days: int,
    yes: bool,
    send: bool,
    config_path: Path,
    fail_on: str,
    wait: float,
) -> None:
    """Run each date from --since to --until that has no successful run recorded.

    Oldest first; a date that fails does not stop the ones after it. Exit code: 2 if a date
    failed, else 1 if a date found discrepancies, else 0 (also when nothing was missing).
    """
    from recon import config, pipeline

    until = until or yesterday()
    days = (until - since).days + 1
    if days > max_days and not yes:
        raise click.BadParameter(
            f"{since} to {until} is {days} nights, more than --max-days {max_days}: "
            "check the dates, or add --yes",
            param_hint="--since",
        )
    settings = config.load(config_path)
    worst = 0

    def show(outcome: pipeline.Backfilled) -> None:
        nonlocal worst
        worst = max(worst, outcome.exit_code)
        click.echo(f"{outcome.day}  exit {outcome.exit_code}  {logs.redact(outcome.line)}")
        _log_outcome(outcome.day, outcome.exit_code, outcome.line)

    with exclusive(settings, f"backfill --since {since} --until {until}", wait):
        missing = pipeline.missing_days(settings, since, until)
        click.echo(
            f"backfill {since} to {until}: "
            + (f"{len(missing)} date(s) to run" if missing else "every date has a good run")
        )
        with showing_progress() as progress:
            pipeline.backfill(
                settings, missing, send=send, fail_on=fail_on, progress=progress, each=show
            )
    sys.exit(worst)


def _log_outcome(
    day: date, exit_code: int, verdict: str, seconds: dict[str, float] | None = None
) -> None:
    """One INFO record per night run, for log shippers (`--log-format json` shows INFO)."""
    logging.getLogger("recon.run").info(
        "%s: exit %d: %s",
        day,
        exit_code,
        verdict,
        extra={"date": day.isoformat(), "exit_code": exit_code, "seconds": seconds or {}},
    )


@cli.command()
@config_option
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True)
def runs(config_path: Path, limit: int) -> None:
    """List the latest recorded runs: date, how they ended, exit code, seconds per stage."""
    import json

    rows = _history(config_path).attempts(limit)
    if not rows:
        click.echo("no runs recorded")
        return
    click.echo(
        f"{'date':<10}  {'command':<8}  {'started (UTC)':<19}  {'status':<10}  exit  seconds"
    )
    for row in rows:
        stages = json.loads(row["seconds"] or "{}")
        timing = " ".join(f"{stage} {value:.1f}" for stage, value in stages.items())
        code = "" if row["exit_code"] is None else str(row["exit_code"])
        error = f"  {logs.redact(row['error'])}" if row["error"] else ""
        click.echo(
            f"{row['run_date']!s:<10}  {row['command']:<8}  "
            f"{row['started_at']:%Y-%m-%d %H:%M:%S}  {row['status']:<10}  {code:>4}  "
            f"{timing}{error}"
        )


@cli.group(invoke_without_command=True)
@config_option
@click.pass_context
def breaks(ctx: click.Context, config_path: Path) -> None:
    """List open breaks across nights; acknowledge, snooze or reopen one."""
    from recon.money import amount_text
    from recon.strings import clip, neutral

    ctx.obj = config_path  # loaded by the subcommand, after click has handled --help
    if ctx.invoked_subcommand is not None:
        return
    rows = _history(config_path).open_breaks()
    if not rows:
        click.echo("no open breaks")
        return
    click.echo(
        f"{'id':<12}  {'state':<12}  {'check':<22}  {'first seen':<10}  {'last seen':<10}  key"
    )
    for row in rows:
        amount = row["delta"] if row["delta"] is not None else row["starship_amount"]
        money = f" {row['currency']} {amount_text(amount, row['currency'])}" if amount else ""
        note = f"  [{clip(row['note'])}]" if row["note"] else ""
        click.echo(
            neutral(
                f"{row['break_id']:<12}  {row['state']:<12}  {row['check']:<22}  "
                f"{row['first_seen']!s:<10}  {row['last_seen']!s:<10}  {clip(row['key'])}"
                f"{money}{note}"
            )
        )


def _history(config_path: Path) -> Any:
    from recon import config
    from recon.history import history_of

    return history_of(config.load(config_path), read_only=True)


def _act(config_path: Path, break_id: str, action: str, **details: Any) -> str:
    """Record an analyst's action on a break, holding the lock: its full id."""
    from recon import config, pipeline

    settings = config.load(config_path)
    with exclusive(settings, f"breaks {action} {break_id}"):
        return pipeline.act(settings, break_id, action, **details)


def breaks_config(command: Any) -> Any:
    """`--config` after the subcommand too (`recon breaks ack ID --config F`), as every other
    command takes it; given there, it wins over the group's."""

    def given_here(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
        if value is not None:
            ctx.obj = value

    return click.option(
        "--config",
        "config_here",
        type=click.Path(dir_okay=False, path_type=Path),
        callback=given_here,
        expose_value=False,
        is_eager=True,
        help="The configuration file (here or before the subcommand).",
    )(command)


@breaks.command("ack")
@click.argument("break_id")
@breaks_config
@click.option("--note", required=True, help="Why the break is explained (required).")
@click.pass_obj
def breaks_ack(config_path: Path, break_id: str, note: str) -> None:
    """Mark a break explained: it stays listed but no longer counts against the exit code."""
    click.echo(f"acknowledged {_act(config_path, break_id, 'ack', note=note)}")


@breaks.command("snooze")
@click.argument("break_id")
@breaks_config
@click.option("--until", "until", callback=iso_date, required=True, help="Last date to snooze.")
@click.option("--note", default=None, help="Why.")
@click.pass_obj
def breaks_snooze(config_path: Path, break_id: str, until: date, note: str | None) -> None:
    """Hide a break from the exit code until a date (inclusive)."""
    from recon.history import snooze_passed

    passed = snooze_passed(until, yesterday() + timedelta(days=1))
    if passed:  # 1999-01-01 typed for 2099: the snooze would do nothing
        raise click.BadParameter(passed, param_hint="--until")
    full_id = _act(config_path, break_id, "snooze", note=note, until=until)
    click.echo(f"snoozed {full_id} until {until}")


@breaks.command("reopen")
@click.argument("break_id")
@breaks_config
@click.pass_obj
def breaks_reopen(config_path: Path, break_id: str) -> None:
    """Undo an acknowledgement or a snooze."""
    click.echo(f"reopened {_act(config_path, break_id, 'reopen')}")


@breaks.command("apply")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@breaks_config
@click.option("--dry-run", is_flag=True, help="Say what it would do; record nothing.")
@click.option(
    "--skip-refused",
    is_flag=True,
    help="Apply the good rows even if some are refused (they are listed).",
)
@click.pass_obj
def breaks_apply(config_path: Path, file: Path, dry_run: bool, skip_refused: bool) -> None:
    """Apply the actions an analyst marked in a report's discrepancies.xlsx (or a CSV with
    discrepancies.csv's columns and action, until): each row's `action` (ack, snooze, reopen
    or blank), with its `note` and, for a snooze, `until` (its last day).

    All or nothing: a row refused (unknown break id, unknown action, an ack without a note, a
    snooze date passed or unreadable, a break whose state moved since the sheet was written)
    changes nothing and exits 2, listing each with its row number (the header is row 1);
    --skip-refused applies the rest. Holds the data directory's lock, as ack does.

    \b
    recon breaks apply reports/out/2026-04-14/discrepancies.xlsx --dry-run
    """
    from recon import config, sheet

    settings = config.load(config_path)
    with nullcontext() if dry_run else exclusive(settings, f"breaks apply {file.name}"):
        result = sheet.apply(settings, file, dry_run=dry_run, skip_refused=skip_refused)
    for line in result.lines():
        click.echo(line)
    if result.exit_code:
        raise ReconFailure(
            InputError(
                f"{file}: {len(result.refused)} row(s) refused, so nothing was applied; fix "
                "them, or give --skip-refused to apply the rest"
            ),
            click.get_current_context().meta.get("recon.log_format", "text"),
        )


@cli.command()
@click.argument("identifier", metavar="ID")
@config_option
@click.option("--json", "as_json", is_flag=True, help="One JSON document, for scripts.")
def explain(identifier: str, config_path: Path, as_json: bool) -> None:
    """Everything recon knows of one order id, ledger entry id, reference or break id.

    What each side says: the Starship order in each lake partition (with its X-Trace-ID), its
    wallet transactions, the ledger rows that booked it, every night's findings and breaks,
    and what analysts noted. Exit code 2 for an id recon has never seen.
    """
    from recon import workbench

    explanation = workbench.open(config_path).explain(identifier)
    click.echo(explanation.to_json() if as_json else "\n".join(explanation.lines()))


@cli.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("recon-demo"),
    show_default=True,
    help="Folder for the demo's files.",
)
def demo(out_dir: Path) -> None:
    """Run recon end to end against the bundled Starship sandbox and fixture ledger."""
    from recon.demo import run_demo

    for line in run_demo(out_dir).lines():
        click.echo(line)


cli.add_command(sandbox)
cli.add_command(bench)


def main() -> None:
    cli(prog_name="recon")

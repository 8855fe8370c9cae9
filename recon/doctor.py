"""`recon doctor`: before the first cron night, whether a night would run, one check at a time.

    checks = doctor.run(Path("recon.toml"), date(2026, 4, 14))
    for line in doctor.lines(checks):
        print(line)                 # ok   config          recon.toml: valid
    doctor.exit_code(checks)        # 0: every check passed (warnings allowed); 2 otherwise

Each check is `ok`, `warn` (fine, but worth saying), `fail`, or `skip` (it cannot run because
an earlier one failed). The checks ask what a night would ask, through the same code: the
configuration (`config.load`), the environment variables it names, one `GET /wallets` and one
`GET /reconciliation/{date}` through the real client (retries kept short), the ledger export's
header against `[ledger.columns]`, D's export diffed against the lake's D in a scratch folder
(whether most of its breaks point to one setting: recon.causes), the data and report folders
(a temporary file created and removed), the discount sheet, and the SMTP relay's answer to
EHLO (no login, nothing sent).

Doctor takes no lock and writes nothing but that probe and the scratch folder it removes.
Messages name environment variables, never their values, and pass `logs.redact` on their way
out.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

from recon import config, discounts, ledger, logs, mail, memory
from recon.errors import ReconError
from recon.lake import Lake
from recon.starship import reconciliation
from recon.starship.client import StarshipClient

Status = Literal["ok", "warn", "fail", "skip"]
LABELS: dict[Status, str] = {"ok": "ok", "warn": "warn", "fail": "FAIL", "skip": "skip"}
# One request should say what is wrong in seconds, not wait out a night's retry budget.
MAX_ATTEMPTS = 2
RETRY_BUDGET_SECONDS = 5.0
TIMEOUT_SECONDS = 10.0


NAMES = (  # the checks, in the order they run and print
    "config",
    "credentials",
    "starship",
    "reconciliation",
    "ledger",
    "books",
    "data_dir",
    "out_dir",
    "discounts",
    "smtp",
)


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    message: str  # one line

    @property
    def passed(self) -> bool:
        return self.status in ("ok", "warn")


def run(config_path: Path, day: date, environ: Mapping[str, str] | None = None) -> list[Check]:
    """Every check of NAMES, in that order. `environ` (default os.environ) holds the variables
    the configuration names; a check that needs an earlier one is skipped when that failed."""
    env = dict(os.environ if environ is None else environ)
    checks: list[Check] = []

    def add(name: str, status: Status, message: str) -> None:
        checks.append(Check(name, status, logs.redact(message)))

    try:
        settings = config.load(config_path)
    except ReconError as error:
        add("config", "fail", str(error))
        for name in NAMES[1:]:
            add(name, "skip", "needs a valid configuration")
        return checks
    add("config", "ok", f"{config_path}: valid")

    missing = _missing(env, (settings.starship.api_key_env, settings.starship.api_secret_env))
    add("credentials", *_credentials(settings, env, missing))
    client: StarshipClient | None = None
    if missing:
        add("starship", "skip", f"needs {' and '.join(missing)}")
    else:
        status, message, client = _starship(settings, env)
        add("starship", status, message)
    if client is None:
        add("reconciliation", "skip", "needs an answer from Starship")
    else:
        add("reconciliation", *_reconciliation(client, day))
    ledger_status, ledger_message = _ledger(settings.ledger, day)
    add("ledger", ledger_status, ledger_message)
    if ledger_status == "fail":
        add("books", "skip", "needs a readable ledger export")
    else:
        add("books", *_books(settings, day))
    add("data_dir", *_writable(settings.storage.data_dir, "[storage] data_dir"))
    add("out_dir", *_writable(settings.report.out_dir, "[report] out_dir"))
    add("discounts", *_discounts(settings.checks.discount_sheet))
    add("smtp", *_smtp(settings.email, env))
    return checks


def lines(checks: list[Check]) -> list[str]:
    """`ok   config          recon.toml: valid`: status, name, message, in columns."""
    width = max(len(check.name) for check in checks)
    return [f"{LABELS[c.status]:<4} {c.name:<{width}}  {c.message}" for c in checks]


def exit_code(checks: list[Check]) -> int:
    return 0 if all(check.passed for check in checks) else 2


# -- the checks: each returns (status, message) -------------------------------------------------


def _missing(env: Mapping[str, str], names: tuple[str, ...]) -> list[str]:
    return [name for name in names if not env.get(name, "").strip()]


def _unset(env: Mapping[str, str], name: str) -> str:
    return f"{name} is empty" if name in env else f"{name} is not set"


def _credentials(
    settings: config.Config, env: Mapping[str, str], missing: list[str]
) -> tuple[Status, str]:
    """Which of the variables the configuration names are missing; names, never values."""
    named = [settings.starship.api_key_env, settings.starship.api_secret_env]
    failures = [_unset(env, name) for name in missing]
    notes: list[str] = []
    if settings.email is not None:
        email = settings.email
        named += [email.username_env, email.password_env]
        try:
            if mail.credentials(email, env) is None:
                notes.append(f"{_unset(env, email.username_env)}: mail is sent without logging in")
        except ReconError as error:
            failures.append(str(error))
    if failures:
        return "fail", "; ".join(failures + notes)
    if notes:
        return "warn", "; ".join(notes)
    return "ok", f"{', '.join(named)} are set"


def _starship(
    settings: config.Config, env: dict[str, str]
) -> tuple[Status, str, StarshipClient | None]:
    """One authenticated GET /wallets through the client a night uses, retries kept short."""
    s = settings.starship
    try:
        client = StarshipClient.from_config(
            settings,
            env,
            max_attempts=min(s.max_attempts, MAX_ATTEMPTS),
            retry_budget_seconds=min(s.retry_budget_seconds, RETRY_BUDGET_SECONDS),
            connect_timeout=min(s.connect_timeout_seconds, TIMEOUT_SECONDS),
            read_timeout=min(s.read_timeout_seconds, TIMEOUT_SECONDS),
        )
        answer = client.get("wallets")
        payload = answer.payload
    except ReconError as error:  # ApiError names the request and the X-Trace-ID
        return "fail", str(error), None
    rows = payload.get("data") if isinstance(payload, dict) else payload
    wallets = rows if isinstance(rows, list) else []
    currencies = sorted(
        {str(w["currency"]) for w in wallets if isinstance(w, dict) and "currency" in w}
    )
    found = f"{len(wallets)} wallet(s)" + (f" ({', '.join(currencies)})" if currencies else "")
    return "ok", f"GET {client.url('wallets')}: {found}{_trace(answer.trace_id)}", client


def _reconciliation(client: StarshipClient, day: date) -> tuple[Status, str]:
    """GET /reconciliation/{day} once, read as extraction reads it."""
    request = f"GET /reconciliation/{day}"  # the starship line names the host
    found = reconciliation.fetch(client, day)
    if found.status == "available":
        counts = ", ".join(f"{k} {v}" for k, v in found.summary.items() if v is not None)
        return "ok", (
            f"{request}: served ({counts}; {len(found.drifts)} drift(s)){_trace(found.trace_id)}"
        )
    if found.status == "not_available":
        return "warn", (
            f"{request}: not available yet ({found.reason}); a night records that and goes on"
            f"{_trace(found.trace_id)}"
        )
    where = (
        "" if found.trace_id and found.trace_id in (found.reason or "") else _trace(found.trace_id)
    )
    return "fail", f"{request}: unreadable: {found.reason}{where}; every night would be incomplete"


def _trace(trace_id: str | None) -> str:
    return f" (X-Trace-ID {trace_id})" if trace_id else ""


def _ledger(settings: config.LedgerConfig, day: date) -> tuple[Status, str]:
    """D's export (or, on a night without one, the latest within `max_export_gap_days`)
    exists and its header has every mapped column."""
    try:
        # the latest export: the night's own, or the one before the days without one
        gap = memory.missing_exports(settings, day)
        path = ledger.export_path(settings, day - timedelta(days=len(gap)))
        present = ledger.header(path, settings.sheet, settings.max_unpacked_mb, settings.delimiter)
    except ReconError as error:
        return "fail", str(error)
    mapped = ledger.mapped_fields(settings.columns)
    absent = [
        f"{settings.columns[name]!r} (ledger.columns.{name})"
        for name in mapped
        if settings.columns[name] not in present
    ]
    if absent:
        delimiter = (
            settings.delimiter if ledger.SUFFIXES.get(path.suffix.lower()) == "csv" else None
        )
        return "fail", (
            f"{path}: no column {', '.join(absent)}; "
            + ledger.header_found(present, settings.columns)
            + ledger.delimiter_hint(present, delimiter)
        )
    found = f"{path}: the header has the {len(mapped)} mapped columns"
    if path != ledger.export_path(settings, day):
        found = (
            f"no ledger export for {day} yet (a night runs with the exports it has, up to "
            f"max_export_gap_days = {settings.max_export_gap_days} without one); "
            f"the latest, {found}"
        )
    return "ok", found


def _books(settings: config.Config, day: date) -> tuple[Status, str]:
    """D's export diffed against the lake's D as the night would, in a scratch folder (the
    lake's Starship datasets linked into it, read only; the ledger's kept there): whether most
    of the breaks point to one setting (recon.causes)."""
    from recon import checks  # the diff's machinery: only this check needs it
    from recon.history import history_of

    lake = Lake(settings.storage.data_dir / "lake")
    if lake.manifest("orders", day) is None:
        return "warn", (
            f"the lake has no orders of {day} to try the export against: run `recon extract "
            f"--date {day}`, then `recon doctor --date {day}`"
        )
    history = history_of(settings, read_only=True)
    with tempfile.TemporaryDirectory(prefix="recon-doctor-") as scratch:
        linked = Path(scratch) / "lake"
        linked.mkdir()
        for dataset in lake.root.iterdir():
            if dataset.is_dir() and dataset.name != memory.DATASET:
                (linked / dataset.name).symlink_to(dataset.resolve(), target_is_directory=True)
        trial = dataclasses.replace(
            settings, storage=dataclasses.replace(settings.storage, data_dir=Path(scratch))
        )
        try:
            with checks.connect(trial) as con:
                diff = checks.run(
                    con, trial, day, carried=history.carried(day), diffed=history.diffed()
                )
        except ReconError as error:
            return "fail", str(error)
    findings = diff.findings.num_rows
    if diff.causes:
        return "fail", "; ".join(
            f"likely cause {cause['key']}: {cause['text']}" for cause in diff.causes
        )
    return "ok", (
        f"{day}'s export against the lake: {findings} finding{'s' if findings != 1 else ''}, "
        "none of them pointing to a setting (tried in a scratch folder, nothing recorded)"
    )


def _writable(folder: Path, key: str) -> tuple[Status, str]:
    """Create and remove a file in `folder`, or, if it does not exist yet, in the nearest
    folder above it that does (recon creates the rest): nothing is left behind."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return "fail", f"{folder} ({key}): {existing} is not a folder"
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".recon-doctor-") as probe:
            probe.write(b"recon doctor\n")
            probe.flush()
    except OSError as error:
        return "fail", f"{folder} ({key}): cannot write in {existing}: {error.strerror or error}"
    free = f"{shutil.disk_usage(existing).free // 2**20:,} MiB free"
    if existing == folder:
        return "ok", f"{folder}: writable, {free}"
    return "ok", f"{folder}: not there yet; recon creates it in {existing}, writable, {free}"


def _discounts(sheet: Path | None) -> tuple[Status, str]:
    if sheet is None:
        return "ok", "no [checks] discount_sheet: discount_drift is off"
    try:  # config.load read it already; read again for the count (it is small)
        terms = discounts.read(sheet)
    except ReconError as error:
        return "fail", str(error)
    return "ok", f"{sheet}: {terms.num_rows} discount term(s)"


def _smtp(email: config.EmailConfig | None, env: Mapping[str, str]) -> tuple[Status, str]:
    """The relay answers EHLO (after STARTTLS when configured); no login, nothing sent."""
    if email is None:
        return "ok", "no [email]: a night writes the report and e-mails nobody"
    try:
        # without a login of its own, ask whether the relay takes mail from us at all
        greeting = mail.greet(
            email,
            timeout_seconds=min(email.timeout_seconds, TIMEOUT_SECONDS),
            sender=not env.get(email.username_env, "").strip(),
        )
    except ReconError as error:
        return "fail", str(error)
    session = f"over {greeting.tls}" if greeting.tls else "in the clear"
    said = f"{greeting.relay} answered EHLO ({greeting.name or 'no name'}) {session}"
    if env.get(email.username_env, "").strip() and not greeting.offers_login:
        return "fail", (
            f"{said} but offers no AUTH, and {email.username_env} is set: the login would fail"
        )
    return "ok", f"{said}; no login tried, nothing sent"

"""Load and validate `recon.toml` before any work starts.

Every key of the configuration (the README's Configuration) is declared here with its type; an
unknown key, a wrong type or a missing required key is a `ConfigError` naming the key and the file.
Paths are relative to the configuration file's folder. Secrets are never in the file: it names the
environment variables that hold them.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, get_type_hints
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from recon import discounts, logs
from recon.errors import ConfigError, MoneyError
from recon.hosts import is_loopback
from recon.money import minor_unit, parse_amount
from recon.vocabulary import LEDGER_COLUMN_KEYS

DEFAULT_CONFIG = Path("recon.toml")
# Ledger exports that are workbooks: recon.ledger reads them, and only they take [ledger] sheet.
SPREADSHEET_SUFFIXES = (".xlsx", ".xls")
SANDBOX_BASE_URL = "https://api-playground.starshiprewards.com/api/v1"


@dataclass(frozen=True)
class StarshipConfig:
    base_url: str = SANDBOX_BASE_URL
    api_key_env: str = "STARSHIP_API_KEY"
    api_secret_env: str = "STARSHIP_API_SECRET"
    page_size: int = 100
    lookback_days: int = 7
    paginator: str = "page_number"  # page_number (follows next_page_url) | cursor
    connect_timeout_seconds: float = 5.0
    read_timeout_seconds: float = 30.0  # each read of an answer
    answer_timeout_seconds: float = 120.0  # a whole answer, however slowly it trickles
    max_attempts: int = 8  # per request, the first try included
    retry_budget_seconds: float = 300.0  # total waiting on retries before the run fails
    requests_per_second: float = 0.0  # pace requests so a night does not live on 429s; 0: off
    max_repages: int = 3  # re-reads of a window whose totals did not tie


@dataclass(frozen=True)
class StorageConfig:
    data_dir: Path = Path("var/recon")
    # DuckDB's memory for the diff; past it, DuckDB spills to <data_dir>/spill. A nightly job
    # on a shared host must not take what the other processes there need: 10M orders against
    # a 10M-row ledger peak near 2 GiB of RSS with this default.
    memory_limit: str = "1.5GB"


@dataclass(frozen=True)
class LedgerConfig:
    path: str = "exports/ledger-{date}.csv"
    timezone: str = "UTC"
    # The zone of the partner's business day, by which each export is cut (a Pacific partner's
    # export of D holds D's Pacific day: 08:00 UTC on D to 08:00 UTC on D+1). None: `timezone`.
    business_day_timezone: str | None = None
    # Days in a row without an export that a night still runs with (a long weekend); a longer
    # gap fails the night (exit 2): the export job has probably stopped.
    max_export_gap_days: int = 4
    amount_unit: str = "major"  # major (19.99) | minor (1999: the currency's ISO 4217 minor unit)
    purchase_sign: str = "positive"  # negative: purchases booked negative, reversals positive
    # A regional or accounting-system export's shape (README, "[ledger] shapes"): a CSV's field
    # separator (`,` `;` a tab `|`), the decimal mark of amounts written as text (`.` or `,`:
    # 1.289,50), and how text timestamps are written (ISO 8601, day-first, month-first, or a
    # strftime pattern).
    delimiter: str = ","
    decimal_separator: str = "."
    date_format: str = "iso"
    sheet: str | None = None  # a spreadsheet export's sheet, by name; None: the first sheet
    # An .xlsx is a zip: its sheet's XML, which the reader holds whole, may unpack to a thousand
    # times the file (1.5 MB to 1.5 GB). A 1M-row, 8-column sheet unpacks to about 400 MB.
    max_unpacked_mb: int = 512

    @property
    def amount_fields(self) -> tuple[str, ...]:
        """The [ledger.columns] keys that carry the amount: `amount` (one signed column), or
        `debit` and `credit` (an accounting system's two columns)."""
        return ("debit", "credit") if "debit" in self.columns else ("amount",)

    @property
    def business_zone(self) -> str:
        """The zone the partner's business day is cut in: `business_day_timezone`, else
        `timezone` (a partner who sets only `timezone` cuts its exports by it)."""
        return self.business_day_timezone or self.timezone

    columns: dict[str, str] = field(
        default_factory=lambda: {
            name: name
            for name in (
                "entry_id",
                "order_id",
                "reference",
                "amount",
                "currency",
                "status",
                "booked_at",
            )
        }
    )
    status_map: dict[str, str] = field(default_factory=lambda: {"delivered": "DELIVERED"})


@dataclass(frozen=True)
class ChecksConfig:
    stuck_pending_hours: int = 24
    grace_minutes: int = 60
    low_wallet_balance: dict[str, Decimal] = field(default_factory=dict)
    # wallet_runway: warn when the balance lasts fewer days than this at the recent rate of
    # spend (0: never), the rate being the net spend of the last `wallet_runway_window_days`
    wallet_runway_days: int = 2
    wallet_runway_window_days: int = 7
    tolerance_minor_units: dict[str, int] = field(default_factory=dict)  # default: exact
    # product_id, currency, discount_percent[, valid_from]: prices D's orders (discount_drift)
    discount_sheet: Path | None = None


@dataclass(frozen=True)
class ReportConfig:
    out_dir: Path = Path("reports/out")


@dataclass(frozen=True)
class EmailConfig:
    smtp_host: str = "localhost"
    smtp_port: int = 587
    starttls: bool = True
    implicit_tls: bool = False
    username_env: str = "RECON_SMTP_USER"
    password_env: str = "RECON_SMTP_PASSWORD"
    sender: str = "recon@example.com"  # `from` in the file (a Python keyword)
    to: list[str] = field(default_factory=list)
    ca_file: Path | None = None  # a private CA's certificate, for a relay inside the company
    timeout_seconds: float = 30.0
    attempts: int = 3  # a transient failure (4xx, a dropped connection) is tried again


@dataclass(frozen=True)
class Config:
    starship: StarshipConfig = field(default_factory=StarshipConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    ledger: LedgerConfig = field(default_factory=LedgerConfig)
    checks: ChecksConfig = field(default_factory=ChecksConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    email: EmailConfig | None = None
    source: Path | None = None

    def starship_credentials(self, environ: dict[str, str] | None = None) -> tuple[str, str]:
        """(key, secret) from the environment variables the file names."""
        env = os.environ if environ is None else environ
        values = []
        for name in (self.starship.api_key_env, self.starship.api_secret_env):
            value = env.get(name, "").strip()
            if not value:
                raise ConfigError(
                    f"environment variable {name} is not set (named by "
                    f"[starship] in {self.source or 'the configuration'})"
                )
            logs.register_secret(value)
            values.append(value)
        return values[0], values[1]


_SECTIONS: dict[str, type] = {
    "starship": StarshipConfig,
    "storage": StorageConfig,
    "ledger": LedgerConfig,
    "checks": ChecksConfig,
    "report": ReportConfig,
    "email": EmailConfig,
}
_RENAMED = {("email", "from"): "sender"}
_CHOICES = {
    ("starship", "paginator"): ("page_number", "cursor"),
    ("ledger", "amount_unit"): ("major", "minor"),
    ("ledger", "purchase_sign"): ("positive", "negative"),
}
LEDGER_DELIMITERS = {",": ",", ";": ";", "\t": "\t", "tab": "\t", "|": "|"}
LEDGER_DATE_WORDS = ("iso", "day-first", "month-first")
# The strftime directives a date_format may use: the ones DuckDB's strptime reads the same way
# on every machine (no locale's %c, %x, %X). No %z or %Z: an offset or Z after the time is read
# as in an ISO timestamp, and a naive time is in [ledger] timezone.
_DATE_DIRECTIVES = frozenset(
    [
        "d",
        "-d",
        "m",
        "-m",
        "b",
        "B",
        "h",
        "y",
        "-y",
        "Y",
        "H",
        "-H",
        "I",
        "-I",
        "p",
        "M",
        "-M",
        "S",
        "-S",
        "f",
        "g",
        "n",
        "j",
        "-j",
        "a",
        "A",
        "%",
    ]
)
_LEDGER_STATUSES = ("DELIVERED", "CANCELLED", "PENDING")


def load(path: Path = DEFAULT_CONFIG) -> Config:
    """Read and validate the configuration file at `path`."""
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return from_dict(raw, source=path)


def from_dict(raw: dict[str, Any], *, source: Path | None = None) -> Config:
    """Validate an already-parsed configuration (a TOML document's dictionary)."""
    where = str(source) if source else "configuration"
    base = source.resolve().parent if source else Path.cwd()
    unknown = sorted(set(raw) - set(_SECTIONS))
    if unknown:
        raise ConfigError(
            f"{where}: unknown section [{unknown[0]}]; known sections: {', '.join(_SECTIONS)}"
        )
    sections: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        table = raw.get(name)
        if table is None and name == "email":
            continue  # optional: without it, recon writes files and sends nothing
        if not isinstance(table, dict | None):
            raise ConfigError(f"{where}: [{name}] must be a table")
        sections[name] = _section(name, cls, table or {}, where, base)
    return Config(**sections, source=source)


def _section(name: str, cls: type, table: dict[str, Any], where: str, base: Path) -> Any:
    hints = get_type_hints(cls)
    file_keys = {f.name: f.name for f in fields(cls)}
    for (section, file_key), attribute in _RENAMED.items():
        if section == name:
            del file_keys[attribute]
            file_keys[file_key] = attribute
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in file_keys:
            raise ConfigError(
                f"{where}: unknown key {key!r} in [{name}]; known keys: "
                f"{', '.join(sorted(file_keys))}"
            )
        attribute = file_keys[key]
        values[attribute] = _typed(f"[{name}] {key}", hints[attribute], value, where, base)
    _validate(name, values, where)
    if name == "ledger":
        # A partial [ledger.columns] renames those columns; the others keep their own names.
        # Debit and credit stand in for amount: an export has one shape or the other.
        given = values.get("columns", {})
        defaults = LedgerConfig().columns
        if "debit" in given:
            del defaults["amount"]
        values["columns"] = {**defaults, **given}
        if "delimiter" in values:  # "tab" is the word for what TOML writes "\t"
            values["delimiter"] = LEDGER_DELIMITERS[values["delimiter"]]
        path = Path(values.get("path", LedgerConfig.path)).expanduser()
        values["path"] = str(path if path.is_absolute() else base / path)
    for f in fields(cls):  # default relative paths live beside the file too
        if f.name not in values and isinstance(f.default, Path):
            values[f.name] = base / f.default
    return cls(**values)


def _typed(label: str, hint: Any, value: Any, where: str, base: Path) -> Any:
    def wrong(expected: str) -> ConfigError:
        return ConfigError(f"{where}: {label} must be {expected}, not {value!r}")

    if hint is bool:
        if not isinstance(value, bool):
            raise wrong("true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong("an integer")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise wrong("a number")
        if not math.isfinite(value):
            raise wrong("a finite number")
        return float(value)
    if hint in (str, str | None):
        if not isinstance(value, str):
            raise wrong("a string")
        return value
    if hint in (Path, Path | None):
        if not isinstance(value, str) or not value:
            raise wrong("a path (a string)")
        path = Path(value).expanduser()
        return path if path.is_absolute() else base / path
    if hint == list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise wrong("a list of strings")
        return value
    if hint == dict[str, str]:
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise wrong("a table of strings")
        return dict(value)
    if hint == dict[str, int]:
        if not isinstance(value, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value.values()
        ):
            raise wrong("a table of integers")
        _no_twice(label, value, where)
        return {k.upper(): v for k, v in value.items()}
    if hint == dict[str, Decimal]:
        if not isinstance(value, dict):
            raise wrong("a table of amounts per currency")
        _no_twice(label, value, where)
        amounts = {}
        for currency, amount in value.items():
            # A TOML float would already have lost digits; a whole number loses none.
            if isinstance(amount, bool) or not isinstance(amount, (str, int)):
                raise ConfigError(
                    f"{where}: {label}.{currency} must be a quoted amount "
                    f'like "1000.00", not {amount!r}'
                )
            try:
                amounts[currency.upper()] = parse_amount(amount, currency)
            except (MoneyError, InvalidOperation) as exc:
                raise ConfigError(f"{where}: {label}.{currency}: {exc}") from None
            if amounts[currency.upper()] < 0:
                raise ConfigError(f"{where}: {label}.{currency} must not be negative")
        return amounts
    raise TypeError(f"no validator for {hint!r}")  # a bug in this module, not in the file


def _no_twice(label: str, table: dict[str, Any], where: str) -> None:
    seen: set[str] = set()
    for key in table:
        if key.upper() in seen:
            raise ConfigError(f"{where}: {label} names {key.upper()} twice")
        seen.add(key.upper())


# The smallest value of each number a section takes, with how the message says it.
_AT_LEAST = {
    **dict.fromkeys(
        [
            ("starship", "page_size"),
            ("starship", "max_attempts"),
            ("checks", "stuck_pending_hours"),
            ("checks", "wallet_runway_window_days"),
            ("email", "attempts"),
            ("email", "smtp_port"),
            ("ledger", "max_unpacked_mb"),
        ],
        (1, "must be at least 1"),
    ),
    **dict.fromkeys(
        [
            ("starship", "lookback_days"),
            ("starship", "retry_budget_seconds"),
            ("starship", "requests_per_second"),
            ("starship", "max_repages"),
            ("starship", "connect_timeout_seconds"),
            ("starship", "read_timeout_seconds"),
            ("starship", "answer_timeout_seconds"),
            ("checks", "grace_minutes"),
            ("checks", "wallet_runway_days"),
            ("ledger", "max_export_gap_days"),
        ],
        (0, "must not be negative"),
    ),
}
_MORE_THAN_ZERO = (("email", "timeout_seconds"),)
_SIZE = r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)"


def _validate(name: str, values: dict[str, Any], where: str) -> None:
    """Constraints beyond types: the tables above, then each rule of the section."""
    for (section, key), choices in _CHOICES.items():
        if section == name and key in values and values[key] not in choices:
            raise ConfigError(
                f"{where}: [{name}] {key} must be one of {', '.join(choices)}, not {values[key]!r}"
            )
    for (section, key), (least, says) in _AT_LEAST.items():
        if section == name and key in values and values[key] < least:
            raise ConfigError(f"{where}: [{name}] {key} {says}")
    for section, key in _MORE_THAN_ZERO:
        if section == name and key in values and values[key] <= 0:
            raise ConfigError(f"{where}: [{name}] {key} must be more than 0")
    for rule in _RULES.get(name, ()):
        rule(values, where)


def check_ledger(ledger: LedgerConfig) -> None:
    """ConfigError if a LedgerConfig built in code breaks a rule config.load enforces on the
    shape of the rows it types (units, sign, delimiter, decimal separator, date format)."""
    shape = (
        "path",
        "amount_unit",
        "purchase_sign",
        "delimiter",
        "decimal_separator",
        "date_format",
    )
    _validate("ledger", {key: getattr(ledger, key) for key in shape}, "LedgerConfig")
    if ledger.delimiter not in LEDGER_DELIMITERS.values():  # "tab" is the file's word for it
        raise ConfigError(f"LedgerConfig: delimiter {ledger.delimiter!r} is not one character")


def _base_url(values: dict[str, Any], where: str) -> None:
    problem = _base_url_problem(values["base_url"]) if "base_url" in values else None
    if problem:
        raise ConfigError(f"{where}: [starship] base_url {problem}")


def _memory_limit(values: dict[str, Any], where: str) -> None:
    limit = values.get("memory_limit")
    if limit is not None and not re.fullmatch(_SIZE, limit):
        raise ConfigError(
            f'{where}: [storage] memory_limit must be a size like "1.5GB" or "800MiB", '
            f"not {limit!r}"
        )


def _time_zones(values: dict[str, Any], where: str) -> None:
    for key in ("timezone", "business_day_timezone"):
        try:
            ZoneInfo(values.get(key) or "UTC")
        # "Pacific" names a folder of zones: IsADirectoryError
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ConfigError(
                f"{where}: [ledger] {key} {values[key]!r} is not an "
                "IANA time zone (like Europe/Berlin or UTC)"
            ) from None


def _column_keys(values: dict[str, Any], where: str) -> None:
    unknown = sorted(set(values.get("columns", {})) - set(LEDGER_COLUMN_KEYS))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r} in [ledger.columns]; known "
            f"keys: {', '.join(LEDGER_COLUMN_KEYS)}"
        )
    _validate_amount_columns(values.get("columns", {}), where)


def _sheet(values: dict[str, Any], where: str) -> None:
    if "sheet" not in values:
        return
    path = values.get("path", LedgerConfig.path)
    if Path(path).suffix.lower() not in SPREADSHEET_SUFFIXES:
        raise ConfigError(
            f"{where}: [ledger] sheet applies only to spreadsheet exports "
            f"({', '.join(SPREADSHEET_SUFFIXES)}); path {path!r} is not one"
        )
    if not values["sheet"].strip():
        raise ConfigError(f"{where}: [ledger] sheet must name a sheet, not be blank")


def _status_map(values: dict[str, Any], where: str) -> None:
    for word, status in values.get("status_map", {}).items():
        if status not in _LEDGER_STATUSES:
            raise ConfigError(
                f"{where}: [ledger.status_map] {word} must be one of "
                f"{', '.join(_LEDGER_STATUSES)}, not {status!r}"
            )


def _mail_route(values: dict[str, Any], where: str) -> None:
    if "ca_file" in values and not values["ca_file"].is_file():
        raise ConfigError(f"{where}: [email] ca_file {values['ca_file']} is not a file")
    if values.get("starttls", True) and values.get("implicit_tls"):
        raise ConfigError(
            f"{where}: [email] starttls and implicit_tls exclude each other "
            "(587 uses STARTTLS, 465 implicit TLS)"
        )
    if not values.get("to"):
        raise ConfigError(f"{where}: [email] to must name at least one recipient")


def _discount_sheet(values: dict[str, Any], where: str) -> None:
    if "discount_sheet" in values:
        discounts.read(values["discount_sheet"])  # refused now, not at 3 am


def _tolerances(values: dict[str, Any], where: str) -> None:
    for currency, units in values.get("tolerance_minor_units", {}).items():
        try:
            minor_unit(currency)
        except MoneyError as exc:
            raise ConfigError(f"{where}: [checks.tolerance_minor_units] {exc}") from None
        if units < 0:
            raise ConfigError(
                f"{where}: [checks.tolerance_minor_units] {currency} must not be negative"
            )


def _validate_amount_columns(columns: dict[str, str], where: str) -> None:
    """[ledger.columns] maps one signed `amount`, or `debit` and `credit`: never both shapes,
    never one side alone."""
    sides = [key for key in ("debit", "credit") if key in columns]
    if "amount" in columns and sides:
        raise ConfigError(
            f"{where}: [ledger.columns] amount and {sides[0]} exclude each other: map either "
            "amount (one signed column) or debit and credit (two columns), not both"
        )
    if len(sides) == 1:
        other = "credit" if sides[0] == "debit" else "debit"
        raise ConfigError(
            f"{where}: [ledger.columns] {sides[0]} needs {other} too: a debit/credit export "
            "maps both columns (purchases on the debit side, reversals on the credit side)"
        )
    if sides and columns["debit"] == columns["credit"]:
        raise ConfigError(
            f"{where}: [ledger.columns] debit and credit both name {columns['debit']!r}; "
            "they are two columns"
        )


def _validate_shape(values: dict[str, Any], where: str) -> None:
    """[ledger] delimiter, decimal_separator and date_format."""
    path = values.get("path", LedgerConfig.path)
    delimiter = values.get("delimiter")
    if delimiter is not None:
        if delimiter not in LEDGER_DELIMITERS:
            raise ConfigError(
                f'{where}: [ledger] delimiter must be one of ",", ";", "\\t" (or "tab"), "|", '
                f"not {delimiter!r}"
            )
        if LEDGER_DELIMITERS[delimiter] != "," and not _is_csv(path):
            raise ConfigError(
                f"{where}: [ledger] delimiter applies only to CSV exports (.csv, .gz); "
                f"path {path!r} is not one"
            )
    separator = values.get("decimal_separator")
    if separator is not None and separator not in (".", ","):
        raise ConfigError(
            f'{where}: [ledger] decimal_separator must be "." or ",", not {separator!r}'
        )
    date_format = values.get("date_format")
    if date_format is not None:
        problem = date_format_problem(date_format)
        if problem:
            raise ConfigError(f"{where}: [ledger] date_format {problem}")


def _is_csv(path: str) -> bool:
    return Path(path).suffix.lower() in (".csv", ".gz")


def date_format_problem(date_format: str) -> str | None:
    """Why `date_format` cannot be [ledger] date_format, or None."""
    if date_format in LEDGER_DATE_WORDS:
        return None
    directives = re.findall(r"%(-?.)", date_format)
    if not directives:
        return (
            f"must be iso, day-first, month-first or a strftime pattern such as "
            f'"%d.%m.%Y %H:%M:%S", not {date_format!r} (it has no % directive)'
        )
    for directive in directives:
        if directive in ("z", "Z"):
            return (
                f"must not hold %{directive} ({date_format!r}): an offset or Z after the time "
                "is read as in an ISO timestamp, and a naive time is in [ledger] timezone"
            )
        if directive not in _DATE_DIRECTIVES:
            return f"has %{directive}, which recon does not read ({date_format!r})"
    found = {d.lstrip("-") for d in directives}
    dated = (bool(found & {"m", "b", "B", "h"}) and "d" in found) or "j" in found
    if not found & {"Y", "y"} or not dated:
        return f"must name a year, a month and a day (%Y, %m, %d), not {date_format!r}"
    return None


def _base_url_problem(url: str) -> str | None:
    """Why `url` cannot be Starship's base URL, or None. The key and secret travel in its
    requests' headers, so plain http is for a sandbox on this machine only; credentials in the
    URL itself would be written wherever the URL is (logs, run records), so they are refused
    and the URL is not repeated."""
    if not url.startswith(("http://", "https://")):
        return "must start with https:// (or http:// for a local sandbox)"
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        return (
            "must not carry a user name or password (the key and secret come from the environment)"
        )
    try:
        parts.port  # noqa: B018 (reading it raises ValueError for a port out of range)
    except ValueError:
        return f"has an invalid port: {url!r}"
    host = parts.hostname or ""
    if not host or any(c.isspace() for c in url):
        return f"has no valid host name: {url!r}"
    if parts.query or parts.fragment:
        return "must not carry a query or fragment (it is not repeated here: it may hold a key)"
    if parts.scheme == "http" and not is_loopback(host):
        return (
            f"must use https:// for {host} (plain http:// would send the API key in clear; "
            "it is for a sandbox on 127.0.0.1 or localhost)"
        )
    return None


# Each section's rules beyond _CHOICES and the bounds, in the order they are checked.
_RULES: dict[str, tuple[Callable[[dict[str, Any], str], None], ...]] = {
    "starship": (_base_url,),
    "storage": (_memory_limit,),
    "ledger": (_time_zones, _column_keys, _validate_shape, _sheet, _status_map),
    "email": (_mail_route,),
    "checks": (_discount_sheet, _tolerances),
}

"""`recon.toml` tested as tables: text that loads (with the values it must give) and text that
is refused (with a fragment of the reason). Every case is a real file in `tmp_path`, loaded with
`recon.config.load`, so each refusal must also name the file.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from recon import config
from recon.errors import ConfigError

# The configuration example the project's design started from, verbatim: a user's file.
DESIGN_EXAMPLE = """\
[starship]
base_url = "https://api-playground.starshiprewards.com/api/v1"
api_key_env = "STARSHIP_API_KEY"        # names of the environment variables, not the secrets
api_secret_env = "STARSHIP_API_SECRET"
page_size = 100
lookback_days = 7                       # re-read older orders so late cancellations and stuck PENDING show

[storage]
data_dir = "var/recon"                  # the Parquet lake and recon.duckdb

[ledger]
path = "exports/ledger-{date}.csv"      # {date} is replaced by YYYY-MM-DD; csv, parquet, jsonl or xlsx by extension
timezone = "UTC"                        # the zone of naive timestamps in the export
amount_unit = "major"                   # or "minor": integers in the currency's ISO 4217 minor unit
purchase_sign = "positive"              # or "negative": purchases booked as negative numbers
# sheet = "Ledger"                      # xlsx only; default the first sheet
[ledger.columns]                        # our name = the export's column name
entry_id = "entry_id"
order_id = "order_id"
reference = "reference"
amount = "amount"
currency = "currency"
status = "status"
booked_at = "booked_at"
[ledger.status_map]                     # the export's status words -> DELIVERED | CANCELLED | PENDING
delivered = "DELIVERED"

[checks]
stuck_pending_hours = 24
[checks.low_wallet_balance]
USD = "1000.00"

[report]
out_dir = "reports/out"

[email]                                 # optional; without it `recon run` only writes files
smtp_host = "localhost"
smtp_port = 587
starttls = true
username_env = "RECON_SMTP_USER"
password_env = "RECON_SMTP_PASSWORD"
from = "recon@example.com"
to = ["finance@example.com"]
"""  # noqa: E501 (the design's comments are long)

LEDGER_FIELDS = ("entry_id", "order_id", "reference", "amount", "currency", "status", "booked_at")


class Beside:
    """An expected path relative to the configuration file's folder."""

    def __init__(self, relative: str, as_text: bool = False) -> None:
        self.relative = relative
        self.as_text = as_text  # [ledger] path stays text: it holds a {date} placeholder

    def __repr__(self) -> str:
        return f"Beside({self.relative!r})"


# TOML text -> {dotted attribute of the loaded Config: expected value}.
VALID_CONFIGS = [
    pytest.param(
        DESIGN_EXAMPLE,
        {
            "starship.base_url": "https://api-playground.starshiprewards.com/api/v1",
            "starship.api_key_env": "STARSHIP_API_KEY",
            "starship.api_secret_env": "STARSHIP_API_SECRET",
            "starship.page_size": 100,
            "starship.lookback_days": 7,
            "storage.data_dir": Beside("var/recon"),
            "ledger.path": Beside("exports/ledger-{date}.csv", as_text=True),
            "ledger.timezone": "UTC",
            "ledger.amount_unit": "major",
            "ledger.purchase_sign": "positive",
            "ledger.columns": {name: name for name in LEDGER_FIELDS},
            "ledger.status_map": {"delivered": "DELIVERED"},
            "checks.stuck_pending_hours": 24,
            "checks.low_wallet_balance": {"USD": Decimal("1000.00")},
            "report.out_dir": Beside("reports/out"),
            "email.smtp_host": "localhost",
            "email.smtp_port": 587,
            "email.starttls": True,
            "email.implicit_tls": False,
            "email.username_env": "RECON_SMTP_USER",
            "email.password_env": "RECON_SMTP_PASSWORD",
            "email.sender": "recon@example.com",
            "email.to": ["finance@example.com"],
        },
        id="design-example",
    ),
    pytest.param(
        "",
        {
            "starship.base_url": config.SANDBOX_BASE_URL,
            "starship.paginator": "page_number",
            "storage.data_dir": Beside("var/recon"),
            "report.out_dir": Beside("reports/out"),
            "checks.low_wallet_balance": {},
            "email": None,
        },
        id="empty-file-gives-defaults-beside-the-file",
    ),
    pytest.param(
        '[starship]\npage_size = 50\n[ledger]\ntimezone = "Europe/Berlin"\n',
        {
            "starship.page_size": 50,
            "storage.data_dir": Beside("var/recon"),
            "report.out_dir": Beside("reports/out"),
            "email": None,
        },
        id="storage-and-report-absent-default-beside-the-file",
    ),
    pytest.param(
        '[storage]\ndata_dir = "/srv/recon/data"\n[report]\nout_dir = "/srv/recon/reports"\n',
        {
            "storage.data_dir": Path("/srv/recon/data"),
            "report.out_dir": Path("/srv/recon/reports"),
        },
        id="absolute-paths-kept",
    ),
    pytest.param(
        '[storage]\ndata_dir = "../lake"\n[report]\nout_dir = "out"\n',
        {"storage.data_dir": Beside("../lake"), "report.out_dir": Beside("out")},
        id="relative-paths-resolved-against-the-file",
    ),
    pytest.param("", {"storage.memory_limit": "1.5GB"}, id="memory-limit-default"),
    pytest.param(
        '[storage]\nmemory_limit = "800MiB"\n',
        {"storage.memory_limit": "800MiB"},
        id="memory-limit-in-mebibytes",
    ),
    pytest.param(
        '[checks.low_wallet_balance]\nUSD = "1000"\nJPY = "3000"\nKWD = "12.5"\n',
        {
            "checks.low_wallet_balance": {
                "USD": Decimal("1000.00"),
                "JPY": Decimal("3000"),
                "KWD": Decimal("12.500"),
            }
        },
        id="floors-take-the-currency-decimals",
    ),
    pytest.param(
        '[checks.low_wallet_balance]\nusd = "5"\n[checks.tolerance_minor_units]\neur = 2\n',
        {
            "checks.low_wallet_balance": {"USD": Decimal("5.00")},
            "checks.tolerance_minor_units": {"EUR": 2},
        },
        id="currency-keys-upper-cased",
    ),
    pytest.param(
        "[starship]\nread_timeout_seconds = 10\nrequests_per_second = 2.5\n",
        {"starship.read_timeout_seconds": 10.0, "starship.requests_per_second": 2.5},
        id="integer-accepted-where-a-number-is-expected",
    ),
    pytest.param(
        '[starship]\nbase_url = "http://127.0.0.1:8080/api/v1"\n'
        'paginator = "cursor"\nlookback_days = 0\n',
        {
            "starship.base_url": "http://127.0.0.1:8080/api/v1",
            "starship.paginator": "cursor",
            "starship.lookback_days": 0,
        },
        id="local-sandbox-cursor-no-lookback",
    ),
    pytest.param(
        "[ledger.columns]\n"
        + "".join(f'{name} = "{name.upper()}"\n' for name in LEDGER_FIELDS)
        + '[ledger.status_map]\nok = "DELIVERED"\nvoid = "CANCELLED"\nopen = "PENDING"\n',
        {
            "ledger.columns": {name: name.upper() for name in LEDGER_FIELDS},
            "ledger.status_map": {"ok": "DELIVERED", "void": "CANCELLED", "open": "PENDING"},
        },
        id="ledger-columns-and-status-map",
    ),
    pytest.param(
        "",
        {"ledger.amount_unit": "major", "ledger.purchase_sign": "positive"},
        id="ledger-amounts-default-to-major-units-and-positive-purchases",
    ),
    pytest.param(
        '[ledger]\namount_unit = "minor"\n',
        {"ledger.amount_unit": "minor", "ledger.purchase_sign": "positive"},
        id="ledger-amount-unit-minor",
    ),
    pytest.param(
        '[ledger]\npurchase_sign = "negative"\n',
        {"ledger.amount_unit": "major", "ledger.purchase_sign": "negative"},
        id="ledger-purchase-sign-negative",
    ),
    pytest.param(
        '[ledger]\namount_unit = "minor"\npurchase_sign = "negative"\n',
        {"ledger.amount_unit": "minor", "ledger.purchase_sign": "negative"},
        id="ledger-minor-units-and-negative-purchases",
    ),
    pytest.param(
        "",
        {
            "ledger.delimiter": ",",
            "ledger.decimal_separator": ".",
            "ledger.date_format": "iso",
            "ledger.amount_fields": ("amount",),
        },
        id="ledger-shape-defaults-to-today-s-csv",
    ),
    pytest.param(
        '[ledger]\ndelimiter = ";"\ndecimal_separator = ","\ndate_format = "day-first"\n',
        {
            "ledger.delimiter": ";",
            "ledger.decimal_separator": ",",
            "ledger.date_format": "day-first",
        },
        id="ledger-a-german-export",
    ),
    pytest.param(
        '[ledger]\ndelimiter = "\\t"\ndate_format = "month-first"\n',
        {"ledger.delimiter": "\t", "ledger.date_format": "month-first"},
        id="ledger-tab-written-as-an-escape",
    ),
    pytest.param(
        '[ledger]\ndelimiter = "tab"\n',
        {"ledger.delimiter": "\t"},
        id="ledger-tab-written-as-a-word",
    ),
    pytest.param(
        '[ledger]\ndelimiter = "|"\ndate_format = "%d.%m.%Y %H:%M:%S"\n',
        {"ledger.delimiter": "|", "ledger.date_format": "%d.%m.%Y %H:%M:%S"},
        id="ledger-pipe-and-a-strftime-pattern",
    ),
    pytest.param(
        '[ledger]\npath = "ledger-{date}.parquet"\ndecimal_separator = ","\n'
        'date_format = "%m/%d/%Y %I:%M:%S %p"\n',
        {"ledger.decimal_separator": ",", "ledger.date_format": "%m/%d/%Y %I:%M:%S %p"},
        id="ledger-decimal-separator-and-date-format-for-any-format",
    ),
    pytest.param(
        '[ledger.columns]\ndebit = "Debit"\ncredit = "Credit"\n',
        {
            "ledger.columns": {
                **{name: name for name in LEDGER_FIELDS if name != "amount"},
                "debit": "Debit",
                "credit": "Credit",
            },
            "ledger.amount_fields": ("debit", "credit"),
        },
        id="ledger-debit-and-credit-stand-in-for-amount",
    ),
    pytest.param(
        '[ledger]\namount_unit = "major"\npurchase_sign = "positive"\n',
        {"ledger.amount_unit": "major", "ledger.purchase_sign": "positive"},
        id="ledger-defaults-spelled-out",
    ),
    pytest.param(
        '[ledger]\npath = "exports/ledger-{date}.xlsx"\n',
        {"ledger.path": Beside("exports/ledger-{date}.xlsx", as_text=True), "ledger.sheet": None},
        id="ledger-xlsx-reads-the-first-sheet",
    ),
    pytest.param(
        '[ledger]\npath = "exports/ledger-{date}.XLSX"\nsheet = "Ledger 2026"\n',
        {"ledger.sheet": "Ledger 2026"},
        id="ledger-xlsx-names-its-sheet",
    ),
    pytest.param(
        '[ledger]\npath = "ledger-{date}.xls"\nsheet = "Ledger"\n',
        {"ledger.path": Beside("ledger-{date}.xls", as_text=True), "ledger.sheet": "Ledger"},
        id="ledger-xls-names-its-sheet",
    ),
    pytest.param(
        '[email]\nto = ["a@example.com", "b@example.com"]\nimplicit_tls = true\n'
        "starttls = false\nsmtp_port = 465\n",
        {
            "email.to": ["a@example.com", "b@example.com"],
            "email.implicit_tls": True,
            "email.starttls": False,
            "email.smtp_port": 465,
            "email.sender": "recon@example.com",
        },
        id="email-with-defaults",
    ),
]

# TOML text -> a fragment of the ConfigError's message (the message also names the file).
INVALID_CONFIGS = [
    pytest.param(
        "[starship]\nread_timeout_seconds = nan\n", "must be a finite number", id="nan-timeout"
    ),
    pytest.param(
        "[starship]\nrequests_per_second = inf\n", "must be a finite number", id="infinite-rate"
    ),
    pytest.param(
        '[ledger]\ntimezone = "Mars/Olympus"\n', "is not an IANA time zone", id="unknown-timezone"
    ),
    pytest.param(
        '[storage]\nmemory_limit = "lots"\n',
        "[storage] memory_limit must be a size like",
        id="memory-limit-not-a-size",
    ),
    pytest.param(
        "[checks.tolerance_minor_units]\nXYZ = 3\n",
        "unknown currency 'XYZ'",
        id="tolerance-unknown-currency",
    ),
    pytest.param(
        "[checks.tolerance_minor_units]\nusd = 1\nUSD = 5\n",
        "names USD twice",
        id="tolerance-currency-twice",
    ),
    pytest.param(
        '[checks.low_wallet_balance]\nUSD = "-5"\n', "must not be negative", id="negative-floor"
    ),
    pytest.param(
        '[email]\nto = ["a@example.com"]\nstarttls = true\nimplicit_tls = true\n',
        "exclude each other",
        id="starttls-and-implicit-tls",
    ),
    pytest.param("[email]\nto = []\n", "at least one recipient", id="email-without-recipients"),
    pytest.param("[starship\n", "not valid TOML", id="invalid-toml"),
    pytest.param(
        "[starship]\npage_size = 1\npage_size = 2\n", "not valid TOML", id="duplicate-key"
    ),
    pytest.param(
        "[starshp]\npage_size = 1\n",
        "unknown section [starshp]; known sections: starship, storage",
        id="unknown-section",
    ),
    pytest.param('starship = "x"\n', "[starship] must be a table", id="section-not-a-table"),
    pytest.param(
        "[starship]\npage_sise = 10\n",
        "unknown key 'page_sise' in [starship]; known keys: answer_timeout_seconds, "
        "api_key_env, api_secret_env, base_url, connect_timeout_seconds, lookback_days, "
        "max_attempts, max_repages, page_size, paginator",
        id="unknown-key-lists-known-keys",
    ),
    pytest.param(
        '[email]\nsender = "x@example.com"\n',
        "unknown key 'sender' in [email]; known keys: attempts, ca_file, from, implicit_tls",
        id="email-attribute-name-is-not-a-file-key",
    ),
    pytest.param(
        '[ledger.columns]\nledger_id = "id"\n',
        "unknown key 'ledger_id' in [ledger.columns]; known keys: entry_id, order_id",
        id="unknown-ledger-column",
    ),
    pytest.param(
        '[starship]\npage_size = "100"\n',
        "[starship] page_size must be an integer, not '100'",
        id="string-for-int",
    ),
    pytest.param(
        "[starship]\npage_size = 100.0\n",
        "[starship] page_size must be an integer, not 100.0",
        id="float-for-int",
    ),
    pytest.param(
        "[email]\nsmtp_port = true\n",
        "[email] smtp_port must be an integer, not True",
        id="bool-for-int",
    ),
    pytest.param(
        "[email]\nstarttls = 1\n",
        "[email] starttls must be true or false, not 1",
        id="int-for-bool",
    ),
    pytest.param(
        "[starship]\nread_timeout_seconds = true\n",
        "[starship] read_timeout_seconds must be a number, not True",
        id="bool-for-number",
    ),
    pytest.param(
        '[email]\nto = ["finance@example.com", 3]\n',
        "[email] to must be a list of strings",
        id="list-of-non-strings",
    ),
    pytest.param(
        '[email]\nto = "finance@example.com"\n',
        "[email] to must be a list of strings",
        id="string-for-list",
    ),
    pytest.param(
        "[ledger.columns]\namount = 3\n",
        "[ledger] columns must be a table of strings",
        id="non-string-column",
    ),
    pytest.param(
        '[storage]\ndata_dir = ""\n', "[storage] data_dir must be a path", id="empty-path"
    ),
    pytest.param("[report]\nout_dir = 3\n", "[report] out_dir must be a path", id="int-for-path"),
    pytest.param(
        "[checks.low_wallet_balance]\nUSD = 1000.00\n",
        '[checks] low_wallet_balance.USD must be a quoted amount like "1000.00", not 1000.0',
        id="float-money-must-be-quoted",
    ),
    pytest.param(
        "[checks]\nlow_wallet_balance = 3\n",
        "[checks] low_wallet_balance must be a table of amounts per currency",
        id="floors-not-a-table",
    ),
    pytest.param(
        '[checks.low_wallet_balance]\nJPY = "10.5"\n',
        "low_wallet_balance.JPY: amount '10.5' has more decimals than JPY allows (0)",
        id="more-decimals-than-the-currency",
    ),
    pytest.param(
        '[checks.low_wallet_balance]\nXYZ = "10"\n',
        "low_wallet_balance.XYZ: unknown currency 'XYZ'",
        id="unknown-currency-floor",
    ),
    pytest.param(
        '[checks.low_wallet_balance]\nUSD = "lots"\n',
        "low_wallet_balance.USD: amount 'lots' is not a number",
        id="floor-not-a-number",
    ),
    pytest.param(
        "[checks.tolerance_minor_units]\nUSD = 1.5\n",
        "[checks] tolerance_minor_units must be a table of integers",
        id="float-tolerance",
    ),
    pytest.param(
        "[checks.tolerance_minor_units]\nUSD = -1\n",
        "[checks.tolerance_minor_units] USD must not be negative",
        id="negative-tolerance",
    ),
    pytest.param(
        '[ledger.status_map]\nshipped = "SHIPPED"\n',
        "[ledger.status_map] shipped must be one of DELIVERED, CANCELLED, PENDING, not 'SHIPPED'",
        id="bad-status",
    ),
    pytest.param(
        '[starship]\npaginator = "offset"\n',
        "[starship] paginator must be one of page_number, cursor, not 'offset'",
        id="paginator-not-a-choice",
    ),
    pytest.param(
        '[ledger]\nsheet = "Ledger"\n',
        "[ledger] sheet applies only to spreadsheet exports (.xlsx, .xls); "
        "path 'exports/ledger-{date}.csv' is not one",
        id="sheet-without-a-spreadsheet-path",
    ),
    pytest.param(
        '[ledger]\npath = "ledger-{date}.parquet"\nsheet = "Ledger"\n',
        "path 'ledger-{date}.parquet' is not one",
        id="sheet-for-a-parquet-export",
    ),
    pytest.param(
        '[ledger]\npath = "ledger-{date}.xlsx"\nsheet = 1\n',
        "[ledger] sheet must be a string, not 1",
        id="sheet-by-number",
    ),
    pytest.param(
        '[ledger]\npath = "ledger-{date}.xlsx"\nsheet = " "\n',
        "[ledger] sheet must name a sheet, not be blank",
        id="sheet-blank",
    ),
    pytest.param(
        '[ledger]\namount_unit = "cents"\n',
        "[ledger] amount_unit must be one of major, minor, not 'cents'",
        id="amount-unit-not-a-choice",
    ),
    pytest.param(
        '[ledger]\namount_unit = "Minor"\n',
        "[ledger] amount_unit must be one of major, minor, not 'Minor'",
        id="amount-unit-is-case-sensitive",
    ),
    pytest.param(
        "[ledger]\namount_unit = 100\n",
        "[ledger] amount_unit must be a string, not 100",
        id="amount-unit-not-a-string",
    ),
    pytest.param(
        '[ledger]\npurchase_sign = "reversed"\n',
        "[ledger] purchase_sign must be one of positive, negative, not 'reversed'",
        id="purchase-sign-not-a-choice",
    ),
    pytest.param(
        '[ledger]\npurchase_sign = "-"\n',
        "[ledger] purchase_sign must be one of positive, negative, not '-'",
        id="purchase-sign-a-symbol",
    ),
    pytest.param(
        "[ledger]\npurchase_sign = -1\n",
        "[ledger] purchase_sign must be a string, not -1",
        id="purchase-sign-not-a-string",
    ),
    pytest.param(
        '[ledger]\nbusiness_day_timezone = "Pacific"\n',
        "[ledger] business_day_timezone 'Pacific' is not an IANA time zone",
        id="ledger-business-day-timezone-not-a-zone",
    ),
    pytest.param(
        "[ledger]\nmax_export_gap_days = -1\n",
        "[ledger] max_export_gap_days must not be negative",
        id="ledger-negative-export-gap",
    ),
    pytest.param(
        '[ledger]\namount_units = "minor"\n',
        "unknown key 'amount_units' in [ledger]; known keys: amount_unit, "
        "business_day_timezone, columns, date_format, decimal_separator, delimiter, "
        "max_export_gap_days, max_unpacked_mb, path, purchase_sign, sheet, status_map, timezone",
        id="ledger-unknown-key-lists-the-amount-keys",
    ),
    pytest.param(
        '[ledger]\ndelimiter = "::"\n',
        '[ledger] delimiter must be one of ",", ";", "\\t" (or "tab"), "|", not \'::\'',
        id="ledger-delimiter-not-one-character-recon-reads",
    ),
    pytest.param(
        "[ledger]\ndelimiter = 59\n",
        "[ledger] delimiter must be a string, not 59",
        id="ledger-delimiter-not-a-string",
    ),
    pytest.param(
        '[ledger]\npath = "ledger-{date}.jsonl"\ndelimiter = ";"\n',
        "[ledger] delimiter applies only to CSV exports (.csv, .gz); "
        "path 'ledger-{date}.jsonl' is not one",
        id="ledger-delimiter-for-json-lines",
    ),
    pytest.param(
        '[ledger]\ndecimal_separator = "x"\n',
        '[ledger] decimal_separator must be "." or ",", not \'x\'',
        id="ledger-decimal-separator-x",
    ),
    pytest.param(
        '[ledger]\ndecimal_separator = " "\n',
        '[ledger] decimal_separator must be "." or ",", not \' \'',
        id="ledger-decimal-separator-a-space",
    ),
    pytest.param(
        '[ledger]\ndate_format = "dd.mm.yyyy"\n',
        "[ledger] date_format must be iso, day-first, month-first or a strftime pattern",
        id="ledger-date-format-with-no-directive",
    ),
    pytest.param(
        '[ledger]\ndate_format = "Day-First"\n',
        "(it has no % directive)",
        id="ledger-date-format-words-are-case-sensitive",
    ),
    pytest.param(
        '[ledger]\ndate_format = "%H:%M:%S"\n',
        "[ledger] date_format must name a year, a month and a day",
        id="ledger-date-format-with-no-date",
    ),
    pytest.param(
        '[ledger]\ndate_format = "%d.%m.%Y %H:%M %z"\n',
        "[ledger] date_format must not hold %z",
        id="ledger-date-format-with-a-zone",
    ),
    pytest.param(
        '[ledger]\ndate_format = "%d.%m.%Y %c"\n',
        "[ledger] date_format has %c, which recon does not read",
        id="ledger-date-format-with-a-locale-s-directive",
    ),
    pytest.param(
        '[ledger.columns]\namount = "Amount"\ndebit = "Debit"\ncredit = "Credit"\n',
        "[ledger.columns] amount and debit exclude each other",
        id="ledger-amount-and-debit-credit",
    ),
    pytest.param(
        '[ledger.columns]\ncredit = "Credit"\n',
        "[ledger.columns] credit needs debit too",
        id="ledger-credit-alone",
    ),
    pytest.param(
        '[ledger.columns]\ndebit = "Debit"\n',
        "[ledger.columns] debit needs credit too",
        id="ledger-debit-alone",
    ),
    pytest.param(
        '[ledger.columns]\ndebit = "Betrag"\ncredit = "Betrag"\n',
        "[ledger.columns] debit and credit both name 'Betrag'",
        id="ledger-debit-and-credit-one-column",
    ),
    pytest.param(
        "[starship]\npage_size = 0\n", "[starship] page_size must be at least 1", id="page-size-0"
    ),
    pytest.param(
        "[starship]\nmax_attempts = 0\n",
        "[starship] max_attempts must be at least 1",
        id="max-attempts-0",
    ),
    pytest.param(
        "[checks]\nstuck_pending_hours = 0\n",
        "[checks] stuck_pending_hours must be at least 1",
        id="stuck-pending-hours-0",
    ),
    pytest.param(
        "[starship]\nlookback_days = -1\n",
        "[starship] lookback_days must not be negative",
        id="negative-lookback-days",
    ),
    pytest.param(
        "[starship]\nretry_budget_seconds = -0.5\n",
        "[starship] retry_budget_seconds must not be negative",
        id="negative-retry-budget",
    ),
    pytest.param(
        "[checks]\ngrace_minutes = -5\n",
        "[checks] grace_minutes must not be negative",
        id="negative-grace-minutes",
    ),
    pytest.param(
        '[starship]\nbase_url = "ftp://api-playground.starshiprewards.com/api/v1"\n',
        "[starship] base_url must start with https://",
        id="base-url-ftp",
    ),
    pytest.param(
        '[starship]\nbase_url = "api-playground.starshiprewards.com/api/v1"\n',
        "[starship] base_url must start with https://",
        id="base-url-without-scheme",
    ),
    pytest.param(
        '[starship]\nbase_url = "https:///api/v1"\n',
        "[starship] base_url has no valid host name",
        id="base-url-without-host",
    ),
    pytest.param(
        '[starship]\nbase_url = "https://api-playground.starshiprewards.com:443x/api/v1"\n',
        "[starship] base_url has an invalid port",
        id="base-url-bad-port",
    ),
    pytest.param(
        '[starship]\nbase_url = "https://pk_live:sk_live@api.starshiprewards.com/api/v1"\n',
        "[starship] base_url must not carry a user name or password",
        id="base-url-with-credentials",
    ),
    pytest.param(
        '[starship]\nbase_url = "http://api-playground.starshiprewards.com/api/v1"\n',
        "[starship] base_url must use https:// for api-playground.starshiprewards.com",
        id="base-url-plain-http-off-loopback",
    ),
    pytest.param(  # a name that only starts like a loopback address is not one
        '[starship]\nbase_url = "http://127.starship.example/api/v1"\n',
        "[starship] base_url must use https:// for 127.starship.example",
        id="base-url-plain-http-to-a-127-name",
    ),
    pytest.param(
        '[starship]\nbase_url = "https://api.starshiprewards.com/api/v1?key=x"\n',
        "[starship] base_url must not carry a query or fragment",
        id="base-url-with-query",
    ),
]


def write(tmp_path: Path, text: str, name: str = "recon.toml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def attribute(loaded: config.Config, dotted: str) -> Any:
    value: Any = loaded
    for name in dotted.split("."):
        value = getattr(value, name)
    return value


@pytest.mark.parametrize(("text", "expected"), VALID_CONFIGS)
def test_valid_config_loads(tmp_path: Path, text: str, expected: dict[str, Any]) -> None:
    path = write(tmp_path, text)
    loaded = config.load(path)
    assert loaded.source == path
    for dotted, want in expected.items():
        if isinstance(want, Beside):
            path = tmp_path.resolve() / want.relative
            want = str(path) if want.as_text else path
        got = attribute(loaded, dotted)
        # repr as well as ==: Decimal("1000") == Decimal("1000.00") and 10 == 10.0.
        assert (got, repr(got)) == (want, repr(want)), dotted


@pytest.mark.parametrize(("text", "fragment"), INVALID_CONFIGS)
def test_invalid_config_is_refused(tmp_path: Path, text: str, fragment: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=re.escape(fragment)) as refused:
        config.load(path)
    assert str(refused.value).startswith(f"{path}: ")


@pytest.mark.parametrize(
    "url",
    [
        "https://pk_live:sk_live_secret@api.starshiprewards.com/api/v1",
        "https://api.starshiprewards.com/api/v1?secret=sk_live_secret",
    ],
)
def test_a_base_url_carrying_a_secret_is_not_repeated(tmp_path: Path, url: str) -> None:
    path = write(tmp_path, f'[starship]\nbase_url = "{url}"\n')
    with pytest.raises(ConfigError) as refused:
        config.load(path)
    assert "sk_live_secret" not in str(refused.value)


def test_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "recon.toml"
    with pytest.raises(ConfigError, match="not found") as refused:
        config.load(path)
    assert str(path) in str(refused.value)


def test_relative_paths_follow_the_file_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, '[storage]\ndata_dir = "lake"\n', name="etc/recon.toml")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    loaded = config.load(Path("../etc/recon.toml"))
    assert loaded.storage.data_dir == tmp_path.resolve() / "etc" / "lake"
    assert loaded.report.out_dir == tmp_path.resolve() / "etc" / "reports" / "out"
    assert loaded.storage.data_dir.is_absolute()


def test_paths_under_home_are_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    loaded = config.load(write(tmp_path, '[storage]\ndata_dir = "~/recon"\n'))
    assert loaded.storage.data_dir == tmp_path / "home" / "recon"


NAMED_ENV = '[starship]\napi_key_env = "ACME_KEY"\napi_secret_env = "ACME_SECRET"\n'


def test_credentials_come_from_the_named_variables(tmp_path: Path) -> None:
    loaded = config.load(write(tmp_path, NAMED_ENV))
    environ = {
        "ACME_KEY": "key-123",
        "ACME_SECRET": " secret-456\n",
        "STARSHIP_API_KEY": "not-this-one",
        "STARSHIP_API_SECRET": "nor-this-one",
    }
    assert loaded.starship_credentials(environ) == ("key-123", "secret-456")


def test_credentials_default_to_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STARSHIP_API_KEY", "env-key")
    monkeypatch.setenv("STARSHIP_API_SECRET", "env-secret")
    loaded = config.load(write(tmp_path, ""))
    assert loaded.starship_credentials() == ("env-key", "env-secret")


# environ -> the variable the error must name; the values present must never be printed.
MISSING_CREDENTIALS = [
    pytest.param({}, "ACME_KEY", id="neither-set"),
    pytest.param({"ACME_KEY": "key-value-abc"}, "ACME_SECRET", id="secret-missing"),
    pytest.param({"ACME_SECRET": "secret-value-xyz"}, "ACME_KEY", id="key-missing"),
    pytest.param(
        {"ACME_KEY": "key-value-abc", "ACME_SECRET": "   "}, "ACME_SECRET", id="secret-blank"
    ),
    pytest.param(
        {"STARSHIP_API_KEY": "default-key", "STARSHIP_API_SECRET": "default-secret"},
        "ACME_KEY",
        id="default-names-ignored",
    ),
]


@pytest.mark.parametrize(("environ", "missing"), MISSING_CREDENTIALS)
def test_missing_credential_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], missing: str
) -> None:
    monkeypatch.setenv("ACME_KEY", "from-os-environ")  # an explicit dict must win
    monkeypatch.setenv("ACME_SECRET", "from-os-environ")
    path = write(tmp_path, NAMED_ENV)
    loaded = config.load(path)
    with pytest.raises(ConfigError, match=rf"environment variable {missing} is not set") as no:
        loaded.starship_credentials(environ)
    message = str(no.value)
    assert str(path) in message
    for value in [*environ.values(), "from-os-environ"]:
        if value.strip():
            assert value.strip() not in message


def test_a_partial_column_map_keeps_the_other_names(tmp_path: Path) -> None:
    path = tmp_path / "recon.toml"
    path.write_text('[ledger.columns]\namount = "Betrag"\n')
    columns = config.load(path).ledger.columns
    assert columns["amount"] == "Betrag"
    assert {k: v for k, v in columns.items() if k != "amount"} == {
        name: name for name in LEDGER_FIELDS if name != "amount"
    }


def test_a_whole_number_floor_loses_no_digits(tmp_path: Path) -> None:
    path = tmp_path / "recon.toml"
    path.write_text("[checks.low_wallet_balance]\nUSD = 1000\n")
    assert repr(config.load(path).checks.low_wallet_balance["USD"]) == "Decimal('1000.00')"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[ledger]\ndelimiter = "::"\n', "[ledger] delimiter"),
        ('[ledger]\ndecimal_separator = "x"\n', "[ledger] decimal_separator"),
        ('[ledger]\ndate_format = "dd.mm.yyyy"\n', "[ledger] date_format"),
        ('[ledger.columns]\namount = "A"\ndebit = "D"\ncredit = "C"\n', "[ledger.columns] amount"),
    ],
)
def test_a_bad_ledger_shape_exits_2_naming_the_key(tmp_path: Path, text: str, key: str) -> None:
    """Through the command line, as cron runs it: one line naming the file and the key, exit
    2, before any work (no lake, no export is looked at)."""
    from click.testing import CliRunner

    from recon.cli import cli

    path = write(tmp_path, text)
    result = CliRunner().invoke(cli, ["diff", "--date", "2026-04-14", "--config", str(path)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"recon: {path}: {key} ")
    assert "Traceback" not in result.output
    assert not (tmp_path / "var").exists()

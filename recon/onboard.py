"""`recon init`: the `[ledger]` section read off one export, against Starship's side in the lake.

    proposal = onboard.propose(settings, Path("exports/ledger-2026-04-14.csv"))
    print(proposal.toml())                  # the section, each choice's evidence as a comment
    onboard.write(Path("recon.toml"), proposal)   # merged in, recon.toml.bak beside it

Every choice is made from the data, never from a column's name: the order id column is the one
whose values are Starship's order ids, the amount the one that equals the charged totals (in
major or minor units, one sign or the other), the zone the one whose offset the booked times
keep from Starship's created times. A name breaks a tie only between equivalent readings (which
of a Debit/Credit pair is the debit). Where the data cannot decide (two columns equally good,
too few matches) the proposal is refused with the candidates and their evidence (`Ambiguous`,
exit 2): a wrong guess here would be a wall of breaks on the first night.

The proposed section is proven before it is shown: `config.from_dict` validates it and
`ledger.load` ingests the export with it, and the proposal says how many rows it kept.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from recon import config, ledger
from recon.config import Config
from recon.errors import ConfigError, InputError
from recon.lake import Lake, atomic_write_text
from recon.vocabulary import LEDGER_STATUSES

# Fewer matched rows than this, and no choice is made: a handful of rows proves nothing.
MIN_MATCHES = 5
# The zones the project's partners keep (fixtures, generated books), preferred when several
# zones fit the same rows; the rest of the IANA database is tried after them.
PREFERRED_ZONES = (
    "UTC",
    "Europe/Berlin",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "America/New_York",
    "Europe/London",
    "Asia/Kolkata",
    "Australia/Adelaide",
    "America/St_Johns",
    "Australia/Sydney",
    "America/Chicago",
    "America/Denver",
    "America/Sao_Paulo",
    "Asia/Singapore",
    "Asia/Dubai",
)
_REGIONS = (
    "Africa/",
    "America/",
    "Antarctica/",
    "Asia/",
    "Atlantic/",
    "Australia/",
    "Europe/",
    "Indian/",
    "Pacific/",
)
_QUARTER_HOUR = 900
# How the debit and credit columns of an accounting export are usually named: a name only
# decides which of the pair is the debit, never whether the pair is one.
_DEBIT_NAMES = re.compile(r"debit|debet|\bdr\b|soll|belast|charge", re.IGNORECASE)
_CREDIT_NAMES = re.compile(r"credit|kredit|\bcr\b|haben|gutschrift|refund", re.IGNORECASE)
_DATE_IN_NAME = re.compile(r"\d{4}-\d{2}-\d{2}")
_CURRENCY_MARKS = re.compile(r"^[A-Z]{3}\s*|\s*[A-Z]{3}$|[$€£¥₩₹]")
_GROUPS = {".": ",", ",": ". \u00a0\u202f'"}
# Starship's statuses as the three the ledger's words map to (a PARTIALLY_DELIVERED order tells
# nothing about a word).
_CANONICAL = {"DELIVERED": "DELIVERED", "CANCELLED": "CANCELLED", "REFUNDED": "CANCELLED"}
_STATUS_WORDS_MAX = 12  # more distinct values than this is free text, not a status


class Ambiguous(InputError):
    """The export cannot decide a setting: the candidates, each with its evidence."""

    def __init__(self, path: Path, what: str, candidates: Iterable[str]) -> None:
        listed = "".join(f"\n  - {line}" for line in candidates)
        super().__init__(
            f"{path}: cannot tell {what} from the data; candidates:{listed}\n"
            "  write this key by hand (README, Configuration), or run init on a fuller export"
        )


@dataclass(frozen=True)
class Choice:
    """One proposed key: its value and the evidence that chose it."""

    value: Any
    evidence: str


@dataclass
class Proposal:
    """The `[ledger]` section proposed for an export, key by key, with the evidence."""

    export: Path
    day: date
    ledger: dict[str, Choice] = field(default_factory=dict)
    columns: dict[str, Choice] = field(default_factory=dict)
    status_map: dict[str, Choice] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what init did and found, for the header

    def section(self) -> dict[str, Any]:
        """The section as `config.from_dict` takes it."""
        table: dict[str, Any] = {key: choice.value for key, choice in self.ledger.items()}
        table["columns"] = {key: choice.value for key, choice in self.columns.items()}
        table["status_map"] = {key: choice.value for key, choice in self.status_map.items()}
        return table

    def toml(self, kept: dict[str, Any] | None = None) -> str:
        """The section as TOML, each key after a comment with its evidence; `kept`: keys of a
        configuration's [ledger] the proposal does not set, written after them."""
        lines = [f"# {_one_line(note)}" for note in self.notes]
        lines.append("[ledger]")
        for key, choice in self.ledger.items():
            lines += [f"# {key}: {_one_line(choice.evidence)}", f"{key} = {_value(choice.value)}"]
        for key, value in (kept or {}).items():
            lines += [f"# {key}: kept from the configuration", f"{key} = {_value(value)}"]
        for name, table in (("columns", self.columns), ("status_map", self.status_map)):
            lines += ["", f"[ledger.{name}]"]
            for key, choice in table.items():
                lines += [
                    f"# {_one_line(choice.evidence)}",
                    f"{_key(key)} = {_value(choice.value)}",
                ]
        return "\n".join(lines) + "\n"


# -- reading the export and the lake -------------------------------------------------------------


@dataclass
class Cells:
    """An export's cells as text (None: blank), and whether each was a typed value already (a
    JSON number, a number or date cell, a Parquet decimal or timestamp)."""

    header: list[str]
    text: dict[str, list[str | None]]
    native: dict[str, list[bool]]
    moments: dict[str, list[datetime | None]] = field(default_factory=dict)  # typed moments
    delimiter: str | None = None
    delimiter_evidence: str = ""
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(next(iter(self.text.values()), []))


def read_cells(path: Path, sheet: str | None = None, max_unpacked_mb: int = 512) -> Cells:
    """Every column of the export as raw text, through recon.ledger's own readers."""
    kind = ledger.SUFFIXES.get(path.suffix.lower())
    if not path.is_file():
        raise InputError(f"{path}: no such ledger export")
    if kind == "csv":
        return _csv_cells(path)
    if kind == "jsonl":
        rows = [row for _, row in ledger.jsonl_rows(path)]
        header = list(dict.fromkeys(key for row in rows for key in row))
        return Cells(
            header,
            {name: [ledger.json_text(row.get(name)) for row in rows] for name in header},
            {name: [isinstance(row.get(name), Decimal) for row in rows] for name in header},
        )
    if kind == "parquet":
        return _parquet_cells(path)
    if kind == "spreadsheet":
        return _sheet_cells(path, sheet, max_unpacked_mb)
    raise InputError(f"{path}: {ledger._FORMATS}")


def sniff_delimiter(path: Path) -> tuple[str, str]:
    """A CSV's delimiter among , ; tab |: the one that splits the first lines into the same
    number of fields, more than one (csv.Sniffer, restricted to those four)."""
    with ledger.csv_open(path) as handle:
        sample = handle.read(64 * 1024)
    lines = [line for line in sample.splitlines()[:50] if line.strip()]
    if len(lines) > 1 and len(sample) == 64 * 1024:
        lines = lines[:-1]  # the sample may cut the last line short
    widths = {
        d: {len(fields) for fields in csv.reader(lines, delimiter=d)} for d in ledger.DELIMITERS
    }
    steady = [d for d, w in widths.items() if len(w) == 1 and next(iter(w)) > 1]
    if len(steady) == 1:
        [d] = steady
        return d, f"every one of the first {len(lines)} lines has {widths[d].pop()} fields"
    try:
        d = csv.Sniffer().sniff(sample, delimiters="".join(ledger.DELIMITERS)).delimiter
    except csv.Error:
        d = ","
    if steady and d not in steady:
        d = max(steady, key=lambda s: next(iter(widths[s])))
    shown = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}
    return (
        d,
        "Python's csv.Sniffer over the first lines (also steady: "
        f"{', '.join(shown[s] for s in steady) or 'none'})",
    )


def _csv_cells(path: Path) -> Cells:
    delimiter, evidence = sniff_delimiter(path)
    header = ledger.csv_header(path, delimiter)
    text: dict[str, list[str | None]] = {name: [] for name in header}
    with ledger.csv_open(path) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        next(reader, None)
        for fields in reader:
            if not fields:
                continue
            for i, name in enumerate(header):
                value = fields[i] if i < len(fields) else ""
                text[name].append(value or None)
    native = {name: [False] * len(values) for name, values in text.items()}
    return Cells(header, text, native, delimiter=delimiter, delimiter_evidence=evidence)


def _parquet_cells(path: Path) -> Cells:
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{path}: cannot read the ledger export: {exc}") from None
    text: dict[str, list[str | None]] = {}
    native: dict[str, list[bool]] = {}
    moments: dict[str, list[datetime | None]] = {}
    for name in table.column_names:
        column = table.column(name)
        kind = column.type
        values = column.to_pylist()
        typed = not (pa.types.is_string(kind) or pa.types.is_large_string(kind))
        if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
            moments[name] = [_as_datetime(v) for v in values]
        text[name] = [None if v is None else v if isinstance(v, str) else str(v) for v in values]
        native[name] = [typed] * len(values)
    return Cells(table.column_names, text, native, moments)


def _sheet_cells(path: Path, sheet: str | None, max_unpacked_mb: int) -> Cells:
    import pandas as pd  # only a spreadsheet export needs it

    try:
        with pd.ExcelFile(path, engine=ledger.EXCEL_ENGINE) as book:
            names = [str(name) for name in book.sheet_names]
    except Exception as exc:  # python-calamine's errors share no base class with pandas'
        raise InputError(f"{path}: cannot read the ledger export: {exc}") from None
    cells = ledger.sheet_cells(path, sheet, max_unpacked_mb)
    header = ledger.sheet_header(cells)
    body = [row for row in cells[1:] if any(v != "" for v in row)]
    text: dict[str, list[str | None]] = {}
    native: dict[str, list[bool]] = {}
    moments: dict[str, list[datetime | None]] = {}
    for i, name in enumerate(header):
        values = [row[i] for row in body]
        text[name] = [ledger.cell_text(v) for v in values]
        native[name] = [type(v) is not str for v in values]
        if any(isinstance(v, datetime) for v in values):
            moments[name] = [_as_datetime(v) if isinstance(v, datetime) else None for v in values]
    return Cells(header, text, native, moments, sheet=sheet or names[0], sheets=names)


def _as_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return None


@dataclass(frozen=True)
class Order:
    order_id: str
    reference: str | None
    status: str
    total: Decimal
    currency: str
    created_at: datetime  # UTC


def lake_orders(settings: Config) -> list[Order]:
    """Every order of the lake, the latest row of each (as the checks keep it)."""
    lake = Lake(settings.storage.data_dir / "lake")
    if not any((lake.root / "orders").glob("date=*/part.parquet")):
        return []
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        rows = con.execute(
            "SELECT order_id, client_reference, status, total_amount, currency, created_at "
            "FROM read_parquet($glob, hive_partitioning = false, filename = true) "
            "QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY updated_at DESC NULLS LAST,"
            " filename DESC) = 1",
            {"glob": lake.glob("orders")},
        ).fetchall()
    finally:
        con.close()
    return [Order(o, r, s, Decimal(t), c, at.astimezone(UTC)) for o, r, s, t, c, at in rows]


# -- the inference --------------------------------------------------------------------------------


def propose(
    settings: Config,
    export: Path,
    day: date | None = None,
    *,
    extract: Callable[[Config, date], Any] | None = None,
) -> Proposal:
    """The [ledger] section for `export`, from its data and the lake's orders. The lake is
    filled first for the export's date when it lacks it (`extract`, default recon.extract)."""
    export = export.resolve()
    day = day or _date_of(export)
    proposal = Proposal(export, day)
    lake = Lake(settings.storage.data_dir / "lake")
    if not lake.part("orders", day).is_file():
        from recon import extract as extraction

        if extract is not None:
            extract(settings, day)
        else:  # only to read the shape of D's orders: no break is open before `recon init`
            extraction.extract(settings, day, open_orders=())
        proposal.notes.append(f"extracted Starship's {day} into the lake first (it lacked it)")
    orders = lake_orders(settings)
    if not orders:
        raise InputError(f"{lake.root}: the lake holds no orders; run recon extract --date {day}")
    cells = _choose_sheet(export, settings, orders, proposal)
    grace = timedelta(minutes=settings.checks.grace_minutes)
    Inference(export, day, cells, orders, proposal, grace=grace).run(settings)
    _prove(settings, proposal)
    return proposal


def _date_of(export: Path) -> date:
    found = _DATE_IN_NAME.findall(export.name)
    if len(found) != 1:
        raise InputError(
            f"{export}: cannot tell the export's date from its name; pass --date YYYY-MM-DD "
            "(and name the exports by date, as [ledger] path needs: ledger-{date}.csv)"
        )
    try:
        return date.fromisoformat(found[0])
    except ValueError:
        raise InputError(f"{export}: {found[0]!r} in its name is no date") from None


def _choose_sheet(export: Path, settings: Config, orders: list[Order], proposal: Proposal) -> Cells:
    cells = read_cells(export, max_unpacked_mb=settings.ledger.max_unpacked_mb)
    if len(cells.sheets) <= 1:
        return cells
    ids = {o.order_id for o in orders}
    scored = []
    for name in cells.sheets:
        sheet = read_cells(export, name, settings.ledger.max_unpacked_mb)
        hits = max((sum(v in ids for v in col) for col in sheet.text.values()), default=0)
        scored.append((hits, name, sheet))
    scored.sort(key=lambda s: -s[0])
    best, name, sheet = scored[0]
    others = ", ".join(f"{n!r} {h}" for h, n, _ in scored[1:])
    proposal.ledger["sheet"] = Choice(
        name, f"sheet {name!r}: {best} rows name a Starship order (the other sheets: {others})"
    )
    if best == 0 or (len(scored) > 1 and scored[1][0] == best):
        raise Ambiguous(
            export,
            "which sheet holds the ledger",
            [f"{n!r}: {h} rows name a Starship order" for h, n, _ in scored],
        )
    return sheet


@dataclass
class Inference:
    path: Path
    day: date
    cells: Cells
    orders: list[Order]
    proposal: Proposal
    assigned: dict[str, str] = field(default_factory=dict)  # our field -> export column
    matched: dict[int, Order] = field(default_factory=dict)  # row -> order
    purchases: set[int] = field(default_factory=set)  # matched rows booked as the sale
    naive: dict[int, datetime] = field(default_factory=dict)  # row -> booked, naive
    aware: dict[int, datetime] = field(default_factory=dict)  # row -> booked with its offset
    grace: timedelta = timedelta(minutes=60)

    def run(self, settings: Config) -> None:
        p = self.proposal
        p.notes.insert(0, f"recon init: proposed from {self.path.name} ({self.cells.rows} rows)")
        p.ledger["path"] = Choice(
            _path_pattern(self.path, self.day, settings), "the export's name, its date as {date}"
        )
        if self.cells.delimiter is not None:
            p.ledger["delimiter"] = Choice(self.cells.delimiter, self.cells.delimiter_evidence)
        self.order_id()
        self.reference()
        self.currency()
        self.booked_at()
        self.amount()
        self.zones()
        self.status()
        self.entry_id()
        # the keys in the order a reader of the README expects them
        p.columns = {name: p.columns[name] for name in ledger.TEXT_FIELDS if name in p.columns}

    def free(self, *, also: Iterable[str] = ()) -> list[str]:
        taken = set(self.assigned.values()) - set(also)
        return [c for c in self.cells.header if c not in taken and c in self.cells.text]

    def filled(self, column: str) -> list[tuple[int, str]]:
        return [
            (i, v) for i, v in enumerate(self.cells.text[column]) if v is not None and v.strip()
        ]

    def assign(self, name: str, column: str, evidence: str) -> None:
        self.assigned[name] = column
        self.proposal.columns[name] = Choice(column, evidence)

    # -- ids ------------------------------------------------------------------------------------

    def order_id(self) -> None:
        ids = {o.order_id: o for o in self.orders}
        scored = sorted(
            ((sum(v.strip() in ids for _, v in self.filled(c)), c) for c in self.free()),
            key=lambda s: -s[0],
        )
        hits, column = scored[0] if scored else (0, "")
        candidates = [
            f"column {c!r}: {h:,} of {self.cells.rows:,} rows are Starship order ids"
            for h, c in scored
            if h
        ]
        if hits < MIN_MATCHES:
            raise Ambiguous(
                self.path,
                f"which column holds Starship's order ids (too few matches: {MIN_MATCHES} needed, "
                f"among the lake's {len(ids):,} orders)",
                candidates or ["no column holds one"],
            )
        if len(scored) > 1 and scored[1][0] * 2 > hits:
            raise Ambiguous(self.path, "which column holds Starship's order ids", candidates)
        self.assign(
            "order_id",
            column,
            f"order_id: column {column!r} — {hits:,} of {self.cells.rows:,} rows name an order in "
            "the lake",
        )
        for i, v in self.filled(column):
            if v.strip() in ids:
                self.matched[i] = ids[v.strip()]

    def reference(self) -> None:
        refs: dict[str, list[Order]] = {}
        for o in self.orders:
            if o.reference:
                refs.setdefault(o.reference, []).append(o)
        scored = sorted(
            ((sum(v.strip() in refs for _, v in self.filled(c)), c) for c in self.free()),
            key=lambda s: -s[0],
        )
        hits, column = scored[0] if scored else (0, "")
        candidates = [
            f"column {c!r}: {h:,} rows are Starship client references" for h, c in scored if h
        ]
        if hits < MIN_MATCHES:
            raise Ambiguous(
                self.path,
                "which column holds the partner's reference (too few matches)",
                candidates or ["no column holds one"],
            )
        if len(scored) > 1 and scored[1][0] * 2 > hits:
            raise Ambiguous(self.path, "which column holds the partner's reference", candidates)
        self.assign(
            "reference",
            column,
            f"reference: column {column!r} — {hits:,} rows are the client_reference of an order",
        )
        for i, v in self.filled(column):
            found = refs.get(v.strip(), [])
            if (
                i not in self.matched and len(found) == 1
            ):  # a reference two orders share is no match
                self.matched[i] = found[0]

    def currency(self) -> None:
        codes = set(ledger.currency_table().column("code").to_pylist())
        scored = []
        for c in self.free():
            values = self.filled(c)
            if not values or sum(v.strip().upper() in codes for _, v in values) < 0.9 * len(values):
                continue
            agree = sum(
                v.strip().upper() == self.matched[i].currency
                for i, v in values
                if i in self.matched
            )
            scored.append((agree, c))
        scored.sort(key=lambda s: -s[0])
        candidates = [
            f"column {c!r}: {a:,} of {len(self.matched):,} matched rows in the order's currency"
            for a, c in scored
        ]
        if not scored or scored[0][0] < MIN_MATCHES:
            raise Ambiguous(
                self.path,
                "which column holds the currency",
                candidates or ["no column of ISO 4217 codes"],
            )
        if len(scored) > 1 and scored[1][0] == scored[0][0]:
            raise Ambiguous(self.path, "which column holds the currency", candidates)
        agree, column = scored[0]
        self.assign(
            "currency",
            column,
            f"currency: column {column!r} — ISO 4217 codes; {agree:,} of {len(self.matched):,} "
            "matched rows in the order's currency",
        )

    # -- timestamps -----------------------------------------------------------------------------

    def booked_at(self) -> None:
        scored = []
        for c in self.free():
            values = self.filled(c)
            if not values:
                continue
            reading = _read_moments(values, self.cells.native[c], self.cells.moments.get(c))
            if reading.read >= 0.8 * len(values):
                near = sum(
                    abs(m.replace(tzinfo=None) - self.matched[i].created_at.replace(tzinfo=None))
                    < timedelta(hours=15)
                    for i, m in reading.moments.items()
                    if i in self.matched
                )
                scored.append((near, c, reading))
        scored.sort(key=lambda s: -s[0])
        if not scored:
            raise Ambiguous(
                self.path,
                "which column holds the booked timestamp",
                ["no column reads as timestamps"],
            )
        if len(scored) > 1 and scored[1][0] == scored[0][0]:
            raise Ambiguous(
                self.path,
                "which column holds the booked timestamp",
                [
                    f"column {c!r}: {n:,} matched rows within 15 hours of the order's creation"
                    for n, c, _ in scored
                ],
            )
        near, column, reading = scored[0]
        self.assign(
            "booked_at",
            column,
            f"booked_at: column {column!r} — {reading.read:,} of {len(self.filled(column)):,} "
            f"values read as timestamps; {near:,} matched rows within 15 hours of the order's "
            "creation",
        )
        if reading.formats == ("day-first", "month-first"):
            reading = self.settle_date_order(column, reading)
        fmt = reading.formats[0] if reading.formats else "iso"
        self.proposal.ledger["date_format"] = Choice(fmt, reading.evidence)
        for i, m in reading.moments.items():
            (self.aware if m.tzinfo else self.naive)[i] = m

    def settle_date_order(self, column: str, reading: Reading) -> Reading:
        """Every date reads both ways (no day past the 12th): the order that puts the booked
        times near Starship's created times (a day apart, never a month) is the one."""
        values = self.filled(column)
        best: list[tuple[int, Reading]] = []
        for fmt in ("day-first", "month-first"):
            one = _read_moments(values, self.cells.native[column], None, only=fmt)
            close = sum(
                abs(m.replace(tzinfo=None) - self.matched[i].created_at.replace(tzinfo=None))
                < timedelta(hours=15)
                for i, m in one.moments.items()
                if i in self.matched
            )
            best.append((close, one))
        best.sort(key=lambda b: -b[0])
        if best[0][0] == best[1][0]:
            raise Ambiguous(
                self.path,
                "the date order of the booked timestamps",
                [
                    f"{r.formats[0]}: {n:,} matched rows within 15 hours of the order"
                    for n, r in best
                ],
            )
        close, reading = best[0]
        return Reading(
            reading.read,
            reading.moments,
            reading.formats,
            f"{reading.formats[0]} — no date has a day past the 12th, but read so {close:,} "
            "matched rows fall within 15 hours of the order's creation, read the other way "
            f"{best[1][0]:,}",
        )

    def zones(self) -> None:
        rows = [i for i in (self.purchases or self.matched) if i in self.naive]
        if not rows and self.aware:
            self.proposal.ledger["timezone"] = Choice(
                "UTC",
                "every booked time carries its own offset: the zone of naive times is not used",
            )
        elif len(rows) < MIN_MATCHES:
            raise Ambiguous(
                self.path,
                "the zone of the booked timestamps (too few matched rows with a naive time)",
                [f"{len(rows)} rows"],
            )
        else:
            self.proposal.ledger["timezone"] = Choice(*self.naive_zone(rows))
        zone = self.proposal.ledger["timezone"].value
        self.proposal.ledger["business_day_timezone"] = Choice(
            *self.business_zone(ZoneInfo(zone), zone)
        )

    def naive_zone(self, rows: list[int]) -> tuple[str, str]:
        sample = rows[:: max(1, len(rows) // 300)]
        offsets = {}
        for i in sample:
            delta = (
                self.naive[i] - self.matched[i].created_at.replace(tzinfo=None)
            ).total_seconds()
            offsets[i] = round(delta / _QUARTER_HOUR) * _QUARTER_HOUR
        typical, count = Counter(offsets.values()).most_common(1)[0]
        fits: dict[str, int] = {}
        for name in _zones():
            zone = ZoneInfo(name)
            fits[name] = sum(
                _offset(zone, self.matched[i].created_at) == seconds
                for i, seconds in offsets.items()
            )
        top = max(fits.values())
        if top < max(MIN_MATCHES, len(sample) // 2):
            raise Ambiguous(
                self.path,
                "the zone of the booked timestamps: the booked times keep no steady offset from "
                "Starship's created times",
                [
                    f"offset {_hours(s)}: {n:,} of {len(sample):,} rows"
                    for s, n in Counter(offsets.values()).most_common(4)
                ],
            )
        winners = [name for name in _zones() if fits[name] == top]
        chosen = winners[0]
        zone = ZoneInfo(chosen)
        rule = _dst_rule(zone, self.day.year)
        others = [n for n in winners[1:] if _dst_rule(ZoneInfo(n), self.day.year) != rule][:3]
        also = (
            "; these dates fit other rules too: "
            f"{', '.join(f'{n} ({_dst_rule(ZoneInfo(n), self.day.year)})' for n in others)}"
            if others
            else ""
        )
        evidence = (
            f"{top:,} of {len(sample):,} matched sales were booked {_hours(typical)} from "
            "Starship's "
            f"created time in UTC ({count:,} at that offset): {chosen}, assumed DST rule: "
            f"{rule}{also}"
        )
        return chosen, evidence

    def business_zone(self, clocks: tzinfo, clocks_name: str) -> tuple[str, str]:
        """The zone whose day D holds every row's booking and leaves out the fewest of the lake's
        orders: the cut the export was made by."""
        read = [_utc(m, clocks) for m in self.naive.values()]
        instants = [m for m in read if m is not None]
        instants += [m.astimezone(UTC) for m in self.aware.values()]
        booked_ids = {o.order_id for o in self.matched.values()}
        candidates = [clocks_name, *(z for z in _zones() if z != clocks_name)]
        scored = []
        for name in candidates:
            zone = ZoneInfo(name)
            start = datetime.combine(self.day, datetime.min.time(), tzinfo=zone).astimezone(UTC)
            end = datetime.combine(
                self.day + timedelta(days=1), datetime.min.time(), tzinfo=zone
            ).astimezone(UTC)
            outside = sum(not start <= m < end for m in instants)
            # an order in the day's last minutes may wait for the next export ([checks]
            # grace_minutes): its absence tells nothing about the cut
            unbooked = sum(
                start <= o.created_at < end - self.grace and o.order_id not in booked_ids
                for o in self.orders
            )
            scored.append((outside, unbooked, name, start, end))
        best = min(scored, key=lambda s: (s[0], s[1]))
        outside, unbooked, name, start, end = best
        ties = [s[2] for s in scored if (s[0], s[1]) == (outside, unbooked) and s[2] != name]
        cut = f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
        evidence = (
            f"{len(instants) - outside:,} of {len(instants):,} bookings fall in {self.day}'s day "
            "in "
            f"{name} ({cut}), and {unbooked:,} of the lake's orders of that day are not on this "
            "export"
        )
        if ties:
            evidence += f"; as good: {', '.join(ties[:3])}{' and more' if len(ties) > 3 else ''}"
        return name, evidence

    # -- amounts --------------------------------------------------------------------------------

    def amount(self) -> None:
        numeric = [c for c in self.free() if _numeric_share(self.cells, c) >= 0.5]
        candidates: list[_AmountFit] = []
        for c in numeric:
            candidates += _fits(self, (c,))
        for a in numeric:
            for b in numeric:
                if a < b and _one_side_filled(self.cells, a, b):
                    candidates += _fits(self, (a, b))
        if not candidates:
            raise Ambiguous(self.path, "which column holds the amount", ["no numeric column"])
        candidates.sort(
            key=lambda f: (-f.score, len(f.columns) == 1, f.separator != ".", f.unit != "major")
        )
        best = candidates[0]
        listed = [f.describe(len(self.matched)) for f in candidates[:6]]
        if best.score < max(MIN_MATCHES, len(self.matched) // 2):
            raise Ambiguous(
                self.path,
                "which column holds the amount (too few matched rows equal the charged total)",
                listed,
            )
        rivals = [
            f
            for f in candidates[1:]
            if f.score == best.score and not set(f.columns) <= set(best.columns)
        ]
        if rivals:
            raise Ambiguous(
                self.path,
                "which column holds the amount",
                [
                    best.describe(len(self.matched)),
                    *(r.describe(len(self.matched)) for r in rivals),
                ],
            )
        units = [
            f
            for f in candidates[1:]
            if f.columns == best.columns
            and f.separator == best.separator
            and f.unit != best.unit
            and f.score == best.score
        ]
        if units:
            raise Ambiguous(
                self.path,
                "the amounts' unit: every matched row reads the same in major and minor units "
                "(no currency with decimals)",
                [best.describe(len(self.matched)), units[0].describe(len(self.matched))],
            )
        p = self.proposal
        plus, minus = best.plus, best.minus
        if len(best.columns) == 1:
            self.assign("amount", best.columns[0], f"amount: {best.describe(len(self.matched))}")
            sign = "negative" if minus > plus else "positive"
        else:
            debit, credit, sign = _sides(best)
            if debit != best.columns[0]:  # said as debit minus credit, as the ingest signs it
                plus, minus = minus, plus
            self.assign(
                "debit",
                debit,
                f"debit: column {debit!r}, credit: column {credit!r} — "
                f"{best.describe(len(self.matched))}; {best.exclusive}",
            )
            self.assign("credit", credit, "credit: see debit")
        p.ledger["amount_unit"] = Choice(best.unit, f"{best.unit}: {best.unit_evidence}")
        side = "" if len(best.columns) == 1 else " (debit minus credit)"
        p.ledger["purchase_sign"] = Choice(
            sign,
            f"{plus:,} matched rows{side} equal plus the charged total, {minus:,} minus it: "
            f"purchase_sign = {sign}",
        )
        same = [
            f
            for f in candidates
            if f.columns == best.columns and f.unit == best.unit and f.separator != best.separator
        ]
        if any(not n for c in best.columns for n in self.cells.native[c]):
            told = f"read with {best.separator!r} {best.score:,} matched rows agree" + (
                f", with {same[0].separator!r} {same[0].score:,}" if same else ""
            )
        else:
            told = "the amounts are typed numbers already: no separator is read"
        p.ledger["decimal_separator"] = Choice(best.separator, told)
        self.purchases = best.purchase_rows()

    # -- status and entry id --------------------------------------------------------------------

    def status(self) -> None:
        scored = []
        for c in self.free():
            values = self.filled(c)
            distinct = {v.strip().lower() for _, v in values}
            if (
                not values
                or len(distinct) > _STATUS_WORDS_MAX
                or _numeric_share(self.cells, c) > 0.5
            ):
                continue
            if len(values) < 0.9 * self.cells.rows:
                continue
            table: dict[str, Counter[str]] = {}
            for i, v in values:
                if i in self.matched:
                    status = _canonical(self.matched[i].status)
                    if status:
                        table.setdefault(v.strip().lower(), Counter())[status] += 1
            agree = sum(counts.most_common(1)[0][1] for counts in table.values())
            scored.append((agree, c, table, Counter(v.strip().lower() for _, v in values)))
        scored.sort(key=lambda s: -s[0])
        if not scored:
            raise Ambiguous(
                self.path, "which column holds the status", ["no column of a few words"]
            )
        agree, column, table, words = scored[0]
        if len(scored) > 1 and scored[1][0] == agree:
            raise Ambiguous(
                self.path,
                "which column holds the status",
                [
                    f"column {c!r}: its words agree with {a:,} matched orders' statuses"
                    for a, c, _, _ in scored[:4]
                ],
            )
        self.assign(
            "status",
            column,
            f"status: column {column!r} — {len(words)} words; each word's most common Starship "
            f"status agrees with {agree:,} matched rows",
        )
        for word in sorted(words, key=lambda w: -words[w]):
            counts = table.get(word)
            if counts:
                status, _ = counts.most_common(1)[0]
                shown = ", ".join(f"{s} {k:,}" for s, k in counts.most_common())
                self.proposal.status_map[word] = Choice(
                    status, f"{word!r}: {words[word]:,} rows, matched orders {shown}"
                )
            elif word.upper() in LEDGER_STATUSES:
                self.proposal.status_map[word] = Choice(
                    word.upper(),
                    f"{word!r}: {words[word]:,} rows, none matched; the word is the status",
                )
            else:
                self.proposal.notes.append(
                    f"status word {word!r} ({words[word]:,} rows) matched no order: not mapped, "
                    "its rows will be quarantined"
                )

    def entry_id(self) -> None:
        scored = []
        for c in self.free():
            values = self.filled(c)
            if len(values) < 0.9 * self.cells.rows:
                continue
            texts = [v.strip() for _, v in values]
            if len(set(texts)) != len(texts):
                continue
            shape = Counter(_shape(t) for t in texts).most_common(1)[0][1] / len(texts)
            scored.append((shape, len(values), c))
        scored.sort(key=lambda s: (-s[0], -s[1]))
        if not scored:
            raise Ambiguous(
                self.path,
                "which column holds a unique entry id",
                ["no other column has a different value on every row"],
            )
        if len(scored) > 1 and scored[1][:2] == scored[0][:2]:
            raise Ambiguous(
                self.path,
                "which column holds a unique entry id",
                [
                    f"column {c!r}: {n:,} rows filled, all different, {s:.0%} of one shape"
                    for s, n, c in scored[:4]
                ],
            )
        shape, n, column = scored[0]
        self.assign(
            "entry_id",
            column,
            f"entry_id: column {column!r} — {n:,} of {self.cells.rows:,} rows filled, every value "
            f"different, {shape:.0%} of one shape",
        )


# -- amounts -------------------------------------------------------------------------------------


@dataclass
class _AmountFit:
    columns: tuple[str, ...]
    separator: str
    unit: str
    plus: int
    minus: int
    rows_plus: set[int]
    rows_minus: set[int]
    unit_evidence: str
    exclusive: str = ""

    @property
    def score(self) -> int:
        return self.plus + self.minus

    def describe(self, matched: int) -> str:
        which = (
            f"column {self.columns[0]!r}"
            if len(self.columns) == 1
            else f"columns {self.columns[0]!r} minus {self.columns[1]!r}"
        )
        sign = "minus" if self.minus > self.plus else "plus"
        return (
            f"{which} in {self.unit} units, decimal {self.separator!r} — {self.score:,} of "
            f"{matched:,} "
            f"matched rows equal the charged total ({max(self.plus, self.minus):,} {sign} it)"
        )

    def purchase_rows(self) -> set[int]:
        """The matched rows booked as the sale: the side most rows are on (a reversal is on
        the other, or, booked unchanged, on this one and harmless)."""
        return self.rows_plus if self.plus >= self.minus else self.rows_minus


def _fits(inference: Inference, columns: tuple[str, ...]) -> list[_AmountFit]:
    cells = inference.cells
    exponents = _exponents()
    currency = inference.assigned.get("currency")
    fits = []
    for separator in (".", ","):
        values: dict[int, Decimal] = {}
        for i in inference.matched:
            sides = [_amount(cells.text[c][i], separator, cells.native[c][i]) for c in columns]
            if all(side is None for side in sides):
                continue
            # a pair's blank side is the side the movement is not on: zero
            debit, *credit = (side or Decimal(0) for side in sides)
            values[i] = debit - sum(credit, Decimal(0))
        for unit in ("major", "minor"):
            plus, minus = set(), set()
            decimals = 0
            for i, value in values.items():
                order = inference.matched[i]
                code = (
                    (cells.text[currency][i] or "").strip().upper() if currency else order.currency
                )
                exponent = exponents.get(code, exponents.get(order.currency, 2))
                if unit == "minor":
                    if value != value.to_integral_value():
                        continue
                    value = value.scaleb(-exponent)
                decimals += exponent > 0
                if value == order.total:
                    plus.add(i)
                elif value == -order.total:
                    minus.add(i)
            evidence = f"{len(plus) + len(minus):,} matched rows equal the charged total read " + (
                "as they are" if unit == "major" else "as integers in the currency's minor unit"
            )
            exclusive = (
                f"on every row one of {columns[0]!r} and {columns[1]!r} is filled, never both"
                if len(columns) == 2
                else ""
            )
            fits.append(
                _AmountFit(
                    columns,
                    separator,
                    unit,
                    len(plus),
                    len(minus),
                    plus,
                    minus,
                    evidence,
                    exclusive,
                )
            )
    return fits


def _sides(fit: _AmountFit) -> tuple[str, str, str]:
    """(debit, credit, purchase_sign) of a pair `a - b`: the debit is the column a name calls
    so, else the side the purchases are on (both readings give the same signed amounts)."""
    a, b = fit.columns
    purchases_on_a = fit.plus >= fit.minus  # a - b equals the total on a sale
    if (_DEBIT_NAMES.search(b) and not _DEBIT_NAMES.search(a)) or (
        _CREDIT_NAMES.search(a) and not _CREDIT_NAMES.search(b)
    ):
        return b, a, "negative" if purchases_on_a else "positive"
    if _DEBIT_NAMES.search(a) or _CREDIT_NAMES.search(b):
        return a, b, "positive" if purchases_on_a else "negative"
    return (a, b, "positive") if purchases_on_a else (b, a, "positive")


def _amount(text: str | None, separator: str, native: bool) -> Decimal | None:
    """An amount as ingest reads one, for matching only: markers and parentheses dropped, the
    grouping of `separator`'s convention removed. None for a blank or unreadable value."""
    if text is None or not text.strip():
        return None
    value = text.strip()
    negative = value.startswith("(") and value.endswith(")")
    value = value.strip("()").strip()
    value = _CURRENCY_MARKS.sub("", value).strip()
    if not native:
        for group in _GROUPS[separator]:
            value = value.replace(group, "")
        if separator == ",":
            value = value.replace(",", ".")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return None
    return -amount if negative else amount


def _numeric_share(cells: Cells, column: str) -> float:
    values = [(v, n) for v, n in zip(cells.text[column], cells.native[column], strict=True) if v]
    if not values:
        return 0.0
    readable = sum(
        _amount(v, ".", n) is not None or _amount(v, ",", n) is not None for v, n in values
    )
    return readable / len(values)


def _one_side_filled(cells: Cells, a: str, b: str) -> bool:
    """Whether, on nearly every row, exactly one of `a` and `b` holds a non-zero amount (the
    other blank or zero, as accounting systems write it), and each side is used."""
    both = single = 0
    sides = [0, 0]
    for i in range(cells.rows):
        filled = [
            (
                v := _amount(cells.text[c][i], ".", cells.native[c][i])
                or _amount(cells.text[c][i], ",", cells.native[c][i])
            )
            is not None
            and v != 0
            for c in (a, b)
        ]
        both += all(filled)
        single += sum(filled) == 1
        sides[0] += filled[0]
        sides[1] += filled[1]
    return both == 0 and single >= 0.9 * cells.rows and min(sides) > 0


@cache
def _exponents() -> dict[str, int]:
    table = ledger.currency_table()
    return dict(
        zip(table.column("code").to_pylist(), table.column("exponent").to_pylist(), strict=True)
    )


# -- timestamps ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    read: int
    moments: dict[int, datetime]
    formats: tuple[str, ...]  # the date_format values that read every value read
    evidence: str = ""


def _read_moments(
    values: list[tuple[int, str]],
    native: list[bool],
    typed: list[datetime | None] | None,
    only: str | None = None,
) -> Reading:
    """How a column's values read as moments: typed already, ISO text, day-first, month-first.
    From all rows: one date past the 12th settles the order that a date like 04.05. cannot."""
    moments: dict[int, datetime] = {}
    if typed is not None and any(typed):
        for i, _ in values:
            moment = typed[i]
            if moment is not None:
                moments[i] = moment
        return Reading(
            len(moments),
            moments,
            (),
            "typed moments (date cells or a timestamp column): no date_format is read",
        )
    shapes = [only] if only else ["iso", "day-first", "month-first"]
    read: dict[str, dict[int, datetime]] = {shape: {} for shape in shapes}
    for i, text in values:
        for shape in shapes:
            moment = _moment(text.strip(), shape)
            if moment is not None:
                read[shape][i] = moment
    if only:
        return Reading(len(read[only]), read[only], (only,))
    if len(read["iso"]) >= max(len(read["day-first"]), len(read["month-first"])) and read["iso"]:
        return Reading(
            len(read["iso"]),
            read["iso"],
            ("iso",),
            f"iso — {len(read['iso']):,} of {len(values):,} values are ISO 8601",
        )
    day, month = read["day-first"], read["month-first"]
    only_day = len(set(day) - set(month))
    only_month = len(set(month) - set(day))
    if only_day and only_month:
        return Reading(0, {}, (), "")  # no one order reads them all: not a date column
    if only_day:
        return Reading(
            len(day),
            day,
            ("day-first",),
            f"day-first — {only_day:,} dates read only day first (a day past the 12th), none only "
            "month first",
        )
    if only_month:
        return Reading(
            len(month),
            month,
            ("month-first",),
            f"month-first — {only_month:,} dates read only month first (a day past the 12th), "
            "none only day first",
        )
    return Reading(len(day), day, ("day-first", "month-first"), "")


def _moment(text: str, shape: str) -> datetime | None:
    if shape == "iso":
        if not re.match(r"\d{4}-\d{2}-\d{2}", text):
            return None
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    for pattern in _patterns(shape):
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    return None


@cache
def _patterns(shape: str) -> tuple[str, ...]:
    return tuple(ledger.date_patterns(shape))


@cache
def _zones() -> tuple[str, ...]:
    """The IANA zones a partner may keep, the preferred first (the rest sorted)."""
    names = available_timezones()
    rest = sorted(n for n in names if n.startswith(_REGIONS) and n not in PREFERRED_ZONES)
    return (*(n for n in PREFERRED_ZONES if n in names or n == "UTC"), *rest)


def _offset(zone: tzinfo, moment: datetime) -> int:
    offset = moment.astimezone(zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _utc(naive: datetime, zone: tzinfo) -> datetime | None:
    try:
        return naive.replace(tzinfo=zone).astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _hours(seconds: float) -> str:
    sign = "-" if seconds < 0 else "+"
    minutes = int(abs(seconds)) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


@cache
def _dst_rule(zone: ZoneInfo, year: int) -> str:
    """The zone's offsets in `year` and the days they change, in words."""
    start = datetime(year, 1, 1, 12, tzinfo=UTC)
    changes = []
    previous = _offset(zone, start)
    for n in range(1, 366):
        moment = start + timedelta(days=n)
        now = _offset(zone, moment)
        if now != previous:
            changes.append(f"UTC{_hours(now)} from {moment.date()}")
            previous = now
    if not changes:
        return f"no DST, UTC{_hours(previous)} all year"
    return f"UTC{_hours(_offset(zone, start))} in January, " + ", ".join(changes)


def _canonical(status: str) -> str | None:
    if status in _CANONICAL:
        return _CANONICAL[status]
    return "PENDING" if status.startswith("PENDING") else None


def _shape(text: str) -> str:
    return re.sub(r"[0-9]+", "9", re.sub(r"[A-Za-z]+", "a", text))


# -- proving and writing -------------------------------------------------------------------------


def _path_pattern(export: Path, day: date, settings: Config) -> str:
    name = export.name.replace(day.isoformat(), "{date}")
    if "{date}" not in name:
        raise InputError(f"{export}: its name does not hold its date {day}; [ledger] path needs it")
    folder = export.parent
    base = settings.source.resolve().parent if settings.source else Path.cwd()
    try:
        return str((folder / name).relative_to(base))
    except ValueError:
        return str(folder / name)


def _prove(settings: Config, proposal: Proposal) -> None:
    """Validate the section (config.from_dict) and ingest the export with it."""
    checked = with_section(settings, proposal.section())
    con = duckdb.connect()
    try:
        load = ledger.load(con, checked.ledger, proposal.day)
        reasons = con.sql(
            "SELECT reason, count(*) FROM quarantine GROUP BY ALL ORDER BY 2 DESC"
        ).fetchall()
    finally:
        con.close()
    why = f" ({'; '.join(f'{r}: {n}' for r, n in reasons)})" if reasons else ""
    proposal.notes.append(
        f"ingested with this section: {load.rows:,} rows, {load.usable:,} usable, "
        f"{load.quarantined:,} quarantined{why}"
    )


def with_section(settings: Config, section: dict[str, Any]) -> Config:
    """`settings` with its [ledger] replaced by `section`, validated as a file would be."""
    raw = {
        "starship": _table(settings.starship),
        "storage": _table(settings.storage),
        "ledger": section,
    }
    return config.from_dict(json.loads(json.dumps(raw, default=str)), source=settings.source)


def _table(section: Any) -> dict[str, Any]:
    from dataclasses import asdict

    # TOML has no null: a key left at None is a key not written
    return {
        k: str(v) if isinstance(v, Path) else v for k, v in asdict(section).items() if v is not None
    }


def starting_config(
    config_path: Path,
    base_url: str | None = None,
    api_key_env: str = "STARSHIP_API_KEY",
    api_secret_env: str = "STARSHIP_API_SECRET",
) -> tuple[Config, str]:
    """The configuration init works with, and its text: the file, or, when there is none yet,
    [starship] and [storage] from `base_url` and the names of the key variables."""
    import tomllib

    if config_path.exists():
        if base_url is not None:
            raise ConfigError(
                f"{config_path}: exists already; set [starship] base_url there, not --base-url"
            )
        return config.load(config_path), config_path.read_text(encoding="utf-8")
    if base_url is None:
        raise ConfigError(
            f"{config_path}: configuration file not found; write its [starship] and [storage] "
            "sections first (README, Configuration), or pass --base-url"
        )
    text = (
        "[starship]\n"
        f"base_url = {_value(base_url)}\n"
        f"api_key_env = {_value(api_key_env)}\n"
        f"api_secret_env = {_value(api_secret_env)}\n"
        "\n[storage]\n"
        'data_dir = "var/recon"\n'
    )
    return config.from_dict(tomllib.loads(text), source=config_path), text


def write(config_path: Path, proposal: Proposal, text: str | None = None) -> Path | None:
    """Merge the proposed [ledger] into the configuration file: every other section kept as it
    is written, the [ledger] keys the proposal does not set kept; the file before it saved
    beside it (`recon.toml.bak`), the new one written atomically. `text`: the configuration
    when there is no file yet (starting_config). Returns the backup, if there was a file."""
    import tomllib

    if config_path.exists():
        text = config_path.read_text(encoding="utf-8")
    text = text or ""
    try:
        before = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config_path}: not valid TOML: {exc}") from None
    kept = {
        k: v
        for k, v in before.get("ledger", {}).items()
        if k not in proposal.ledger
        and k not in ("columns", "status_map")
        and not isinstance(v, dict)
    }
    rest = _without_ledger(text)
    if "ledger" in tomllib.loads(rest):
        raise ConfigError(
            f"{config_path}: [ledger] is written as dotted keys or an inline table; "
            "make it a [ledger] table, or paste the proposal by hand"
        )
    merged = rest.rstrip("\n") + ("\n\n" if rest.strip() else "") + proposal.toml(kept)
    config.from_dict(tomllib.loads(merged), source=config_path)  # never write what will not load
    backup = None
    if config_path.exists():
        backup = config_path.with_name(config_path.name + ".bak")
        shutil.copy2(config_path, backup)
    atomic_write_text(config_path, merged)
    return backup


_TABLE_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def _without_ledger(text: str) -> str:
    """The TOML text without its [ledger] and [ledger.*] tables (each from its header to the
    next header), everything else as written. Comment lines just above a [ledger] header go
    with it."""
    out: list[str] = []
    skipping = False
    for line in text.splitlines():
        header = _TABLE_HEADER.match(line)
        if header:
            name = header.group(1).strip().strip('"')
            skipping = name == "ledger" or name.startswith("ledger.")
            if skipping:
                while out and out[-1].lstrip().startswith("#"):
                    out.pop()
        if not skipping:
            out.append(line)
    return "\n".join(out) + ("\n" if out else "")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _value(value: Any) -> str:
    """A TOML value: JSON's string escapes are TOML's basic-string escapes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(str(value))

"""The partner's discount sheet: the negotiated discount (CPD) per product, for `discount_drift`.

    product_id,currency,discount_percent,valid_from
    amazon-gift-usd,USD,3.5,
    zalando-eur,EUR,5.25,2026-01-01

Starship charges each partner its negotiated discount, so an order's total is normally below
denomination x quantity; the sheet says by how much. `valid_from` (optional, a date) lets one
product carry its history: the row with the latest `valid_from` on or before the order's day
applies, a blank one since always. Read when the configuration is loaded, so a bad sheet is a
`ConfigError` naming the file and line before any work starts.
"""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyarrow as pa

from recon.errors import ConfigError, MoneyError
from recon.money import minor_unit

COLUMNS = ("product_id", "currency", "discount_percent")
OPTIONAL = ("valid_from",)
PERCENT = pa.decimal128(9, 4)
SCHEMA = pa.schema(
    [
        ("product_id", pa.string()),
        ("currency", pa.string()),
        ("discount_percent", PERCENT),
        ("valid_from", pa.date32()),
    ]
)


def read(path: Path) -> pa.Table:
    """The sheet as a table (SCHEMA); ConfigError naming the file and line if it is not one."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
            header = list(rows[0]) if rows else []
    except FileNotFoundError:
        raise ConfigError(f"{path}: discount sheet not found ([checks] discount_sheet)") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"{path}: cannot read the discount sheet: {exc}") from None
    if not rows:
        raise ConfigError(f"{path}: the discount sheet has no rows")
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        raise ConfigError(
            f"{path}: the discount sheet has no column {missing[0]!r}; it needs "
            f"{', '.join(COLUMNS)} and may have {', '.join(OPTIONAL)}"
        )
    terms: dict[str, list] = {name: [] for name in SCHEMA.names}
    seen: dict[tuple[str, str, date | None], int] = {}
    for line, row in enumerate(rows, start=2):  # the header is line 1
        product, percent, since = _term(path, line, row)
        currency = (row.get("currency") or "").strip().upper()
        key = (product, currency, since)
        if key in seen:
            raise ConfigError(
                f"{path}: line {line}: {product} {currency} is priced twice "
                f"(line {seen[key]}) for the same valid_from"
            )
        seen[key] = line
        for name, value in zip(SCHEMA.names, (product, currency, percent, since), strict=True):
            terms[name].append(value)
    return pa.table(terms, schema=SCHEMA)


def _term(path: Path, line: int, row: dict[str, str | None]) -> tuple[str, Decimal, date | None]:
    def bad(why: str) -> ConfigError:
        return ConfigError(f"{path}: line {line}: {why}")

    product = (row.get("product_id") or "").strip()
    if not product:
        raise bad("no product_id")
    currency = (row.get("currency") or "").strip().upper()
    try:
        minor_unit(currency)
    except MoneyError:
        raise bad(f"currency {currency!r} is not an ISO 4217 code") from None
    text = (row.get("discount_percent") or "").strip().removesuffix("%").strip()
    try:
        percent = Decimal(text)
    except InvalidOperation:
        raise bad(f"discount_percent {text!r} is not a number") from None
    if not percent.is_finite() or not 0 <= percent < 100:
        raise bad(f"discount_percent {text!r} must be at least 0 and below 100")
    # a finite Decimal's exponent is an int (only NaN and Infinity have letters), checked above
    if percent.as_tuple().exponent < -4:  # type: ignore[operator]
        raise bad(f"discount_percent {text!r} has more than 4 decimals")
    since_text = (row.get("valid_from") or "").strip()
    try:
        since = date.fromisoformat(since_text) if since_text else None
    except ValueError:
        raise bad(f"valid_from {since_text!r} is not a date (YYYY-MM-DD)") from None
    return product, percent, since


def empty() -> pa.Table:
    """No sheet: no pricing check at all."""
    return SCHEMA.empty_table()

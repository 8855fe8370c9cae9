"""The words every stage shares: the checks and their severities, the finding and quarantine
shapes, the amount type, and the ledger's fields and statuses.

It imports nothing of recon's, so the extractor, the diff, the history, the report and the
notebook can all read it without reaching into each other.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

import pyarrow as pa

# Money everywhere: 14 integer digits of major units and 4 decimals, as every ISO 4217 minor
# unit (0 to 4 decimals) fits exactly. Arrow's type and DuckDB's are one choice, written once.
AMOUNT = pa.decimal128(18, 4)
AMOUNT_SQL = "DECIMAL(18, 4)"
TIMESTAMP = pa.timestamp("us", tz="UTC")

# The vocabulary of the `check` column, in the order reports list them.
SEVERITY: dict[str, str] = {
    "missing_in_ledger": "error",
    "missing_at_starship": "error",
    "amount_mismatch": "error",
    "currency_mismatch": "error",
    "status_mismatch": "error",
    "duplicate_order": "error",
    "duplicate_ledger_entry": "error",
    "wallet_mismatch": "error",
    "balance_gap": "error",
    "stuck_pending": "warning",
    "low_wallet_balance": "warning",
    "wallet_runway": "warning",
    "starship_reported_drift": "warning",
    "discount_drift": "warning",
    "unknown_status": "info",
}

# A finding's state on its night, against the nights before it.
STATES = ("new", "persisting", "expected", "acknowledged", "snoozed")

# Breaks these checks find can resolve on a later night without D being re-run (the entry
# arrives on the next export, a late cancellation's reversal is booked, the refund lands, the
# order leaves PENDING): each night looks at the open ones again, and one it no longer finds
# is resolved.
CARRIED_CHECKS = ("missing_in_ledger", "status_mismatch", "stuck_pending", "wallet_mismatch")


class Carried(NamedTuple):
    """A break still open from an earlier night, for its check (CARRIED_CHECKS) to look at
    again: the order it is about and the books' side its latest finding saw. status_mismatch
    falls back on that side once the order's bookings are older than the ledger's memory."""

    check: str
    order_id: str
    ledger_status: str | None = None
    ledger_entry_id: str | None = None
    line: int | None = None
    ledger_amount: Decimal | None = None
    ledger_source: str | None = None  # the export `line` is in


CARRIED_SCHEMA = pa.schema(  # Carried's fields, as the diff's `carried` table holds them
    [
        ("check", pa.string()),
        ("order_id", pa.string()),
        ("ledger_status", pa.string()),
        ("ledger_entry_id", pa.string()),
        ("line", pa.int64()),
        ("ledger_amount", AMOUNT),
        ("ledger_source", pa.string()),
    ]
)

FINDING_SCHEMA = pa.schema(
    [
        pa.field("check", pa.string(), nullable=False),
        pa.field("severity", pa.string(), nullable=False),
        pa.field("key", pa.string(), nullable=False),  # the break's identity within its check
        pa.field("expected", pa.bool_()),  # may still resolve by itself (inside the grace)
        pa.field("order_id", pa.string()),
        pa.field("transaction_id", pa.string()),
        pa.field("ledger_entry_id", pa.string()),
        pa.field("line", pa.int64()),
        pa.field("reference", pa.string()),
        pa.field("currency", pa.string()),
        pa.field("starship_amount", AMOUNT),
        pa.field("ledger_amount", AMOUNT),
        pa.field("delta", AMOUNT),
        pa.field("starship_status", pa.string()),
        pa.field("starship_sub_status", pa.string()),
        pa.field("ledger_status", pa.string()),
        pa.field("created_at", TIMESTAMP),
        pa.field("trace_id", pa.string()),
        pa.field("match_method", pa.string()),
        pa.field("detail", pa.string()),
        # the export `line` is in when it is not D's (a late cancellation's sale); NULL: D's
        pa.field("ledger_source", pa.string()),
    ]
)

# An input row no check could use, and why: quarantine.csv's columns, in its order.
QUARANTINE_COLUMNS = ("source", "line", "entry_id", "reason", "raw")
QUARANTINE_SCHEMA = pa.schema(
    [(name, pa.int64() if name == "line" else pa.string()) for name in QUARANTINE_COLUMNS]
)

# setup/runway.sql's `runway`, one row per currency: the report's wallet panel, the run record's
# `wallets` and the notebook's r.runway(D)
RUNWAY_SCHEMA = pa.schema(
    [
        ("currency", pa.string()),
        ("balance", AMOUNT),
        ("spent", AMOUNT),
        ("rate_days", pa.int64()),
        ("daily_spend", AMOUNT),
        ("days_left", pa.decimal128(18, 1)),
        ("runs_out", pa.date32()),
        ("floor", AMOUNT),
        ("short", pa.bool_()),
        ("trace_id", pa.string()),  # of the page that carried the balance
    ]
)

# The ledger's typed columns (after `line`), as DuckDB types: `amount` in major units, a
# purchase positive and a reversal negative, whatever the export's unit and sign.
LEDGER_COLUMNS = {
    "entry_id": "VARCHAR",
    "order_id": "VARCHAR",
    "reference": "VARCHAR",
    "amount": AMOUNT_SQL,
    "currency": "VARCHAR",
    "status": "VARCHAR",
    "booked_at": "TIMESTAMP",
}
LEDGER_FIELDS = tuple(LEDGER_COLUMNS)
# The [ledger.columns] keys: the fields, with debit and credit beside amount (an export maps
# one signed amount, or a Debit and a Credit column).
LEDGER_COLUMN_KEYS = (*LEDGER_FIELDS[:4], "debit", "credit", *LEDGER_FIELDS[4:])
# The statuses a ledger row means, once [ledger.status_map] has spoken: Starship's own.
LEDGER_STATUSES = ("DELIVERED", "CANCELLED", "PENDING")

# Arrow's types as DuckDB spells them, for the tables and empty views recon declares.
DUCKDB_TYPES = {
    pa.string(): "VARCHAR",
    pa.bool_(): "BOOLEAN",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    AMOUNT: AMOUNT_SQL,
    TIMESTAMP: "TIMESTAMP",  # naive UTC inside DuckDB
}


def duckdb_columns(schema: pa.Schema) -> dict[str, str]:
    """{column: DuckDB type} of an Arrow schema recon declares."""
    return {f.name: DUCKDB_TYPES[f.type] for f in schema}


# discrepancies.csv: the contract's columns in its order; new ones go at the end, never between.
CSV_COLUMNS = (
    "check",
    "severity",
    "state",
    "order_id",
    "ledger_entry_id",
    "reference",
    "currency",
    "starship_amount",
    "ledger_amount",
    "delta",
    "starship_status",
    "starship_sub_status",
    "ledger_status",
    "created_at",
    "age_hours",
    "first_seen",
    "detail",
    # added after the contract's first version
    "break_id",
    "transaction_id",
    "line",
    "trace_id",
    "note",
)
MONEY_COLUMNS = ("starship_amount", "ledger_amount", "delta")

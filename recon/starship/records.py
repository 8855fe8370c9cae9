"""Tolerant, typed parsing of the API's records into Arrow record batches.

What is kept is an allow-list: the fields below, under any of their aliases. Everything else,
voucher codes, PINs, claim links and whatever Starship adds next, is dropped here, at parse
time, so it can never reach the lake, a log, a report or an e-mail. Unknown keys are ignored;
unknown enum values (status, sub-status, type) are kept as text for the `unknown_status` check.
Amounts are exact (`Decimal` from the JSON text, never float) and must fit their currency's
minor unit; timestamps become UTC. A record that cannot be used is rejected with its reason,
never silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from recon.errors import MoneyError
from recon.money import parse_amount

SCHEMA_VERSION = 1
AMOUNT = pa.decimal128(18, 4)  # every ISO 4217 minor unit (0 to 4 decimals) fits exactly
TIMESTAMP = pa.timestamp("us", tz="UTC")

ORDERS = pa.schema(
    [
        pa.field("order_id", pa.string(), nullable=False),
        pa.field("status", pa.string()),
        pa.field("sub_status", pa.string()),
        pa.field("product_id", pa.string()),
        pa.field("denomination", AMOUNT),
        pa.field("quantity", pa.int32()),
        pa.field("total_amount", AMOUNT),
        pa.field("currency", pa.string()),
        pa.field("fulfilled_from", pa.string()),
        pa.field("client_reference", pa.string()),
        pa.field("created_at", TIMESTAMP),
        pa.field("updated_at", TIMESTAMP),
        pa.field("item_count", pa.int32()),
        pa.field("delivered_item_count", pa.int32()),
        pa.field("trace_id", pa.string()),  # the X-Trace-ID of the page that carried the row
    ]
)

TRANSACTIONS = pa.schema(
    [
        pa.field("transaction_id", pa.string(), nullable=False),
        pa.field("type", pa.string()),
        pa.field("order_id", pa.string()),
        pa.field("amount", AMOUNT),  # signed: debits negative
        pa.field("currency", pa.string()),
        pa.field("balance_after", AMOUNT),
        pa.field("created_at", TIMESTAMP),
        pa.field("trace_id", pa.string()),
    ]
)

WALLETS = pa.schema(
    [
        pa.field("currency", pa.string(), nullable=False),
        pa.field("wallet_id", pa.string()),
        pa.field("balance", AMOUNT),
        pa.field("updated_at", TIMESTAMP),
        pa.field("fetched_at", TIMESTAMP),
        pa.field("trace_id", pa.string()),
    ]
)

# Our name -> the names the API may use for it (documented first, then aliases).
ORDER_ALIASES = {
    "order_id": ("order_id", "id", "orderId"),
    "status": ("status",),
    "sub_status": ("sub_status", "subStatus"),
    "product_id": ("product_id", "productId"),
    "denomination": ("denomination",),
    "quantity": ("quantity",),
    "total_amount": ("total_amount", "amount", "totalAmount"),
    "currency": ("currency",),
    "fulfilled_from": ("fulfilled_from", "fulfilledFrom"),
    "client_reference": (
        "client_reference",
        "reference",
        "idempotency_key",
        "clientReference",
        "idempotencyKey",
    ),
    "created_at": ("created_at", "createdAt"),
    "updated_at": ("updated_at", "updatedAt"),
    "items": ("items",),
}
TRANSACTION_ALIASES = {
    "transaction_id": ("transaction_id", "id", "transactionId"),
    "type": ("type",),
    "order_id": ("order_id", "orderId"),
    "amount": ("amount",),
    "currency": ("currency",),
    "balance_after": ("balance_after", "balanceAfter"),
    "created_at": ("created_at", "createdAt"),
    "direction": ("direction",),
}
WALLET_ALIASES = {
    "currency": ("currency",),
    "wallet_id": ("wallet_id", "id", "walletId"),
    "balance": ("balance", "available_balance", "availableBalance"),
    "updated_at": ("updated_at", "updatedAt"),
}
DEBIT_DIRECTIONS = {"debit", "dr", "out"}


class Reject(Exception):
    """A record that cannot be used: the reason says why."""


@dataclass(frozen=True)
class Rejected:
    key: str | None
    reason: str
    trace_id: str | None


def _pick(row: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        value = row.get(name)
        if value is not None:
            return value
    return None


def _text(value: Any, field: str, *, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise Reject(f"{field} is missing")
        return None
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value)  # ids are opaque strings, even when a server sends a number
    raise Reject(f"{field} is not text: {type(value).__name__}")


def _currency(value: Any) -> str:
    code = _text(value, "currency", required=True)
    assert code is not None
    return code.upper()


def _money(value: Any, currency: str, field: str, *, required: bool = True) -> Decimal | None:
    if value is None or value == "":
        if required:
            raise Reject(f"{field} is missing")
        return None
    try:
        return parse_amount(value, currency)
    except MoneyError as exc:
        raise Reject(f"{field}: {exc}") from None


def _timestamp(value: Any, field: str, *, required: bool = True) -> datetime | None:
    if value is None or value == "":
        if required:
            raise Reject(f"{field} is missing")
        return None
    if not isinstance(value, str):
        raise Reject(f"{field} is not an ISO 8601 timestamp: {value!r}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Reject(f"{field} is not an ISO 8601 timestamp: {value!r}") from None
    # A timestamp without an offset is taken as UTC, the API's documented zone.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _count(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise Reject(f"{field} is not a whole number: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    raise Reject(f"{field} is not a whole number: {value!r}")


def order_values(row: dict[str, Any]) -> dict[str, Any]:
    """One order, as the lake keeps it (without trace_id)."""
    get = {name: _pick(row, aliases) for name, aliases in ORDER_ALIASES.items()}
    currency = _currency(get["currency"])
    items = get["items"] if isinstance(get["items"], list) else []
    return {
        "order_id": _text(get["order_id"], "order_id", required=True),
        "status": _text(get["status"], "status", required=True),
        "sub_status": _text(get["sub_status"], "sub_status"),
        "product_id": _text(get["product_id"], "product_id"),
        "denomination": _money(get["denomination"], currency, "denomination", required=False),
        "quantity": _count(get["quantity"], "quantity"),
        "total_amount": _money(get["total_amount"], currency, "total_amount"),
        "currency": currency,
        "fulfilled_from": _text(get["fulfilled_from"], "fulfilled_from"),
        "client_reference": _text(get["client_reference"], "client_reference"),
        "created_at": _timestamp(get["created_at"], "created_at"),
        "updated_at": _timestamp(get["updated_at"], "updated_at", required=False),
        "item_count": len(items),
        "delivered_item_count": sum(
            1 for item in items if isinstance(item, dict) and item.get("status") == "DELIVERED"
        ),
    }


def transaction_values(row: dict[str, Any]) -> dict[str, Any]:
    get = {name: _pick(row, aliases) for name, aliases in TRANSACTION_ALIASES.items()}
    currency = _currency(get["currency"])
    amount = _money(get["amount"], currency, "amount")
    assert amount is not None
    direction = str(get["direction"] or "").lower()
    if direction:  # unsigned amounts with a direction: give them the sign the lake uses
        amount = -abs(amount) if direction in DEBIT_DIRECTIONS else abs(amount)
    return {
        "transaction_id": _text(get["transaction_id"], "transaction_id", required=True),
        "type": _text(get["type"], "type", required=True),
        "order_id": _text(get["order_id"], "order_id"),
        "amount": amount,
        "currency": currency,
        "balance_after": _money(get["balance_after"], currency, "balance_after", required=False),
        "created_at": _timestamp(get["created_at"], "created_at"),
    }


def wallet_values(row: dict[str, Any]) -> dict[str, Any]:
    get = {name: _pick(row, aliases) for name, aliases in WALLET_ALIASES.items()}
    currency = _currency(get["currency"])
    return {
        "currency": currency,
        "wallet_id": _text(get["wallet_id"], "wallet_id"),
        "balance": _money(get["balance"], currency, "balance"),
        "updated_at": _timestamp(get["updated_at"], "updated_at", required=False),
    }


def _batch(
    schema: pa.Schema,
    rows: Iterable[dict[str, Any]],
    parse: Callable[[dict[str, Any]], dict[str, Any]],
    key: str,
    extra: dict[str, Any],
) -> tuple[pa.RecordBatch, list[Rejected]]:
    columns: dict[str, list[Any]] = {name: [] for name in schema.names}
    rejected: list[Rejected] = []
    trace_id = extra.get("trace_id")
    for row in rows:
        if not isinstance(row, dict):
            rejected.append(Rejected(None, f"not an object: {type(row).__name__}", trace_id))
            continue
        try:
            values = parse(row)
        except Reject as exc:
            raw_key = _pick(
                row,
                {
                    "order_id": ORDER_ALIASES,
                    "transaction_id": TRANSACTION_ALIASES,
                    "currency": WALLET_ALIASES,
                }[key][key],
            )
            rejected.append(Rejected(None if raw_key is None else str(raw_key), str(exc), trace_id))
            continue
        values.update(extra)
        for name, column in columns.items():
            column.append(values.get(name))
    arrays = [pa.array(columns[f.name], type=f.type) for f in schema]
    return pa.RecordBatch.from_arrays(arrays, schema=schema), rejected


def parse_orders(
    rows: Iterable[dict[str, Any]], trace_id: str | None = None
) -> tuple[pa.RecordBatch, list[Rejected]]:
    """Orders of one page: a record batch in the ORDERS schema, and the rejected rows."""
    return _batch(ORDERS, rows, order_values, "order_id", {"trace_id": trace_id})


def parse_transactions(
    rows: Iterable[dict[str, Any]], trace_id: str | None = None
) -> tuple[pa.RecordBatch, list[Rejected]]:
    return _batch(TRANSACTIONS, rows, transaction_values, "transaction_id", {"trace_id": trace_id})


def parse_wallets(
    rows: Iterable[dict[str, Any]], trace_id: str | None, fetched_at: datetime
) -> tuple[pa.RecordBatch, list[Rejected]]:
    return _batch(
        WALLETS, rows, wallet_values, "currency", {"trace_id": trace_id, "fetched_at": fetched_at}
    )

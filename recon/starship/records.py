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

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from recon.errors import MoneyError
from recon.money import minor_unit, parse_amount
from recon.starship.client import Answer
from recon.starship.pages import json_rows, snake_meta
from recon.vocabulary import AMOUNT, TIMESTAMP

SCHEMA_VERSION = 1

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


def pick(row: dict[str, Any], names: tuple[str, ...]) -> Any:
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


def moment(value: Any, field: str, *, required: bool = True) -> datetime | None:
    if value is None or value == "":
        if required:
            raise Reject(f"{field} is missing")
        return None
    if not isinstance(value, str):
        raise Reject(f"{field} is not an ISO 8601 timestamp: {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Reject(f"{field} is not an ISO 8601 timestamp: {value!r}") from None
    # A timestamp without an offset is taken as UTC, the API's documented zone.
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def whole_number(value: Any, field: str) -> int | None:
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
    get = {name: pick(row, aliases) for name, aliases in ORDER_ALIASES.items()}
    currency = _currency(get["currency"])
    items = get["items"] if isinstance(get["items"], list) else []
    return {
        "order_id": _text(get["order_id"], "order_id", required=True),
        "status": _text(get["status"], "status", required=True),
        "sub_status": _text(get["sub_status"], "sub_status"),
        "product_id": _text(get["product_id"], "product_id"),
        "denomination": _money(get["denomination"], currency, "denomination", required=False),
        "quantity": whole_number(get["quantity"], "quantity"),
        "total_amount": _money(get["total_amount"], currency, "total_amount"),
        "currency": currency,
        "fulfilled_from": _text(get["fulfilled_from"], "fulfilled_from"),
        "client_reference": _text(get["client_reference"], "client_reference"),
        "created_at": moment(get["created_at"], "created_at"),
        "updated_at": moment(get["updated_at"], "updated_at", required=False),
        "item_count": len(items),
        "delivered_item_count": sum(
            1 for item in items if isinstance(item, dict) and item.get("status") == "DELIVERED"
        ),
    }


def transaction_values(row: dict[str, Any]) -> dict[str, Any]:
    get = {name: pick(row, aliases) for name, aliases in TRANSACTION_ALIASES.items()}
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
        "created_at": moment(get["created_at"], "created_at"),
    }


def wallet_values(row: dict[str, Any]) -> dict[str, Any]:
    get = {name: pick(row, aliases) for name, aliases in WALLET_ALIASES.items()}
    currency = _currency(get["currency"])
    return {
        "currency": currency,
        "wallet_id": _text(get["wallet_id"], "wallet_id"),
        "balance": _money(get["balance"], currency, "balance"),
        "updated_at": moment(get["updated_at"], "updated_at", required=False),
    }


@dataclass(frozen=True, eq=False)  # hashed by identity: one per kind of record
class Shape:
    """How one kind of record is read: its schema, aliases, and which fields are what."""

    schema: pa.Schema
    aliases: dict[str, tuple[str, ...]]
    values: Callable[[dict[str, Any]], dict[str, Any]]  # the careful, row-by-row reading
    key: str
    required: tuple[str, ...]
    money: tuple[str, ...]
    timestamps: tuple[str, ...]


ORDER_SHAPE = Shape(
    ORDERS,
    ORDER_ALIASES,
    order_values,
    "order_id",
    ("order_id", "status", "currency", "total_amount", "created_at"),
    ("denomination", "total_amount"),
    ("created_at", "updated_at"),
)
TRANSACTION_SHAPE = Shape(
    TRANSACTIONS,
    TRANSACTION_ALIASES,
    transaction_values,
    "transaction_id",
    ("transaction_id", "type", "currency", "amount", "created_at"),
    ("amount", "balance_after"),
    ("created_at",),
)
WALLET_SHAPE = Shape(
    WALLETS,
    WALLET_ALIASES,
    wallet_values,
    "currency",
    ("currency", "balance"),
    ("balance",),
    ("updated_at",),
)


@functools.cache
def _scalar(value: Any, kind: pa.DataType) -> pa.Scalar:
    """An Arrow scalar made once: pyarrow converting a Python value on every call is slow
    (without numpy installed, each conversion retries an import)."""
    return pa.array([value], kind)[0]


class _Unclean(Exception):
    """A page the columnar reading cannot take; the row-by-row reading explains why."""


META_FIELDS = {
    "total": pa.int64(),
    "per_page": pa.int64(),
    "current_page": pa.int64(),
    "last_page": pa.int64(),
    "next_page_url": pa.string(),
    "next_cursor": pa.string(),
}
_META = pa.struct(
    [
        pa.field(name, kind)
        for snake, kind in META_FIELDS.items()
        for name in dict.fromkeys((snake, re.sub(r"_(\w)", lambda m: m.group(1).upper(), snake)))
    ]
)
_ITEMS = pa.list_(pa.struct([pa.field("status", pa.string())]))  # nothing else of an item


@functools.cache
def _record_type(shape: Shape) -> pa.StructType:
    """A record as the JSON reader takes it: the allow-list itself. Keys not in it (voucher
    codes, PINs, links, whatever comes next) are never read into memory as values."""
    fields: list[pa.Field] = []
    for name, aliases in shape.aliases.items():
        if name == "items":
            kind = _ITEMS
        elif name in shape.money:
            kind = AMOUNT
        elif name == "quantity":
            kind = pa.int64()
        else:
            kind = pa.string()
        fields.extend(pa.field(alias, kind) for alias in aliases)
    return pa.struct(fields)


# What paging needs of a page: its meta and how many records it carries. The records' fields
# are skipped here and read later, many pages per call (`convert_pages`): with the records'
# schema, a call of the JSON reader costs 0.17 ms before it reads a byte, a third of a page
# of 100 orders, where this schema costs half as much.
_PAGING = pj.ParseOptions(
    explicit_schema=pa.schema(
        [
            pa.field("data", pa.list_(pa.struct([]))),
            pa.field("meta", _META),
            pa.field("next_cursor", pa.string()),
        ]
    ),
    unexpected_field_behavior="ignore",
)
_JSON_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError)


@dataclass
class RawPage:
    """A page decoded for paging (its meta, its size); its records are read when converted."""

    answer: Answer
    meta: dict[str, Any]
    size: int  # how many records the page carries
    rows: list[Any] | None = None  # the decoded rows, when the JSON reader cannot take the page

    @property
    def content(self) -> bytes:
        return self.answer.content

    @property
    def trace_id(self) -> str | None:
        return self.answer.trace_id


@functools.cache
def _records_options(shape: Shape) -> pj.ParseOptions:
    """Made once per shape: building them costs a third of reading a page of 100 orders."""
    schema = pa.schema([pa.field("data", pa.list_(_record_type(shape)))])
    return pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")


_READ = pj.ReadOptions(use_threads=False, block_size=1 << 22)


def _read_json(content: bytes, parse_options: pj.ParseOptions) -> pa.Table:
    read_options = _READ
    # One block for all of `content`: the reader splits blocks at new lines, and a page may
    # be pretty-printed; many pages at once may be larger than the usual block.
    if len(content) >= read_options.block_size:
        read_options = pj.ReadOptions(use_threads=False, block_size=len(content) + 1)
    # The streaming reader, for one block all the same: `read_json` starts a thread of its
    # own on every call, and waiting for it doubled the time a page took on a busy machine.
    reader = pj.open_json(
        pa.BufferReader(content), parse_options=parse_options, read_options=read_options
    )
    return reader.read_all()


def decode_page(answer: Answer) -> RawPage:
    """Decode what paging needs of a page's JSON body: its meta and its size."""
    content = answer.content
    data = None
    # Only an object reaches Arrow's reader: pyarrow 26 crashes the process on a bare `null`.
    # Anything else is decoded in Python, which says what is wrong with it.
    if content.lstrip()[:1] == b"{":
        try:
            table = _read_json(content, _PAGING)
            data = table.column("data").chunk(0) if table.num_rows == 1 else None
        except _JSON_ERRORS:
            data = None
    if data is None or data.null_count:
        rows, size, meta = json_rows(answer)
        return RawPage(answer, meta, size, rows)
    meta = table.column("meta")[0].as_py() or {}
    cursor = table.column("next_cursor")[0].as_py()
    if cursor:
        meta["next_cursor"] = cursor
    return RawPage(answer, snake_meta(meta), len(data[0]))


def convert_pages(
    shape: Shape, pages: list[RawPage], extra: dict[str, Any] | None = None
) -> tuple[pa.RecordBatch, list[Rejected]]:
    """Decoded pages as one batch in `shape.schema`, and the rejected rows with reasons.

    The records of clean pages (the common case) are read by one call of the JSON reader and
    converted together, column by column: Arrow's calls cost the same for one page as for a
    hundred. If anything is unusual (a type the schema does not expect, an unknown currency,
    a naive timestamp, an amount finer than its currency), each page is read and converted
    alone, so one unusual page costs its batch-mates nothing, and an unusual page is read row
    by row, which keeps what it can and gives the reason for each row it cannot use. Every
    path gives the same rows, in page order.
    """
    extra = extra or {}
    pages = [page for page in pages if page.size]
    if pages and all(page.rows is None for page in pages):
        try:
            records, traces = _read_records(shape, pages)
            return _convert(shape, records, {"trace_id": traces, **extra}), []
        except _Unclean:
            if len(pages) == 1:
                return _row_by_row(shape, _rows(pages[0]), {"trace_id": pages[0].trace_id, **extra})
    batches, rejected = [], []
    for page in pages:
        if page.rows is None and len(pages) > 1:
            batch, bad = convert_pages(shape, [page], extra)
        else:
            batch, bad = _row_by_row(shape, _rows(page), {"trace_id": page.trace_id, **extra})
        batches.append(batch)
        rejected.extend(bad)
    table = pa.Table.from_batches(batches, shape.schema).combine_chunks()
    merged = table.to_batches() or [pa.RecordBatch.from_pylist([], schema=shape.schema)]
    return merged[0], rejected


def _read_records(shape: Shape, pages: list[RawPage]) -> tuple[pa.StructArray, pa.Array]:
    """The records of `pages`, read from their JSON text in one call, and the trace id of
    each one's page. `_Unclean` if the reader cannot take them all as the schema says, or
    finds other records than the paging read counted."""
    content = b"\n".join(page.content for page in pages)
    try:
        data = _read_json(content, _records_options(shape)).column("data").combine_chunks()
    except _JSON_ERRORS:
        raise _Unclean from None
    sizes = pc.list_value_length(data).to_pylist()
    if data.null_count or sizes != [page.size for page in pages]:
        raise _Unclean
    traces = pa.array([page.trace_id for page in pages], pa.string())
    return data.flatten(), pc.take(traces, pc.list_parent_indices(data))


def _rows(page: RawPage) -> list[Any]:
    """The page's rows as decoded JSON, for the row-by-row reading."""
    if page.rows is not None:
        return page.rows
    return json_rows(page.answer)[0]


def _convert(shape: Shape, records: pa.StructArray, extra: dict[str, Any]) -> pa.RecordBatch:
    count = len(records)

    def column(aliases: tuple[str, ...]) -> pa.Array:
        present = [a for a in aliases if records.type.get_field_index(a) >= 0]
        used = [records.field(a) for a in present if records.field(a).null_count < count]
        if len(used) > 1:
            return pc.coalesce(*used)
        return used[0] if used else records.field(present[0] if present else aliases[0])

    raw = {name: column(aliases) for name, aliases in shape.aliases.items()}
    try:
        for name in shape.required:
            values = raw[name]
            if values.null_count or (
                pa.types.is_string(values.type)
                and pc.any(pc.equal(values, _scalar("", pa.string()))).as_py()
            ):
                raise _Unclean
        if "direction" in raw and raw["direction"].null_count != count:
            raise _Unclean  # unsigned amounts: the row-by-row reading signs them
        currencies = raw["currency"]
        codes = pc.unique(currencies)
        if any(code != code.upper() for code in codes.to_pylist()):
            raise _Unclean
        try:
            minors = pa.array([minor_unit(code) for code in codes.to_pylist()], pa.int32())
        except MoneyError:
            raise _Unclean from None
        # Each amount rounded to its own currency's minor unit must be itself.
        row_minor = pc.take(minors, pc.index_in(currencies, codes))
        for name in shape.money:
            amounts = raw[name]
            if pc.all(pc.equal(pc.round_binary(amounts, row_minor), amounts)).as_py() is False:
                raise _Unclean
        arrays: dict[str, pa.Array] = {}
        for field in shape.schema:
            if field.name in raw:
                value = raw[field.name]
                arrays[field.name] = value if value.type == field.type else value.cast(field.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        raise _Unclean from None
    if "items" in raw:
        items = raw["items"]
        lengths = pc.list_value_length(items)
        arrays["item_count"] = lengths.fill_null(_scalar(0, lengths.type)).cast(pa.int32())
        delivered = [0] * count
        flags = pc.equal(
            pc.list_flatten(items).field("status"), _scalar("DELIVERED", pa.string())
        ).fill_null(_scalar(False, pa.bool_()))
        for parent in pc.list_parent_indices(items).filter(flags).to_pylist():
            delivered[parent] += 1
        arrays["delivered_item_count"] = pa.array(delivered, pa.int32())
    for name, value in extra.items():
        kind = shape.schema.field(name).type
        arrays[name] = value if isinstance(value, pa.Array) else pa.array([value] * count, kind)
    return pa.RecordBatch.from_arrays([arrays[f.name] for f in shape.schema], schema=shape.schema)


def _row_by_row(
    shape: Shape, rows: Iterable[Any], extra: dict[str, Any]
) -> tuple[pa.RecordBatch, list[Rejected]]:
    columns: dict[str, list[Any]] = {name: [] for name in shape.schema.names}
    rejected: list[Rejected] = []
    trace_id = extra.get("trace_id")
    for row in rows:
        if not isinstance(row, dict):
            rejected.append(Rejected(None, f"not an object: {type(row).__name__}", trace_id))
            continue
        try:
            values = shape.values(row)
        except Reject as exc:
            key = pick(row, shape.aliases[shape.key])
            rejected.append(Rejected(None if key is None else str(key), str(exc), trace_id))
            continue
        values.update(extra)
        for name, column in columns.items():
            column.append(values.get(name))
    arrays = [pa.array(columns[f.name], type=f.type) for f in shape.schema]
    return pa.RecordBatch.from_arrays(arrays, schema=shape.schema), rejected


def parse_orders(
    rows: list[Any], trace_id: str | None = None
) -> tuple[pa.RecordBatch, list[Rejected]]:
    """Orders already decoded from JSON: a batch in the ORDERS schema, and the rejected rows."""
    return _row_by_row(ORDER_SHAPE, rows, {"trace_id": trace_id})


def parse_transactions(
    rows: list[Any], trace_id: str | None = None
) -> tuple[pa.RecordBatch, list[Rejected]]:
    return _row_by_row(TRANSACTION_SHAPE, rows, {"trace_id": trace_id})


def parse_wallets(
    rows: list[Any], trace_id: str | None, fetched_at: datetime
) -> tuple[pa.RecordBatch, list[Rejected]]:
    return _row_by_row(WALLET_SHAPE, rows, {"trace_id": trace_id, "fetched_at": fetched_at})

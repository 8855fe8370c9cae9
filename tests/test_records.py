"""Tolerant parsing: exact amounts whatever their JSON form, no secret survives, clear rejects."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.money import minor_unit
from recon.sandbox.server import encode_json
from recon.starship import records
from recon.starship.client import Answer, decode

SECRET_KEYS = ("voucher_code", "pin", "claim_url", "code", "redemption_url", "secret")
KEPT = {
    "order_id",
    "status",
    "sub_status",
    "product_id",
    "denomination",
    "quantity",
    "total_amount",
    "currency",
    "fulfilled_from",
    "client_reference",
    "created_at",
    "updated_at",
    "item_count",
    "delivered_item_count",
    "trace_id",
}

currencies = st.sampled_from(["USD", "EUR", "JPY", "KWD", "BHD"])
extra_keys = st.dictionaries(
    st.text(min_size=1, max_size=12).filter(
        lambda k: k not in {a for aliases in records.ORDER_ALIASES.values() for a in aliases}
    ),
    st.one_of(st.none(), st.integers(), st.text(max_size=10), st.lists(st.integers(), max_size=3)),
    max_size=5,
)


@st.composite
def api_orders(draw: st.DrawFn) -> tuple[bytes, Decimal, str, list[str]]:
    """An order as some version of the API might send it (JSON text), its true total, the
    currency and its secrets."""
    currency = draw(currencies)
    minor = draw(st.integers(min_value=-(10**12), max_value=10**12))
    total = Decimal(minor).scaleb(-minor_unit(currency))
    secrets = [
        draw(st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ23456789-", min_size=12, max_size=19))
        for _ in range(draw(st.integers(0, 3)))
    ]
    items = [
        {
            "item_id": f"itm_{n}",
            "status": "DELIVERED",
            "voucher_code": code,
            "pin": code[-4:],
            "claim_url": f"https://c.invalid/{code}",
            **draw(extra_keys),
        }
        for n, code in enumerate(secrets)
    ]
    order = {
        draw(st.sampled_from(["order_id", "id"])): "ord_1",
        "status": draw(st.sampled_from(["DELIVERED", "PENDING", "SOMETHING_NEW"])),
        draw(st.sampled_from(["sub_status", "subStatus"])): draw(
            st.sampled_from(["COMPLETED", "NEVER_SEEN_BEFORE", None])
        ),
        draw(st.sampled_from(["total_amount", "amount"])): total,
        "currency": currency,
        "created_at": draw(
            st.sampled_from(
                [
                    "2026-04-14T08:42:15Z",
                    "2026-04-14T10:42:15+02:00",
                    "2026-04-14T08:42:15.250000+00:00",
                ]
            )
        ),
        "items": items,
        **draw(extra_keys),
    }
    # The sandbox's encoder writes the Decimal as "12.50" or as the bare number 12.50.
    text = encode_json({"data": [order]}, numeric_amounts=draw(st.booleans()))
    return text, total, currency, secrets


@settings(max_examples=300, deadline=None)
@given(api_orders())
def test_any_order_parses_exactly_and_keeps_no_secret(case: tuple) -> None:
    text, total, currency, secrets = case
    page = decode(text)  # as the client reads it: numbers never pass through float
    batch, rejected = records.parse_orders(page["data"], "trc_1")
    assert rejected == []
    row = batch.to_pylist()[0]
    assert row["total_amount"] == total
    assert row["currency"] == currency
    assert row["created_at"] == datetime(
        2026, 4, 14, 8, 42, 15, row["created_at"].microsecond, tzinfo=UTC
    )
    assert row["item_count"] == len(secrets)
    assert set(batch.schema.names) == KEPT
    flat = json.dumps(row, default=str)
    for secret in secrets:
        assert secret not in flat


def test_json_numbers_keep_every_digit() -> None:
    page = decode(
        '{"data": [{"order_id": "o", "status": "DELIVERED", "total_amount": 34.70,'
        ' "currency": "USD", "created_at": "2026-04-14T00:00:00Z"},'
        ' {"order_id": "k", "status": "DELIVERED", "total_amount": 12.345,'
        ' "currency": "KWD", "created_at": "2026-04-14T00:00:00Z"},'
        ' {"order_id": "j", "status": "DELIVERED", "total_amount": 3000,'
        ' "currency": "JPY", "created_at": "2026-04-14T00:00:00Z"}]}'
    )
    batch, _ = records.parse_orders(page["data"])
    assert batch.column("total_amount").to_pylist() == [
        Decimal("34.70"),
        Decimal("12.345"),
        Decimal("3000"),
    ]
    assert batch.schema.field("total_amount").type == pa.decimal128(18, 4)


def test_unusable_rows_are_rejected_with_a_reason() -> None:
    base = {
        "order_id": "o1",
        "status": "DELIVERED",
        "total_amount": "10.00",
        "currency": "USD",
        "created_at": "2026-04-14T00:00:00Z",
    }
    rows = [
        {**base, "total_amount": "10.005"},
        {**base, "order_id": "o2", "currency": "XYZ"},
        {**base, "order_id": "o3", "created_at": "yesterday"},
        {key: value for key, value in base.items() if key != "order_id"},
        {**base, "order_id": "o5", "total_amount": None},
        "not an object",
        {**base, "order_id": "ok"},
    ]
    batch, rejected = records.parse_orders(rows, "trc_9")
    assert batch.column("order_id").to_pylist() == ["ok"]
    reasons = {r.key: r.reason for r in rejected}
    assert "more decimals than USD allows" in reasons["o1"]
    assert "unknown currency" in reasons["o2"]
    assert "ISO 8601" in reasons["o3"]
    assert "order_id is missing" in reasons[None] or any(
        "order_id is missing" in r.reason for r in rejected
    )
    assert "total_amount is missing" in reasons["o5"]
    assert any("not an object" in r.reason for r in rejected)
    assert all(r.trace_id == "trc_9" for r in rejected)
    assert len(rejected) + batch.num_rows == len(rows)  # nothing silently dropped


def test_unknown_enum_values_are_kept() -> None:
    batch, _ = records.parse_transactions(
        [
            {
                "id": "t1",
                "type": "FX_REVALUATION",
                "amount": "0.37",
                "currency": "EUR",
                "balance_after": "10.00",
                "created_at": "2026-04-14T00:00:00Z",
            }
        ]
    )
    assert batch.to_pylist()[0]["type"] == "FX_REVALUATION"
    assert batch.to_pylist()[0]["transaction_id"] == "t1"


def test_unsigned_amounts_take_their_sign_from_the_direction() -> None:
    rows = [
        {
            "transaction_id": f"t{n}",
            "type": "X",
            "amount": "5.00",
            "direction": d,
            "currency": "USD",
            "created_at": "2026-04-14T00:00:00Z",
        }
        for n, d in enumerate(["debit", "credit", "DEBIT"])
    ]
    batch, _ = records.parse_transactions(rows)
    assert batch.column("amount").to_pylist() == [
        Decimal("-5.00"),
        Decimal("5.00"),
        Decimal("-5.00"),
    ]


def test_wallets_with_aliases() -> None:
    moment = datetime(2026, 4, 15, tzinfo=UTC)
    batch, rejected = records.parse_wallets(
        decode('[{"currency": "kwd", "availableBalance": 525.000, "id": "w"}]'), "trc", moment
    )
    assert rejected == []
    assert batch.to_pylist()[0] | {} == {
        "currency": "KWD",
        "wallet_id": "w",
        "balance": Decimal("525.000"),
        "updated_at": None,
        "fetched_at": moment,
        "trace_id": "trc",
    }


# -- list pages read together: the columnar reading and its fallbacks -------------------------

ORDER = {
    "order_id": "o",
    "status": "DELIVERED",
    "total_amount": Decimal("10.00"),
    "currency": "USD",
    "created_at": "2026-04-14T00:00:00Z",
    "items": [{"status": "DELIVERED", "voucher_code": "VJ9G-DA3S-4Y7J"}, {"status": "PENDING"}],
}


def list_page(number: int, rows: list, *, numeric_amounts: bool = False) -> records.RawPage:
    meta = {"current_page": number}
    text = encode_json({"data": rows, "meta": meta}, numeric_amounts=numeric_amounts)
    return records.decode_page(Answer(text, f"trc_{number}", 200, ""))


def row_by_row(pages: list[records.RawPage]) -> tuple[list[dict], list[records.Rejected]]:
    """What the careful reading makes of each page alone: what every path must give."""
    kept: list[dict] = []
    rejected: list[records.Rejected] = []
    for page in pages:
        batch, bad = records.parse_orders(decode(page.content)["data"], page.trace_id)
        kept.extend(batch.to_pylist())
        rejected.extend(bad)
    return kept, rejected


def test_pages_read_together_give_the_rows_of_each_page_read_alone() -> None:
    """Dialects side by side in one batch: documented names, aliases, amounts as JSON
    numbers, keys nobody asked for; each row keeps the trace id of its own page."""
    aliased = {
        "status": "PENDING",
        "totalAmount": "3.500",
        "currency": "KWD",
        "createdAt": "2026-04-14T01:00:00Z",
        "subStatus": "NEW_ONE",
        "somethingNew": [1, 2],
    }
    numeric = {**ORDER, "order_id": "num", "total_amount": Decimal("12.5")}
    pages = [
        list_page(1, [{**ORDER, "order_id": f"doc-{n}"} for n in range(3)]),
        list_page(2, [{**aliased, "id": f"alias-{n}"} for n in range(2)]),
        list_page(3, [numeric], numeric_amounts=True),
        list_page(4, []),
    ]
    assert all(page.rows is None for page in pages)  # every page for the columnar reading
    batch, rejected = records.convert_pages(records.ORDER_SHAPE, pages)
    assert rejected == []
    assert batch.to_pylist() == row_by_row(pages)[0]
    assert [(row["order_id"], row["trace_id"]) for row in batch.to_pylist()] == [
        ("doc-0", "trc_1"),
        ("doc-1", "trc_1"),
        ("doc-2", "trc_1"),
        ("alias-0", "trc_2"),
        ("alias-1", "trc_2"),
        ("num", "trc_3"),
    ]
    assert batch.column("total_amount").to_pylist()[3:] == [Decimal("3.500")] * 2 + [
        Decimal("12.5")
    ]
    assert batch.column("delivered_item_count").to_pylist()[:3] == [1, 1, 1]
    assert set(batch.schema.names) == KEPT


def test_a_dirty_page_costs_its_batch_mates_nothing() -> None:
    """One page whose amount the conversion refuses, one the JSON reader itself refuses (a
    string where a number belongs): exactly their bad rows are rejected, with their own
    pages' trace ids, and every other row of the batch is kept, in page order."""
    rows = [[{**ORDER, "order_id": f"p{page}-{n}"} for n in range(3)] for page in range(1, 7)]
    rows[1][1]["total_amount"] = Decimal("10.005")  # page 2: finer than USD allows
    rows[3][0]["quantity"] = "two"  # page 4: the reader cannot take the page as it is
    pages = [list_page(number, page_rows) for number, page_rows in enumerate(rows, 1)]
    batch, rejected = records.convert_pages(records.ORDER_SHAPE, pages)
    assert [(bad.key, bad.trace_id) for bad in rejected] == [("p2-1", "trc_2"), ("p4-0", "trc_4")]
    assert "more decimals than USD allows" in rejected[0].reason
    assert "quantity is not a whole number" in rejected[1].reason
    kept = batch.to_pylist()
    everyone = [row["order_id"] for page_rows in rows for row in page_rows]
    assert [row["order_id"] for row in kept] == [n for n in everyone if n not in {"p2-1", "p4-0"}]
    assert all(row["trace_id"] == f"trc_{row['order_id'][1]}" for row in kept)
    assert (kept, rejected) == row_by_row(pages)

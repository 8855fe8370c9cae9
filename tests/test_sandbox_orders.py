"""POST /orders over HTTP: HMAC exactly as Starship documents it, idempotency, both fulfilment
paths (docs/starship-api.md, Requests and Fulfilment).

Signatures are computed with hmac/hashlib (`signed_post` in tests/helpers.py), independently
of recon's signer.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import requests

from recon.sandbox.server import Sandbox
from tests.conftest import MakeSandbox
from tests.helpers import USD_25, signed_post


def debits(sandbox: Sandbox, order_id: str) -> list[dict[str, Any]]:
    return requests.get(
        f"{sandbox.base_url}/transactions",
        params={"order_id": order_id},
        headers=sandbox.auth_headers(),
    ).json()["data"]


def wallet(sandbox: Sandbox, currency: str) -> Decimal:
    wallets = requests.get(f"{sandbox.base_url}/wallets", headers=sandbox.auth_headers())
    return next(Decimal(w["balance"]) for w in wallets.json()["data"] if w["currency"] == currency)


def test_cache_hit_delivers_at_once_and_debits_the_wallet(sandbox: Sandbox) -> None:
    before = wallet(sandbox, "USD")
    answer = signed_post(sandbox, USD_25)
    assert answer.status_code == 200, answer.text
    order = answer.json()["data"]
    assert (order["status"], order["fulfilled_from"]) == ("DELIVERED", "cache")
    assert order["total_amount"] == "48.25"  # 2 x 25.00 less the partner's 3.5 %
    assert order["client_reference"] == "po-test-1"
    assert len(order["items"]) == 2 and all(i["voucher_code"] for i in order["items"])
    assert wallet(sandbox, "USD") == before - Decimal("48.25")  # the discounted total
    [debit] = debits(sandbox, order["order_id"])
    assert (debit["type"], debit["amount"]) == ("ORDER_DEBIT", "-48.25")
    assert Decimal(debit["balance_after"]) == before - Decimal("48.25")


def test_cache_miss_parks_the_order_pending_and_still_debits(sandbox: Sandbox) -> None:
    before = wallet(sandbox, "EUR")
    delayed = {"product_id": "zalando-eur", "denomination": "50.00", "quantity": 1}
    order = signed_post(sandbox, delayed).json()["data"]
    assert (order["status"], order["sub_status"]) == ("PENDING", "VENDOR_ORDER_PENDING")
    assert order["fulfilled_from"] is None
    assert not any(item.get("voucher_code") for item in order["items"])
    assert order["total_amount"] == "47.38"  # 50.00 less 5.25 % is 47.375: rounded half-up
    assert wallet(sandbox, "EUR") == before - Decimal("47.38")


def test_inventory_runs_out_then_orders_park(sandbox: Sandbox) -> None:
    statuses = [
        signed_post(
            sandbox,
            {"product_id": "apple-jpy", "denomination": "1000", "quantity": 10},
            key=f"k-{n}",
        ).json()["data"]["status"]
        for n in range(3)
    ]
    assert statuses == ["DELIVERED", "DELIVERED", "PENDING"]  # 25 in stock: 10 + 10, then 10


def test_bulk_order_is_pending_with_no_items(sandbox: Sandbox) -> None:
    bulk = {"product_id": "amazon-gift-usd", "denomination": "10.00", "quantity": 51}
    order = signed_post(sandbox, bulk).json()["data"]
    assert (order["status"], order["items"]) == ("PENDING", [])
    assert order["total_amount"] == "492.15"  # 51 x 10.00 less 3.5 %


def test_a_replayed_key_returns_the_original_and_never_debits_twice(sandbox: Sandbox) -> None:
    before = wallet(sandbox, "USD")
    first = signed_post(sandbox, USD_25, key="retry-me")
    again = signed_post(sandbox, USD_25, key="retry-me")
    assert again.status_code == first.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.headers["X-Trace-ID"] != again.headers["X-Trace-ID"]
    assert len(debits(sandbox, first.json()["data"]["order_id"])) == 1
    assert wallet(sandbox, "USD") == before - Decimal("48.25")
    assert sandbox.stats["orders_created"] == 1


def test_a_key_reused_with_another_body_is_refused(sandbox: Sandbox) -> None:
    signed_post(sandbox, USD_25, key="same")
    other = signed_post(sandbox, {**USD_25, "quantity": 3}, key="same")
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "E_IDEMPOTENCY_KEY_REUSED"


def test_without_a_key_a_retry_charges_twice_which_is_why_keys_are_required(
    sandbox: Sandbox,
) -> None:
    missing = signed_post(sandbox, USD_25, key=None)
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "E_VALIDATION_FAILURE"
    a = signed_post(sandbox, USD_25, key="a").json()["data"]
    b = signed_post(sandbox, USD_25, key="b").json()["data"]
    assert a["order_id"] != b["order_id"]  # a fresh key is a fresh order: the double charge


def test_tampered_body_is_rejected(sandbox: Sandbox) -> None:
    sent = json.dumps({**USD_25, "quantity": 20}).encode()
    answer = signed_post(sandbox, USD_25, body=sent, sign_body=json.dumps(USD_25).encode())
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "E_SIGNATURE_INVALID"
    assert sandbox.stats.get("orders_created", 0) == 0


def test_stale_and_future_timestamps_are_rejected(sandbox: Sandbox) -> None:
    for skew in (-301, 301):
        answer = signed_post(sandbox, USD_25, ts=int(time.time()) + skew, key=f"k{skew}")
        assert answer.status_code == 401
        assert "300 s" in answer.json()["error"]["message"]
    assert signed_post(sandbox, USD_25, ts=int(time.time()) - 240).status_code == 200


def test_unsigned_post_is_rejected(sandbox: Sandbox) -> None:
    answer = requests.post(
        f"{sandbox.base_url}/orders",
        json=USD_25,
        headers={**sandbox.auth_headers(), "Idempotency-Key": "x"},
    )
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "E_SIGNATURE_INVALID"


def test_invalid_orders_name_every_problem(sandbox: Sandbox) -> None:
    answer = signed_post(
        sandbox,
        {
            "product_id": "amazon-gift-usd",
            "denomination": "26.00",
            "quantity": 0,
            "currency": "EUR",
        },
    )
    assert answer.status_code == 422
    messages = " ".join(answer.json()["error"]["messages"])
    assert "quantity" in messages and "denomination" in messages and "currency" in messages
    unknown = signed_post(sandbox, {"product_id": "nope"}, key="k-2")
    assert "product_id" in unknown.json()["error"]["messages"][0]


def test_an_empty_wallet_answers_payment_required(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox()
    sandbox.state.wallets["KWD"] = Decimal("1.000")
    answer = signed_post(sandbox, {"product_id": "talabat-kwd", "denomination": "2.500"})
    assert answer.status_code == 402
    assert answer.json()["error"]["code"] == "PAYMENT_REQUIRED"


def test_json_number_denomination_is_exact(sandbox: Sandbox) -> None:
    body = b'{"product_id": "talabat-kwd", "denomination": 2.500, "quantity": 3}'
    order = signed_post(sandbox, {}, body=body).json()["data"]
    assert order["total_amount"] == "7.369"  # 7.500 less 1.75 % is 7.36875


def test_a_created_order_is_listed_and_fetchable(sandbox: Sandbox) -> None:
    order = signed_post(sandbox, USD_25).json()["data"]
    fetched = requests.get(
        f"{sandbox.base_url}/orders/{order['order_id']}", headers=sandbox.auth_headers()
    ).json()["data"]
    assert fetched == order
    listed = requests.get(
        f"{sandbox.base_url}/orders",
        params={"from": order["created_at"]},
        headers=sandbox.auth_headers(),
    ).json()["data"]
    assert order["order_id"] in {o["order_id"] for o in listed}

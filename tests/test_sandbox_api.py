"""The sandbox's read endpoints over real HTTP on loopback: auth, paging, filters, envelopes."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import requests

from recon.sandbox.scenario import iso
from recon.sandbox.server import Sandbox
from tests.conftest import MakeSandbox, day_window
from tests.helpers import page_through


def test_every_request_needs_the_key_and_secret(sandbox: Sandbox) -> None:
    for headers in (
        {},
        {"X-API-Key": "pk_test_sandbox"},
        {"X-API-Key": "pk_test_sandbox", "X-API-Secret": "sk_test_wrong"},
    ):
        answer = requests.get(f"{sandbox.base_url}/orders", headers=headers)
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "E_UNAUTHORIZED"
        assert set(answer.json()["error"]) >= {"name", "code", "message"}
        assert answer.headers["X-Trace-ID"].startswith("trc_")


@pytest.mark.parametrize("limit", [1, 7, 10, 25, 100])
def test_paging_returns_every_order_of_the_day_exactly_once(
    sandbox: Sandbox, http: requests.Session, limit: int
) -> None:
    scenario = sandbox.scenario
    window = day_window(scenario)
    ids, metas = page_through(http, f"{sandbox.base_url}/orders", {**window, "limit": limit})
    expected = [
        o.order_id for o in scenario.orders if window["from"] <= iso(o.created_at) < window["to"]
    ]
    assert ids == expected  # every row once, in created_at order
    assert all(meta["total"] == len(expected) for meta in metas)
    assert metas[0]["per_page"] == limit
    assert metas[0]["last_page"] == -(-len(expected) // limit)


def test_window_is_half_open_on_created_at(sandbox: Sandbox, http: requests.Session) -> None:
    first = sandbox.scenario.orders[0]
    at = iso(first.created_at)
    starting = http.get(f"{sandbox.base_url}/orders", params={"from": at, "to": at}).json()
    assert starting["data"] == []
    including = http.get(f"{sandbox.base_url}/orders", params={"from": at, "limit": 1}).json()[
        "data"
    ]
    assert including[0]["order_id"] == first.order_id
    excluding = http.get(f"{sandbox.base_url}/orders", params={"to": at}).json()
    assert excluding["meta"]["total"] == 0


def test_server_caps_the_page_size(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(page_cap=5)
    with requests.Session() as http:
        http.headers.update(sandbox.auth_headers())
        body = http.get(f"{sandbox.base_url}/orders", params={"limit": 100}).json()
        assert len(body["data"]) == 5
        assert body["meta"]["per_page"] == 5
        ids, _ = page_through(http, f"{sandbox.base_url}/orders", {"limit": 100})
    assert ids == [o.order_id for o in sandbox.scenario.orders]


def test_next_page_url_walks_the_pages(sandbox: Sandbox, http: requests.Session) -> None:
    url: str | None = f"{sandbox.base_url}/transactions?limit=20"
    seen: list[str] = []
    while url:
        body = http.get(url).json()
        seen.extend(row["transaction_id"] for row in body["data"])
        url = body["meta"]["next_page_url"]
    assert seen == [t.transaction_id for t in sandbox.scenario.transactions]


def test_camel_case_meta_and_no_next_links(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(meta_style="camel", next_links=False)
    answer = requests.get(
        f"{sandbox.base_url}/orders", params={"limit": 3}, headers=sandbox.auth_headers()
    )
    assert set(answer.json()["meta"]) == {"total", "perPage", "currentPage", "lastPage"}


def test_transaction_filters(sandbox: Sandbox, http: requests.Session) -> None:
    scenario = sandbox.scenario
    refund = next(t for t in scenario.transactions if t.type == "REFUND")
    by_order = http.get(
        f"{sandbox.base_url}/transactions", params={"order_id": refund.order_id}
    ).json()["data"]
    assert {row["type"] for row in by_order} == {"ORDER_DEBIT", "REFUND"}
    assert sum(Decimal(row["amount"]) for row in by_order) == 0
    refunds = http.get(
        f"{sandbox.base_url}/transactions", params={"type": "REFUND", "limit": 100}
    ).json()
    assert refunds["meta"]["total"] == sum(t.type == "REFUND" for t in scenario.transactions)
    assert all(row["type"] == "REFUND" for row in refunds["data"])


def test_order_status_filter(sandbox: Sandbox, http: requests.Session) -> None:
    pending = http.get(
        f"{sandbox.base_url}/orders", params={"status": "PENDING", "limit": 100}
    ).json()["data"]
    assert pending
    assert {o["status"] for o in pending} == {"PENDING"}


def test_one_order_carries_its_items_and_voucher_codes(
    sandbox: Sandbox, http: requests.Session
) -> None:
    order = next(o for o in sandbox.scenario.orders if o.items and o.status == "DELIVERED")
    body = http.get(f"{sandbox.base_url}/orders/{order.order_id}").json()["data"]
    assert body["order_id"] == order.order_id
    assert Decimal(body["total_amount"]) == order.total_amount < order.denomination * order.quantity
    assert body["items"][0]["voucher_code"] == order.items[0].voucher_code
    missing = http.get(f"{sandbox.base_url}/orders/ord_nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "E_ORDER_NOT_FOUND"


def test_wallets_products_and_categories(sandbox: Sandbox, http: requests.Session) -> None:
    wallets = http.get(f"{sandbox.base_url}/wallets").json()["data"]
    assert {w["currency"]: w["balance"] for w in wallets} == {
        c: str(b) for c, b in sandbox.scenario.wallets.items()
    }
    products = http.get(f"{sandbox.base_url}/products", params={"currency": "EUR"}).json()
    assert {p["currency"] for p in products["data"]} == {"EUR"}
    assert products["meta"]["total"] == 2
    one = http.get(f"{sandbox.base_url}/products/apple-jpy").json()["data"]
    assert one["denominations"] == ["1000", "3000", "5000", "10000"]
    categories = http.get(f"{sandbox.base_url}/categories").json()["data"]
    assert {c["category_id"] for c in categories} == {"shopping", "food-and-drink", "entertainment"}


def test_reconciliation_is_planned_so_404_unless_turned_on(make_sandbox: MakeSandbox) -> None:
    off = make_sandbox()
    answer = requests.get(f"{off.base_url}/reconciliation/2026-04-14", headers=off.auth_headers())
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "E_NOT_FOUND"

    on = make_sandbox(reconciliation="planned")
    body = requests.get(
        f"{on.base_url}/reconciliation/2026-04-14", headers=on.auth_headers()
    ).json()
    assert set(body) == {"date", "summary", "drifts", "generated_at"}
    assert set(body["summary"]) == {
        "orders_total",
        "vouchers_allocated",
        "matched",
        "drifted",
        "unmatched",
    }
    assert body["summary"]["drifted"] == len(body["drifts"]) == 1
    assert body["drifts"][0]["resolution"] == "pending"
    other = requests.get(
        f"{on.base_url}/reconciliation/2026-04-12", headers=on.auth_headers()
    ).json()
    assert other["drifts"] == [] and other["summary"]["orders_total"] > 0


@pytest.mark.parametrize(
    ("method", "path", "params", "status", "code"),
    [
        ("GET", "/nowhere", {}, 404, "E_NOT_FOUND"),
        ("DELETE", "/orders", {}, 405, "E_METHOD_NOT_ALLOWED"),
        ("GET", "/orders", {"page": "0"}, 400, "E_VALIDATION_FAILURE"),
        ("GET", "/orders", {"limit": "ten"}, 400, "E_VALIDATION_FAILURE"),
        ("GET", "/orders", {"from": "yesterday"}, 400, "E_VALIDATION_FAILURE"),
        ("GET", "/reconciliation/2026-13-01", {}, 404, "E_NOT_FOUND"),
    ],
)
def test_errors_use_the_envelope_with_stable_codes(
    sandbox: Sandbox,
    http: requests.Session,
    method: str,
    path: str,
    params: dict[str, str],
    status: int,
    code: str,
) -> None:
    answer = http.request(method, f"{sandbox.base_url}{path}", params=params)
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code
    assert answer.headers["X-Trace-ID"]


def test_outside_the_versioned_prefix_is_not_found(sandbox: Sandbox) -> None:
    host, port = sandbox.address
    answer = requests.get(f"http://{host}:{port}/orders", headers=sandbox.auth_headers())
    assert answer.status_code == 404
    assert "/api/v1" in answer.json()["error"]["message"]


def test_trace_ids_are_unique_per_response(sandbox: Sandbox, http: requests.Session) -> None:
    traces = {http.get(f"{sandbox.base_url}/wallets").headers["X-Trace-ID"] for _ in range(5)}
    assert len(traces) == 5


def test_amounts_are_decimal_strings_by_default(sandbox: Sandbox, http: requests.Session) -> None:
    raw = http.get(f"{sandbox.base_url}/orders", params={"limit": 5}).text
    for row in json.loads(raw)["data"]:
        assert isinstance(row["total_amount"], str)
        assert isinstance(row["denomination"], str)

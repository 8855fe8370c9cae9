"""What a review of the sandbox found: each case answers like the API, never a dropped
connection, and the behaviours that earlier tests let slip."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import socket
import threading
import time
from decimal import Decimal

import pytest
import requests

from recon.sandbox.server import Sandbox, SandboxOptions
from tests.conftest import MakeSandbox, day_window
from tests.helpers import USD_25, signed_post


def raw_request(sandbox: Sandbox, text: bytes) -> bytes:
    """Send bytes as they are (requests would refuse to send them malformed)."""
    with socket.create_connection(sandbox.address, timeout=5) as conn:
        conn.sendall(text)
        conn.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/orders"), ("POST", "/orders"), ("GET", "/wallets"), ("GET", "/orders/x")],
)
def test_every_endpoint_needs_credentials(sandbox: Sandbox, method: str, path: str) -> None:
    answer = requests.request(method, f"{sandbox.base_url}{path}", data=b"{}")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "E_UNAUTHORIZED"


def test_a_non_finite_denomination_is_a_validation_error(sandbox: Sandbox) -> None:
    answer = signed_post(
        sandbox, {}, body=b'{"product_id": "amazon-gift-usd", "denomination": "sNaN"}'
    )
    assert answer.status_code == 422
    assert answer.headers["X-Trace-ID"]


def test_a_non_hex_signature_is_refused_not_crashed(sandbox: Sandbox) -> None:
    ts = int(time.time())
    headers = {
        **sandbox.auth_headers(),
        "X-Timestamp": str(ts),
        "Idempotency-Key": "k",
        "X-Signature": f"t={ts},v1=" + "é" * 64,
    }
    answer = requests.post(
        f"{sandbox.base_url}/orders",
        data=b"{}",
        headers={k: v.encode() for k, v in headers.items()},
    )
    assert answer.status_code == 401
    assert "64 lowercase hex" in answer.json()["error"]["message"]


def test_a_bad_content_length_gets_the_envelope(sandbox: Sandbox) -> None:
    reply = raw_request(
        sandbox, b"POST /api/v1/orders HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"
    )
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"X-Trace-ID: trc_" in head
    assert json.loads(body)["error"]["code"] == "E_BAD_REQUEST"


def test_a_malformed_request_line_gets_the_envelope(sandbox: Sandbox) -> None:
    reply = raw_request(sandbox, b"GARBAGE\r\n\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert b"X-Trace-ID: trc_" in head and json.loads(body)["error"]["code"]


def test_head_is_answered_without_a_body(sandbox: Sandbox) -> None:
    answer = requests.head(f"{sandbox.base_url}/orders", headers=sandbox.auth_headers())
    assert answer.status_code == 501 and answer.headers["X-Trace-ID"] and answer.content == b""


def test_a_garbage_cursor_is_a_validation_error(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(paging="cursor")
    for cursor in ("!!!", "eyJhIjogMX0=", "MQ=="):  # not base64 JSON; an object; a number
        answer = requests.get(
            f"{sandbox.base_url}/orders", params={"cursor": cursor}, headers=sandbox.auth_headers()
        )
        assert answer.status_code == 400, cursor
        assert answer.json()["error"]["code"] == "E_VALIDATION_FAILURE"


def test_a_query_parameter_cannot_override_the_path_id(sandbox: Sandbox) -> None:
    real = sandbox.scenario.orders[0].order_id
    answer = requests.get(
        f"{sandbox.base_url}/orders/ord_nope", params={"_id": real}, headers=sandbox.auth_headers()
    )
    assert answer.status_code == 404


def test_next_page_url_keeps_the_filters_and_honours_camel_case(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(meta_style="camel")
    window = day_window(sandbox.scenario)
    with requests.Session() as http:
        http.headers.update(sandbox.auth_headers())
        body = http.get(f"{sandbox.base_url}/orders", params={**window, "limit": 4}).json()
        seen = [row["order_id"] for row in body["data"]]
        while body["meta"].get("nextPageUrl"):
            assert "next_page_url" not in body["meta"]
            body = http.get(body["meta"]["nextPageUrl"]).json()
            seen.extend(row["order_id"] for row in body["data"])
    expected = [
        o.order_id for o in sandbox.scenario.orders if o.created_at.date() == sandbox.scenario.date
    ]
    assert seen == expected


def test_refusals_are_replayed_too(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox()
    sandbox.state.wallets["USD"] = Decimal("1.00")
    first = signed_post(sandbox, USD_25, key="poor")
    sandbox.state.wallets["USD"] = Decimal("1000.00")
    again = signed_post(sandbox, USD_25, key="poor")
    assert first.status_code == again.status_code == 402
    assert again.headers["Idempotent-Replayed"] == "true"
    assert sandbox.stats.get("orders_created", 0) == 0


def test_reads_and_writes_have_their_own_buckets(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(rate_limit=0.5, burst=1)
    assert (
        requests.get(f"{sandbox.base_url}/wallets", headers=sandbox.auth_headers()).status_code
        == 200
    )
    assert signed_post(sandbox, USD_25).status_code == 200  # a write, not throttled by reads
    assert (
        requests.get(f"{sandbox.base_url}/wallets", headers=sandbox.auth_headers()).status_code
        == 429
    )


def test_concurrent_orders_keep_the_balance_chain(sandbox: Sandbox) -> None:
    statuses: list[int] = []

    def place(number: int) -> None:
        statuses.append(signed_post(sandbox, USD_25, key=f"c-{number}").status_code)

    threads = [threading.Thread(target=place, args=(n,)) for n in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 32
    assert sandbox.stats["orders_created"] == 32
    usd = [t for t in sandbox.state.transactions if t.currency == "USD"]
    usd.sort(key=lambda t: (t.created_at, t.transaction_id))
    breaks = [
        t for prev, t in itertools.pairwise(usd) if prev.balance_after + t.amount != t.balance_after
    ]
    planted = len(
        [f for f in sandbox.scenario.answer_key["findings"] if f["check"] == "balance_gap"]
    )
    assert len(breaks) == planted


def test_the_sandbox_takes_test_credentials_only() -> None:
    for key, secret in (
        ("pk_test_x", "sk_live_x"),
        ("pk_live_x", "sk_test_x"),
        ("pk_test_x", "plain"),
    ):
        with pytest.raises(ValueError, match="test credentials only"):
            SandboxOptions(api_key=key, api_secret=secret)


def test_signature_of_a_sandbox_with_its_own_secret(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(api_key="pk_test_mine", api_secret="sk_test_mine")
    body = json.dumps(USD_25).encode()
    ts = int(time.time())
    digest = hmac.new(
        b"sk_test_mine", f"{ts}POST/api/v1/orders".encode() + body, hashlib.sha256
    ).hexdigest()
    answer = requests.post(
        f"{sandbox.base_url}/orders",
        data=body,
        headers={
            **sandbox.auth_headers(),
            "X-Timestamp": str(ts),
            "X-Signature": f"t={ts},v1={digest}",
            "Idempotency-Key": "own",
        },
    )
    assert answer.status_code == 200

"""The Starship client against the sandbox over real HTTP, with each fault turned on.

Waiting is the only thing replaced: the client takes a `sleep` function, and these tests
record what it asked to wait instead of waiting, so a 429 storm is checked in milliseconds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from recon.errors import ApiError, ConfigError
from recon.sandbox.faults import Faults
from recon.sandbox.server import Sandbox
from recon.starship.client import StarshipClient, check_environment, redact, retry_after
from recon.starship.errors import (
    AuthenticationError,
    NotFoundError,
    ServerError,
    ThrottledError,
    UnreachableError,
    ValidationError,
)
from tests.conftest import MakeSandbox
from tests.helpers import free_port


def client_for(
    sandbox: Sandbox, waits: list[float] | None = None, **kwargs: object
) -> StarshipClient:
    recorded = waits if waits is not None else []
    return StarshipClient(
        sandbox.base_url,
        sandbox.options.api_key,
        sandbox.options.api_secret,
        sleep=recorded.append,
        **kwargs,
    )


def test_a_get_returns_payload_and_trace_id(sandbox: Sandbox) -> None:
    answer = client_for(sandbox).get("wallets")
    assert answer.status == 200 and answer.trace_id.startswith("trc_")
    assert {w["currency"] for w in answer.payload["data"]} == {"EUR", "JPY", "KWD", "USD"}


def test_one_place_owns_the_version_prefix(sandbox: Sandbox) -> None:
    host, port = sandbox.address
    for base in (
        f"http://{host}:{port}",
        f"http://{host}:{port}/",
        f"http://{host}:{port}/api/v1",
        f"http://{host}:{port}/api/v1/",
    ):
        client = StarshipClient(base, "pk_test_sandbox", "sk_test_sandbox")
        assert client.url("orders") == f"http://{host}:{port}/api/v1/orders"
        assert client.get("categories").status == 200


@pytest.mark.parametrize(
    ("path", "error", "code"),
    [
        ("orders/ord_missing", NotFoundError, "E_ORDER_NOT_FOUND"),
        ("nowhere", NotFoundError, "E_NOT_FOUND"),
    ],
)
def test_errors_are_typed_by_code(sandbox: Sandbox, path: str, error: type, code: str) -> None:
    with pytest.raises(error) as caught:
        client_for(sandbox).get(path)
    assert caught.value.code == code
    assert caught.value.trace_id and caught.value.trace_id in str(caught.value)
    assert f"GET {sandbox.base_url}/{path}" in str(caught.value)
    assert caught.value.exit_code == 2


def test_bad_credentials_are_an_authentication_error_without_retry(sandbox: Sandbox) -> None:
    waits: list[float] = []
    client = StarshipClient(
        sandbox.base_url, "pk_test_sandbox", "sk_test_wrong", sleep=waits.append
    )
    with pytest.raises(AuthenticationError, match="E_UNAUTHORIZED"):
        client.get("orders")
    assert waits == [] and client.stats.requests == 1


def test_validation_errors_are_typed(sandbox: Sandbox) -> None:
    with pytest.raises(ValidationError, match="page must be a positive integer"):
        client_for(sandbox).get("orders", {"page": 0})


def test_5xx_with_html_bodies_are_retried_until_they_pass(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(faults=Faults(error_rate=0.5, seed=11))
    waits: list[float] = []
    client = client_for(sandbox, waits)
    for _ in range(10):
        assert client.get("wallets").status == 200
    assert sandbox.stats["server_error"] == client.stats.retries == len(waits) > 0
    assert any(status in client.stats.by_status for status in (502, 504))  # the HTML ones


def test_429_storm_honours_retry_after(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(faults=Faults(throttle_rate=0.5, throttle_retry_after=2, seed=5))
    waits: list[float] = []
    client = client_for(sandbox, waits, max_attempts=20)
    for _ in range(10):
        client.get("wallets")
    assert waits and set(waits) == {2.0}  # the server's Retry-After, not the backoff


def test_retry_after_as_an_http_date(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(rate_limit=0.2, burst=1, retry_after_format="http-date")
    waits: list[float] = []
    client = client_for(sandbox, waits, max_attempts=2)
    client.get("wallets")
    with pytest.raises(ThrottledError):
        client.get("wallets")  # the recorded sleep does not refill the bucket
    assert len(waits) == 1 and 1.0 <= waits[0] <= 6.0


def test_retry_after_parsing() -> None:
    now = 1_800_000_000.0
    assert retry_after("120", now) == 120.0
    assert retry_after(formatdate(now + 30, usegmt=True), now) == pytest.approx(30.0, abs=1)
    assert retry_after(formatdate(now - 30, usegmt=True), now) == 0.0
    assert retry_after("soon", now) is None and retry_after(None, now) is None


def test_giving_up_names_the_endpoint_and_last_trace_id(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(faults=Faults(error_rate=1.0))
    waits: list[float] = []
    client = client_for(sandbox, waits, max_attempts=4)
    with pytest.raises(ServerError) as caught:
        client.get("orders", {"limit": 5})
    message = str(caught.value)
    assert f"GET {sandbox.base_url}/orders?limit=5" in message
    assert caught.value.trace_id == client.stats.last_trace_id and "trc_" in message
    assert len(waits) == 3 and client.stats.requests == 4
    assert all(0 <= wait <= 0.5 * 2**n for n, wait in enumerate(waits))  # jittered backoff


def test_the_retry_budget_caps_total_waiting(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(faults=Faults(throttle_rate=1.0, throttle_retry_after=30))
    waits: list[float] = []
    with pytest.raises(ThrottledError, match="E_REQUEST_THROTTLED"):
        client_for(sandbox, waits, retry_budget_seconds=60).get("wallets")
    assert waits == [30.0, 30.0]  # a third wait would pass the 60 s budget


def test_a_timeout_is_retried_then_fails_clearly(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(faults=Faults(slow_rate=1.0, slow_seconds=1.0))
    client = client_for(sandbox, read_timeout=0.2, max_attempts=2)
    with pytest.raises(UnreachableError, match=r"no answer within 0\.2 s"):
        client.get("wallets")
    assert client.stats.retries == 1


def test_a_refused_connection_is_unreachable() -> None:
    client = StarshipClient(
        f"http://127.0.0.1:{free_port()}",
        "pk_test_x",
        "sk_test_x",
        sleep=lambda _: None,
        max_attempts=2,
    )
    with pytest.raises(UnreachableError, match="connection failed"):
        client.get("orders")


@pytest.fixture
def redirecting() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A server that redirects every request to a second server, which records headers."""
    seen: list[dict[str, str]] = []

    class Elsewhere(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(dict(self.headers))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    other = HTTPServer(("127.0.0.1", 0), Elsewhere)
    target = f"http://127.0.0.1:{other.server_address[1]}/steal"

    class Redirect(Elsewhere):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()

    first = HTTPServer(("127.0.0.1", 0), Redirect)
    for server in (first, other):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{first.server_address[1]}", seen
    finally:
        for server in (first, other):
            server.shutdown()
            server.server_close()


def test_redirects_are_not_followed_so_credentials_stay_home(redirecting) -> None:
    base, seen_elsewhere = redirecting
    client = StarshipClient(base, "pk_test_sandbox", "sk_test_sandbox", sleep=lambda _: None)
    with pytest.raises(ApiError, match="HTTP 302"):
        client.get("orders")
    assert seen_elsewhere == []


def test_credentials_go_to_no_other_host(sandbox: Sandbox) -> None:
    with pytest.raises(ApiError, match="refusing to send credentials"):
        client_for(sandbox).get("http://198.51.100.7/api/v1/orders")


@pytest.mark.parametrize(
    ("base", "key", "secret", "message"),
    [
        ("https://api.starshiprewards.com/api/v1", "pk_test_1", "sk_test_1", "not a sandbox host"),
        ("http://127.0.0.1:8642", "pk_live_1", "sk_live_1", "live credentials"),
        ("https://api-playground.starshiprewards.com", "pk_live_1", "sk_live_1", "live"),
        ("https://api.starshiprewards.com", "pk_live_1", "sk_test_1", "mix"),
    ],
)
def test_sandbox_and_live_credentials_cannot_cross(
    base: str, key: str, secret: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        check_environment(base, key, secret)


@pytest.mark.parametrize(
    ("base", "key", "secret"),
    [
        ("https://api.starshiprewards.com", "pk_live_1", "sk_live_1"),
        ("https://api-playground.starshiprewards.com", "pk_test_1", "sk_test_1"),
        ("http://localhost:8642", "pk_test_1", "sk_test_1"),
        ("http://[::1]:8642", "pk_test_1", "sk_test_1"),
    ],
)
def test_matching_credentials_pass(base: str, key: str, secret: str) -> None:
    check_environment(base, key, secret)


def test_signed_order_with_retries_is_created_once(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(faults=Faults(error_rate=0.6, seed=2))
    client = client_for(sandbox, max_attempts=12)
    for number in range(5):
        order = client.create_order(
            {"product_id": "amazon-gift-usd", "denomination": "25.00", "quantity": 1},
            idempotency_key=f"po-{number}",
        )
        assert order["status"] == "DELIVERED"
    assert sandbox.stats["orders_created"] == 5
    assert sandbox.stats["idempotent_replay"] > 0  # answers were lost; the key made it safe
    assert client.stats.retries > 0
    with pytest.raises(ValueError, match="Idempotency-Key"):
        client.create_order({"product_id": "amazon-gift-usd"}, idempotency_key="")


def test_logs_never_carry_credentials(
    make_sandbox: MakeSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox = make_sandbox(faults=Faults(error_rate=0.5, seed=4))
    caplog.set_level(logging.DEBUG)
    client = client_for(sandbox)
    for _ in range(6):
        client.get("orders", {"limit": 2})
    assert "retrying" in caplog.text and "X-Trace-ID" in caplog.text
    assert "sk_test_sandbox" not in caplog.text and "pk_test_sandbox" not in caplog.text
    assert "sk_test_sandbox" not in repr(client)


def test_redact_hides_secret_looking_query_values() -> None:
    url = "https://h/api/v1/x?page=2&api_key=abc&token=t&voucher_code=V&limit=5"
    assert redact(url) == (
        "https://h/api/v1/x?page=2&api_key=REDACTED&token=REDACTED&voucher_code=REDACTED&limit=5"
    )

"""The Starship sandbox: a real HTTP server on loopback that behaves like the documented API.

    with Sandbox(options=SandboxOptions(faults=Faults(error_rate=0.2))) as sandbox:
        requests.get(f"{sandbox.base_url}/orders", headers=sandbox.auth_headers())

It serves a generated `Scenario` (the Starship side of a partner's week) under `/api/v1`:
auth on every request, page-number paging, signed and idempotent `POST /orders`, the error
envelope with stable codes, `X-Trace-ID` on every response, a token-bucket rate limit, the
planned `/reconciliation/{date}` behind an option, and the faults of `recon.sandbox.faults`.
"""

from __future__ import annotations

import base64
import bisect
import email.utils
import hashlib
import json
import logging
import math
import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlencode, urlsplit

from recon.money import quantum
from recon.sandbox.faults import Faults, TokenBucket, retry_after_seconds
from recon.sandbox.scenario import (
    PRODUCTS_BY_ID,
    Item,
    Order,
    Product,
    Scenario,
    Transaction,
    generate,
    iso,
    vouchers_allocated,
)
from recon.starship import signing

log = logging.getLogger("recon.sandbox")

API_PREFIX = "/api/v1"
DEFAULT_API_KEY = "pk_test_sandbox"
DEFAULT_API_SECRET = "sk_test_sandbox"  # a sandbox secret, public on purpose
BULK_THRESHOLD = 50  # qty > 50: PENDING with no items (docs/starship-api.md, Fulfilment)
MAX_QUANTITY = 500  # above this: rejected (the bulk cap)
IDEMPOTENCY_TTL = timedelta(hours=24)
INVENTORY_PER_DENOMINATION = 25


@dataclass
class SandboxOptions:
    """How the sandbox behaves; the defaults follow the documented API."""

    api_key: str = DEFAULT_API_KEY
    api_secret: str = DEFAULT_API_SECRET
    default_limit: int = 25
    page_cap: int = 100  # the server caps `limit` to this
    meta_style: Literal["snake", "camel"] = "snake"
    paging: Literal["page", "cursor"] = "page"  # cursor: keyset paging with meta.next_cursor
    next_links: bool = True  # meta.next_page_url
    rate_limit: float = 0.0  # requests a second per key; 0 turns it off
    burst: int = 20
    retry_after_format: Literal["seconds", "http-date"] = "seconds"
    # GET /reconciliation/{date}: off (404, as today), planned (the documented shape), changed (a
    # later shape: an envelope, camelCase, counts as strings, new keys and values), malformed
    # (a cut-off body) or not-implemented (501).
    reconciliation: Literal["off", "planned", "changed", "malformed", "not-implemented"] = "off"
    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        # A live secret typed into a sandbox would sit in its memory and its process list.
        if not self.api_secret.startswith("sk_test_") or not self.api_key.startswith("pk_"):
            raise ValueError("the sandbox takes test credentials only (pk_…, sk_test_…)")
        if self.api_key.startswith("pk_live_"):
            raise ValueError("the sandbox takes test credentials only (pk_test_…)")


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


class ApiProblem(Exception):
    """An error answer: HTTP status plus the documented envelope."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        messages: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.messages, self.headers = messages, headers or {}

    def response(self) -> Response:
        error: dict[str, Any] = {
            "name": _error_name(self.code),
            "code": self.code,
            "message": self.message,
        }
        if self.messages:
            error["messages"] = self.messages
        return Response(self.status, json.dumps({"error": error}).encode(), headers=self.headers)


def _error_name(code: str) -> str:
    words = code.removeprefix("E_").lower().split("_")
    return "".join(word.capitalize() for word in words)


# -- JSON with exact amounts ---------------------------------------------------------------------

_NUMBER_MARK = re.compile(r'"\\u0000num:(-?[0-9.]+)"')


def encode_json(payload: Any, *, numeric_amounts: bool) -> bytes:
    """JSON text; Decimals as strings, or as bare JSON numbers with every digit kept.

    The json module cannot write a Decimal as a number, so numbers go out as marked strings
    and lose their quotes afterwards: the digits never pass through float.
    """

    def default(value: Any) -> str:
        if isinstance(value, Decimal):
            return f"\0num:{value}" if numeric_amounts else str(value)
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")

    text = json.dumps(payload, default=default, separators=(",", ":"))
    return (_NUMBER_MARK.sub(r"\1", text) if numeric_amounts else text).encode()


# -- the state the sandbox serves ------------------------------------------------------------


class SandboxState:
    """Orders, transactions and wallets, shared by the request threads under one lock."""

    def __init__(self, scenario: Scenario) -> None:
        self.lock = threading.RLock()
        self.scenario = scenario
        self.orders: list[Order] = sorted(scenario.orders, key=lambda o: (o.created_at, o.order_id))
        self.orders_by_id = {order.order_id: order for order in self.orders}
        self.transactions: list[Transaction] = list(scenario.transactions)
        self.wallets: dict[str, Decimal] = dict(scenario.wallets)
        self.inventory = {
            (p.product_id, Decimal(d)): 0
            if p.delivery_time == "DELAYED"
            else INVENTORY_PER_DENOMINATION
            for p in scenario.products
            for d in p.denominations
        }
        self.idempotency: dict[str, tuple[datetime, str, Response]] = {}
        self.sequence = 0

    def next_id(self, prefix: str) -> str:
        self.sequence += 1
        return f"{prefix}_sbx{self.sequence:013d}"

    def add_order(self, order: Order) -> None:
        self.orders.append(order)
        self.orders.sort(key=lambda o: (o.created_at, o.order_id))
        self.orders_by_id[order.order_id] = order

    def debit(self, order: Order, at: datetime) -> None:
        balance = self.wallets.get(order.currency, Decimal(0)) - order.total_amount
        self.wallets[order.currency] = balance
        self.transactions.append(
            Transaction(
                self.next_id("txn"),
                "ORDER_DEBIT",
                order.order_id,
                -order.total_amount,
                order.currency,
                at,
                balance_after=balance,
                description=f"Order {order.client_reference}",
            )
        )


# -- the sandbox -----------------------------------------------------------------------------

Handler = Callable[["Request"], Response]


@dataclass
class Request:
    method: str
    path: str  # without the /api/v1 prefix
    raw_path: str  # as sent, for the signature
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    trace_id: str
    path_id: str = ""  # the {id} of routes like /orders/{id}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128  # the default backlog of 5 resets clients that connect at once


class Sandbox:
    """The server; a context manager that starts it on a free loopback port by default."""

    def __init__(
        self,
        scenario: Scenario | None = None,
        options: SandboxOptions | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.scenario = scenario or generate()
        self.options = options or SandboxOptions()
        self.faults = self.options.faults
        self.state = SandboxState(self.scenario)
        self.buckets: dict[tuple[str, str], TokenBucket] = {}  # per key, per endpoint class
        self.stats: dict[str, int] = {}
        self._stats_lock = threading.Lock()
        self._server = _Server((host, port), _handler_class(self))
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def base_url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}{API_PREFIX}"

    def _root_for(self, request: Request) -> str:
        """The API root as the client addressed it (a server bound to 0.0.0.0 has no
        useful address of its own)."""
        host = request.headers.get("host")
        return f"http://{host}{API_PREFIX}" if host else self.base_url

    def auth_headers(self) -> dict[str, str]:
        return {"X-API-Key": self.options.api_key, "X-API-Secret": self.options.api_secret}

    def start(self) -> Sandbox:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # so that stop() returns at once
            name="starship-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        if self._thread:  # shutdown() waits for a serve loop, so only when one runs
            self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def count(self, name: str, by: int = 1) -> None:
        with self._stats_lock:
            self.stats[name] = self.stats.get(name, 0) + by

    # -- one request -------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Response:
        trace_id = f"trc_{uuid.uuid4().hex}"
        self.count("requests")
        try:
            response = self._dispatch(method, target, headers, body, trace_id)
        except ApiProblem as problem:
            response = problem.response()
        except Exception:  # a sandbox bug still answers like the API: envelope and trace id
            log.exception("%s %s failed (X-Trace-ID %s)", method, target.split("?")[0], trace_id)
            response = ApiProblem(500, "E_INTERNAL", "internal error").response()
        response.headers["X-Trace-ID"] = trace_id
        return response

    def _dispatch(
        self, method: str, target: str, headers: dict[str, str], body: bytes, trace_id: str
    ) -> Response:
        split = urlsplit(target)
        if not split.path.startswith(API_PREFIX + "/"):
            raise ApiProblem(
                404, "E_NOT_FOUND", f"no route {split.path}; the API lives under {API_PREFIX}"
            )
        query = {key: values[-1] for key, values in parse_qs(split.query).items()}
        request = Request(
            method,
            split.path.removeprefix(API_PREFIX),
            split.path,
            query,
            {k.lower(): v for k, v in headers.items()},
            body,
            trace_id,
        )
        self._authenticate(request)
        self._throttle(request)
        handler = self._route(request)
        response = handler(request)
        return self._after(response)

    def _authenticate(self, request: Request) -> None:
        key, secret = request.headers.get("x-api-key"), request.headers.get("x-api-secret")
        if key != self.options.api_key or secret != self.options.api_secret:
            self.count("unauthorized")
            raise ApiProblem(401, "E_UNAUTHORIZED", "missing or invalid X-API-Key / X-API-Secret")

    def _throttle(self, request: Request) -> None:
        wait = 0.0
        if self.options.rate_limit > 0:
            kind = "read" if request.method == "GET" else "write"
            with self._stats_lock:
                bucket = self.buckets.setdefault(
                    (request.headers.get("x-api-key", ""), kind),
                    TokenBucket(self.options.rate_limit, self.options.burst),
                )
            wait = bucket.take()
        if wait:
            self.count("rate_limited")
        elif self.faults.strikes(self.faults.throttle_rate):
            self.count("throttle_storm")
            wait = float(self.faults.throttle_retry_after)
        else:
            return
        seconds = retry_after_seconds(wait)
        value = (
            str(seconds)
            if self.options.retry_after_format == "seconds"
            else email.utils.formatdate(time.time() + seconds, usegmt=True)
        )
        raise ApiProblem(
            429,
            "E_REQUEST_THROTTLED",
            "too many requests; retry later",
            headers={"Retry-After": value},
        )

    def _after(self, response: Response) -> Response:
        """Faults that strike once the work is done, as a lost or late answer would."""
        if self.faults.latency_ms:
            time.sleep(self.faults.latency_ms / 1000)
        if self.faults.strikes(self.faults.slow_rate):
            self.count("slow")
            time.sleep(self.faults.slow_seconds)
        if self.faults.strikes(self.faults.error_rate):
            self.count("server_error")
            status = self.faults.pick((500, 502, 503, 504))
            if status in (502, 504):  # a gateway in front of the API answers in HTML
                page = (
                    f"<html><head><title>{status} {HTTPStatus(status).phrase}</title>"
                    f"</head><body><h1>{HTTPStatus(status).phrase}</h1></body></html>"
                )
                return Response(status, page.encode(), "text/html; charset=utf-8")
            return ApiProblem(
                status,
                "E_INTERNAL" if status == 500 else "E_UNAVAILABLE",
                "temporary failure; retry",
            ).response()
        return response

    def _route(self, request: Request) -> Handler:
        routes: list[tuple[str, str, Handler]] = [
            ("GET", r"/orders", self.list_orders),
            ("POST", r"/orders", self.create_order),
            ("GET", r"/orders/(?P<id>[^/]+)", self.get_order),
            ("GET", r"/transactions", self.list_transactions),
            ("GET", r"/wallets", self.list_wallets),
            ("GET", r"/products", self.list_products),
            ("GET", r"/products/(?P<id>[^/]+)", self.get_product),
            ("GET", r"/categories", self.list_categories),
            ("GET", r"/reconciliation/(?P<id>[^/]+)", self.get_reconciliation),
        ]
        allowed = []
        for method, pattern, handler in routes:
            match = re.fullmatch(pattern, request.path)
            if match:
                if method == request.method:
                    request.path_id = match.groupdict().get("id") or ""
                    return handler
                allowed.append(method)
        if allowed:
            raise ApiProblem(
                405,
                "E_METHOD_NOT_ALLOWED",
                f"{request.method} is not allowed on {request.path}",
                headers={"Allow": ", ".join(allowed)},
            )
        raise ApiProblem(404, "E_NOT_FOUND", f"no route {request.raw_path}")

    # -- rendering ---------------------------------------------------------------------------

    def _json(self, payload: Any, status: int = 200) -> Response:
        return Response(status, encode_json(payload, numeric_amounts=self.faults.numeric_amounts))

    def order_json(self, order: Order) -> dict[str, Any]:
        f = self.faults
        sub_status = order.sub_status
        if f.new_enum_values and sub_status == "COMPLETED":
            sub_status = "COMPLETED_WITH_NOTES"
        body: dict[str, Any] = {
            "id" if f.field_aliases else "order_id": order.order_id,
            "status": order.status,
            "subStatus" if f.field_aliases else "sub_status": sub_status,
            "product_id": order.product_id,
            "denomination": order.denomination,
            "quantity": order.quantity,
            "amount" if f.field_aliases else "total_amount": order.total_amount,
            "currency": order.currency,
            "fulfilled_from": order.fulfilled_from,
            "client_reference": order.client_reference,
            "created_at": iso(order.created_at),
            "updated_at": iso(order.updated_at),
            "items": [self.item_json(item) for item in order.items],
        }
        if f.extra_fields:
            body["risk_level"] = "LOW"
            body["metadata"] = {"channel": "api", "campaign": None, "tags": ["x-new"]}
        return body

    def item_json(self, item: Item) -> dict[str, Any]:
        body: dict[str, Any] = {"item_id": item.item_id, "status": item.status}
        if item.voucher_code:  # secrets: recon must drop them at parse time
            body.update(
                voucher_code=item.voucher_code,
                pin=item.pin,
                expiry=item.expiry,
                claim_url=f"https://claim.sandbox.invalid/{item.voucher_code}",
            )
        if self.faults.extra_fields:
            body["barcode_format"] = "QR"
        return body

    def transaction_json(self, txn: Transaction) -> dict[str, Any]:
        f = self.faults
        kind = txn.type
        if f.new_enum_values and kind == "TOPUP":
            kind = "TOPUP_BANK_TRANSFER"
        body: dict[str, Any] = {
            "id" if f.field_aliases else "transaction_id": txn.transaction_id,
            "type": kind,
            "order_id": txn.order_id,
            "amount": txn.amount,
            "currency": txn.currency,
            "balance_after": txn.balance_after,
            "description": txn.description,
            "created_at": iso(txn.created_at),
        }
        if f.extra_fields:
            body["fx_rate"] = Decimal("1.000000")
        return body

    def _paging(self, request: Request) -> tuple[int, int]:
        """(page, limit) asked for; the server caps `limit` at `page_cap`."""
        limit = _positive_int(request.query, "limit", self.options.default_limit)
        return _positive_int(request.query, "page", 1), min(limit, self.options.page_cap)

    def _page(
        self,
        request: Request,
        rows: Sequence[Any],
        render: Callable[[Any], dict[str, Any]],
        key: Callable[[Any], list[str]],
    ) -> Response:
        """One page of `rows` with its `meta`; `key` is the rows' sort order (for cursors)."""
        if self.options.paging == "cursor":
            return self._cursor_page(request, rows, render, key)
        page, limit = self._paging(request)
        total = len(rows)
        last_page = max(1, math.ceil(total / limit))
        start = (page - 1) * limit
        data = [render(row) for row in rows[start : start + limit]]
        next_url = None
        if self.options.next_links and page < last_page:
            params = {k: v for k, v in request.query.items() if not k.startswith("_")}
            params.update(page=str(page + 1), limit=str(limit))
            next_url = f"{self._root_for(request)}{request.path}?{urlencode(params)}"
        meta: dict[str, Any] = {
            "total": total,
            "per_page": limit,
            "current_page": page,
            "last_page": last_page,
        }
        if self.options.next_links:
            meta["next_page_url"] = next_url
        if self.options.meta_style == "camel":
            meta = {_camel(key): value for key, value in meta.items()}
        body: dict[str, Any] = {"data": data, "meta": meta}
        if self.faults.extra_fields:
            body["links"] = {"self": f"{self.base_url}{request.path}"}
            meta["served_by"] = "sandbox-1"
        return self._json(body)

    def _cursor_page(
        self,
        request: Request,
        rows: Sequence[Any],
        render: Callable[[Any], dict[str, Any]],
        key: Callable[[Any], list[str]],
    ) -> Response:
        """Keyset paging: the cursor is the sort key of the last row served."""
        _, limit = self._paging(request)
        start = 0
        if request.query.get("cursor"):
            try:
                after = json.loads(base64.urlsafe_b64decode(request.query["cursor"]))
            except ValueError:
                after = None
            if not (isinstance(after, list) and all(isinstance(part, str) for part in after)):
                raise ApiProblem(400, "E_VALIDATION_FAILURE", "cursor is not valid")
            start = bisect.bisect_right(rows, after, key=key)  # rows are sorted by key
        chunk = rows[start : start + limit]
        more = start + limit < len(rows)
        cursor = (
            base64.urlsafe_b64encode(json.dumps(key(chunk[-1])).encode()).decode()
            if chunk and more
            else None
        )
        meta = {"per_page": limit, "next_cursor": cursor}
        if self.options.meta_style == "camel":
            meta = {_camel(name): value for name, value in meta.items()}
        return self._json({"data": [render(row) for row in chunk], "meta": meta})

    # -- endpoints ---------------------------------------------------------------------------

    def list_orders(self, request: Request) -> Response:
        start, end = _window(request.query)
        status = request.query.get("status")

        def selected() -> Sequence[Order]:
            window = _created_between(self.state.orders, start, end)
            return window if status is None else [o for o in window if o.status == status]

        page, _ = self._paging(request)
        with self.state.lock:
            rows = selected()
            # Rows arrive while a client pages: between two pages, an order lands at the front
            # of the window and shifts every later page by one (a row seen twice, one missed).
            if page > 1 and rows and self.stats.get("drift_inserted", 0) < self.faults.page_drift:
                self._insert_drift_order(
                    max(rows[0].created_at - timedelta(seconds=1), start or rows[0].created_at)
                )
                rows = selected()
        return self._page(request, rows, self.order_json, _order_key)

    def _insert_drift_order(self, at: datetime) -> None:
        state = self.state
        template = next(o for o in state.orders if o.status == "DELIVERED")
        order = Order(
            state.next_id("ord"),
            template.product_id,
            template.denomination,
            1,
            template.currency,
            "DELIVERED",
            "COMPLETED",
            "cache",
            f"drift-{state.sequence}",
            f"idem-drift-{state.sequence}",
            at,
            at,
            path="drift",
            discount=template.discount,
        )
        # No wallet movement: a debit dated inside the window would break the balance chain
        # the scenario's answer key relies on. Drift orders exist to test paging.
        state.add_order(order)
        self.count("drift_inserted")

    def get_order(self, request: Request) -> Response:
        with self.state.lock:
            order = self.state.orders_by_id.get(request.path_id)
            if order is None:
                raise ApiProblem(404, "E_ORDER_NOT_FOUND", f"no order {request.path_id}")
            return self._json({"data": self.order_json(order)})

    def list_transactions(self, request: Request) -> Response:
        start, end = _window(request.query)
        kind, order_id = request.query.get("type"), request.query.get("order_id")
        with self.state.lock:
            rows = sorted(
                (
                    t
                    for t in self.state.transactions
                    if (start is None or t.created_at >= start)
                    and (end is None or t.created_at < end)
                    and (kind is None or t.type == kind)
                    and (order_id is None or t.order_id == order_id)
                ),
                key=lambda t: (t.created_at, t.transaction_id),
            )
        return self._page(request, rows, self.transaction_json, _transaction_key)

    def list_wallets(self, request: Request) -> Response:
        with self.state.lock:
            wallets = [
                {
                    "wallet_id": f"wal_{currency.lower()}",
                    "currency": currency,
                    "balance": balance.quantize(quantum(currency)),
                    "updated_at": iso(self.scenario.snapshot_at),
                }
                for currency, balance in sorted(self.state.wallets.items())
            ]
        return self._json({"data": wallets})

    def list_products(self, request: Request) -> Response:
        currency, country = request.query.get("currency"), request.query.get("country")
        rows = [
            p
            for p in self.scenario.products
            if (currency is None or p.currency == currency)
            and (country is None or p.country == country)
        ]
        return self._page(request, rows, _product_json, lambda p: [p.product_id])

    def get_product(self, request: Request) -> Response:
        product = PRODUCTS_BY_ID.get(request.path_id)
        if product is None:
            raise ApiProblem(404, "E_PRODUCT_NOT_FOUND", f"no product {request.path_id}")
        return self._json({"data": _product_json(product)})

    def list_categories(self, request: Request) -> Response:
        names = sorted({p.category for p in self.scenario.products})
        return self._json(
            {
                "data": [
                    {"category_id": name, "name": name.replace("-", " ").title()} for name in names
                ]
            }
        )

    def get_reconciliation(self, request: Request) -> Response:
        mode = self.options.reconciliation
        if mode == "off":  # planned, not built: the route does not exist
            raise ApiProblem(404, "E_NOT_FOUND", f"no route {request.raw_path}")
        if mode == "not-implemented":
            raise ApiProblem(501, "E_NOT_IMPLEMENTED", "reconciliation is not available yet")
        try:
            day = date.fromisoformat(request.path_id)
        except ValueError:
            raise ApiProblem(400, "E_VALIDATION_FAILURE", "date must be YYYY-MM-DD") from None
        if mode == "malformed":
            return Response(200, b'{"date": "' + day.isoformat().encode() + b'", "summary": {')
        body = self.reconciliation_json(day)
        return self._json(changed_shape(body) if mode == "changed" else body)

    def reconciliation_json(self, day: date) -> dict[str, Any]:
        """The documented shape: the scenario's planted answer for its date, else counted live."""
        if day == self.scenario.date:
            return self.scenario.reconciliation
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        with self.state.lock:
            orders = [
                o for o in self.state.orders if start <= o.created_at < start + timedelta(days=1)
            ]
        vouchers = vouchers_allocated(orders)
        return {
            "date": day.isoformat(),
            "summary": {
                "orders_total": len(orders),
                "vouchers_allocated": vouchers,
                "matched": vouchers,
                "drifted": 0,
                "unmatched": 0,
            },
            "drifts": [],
            "generated_at": iso(start + timedelta(days=1, minutes=30)),
        }

    def create_order(self, request: Request) -> Response:
        reason = signing.verify(
            self.options.api_secret,
            timestamp_header=request.headers.get("x-timestamp"),
            signature_header=request.headers.get("x-signature"),
            method=request.method,
            path=request.raw_path,
            body=request.body,
            now=int(time.time()),
        )
        if reason:
            self.count("signature_rejected")
            raise ApiProblem(401, "E_SIGNATURE_INVALID", reason)
        key = request.headers.get("idempotency-key", "").strip()
        if not key:
            raise ApiProblem(
                400,
                "E_VALIDATION_FAILURE",
                "Idempotency-Key header is required",
                ["Idempotency-Key: required"],
            )
        fingerprint = hashlib.sha256(request.body).hexdigest()
        with self.state.lock:
            # read the clock under the lock: a request that waited for it must not debit the
            # wallet with an instant earlier than the debit before it, or the balance chain
            # sorted by time would break
            now = datetime.now(UTC)
            self.state.idempotency = {  # keys are kept 24 hours
                k: v for k, v in self.state.idempotency.items() if now - v[0] < IDEMPOTENCY_TTL
            }
            cached = self.state.idempotency.get(key)
            if cached and now - cached[0] < IDEMPOTENCY_TTL:
                if cached[1] != fingerprint:
                    raise ApiProblem(
                        422,
                        "E_IDEMPOTENCY_KEY_REUSED",
                        "this Idempotency-Key was used with a different body",
                    )
                self.count("idempotent_replay")
                replay = cached[2]
                return Response(
                    replay.status,
                    replay.body,
                    replay.content_type,
                    {**replay.headers, "Idempotent-Replayed": "true"},
                )
            try:
                response = self._place_order(_order_request(request.body), key, now)
            except ApiProblem as refusal:  # a refusal is the original answer too: replayed as is
                response = refusal.response()
            self.state.idempotency[key] = (now, fingerprint, response)
            return response

    def _place_order(self, wanted: dict[str, Any], key: str, now: datetime) -> Response:
        state = self.state
        product: Product = wanted["product"]
        order = Order(
            state.next_id("ord"),
            product.product_id,
            wanted["denomination"],
            wanted["quantity"],
            product.currency,
            "DELIVERED",
            "COMPLETED",
            "cache",
            wanted["client_reference"] or key,
            key,
            now,
            now,
            path="api",
            discount=product.discount,
        )
        if state.wallets.get(order.currency, Decimal(0)) < order.total_amount:
            raise ApiProblem(
                402,
                "PAYMENT_REQUIRED",
                f"wallet {order.currency} cannot cover {order.total_amount}",
            )
        stock_key = (product.product_id, order.denomination)
        if order.quantity > BULK_THRESHOLD:
            order.status, order.sub_status, order.fulfilled_from = "PENDING", "INITIAL", None
        elif state.inventory.get(stock_key, 0) >= order.quantity:
            state.inventory[stock_key] -= order.quantity
            expiry = (now + timedelta(days=365)).date().isoformat()
            order.items = [
                Item(
                    state.next_id("itm"),
                    "DELIVERED",
                    f"SBX-{uuid.uuid4().hex[:12].upper()}",
                    f"{uuid.uuid4().int % 10_000:04d}",
                    expiry,
                )
                for _ in range(order.quantity)
            ]
        else:  # cache miss: parked, no vendor call (Fulfilment)
            order.status, order.sub_status, order.fulfilled_from = (
                "PENDING",
                "VENDOR_ORDER_PENDING",
                None,
            )
            order.items = [Item(state.next_id("itm"), "PENDING") for _ in range(order.quantity)]
        state.add_order(order)
        state.debit(order, now)
        self.count("orders_created")
        return self._json({"data": self.order_json(order)})


# -- helpers ---------------------------------------------------------------------------------


class _View(Sequence[Order]):
    """rows[lo:hi] without copying: a page of a million-order window costs a page."""

    def __init__(self, rows: list[Order], lo: int, hi: int) -> None:
        self.rows, self.lo, self.hi = rows, lo, hi

    def __len__(self) -> int:
        return self.hi - self.lo

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            start, stop, _ = index.indices(len(self))
            return self.rows[self.lo + start : self.lo + stop]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        return self.rows[self.lo + index % len(self)]


def _created_between(
    orders: list[Order], start: datetime | None, end: datetime | None
) -> Sequence[Order]:
    """The orders created in [start, end) of a list sorted by created_at, found by bisection."""
    lo = 0 if start is None else bisect.bisect_left(orders, start, key=_created_at)
    hi = len(orders) if end is None else bisect.bisect_left(orders, end, key=_created_at)
    return _View(orders, lo, max(lo, hi))


def _created_at(order: Order) -> datetime:
    return order.created_at


def _order_key(order: Order) -> list[str]:
    return [iso(order.created_at), order.order_id]


def _transaction_key(txn: Transaction) -> list[str]:
    return [iso(txn.created_at), txn.transaction_id]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _positive_int(query: dict[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ApiProblem(
            400,
            "E_VALIDATION_FAILURE",
            f"{name} must be a positive integer",
            [f"{name}: {raw!r} is not a positive integer"],
        )
    return value


def _timestamp(query: dict[str, str], name: str) -> datetime | None:
    raw = query.get(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ApiProblem(
            400,
            "E_VALIDATION_FAILURE",
            f"{name} must be ISO 8601",
            [f"{name}: {raw!r} is not an ISO 8601 timestamp"],
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _window(query: dict[str, str]) -> tuple[datetime | None, datetime | None]:
    """The half-open [from, to) on created_at."""
    return _timestamp(query, "from"), _timestamp(query, "to")


def _product_json(product: Product) -> dict[str, Any]:
    return {
        "product_id": product.product_id,
        "name": product.name,
        "category": product.category,
        "vendor": product.vendor,
        "currency": product.currency,
        "country": product.country,
        "denominations": list(product.denominations),
        "delivery_time": product.delivery_time,
        "expiry_policy": "12 months from issue",
    }


def _order_request(body: bytes) -> dict[str, Any]:
    """Validate a POST /orders body; every problem is named in `messages`."""
    try:
        payload = json.loads(body or b"null", parse_float=Decimal)
    except ValueError:
        raise ApiProblem(400, "E_VALIDATION_FAILURE", "body is not JSON") from None
    if not isinstance(payload, dict):
        raise ApiProblem(400, "E_VALIDATION_FAILURE", "body must be a JSON object")
    problems: list[str] = []
    product = PRODUCTS_BY_ID.get(str(payload.get("product_id")))
    if product is None:
        problems.append(f"product_id: unknown product {payload.get('product_id')!r}")
    quantity = payload.get("quantity", 1)
    if (
        not isinstance(quantity, int)
        or isinstance(quantity, bool)
        or not (1 <= quantity <= MAX_QUANTITY)
    ):
        problems.append(f"quantity: must be an integer from 1 to {MAX_QUANTITY}")
    denomination: Decimal | None = None
    try:
        raw = payload.get("denomination")
        denomination = Decimal(str(raw)) if isinstance(raw, (str, int, Decimal)) else None
    except InvalidOperation:
        denomination = None
    if denomination is not None and not denomination.is_finite():
        denomination = None
    if product and (
        denomination is None or denomination not in {Decimal(d) for d in product.denominations}
    ):
        problems.append(f"denomination: one of {', '.join(product.denominations)}")
    currency = payload.get("currency")
    if product and currency is not None and currency != product.currency:
        problems.append(f"currency: {product.product_id} settles in {product.currency}")
    reference = payload.get("client_reference")
    if reference is not None and not isinstance(reference, str):
        problems.append("client_reference: must be a string")
    if problems or product is None or denomination is None:
        raise ApiProblem(422, "E_VALIDATION_FAILURE", "the order is not valid", problems)
    return {
        "product": product,
        "denomination": denomination.quantize(quantum(product.currency)),
        "quantity": quantity,
        "client_reference": reference,
    }


def _handler_class(sandbox: Sandbox) -> type[BaseHTTPRequestHandler]:
    class StarshipHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms stalls
        server_version = "StarshipSandbox/1"

        def _serve(self) -> None:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                self.send_error(400, "Content-Length is not a number")
                return
            body = self.rfile.read(length) if length > 0 else b""
            response = sandbox.handle(self.command, self.path, dict(self.headers.items()), body)
            self._write(response)

        def _write(self, response: Response) -> None:
            try:
                self.send_response(response.status)
                self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(response.body)))
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(response.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout, on purpose); nothing to answer

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _serve

        def send_error(
            self, code: int, message: str | None = None, explain: str | None = None
        ) -> None:
            """What the standard library refuses itself (a malformed request line, HEAD) is
            answered like the API too: the envelope and a trace id."""
            status = HTTPStatus(code)
            problem = ApiProblem(
                code,
                "E_BAD_REQUEST" if code < 500 else "E_NOT_IMPLEMENTED",
                message or status.phrase,
            ).response()
            problem.headers["X-Trace-ID"] = f"trc_{uuid.uuid4().hex}"
            self.close_connection = True
            if self.request_version == "HTTP/0.9":  # an unparsable line: answer in HTTP/1.1
                self.request_version = "HTTP/1.1"
            if self.command == "HEAD":
                problem.body = b""
            self._write(problem)

        def log_message(self, format: str, *args: Any) -> None:
            # The request line and status only: never headers, which carry the credentials.
            log.info("%s %s", self.address_string(), format % args)

    return StarshipHandler


def changed_shape(body: dict[str, Any]) -> dict[str, Any]:
    """The reconciliation answer as a later release might send it: wrapped in `data`, in
    camelCase, counts as strings, `unmatched` gone, new keys, a new `resolution` value."""
    summary = body["summary"]
    return {
        "data": {
            "date": body["date"],
            "summary": {
                "ordersTotal": str(summary["orders_total"]),
                "vouchersAllocated": str(summary["vouchers_allocated"]),
                "matched": summary["matched"],
                "drifted": summary["drifted"],
                "byVendor": {"voucherkart": summary["drifted"]},
            },
            "drifts": [
                {
                    "orderId": d["order_id"],
                    "vendor": d["vendor"],
                    "productId": d["product_id"],
                    "ourAllocation": d["our_allocation"],
                    "vendorRecord": d["vendor_record"],
                    "detectedAt": d["detected_at"],
                    "resolution": "escalated_to_vendor",
                    "severity": "high",
                }
                for d in body["drifts"]
            ],
            "generatedAt": body.get("generated_at"),
        },
        "meta": {"api_version": "1.1"},
    }

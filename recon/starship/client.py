"""A Starship API client: one place owns the base URL, `/api/v1`, auth and signing.

The extract issue grows this into the resilient client (retries, backoff, `Retry-After`,
typed errors, key/host guards); today it carries what the demo and the sandbox tests need.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import requests

from recon.errors import ApiError
from recon.starship import signing

API_PREFIX = "/api/v1"
DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds


def api_root(base_url: str) -> str:
    """`base_url` with exactly one `/api/v1` at its end: every URL is built from this."""
    root = base_url.rstrip("/")
    return root if root.endswith(API_PREFIX) else root + API_PREFIX


def decode(body: bytes | str) -> Any:
    """JSON with every number that has a fraction parsed as an exact Decimal, never a float."""
    return json.loads(body, parse_float=Decimal)


class StarshipClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        api_secret: str,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
    ) -> None:
        self.root = api_root(base_url)
        self._api_key = api_key
        self._api_secret = api_secret
        self.timeout = timeout
        self.session = session or requests.Session()

    def __repr__(self) -> str:  # never the credentials
        return f"StarshipClient({self.root!r})"

    def url(self, path: str) -> str:
        return f"{self.root}/{path.lstrip('/')}"

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> Any:
        url = self.url(path)
        all_headers = {
            "X-API-Key": self._api_key,
            "X-API-Secret": self._api_secret,
            "Accept": "application/json",
            **(headers or {}),
        }
        # No redirects: requests would carry our custom auth headers to whatever host answers.
        response = self.session.request(
            method,
            url,
            params=params,
            data=body or None,
            headers=all_headers,
            timeout=self.timeout,
            allow_redirects=False,
        )
        trace_id = response.headers.get("X-Trace-ID")
        where = f"{method} {urlsplit(url).path}"
        if response.status_code >= 300:
            code, message = None, response.reason
            try:
                error = decode(response.content)["error"]
                code, message = error.get("code"), error.get("message", message)
            except (ValueError, KeyError, TypeError):
                pass  # a proxy's HTML page: the status line says enough
            raise ApiError(
                f"HTTP {response.status_code} {code or ''} {message}".replace("  ", " "),
                status=response.status_code,
                code=code,
                trace_id=trace_id,
                request=where,
            )
        try:
            return decode(response.content)
        except ValueError:
            raise ApiError(
                "the answer is not JSON",
                status=response.status_code,
                trace_id=trace_id,
                request=where,
            ) from None

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._send("GET", path, params=params)

    def pages(
        self, path: str, params: dict[str, Any] | None = None, *, limit: int = 100
    ) -> Iterator[list[dict[str, Any]]]:
        """Each page's `data`, following page numbers until an empty or the last page."""
        page = 1
        while True:
            payload = self.get(path, {**(params or {}), "page": page, "limit": limit})
            rows = payload.get("data") or []
            if not rows:
                return
            yield rows
            meta = payload.get("meta") or {}
            current = meta.get("current_page", meta.get("currentPage", page))
            last = meta.get("last_page", meta.get("lastPage"))
            if last is not None and current >= last:
                return
            page = current + 1

    def create_order(self, order: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """POST /orders, signed as seed 001 says; the key makes a retry safe."""
        body = json.dumps(order, separators=(",", ":")).encode()
        headers = signing.signed_headers(
            self._api_secret, int(time.time()), "POST", urlsplit(self.url("orders")).path, body
        )
        headers.update({"Idempotency-Key": idempotency_key, "Content-Type": "application/json"})
        payload = self._send("POST", "orders", body=body, headers=headers)
        return payload.get("data", payload)

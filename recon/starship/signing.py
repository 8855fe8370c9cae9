"""Starship's request signing, shared by the client (signs) and the sandbox (verifies); what
the docs say of it is in docs/starship-api.md, Requests.

    msg = timestamp + METHOD + path + body          (all text, concatenated)
    X-Timestamp: <unix seconds>
    X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(api_secret, msg)>

`path` is the request path as sent, including the `/api/v1` prefix, without the query string.
"""

from __future__ import annotations

import hashlib
import hmac
import re

MAX_SKEW_SECONDS = 300  # "must be within 5 min of server time"


def signature(secret: str, timestamp: int, method: str, path: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of the canonical string."""
    message = str(timestamp).encode() + method.upper().encode() + path.encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str, timestamp: int, method: str, path: str, body: bytes
) -> dict[str, str]:
    """The two headers a write request carries besides the API key and secret."""
    digest = signature(secret, timestamp, method, path, body)
    return {"X-Timestamp": str(timestamp), "X-Signature": f"t={timestamp},v1={digest}"}


def parse_signature_header(value: str) -> tuple[int, str]:
    """Split `t=<ts>,v1=<hex>`; ValueError if it has another shape."""
    parts = dict(part.split("=", 1) for part in value.split(",") if "=" in part)
    if "t" not in parts or "v1" not in parts:
        raise ValueError("X-Signature must be t=<unix seconds>,v1=<hex>")
    return int(parts["t"]), parts["v1"]


def verify(
    secret: str,
    *,
    timestamp_header: str | None,
    signature_header: str | None,
    method: str,
    path: str,
    body: bytes,
    now: int,
) -> str | None:
    """None when the request is correctly signed and fresh, else the reason it is not."""
    if not timestamp_header or not signature_header:
        return "X-Timestamp and X-Signature are required on write requests"
    try:
        timestamp = int(timestamp_header)
        signed_timestamp, digest = parse_signature_header(signature_header)
    except ValueError as exc:
        return f"malformed signature headers: {exc}"
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        return "malformed signature headers: v1 must be 64 lowercase hex digits"
    if signed_timestamp != timestamp:
        return "X-Timestamp does not match the t= of X-Signature"
    if abs(now - timestamp) > MAX_SKEW_SECONDS:
        return f"timestamp is more than {MAX_SKEW_SECONDS} s from server time"
    expected = signature(secret, timestamp, method, path, body)
    if not hmac.compare_digest(expected, digest):
        return "signature does not match the request"
    return None

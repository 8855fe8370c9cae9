"""Starship's request signature (docs/starship-api.md, Requests), checked against HMACs computed
here with hashlib, not recon's code."""

import hashlib
import hmac

from recon.starship import signing

SECRET = "sk_test_abc123"
BODY = b'{"product_id":"amazon-gift-usd","denomination":"25.00","quantity":1}'


def independent(ts: int, method: str, path: str, body: bytes) -> str:
    message = f"{ts}{method}{path}".encode() + body
    return hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()


def test_signature_matches_an_independent_hmac() -> None:
    ts = 1744646400
    expected = independent(ts, "POST", "/api/v1/orders", BODY)
    assert signing.signature(SECRET, ts, "POST", "/api/v1/orders", BODY) == expected
    assert signing.signed_headers(SECRET, ts, "post", "/api/v1/orders", BODY) == {
        "X-Timestamp": "1744646400",
        "X-Signature": f"t=1744646400,v1={expected}",
    }


def test_known_vector() -> None:
    # Fixed once from hmac.new(b"sk_test_abc123", b"1744646400POST/api/v1/orders{}", sha256).
    assert signing.signature(SECRET, 1744646400, "POST", "/api/v1/orders", b"{}") == (
        "f848c161735c489a36f26e8d5c7c543c1d1917636fdf96ab547343531d390e66"
    )


def verify(**overrides: object) -> str | None:
    ts = 1744646400
    args: dict = {
        "timestamp_header": str(ts),
        "signature_header": f"t={ts},v1={independent(ts, 'POST', '/api/v1/orders', BODY)}",
        "method": "POST",
        "path": "/api/v1/orders",
        "body": BODY,
        "now": ts + 10,
    }
    args.update(overrides)
    return signing.verify(SECRET, **args)


def test_verify_accepts_a_fresh_correct_signature() -> None:
    assert verify() is None


def test_verify_rejects_tampering_staleness_and_malformed_headers() -> None:
    assert "does not match" in verify(body=BODY.replace(b"25.00", b"2500"))
    assert "does not match" in verify(path="/api/v1/orderz")
    assert "300 s" in verify(now=1744646400 + 301)
    assert "300 s" in verify(now=1744646400 - 301)
    assert verify(now=1744646400 - 299) is None
    assert "required" in verify(signature_header=None)
    assert "malformed" in verify(signature_header="sha256=abc")
    assert "t=" in verify(timestamp_header="1744646401")

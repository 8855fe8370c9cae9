"""The Starship API client: one place owns the base URL, `/api/v1`, auth, signing and retries.

Every request carries the key and secret, a (connect, read) timeout, and no redirects. A 429,
a 5xx, a refused or reset connection and a timeout are retried with exponential backoff and
full jitter, honouring `Retry-After` (delay-seconds or an HTTP-date) and capped by a budget of
attempts and waiting time, after which the run fails loudly, naming the endpoint and the last
`X-Trace-ID`. Other errors become typed exceptions at once. Logs carry the method, the URL
with its query redacted of anything secret-looking, the status and the trace id, never a
header.
"""

from __future__ import annotations

import email.utils
import functools
import hmac
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
import urllib3

from recon.errors import ApiError, ConfigError
from recon.hosts import is_loopback
from recon.starship import signing
from recon.starship.errors import ServerError, ThrottledError, UnreachableError, error_class

log = logging.getLogger("recon.starship")

API_PREFIX = "/api/v1"
SANDBOX_HOSTS = ("api-playground.starshiprewards.com",)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 30.0
_SECRET_WORDS = ("key", "secret", "token", "signature", "password", "code", "pin")

Headers = dict[str, str] | Callable[[], dict[str, str]] | None


def api_root(base_url: str) -> str:
    """`base_url` with exactly one `/api/v1` at its end: every URL is built from this."""
    root = base_url.rstrip("/")
    return root if root.endswith(API_PREFIX) else root + API_PREFIX


def decode(body: bytes | str) -> Any:
    """JSON with every number that has a fraction parsed as an exact Decimal, never a float."""
    return json.loads(body, parse_float=Decimal)


def redact(url: str) -> str:
    """The URL for a log line: query values whose names look secret are replaced."""
    parts = urlsplit(url)
    query = [
        (k, "REDACTED" if any(w in k.lower() for w in _SECRET_WORDS) else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


def is_sandbox_host(host: str) -> bool:
    """Starship's playground, or a local sandbox on loopback."""
    return host in SANDBOX_HOSTS or is_loopback(host)


def check_environment(base_url: str, api_key: str, api_secret: str) -> None:
    """Refuse sandbox credentials against production and live ones against the sandbox.

    Sandbox traffic must not hit production through an env-var typo (docs/starship-api.md,
    Integration journey).
    """
    host = urlsplit(api_root(base_url)).hostname or ""
    sandbox = is_sandbox_host(host)
    test = api_secret.startswith("sk_test_") or api_key.startswith("pk_test_")
    live = api_secret.startswith("sk_live_") or api_key.startswith("pk_live_")
    if test and live:
        raise ConfigError("the API key and secret mix sandbox (test) and live credentials")
    if test and not sandbox:
        raise ConfigError(
            f"sandbox credentials (sk_test_/pk_test_) against {host}, which is "
            "not a sandbox host: check the environment variables and base_url"
        )
    if live and sandbox:
        raise ConfigError(
            f"live credentials (sk_live_/pk_live_) against the sandbox host "
            f"{host}: check the environment variables and base_url"
        )


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (RFC 9110: delay-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.now(UTC).timestamp() if now is None else now
    return max(0.0, when.timestamp() - current)


@dataclass
class Answer:
    """A successful answer: its body and the trace id to quote about it.

    The body is decoded on first use: a list page may be read straight into Arrow instead.
    """

    content: bytes
    trace_id: str | None
    status: int
    url: str

    @functools.cached_property
    def payload(self) -> Any:
        try:
            return decode(self.content)
        except (ValueError, RecursionError) as error:  # RecursionError: thousands of brackets
            raise ServerError(
                "the answer is JSON nested too deeply to be an answer of the API"
                if isinstance(error, RecursionError)
                else "the answer is not JSON",
                status=self.status,
                trace_id=self.trace_id,
                request=f"GET {redact(self.url)}",
            ) from None


@dataclass
class ClientStats:
    requests: int = 0
    retries: int = 0
    waited_seconds: float = 0.0
    last_trace_id: str | None = None
    by_status: dict[int, int] = field(default_factory=dict)


class StarshipClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        api_secret: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        answer_timeout: float = 120.0,
        max_attempts: int = 8,
        retry_budget_seconds: float = 300.0,
        requests_per_second: float = 0.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: random.Random | None = None,
    ) -> None:
        check_environment(base_url, api_key, api_secret)
        self.root = api_root(base_url)
        self._api_key = api_key
        self._api_secret = api_secret
        self.timeout = (connect_timeout, read_timeout)
        self.answer_timeout = answer_timeout
        self.max_attempts = max_attempts
        self.retry_budget_seconds = retry_budget_seconds
        self.min_interval = 1.0 / requests_per_second if requests_per_second > 0 else 0.0
        self.session = session or requests.Session()
        self.stats = ClientStats()
        self._sleep = sleep
        self._jitter = jitter or random.Random()
        self._last_sent = 0.0

    @classmethod
    def from_config(
        cls, config: Any, environ: dict[str, str] | None = None, **overrides: Any
    ) -> StarshipClient:
        """A client for `config` (a `recon.config.Config`), credentials from the environment."""
        key, secret = config.starship_credentials(environ)
        s = config.starship
        settings = {
            "connect_timeout": s.connect_timeout_seconds,
            "read_timeout": s.read_timeout_seconds,
            "answer_timeout": s.answer_timeout_seconds,
            "max_attempts": s.max_attempts,
            "retry_budget_seconds": s.retry_budget_seconds,
            "requests_per_second": s.requests_per_second,
        }
        return cls(s.base_url, key, secret, **{**settings, **overrides})

    def __repr__(self) -> str:  # never the credentials
        return f"StarshipClient({self.root!r})"

    def url(self, path: str) -> str:
        return f"{self.root}/{path.lstrip('/')}"

    def fingerprint(self, value: str) -> str:
        """A keyed hash of a secret value (a voucher code Starship quotes back): the same
        value gives the same fingerprint every night, and without the API secret nobody can
        test guesses against it. The key is derived from the secret and never stored."""
        key = hmac.new(self._api_secret.encode(), b"recon fingerprint v1", "sha256").digest()
        return hmac.new(key, value.encode(), "sha256").hexdigest()[:24]

    def owns(self, url: str) -> bool:
        """Whether `url` (a next_page_url, say) points at this API: credentials go nowhere else."""
        mine, theirs = urlsplit(self.root), urlsplit(url)
        return (mine.scheme, mine.netloc) == (theirs.scheme, theirs.netloc) and (
            theirs.path.startswith(mine.path + "/")
        )

    # -- requests ----------------------------------------------------------------------------

    def get(self, path_or_url: str, params: dict[str, Any] | None = None) -> Answer:
        return self.request("GET", path_or_url, params=params)

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: dict[str, Any] | None = None,
        body: bytes = b"",
        headers: Headers = None,
        retry: bool = True,
    ) -> Answer:
        """Send, retrying transient failures within the budget; typed ApiError otherwise.

        `headers` may be a function, called afresh for each attempt (a signature whose
        timestamp must not go stale while the client waits out a Retry-After).
        """
        url = path_or_url if "://" in path_or_url else self.url(path_or_url)
        if not self.owns(url):
            raise ApiError(
                f"refusing to send credentials to {redact(url)}: not under {self.root}",
                request=f"{method} {redact(url)}",
            )
        prepared = requests.Request(method, url, params=params).prepare()
        where = f"{method} {redact(prepared.url or url)}"
        waited = 0.0
        for attempt in range(1, self.max_attempts + 1):
            failure, wait_hint = self._attempt(method, url, params, body, headers, where)
            if isinstance(failure, Answer):
                return failure
            last = attempt == self.max_attempts or not retry
            delay = self._backoff(attempt) if wait_hint is None else wait_hint
            if not last and waited + delay > self.retry_budget_seconds:
                last = True
            if last:
                raise failure
            log.warning(
                "%s; retrying in %.1f s (attempt %d of %d)",
                failure,
                delay,
                attempt + 1,
                self.max_attempts,
            )
            self.stats.retries += 1
            self.stats.waited_seconds += delay
            waited += delay
            self._sleep(delay)
        raise AssertionError("unreachable")  # the loop always returns or raises

    def _attempt(
        self,
        method: str,
        url: str,
        params: dict[str, Any] | None,
        body: bytes,
        headers: Headers,
        where: str,
    ) -> tuple[Answer | ApiError, float | None]:
        """One try: the Answer, or the error to raise (or retry) and any Retry-After."""
        self._pace()
        extra = headers() if callable(headers) else headers
        all_headers = {
            "X-API-Key": self._api_key,
            "X-API-Secret": self._api_secret,
            "Accept": "application/json",
            **(extra or {}),
        }
        self.stats.requests += 1
        started = time.monotonic()
        try:
            # No redirects: requests would carry our custom auth headers to whatever host
            # the redirect names.
            response = self.session.request(
                method,
                url,
                params=params,
                data=body or None,
                headers=all_headers,
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,  # read below, against a deadline for the whole answer
            )
            content = self._body(response, started)
        except (requests.Timeout, urllib3.exceptions.ReadTimeoutError):  # the latter: in read1
            return UnreachableError(
                f"no answer within {self.timeout[1]:g} s",
                request=where,
                trace_id=self.stats.last_trace_id,
            ), None
        except requests.ConnectionError as exc:
            reason = type(exc.__cause__ or exc).__name__
            return UnreachableError(
                f"connection failed ({reason})", request=where, trace_id=self.stats.last_trace_id
            ), None
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:  # broke off
            return UnreachableError(
                f"the answer broke off ({type(exc).__name__})",
                request=where,
                trace_id=self.stats.last_trace_id,
            ), None
        if content is None:
            return UnreachableError(
                f"the answer did not finish within {self.answer_timeout:g} s "
                "([starship] answer_timeout_seconds)",
                request=where,
                trace_id=response.headers.get("X-Trace-ID") or self.stats.last_trace_id,
            ), None
        trace_id = response.headers.get("X-Trace-ID")
        self.stats.last_trace_id = trace_id or self.stats.last_trace_id
        status = response.status_code
        self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1
        log.debug(
            "%s -> %d in %.0f ms (X-Trace-ID %s)",
            where,
            status,
            (time.monotonic() - started) * 1000,
            trace_id,
        )
        if status < 300:
            return Answer(content, trace_id, status, response.url or url), None
        error = self._error(response, content, where, trace_id)
        if status in RETRY_STATUSES:
            return error, retry_after(response.headers.get("Retry-After"))
        raise error

    def _body(self, response: requests.Response, started: float) -> bytes | None:
        """The whole body, or None when it is still coming at the deadline: the read timeout
        bounds each read, and a server that trickles a byte a second never trips it."""
        deadline = started + self.answer_timeout
        chunks = []
        with response:
            # read1: what has arrived, not 64 KiB however long they take to come
            while chunk := response.raw.read1(1 << 16, decode_content=True):
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    return None
        return b"".join(chunks)

    @staticmethod
    def _error(
        response: requests.Response, content: bytes, where: str, trace_id: str | None
    ) -> ApiError:
        status = response.status_code
        code, message = None, response.reason or "error"
        try:
            envelope = decode(content)["error"]
            code = envelope.get("code")
            message = envelope.get("message") or message
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            content_type = response.headers.get("Content-Type", "")
            message = f"{message} (a {content_type.split(';')[0] or 'non-JSON'} body)"
        text = f"HTTP {status}" + (f" {code}" if code else "") + f": {message}"
        if status == 429:
            return ThrottledError(text, status=status, code=code, trace_id=trace_id, request=where)
        return error_class(status, code)(
            text, status=status, code=code, trace_id=trace_id, request=where
        )

    def _backoff(self, attempt: int) -> float:
        """Full jitter: a random wait up to an exponentially growing cap."""
        ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
        return self._jitter.uniform(0, ceiling)

    def _pace(self) -> None:
        if self.min_interval:
            gap = self._last_sent + self.min_interval - time.monotonic()
            if gap > 0:
                self._sleep(gap)
            self._last_sent = time.monotonic()

    # -- writes ------------------------------------------------------------------------------

    def create_order(self, order: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """POST /orders, signed as docs/starship-api.md says (Requests). The key makes every retry
        safe: a replay returns the original order and never charges twice."""
        if not idempotency_key:
            raise ValueError("an Idempotency-Key is required: without one a retry pays twice")
        body = json.dumps(order, separators=(",", ":"), default=str).encode()
        path = urlsplit(self.url("orders")).path

        def signed() -> dict[str, str]:
            headers = signing.signed_headers(self._api_secret, int(time.time()), "POST", path, body)
            headers.update({"Idempotency-Key": idempotency_key, "Content-Type": "application/json"})
            return headers

        payload = self.request("POST", "orders", body=body, headers=signed).payload
        return payload.get("data", payload) if isinstance(payload, dict) else payload

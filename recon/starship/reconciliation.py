"""Starship's own daily reconciliation, `GET /reconciliation/{date}` (planned).

docs/starship-api.md, The planned reconciliation endpoint, says what is documented of it.

The endpoint is not built yet and its shape is "subject to change", so everything here is
tolerant:

* 404, 501 or an error code that says not-found or not-implemented means **not available**:
  recorded, never an error. Any other failure (a 5xx after retries, a body that is not
  JSON) leaves the answer **unreadable**, which marks the night incomplete: the control
  total could not be checked.
* The body may come bare or wrapped in `{"data": ...}`, in snake_case or camelCase; unknown
  keys are ignored, missing fields are nulls, numbers may be strings, and `resolution` keeps
  whatever word Starship sends.
* `our_allocation` and `vendor_record` may be voucher codes, which are secrets: each is
  replaced by a keyed fingerprint (`StarshipClient.fingerprint`) as it is parsed, so the
  same voucher gives the same fingerprint every night and the value never reaches disk.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pyarrow as pa

from recon.errors import ApiError
from recon.starship.client import StarshipClient
from recon.starship.records import TIMESTAMP, Reject, moment, pick, whole_number

NOT_AVAILABLE_STATUSES = (404, 501)
NOT_AVAILABLE_CODES = ("NOT_FOUND", "NOT_IMPLEMENTED", "NOT_AVAILABLE")  # code endings
SUMMARY = {  # our name -> the names the API may use for it
    "orders_total": ("orders_total", "ordersTotal"),
    "vouchers_allocated": ("vouchers_allocated", "vouchersAllocated"),
    "matched": ("matched",),
    "drifted": ("drifted",),
    "unmatched": ("unmatched",),
}
DRIFT = {
    "order_id": ("order_id", "orderId", "id"),
    "vendor": ("vendor",),
    "product_id": ("product_id", "productId"),
    "our_allocation": ("our_allocation", "ourAllocation"),
    "vendor_record": ("vendor_record", "vendorRecord"),
    "detected_at": ("detected_at", "detectedAt"),
    "resolution": ("resolution",),
}
SECRET_FIELDS = ("our_allocation", "vendor_record")
DRIFTS = pa.schema(
    [
        pa.field("drift_id", pa.string(), nullable=False),  # fingerprint of the whole drift
        pa.field("order_id", pa.string()),
        pa.field("vendor", pa.string()),
        pa.field("product_id", pa.string()),
        pa.field("our_allocation", pa.string()),  # a fingerprint, never the value
        pa.field("vendor_record", pa.string()),  # a fingerprint, never the value
        pa.field("detected_at", TIMESTAMP),
        pa.field("resolution", pa.string()),
        pa.field("trace_id", pa.string()),
    ]
)

Fingerprint = Callable[[str], str]


@dataclass
class Reconciliation:
    """What `GET /reconciliation/{day}` said, ready for the lake (drifts) and its manifest."""

    day: date
    status: str  # available | not_available | unreadable
    trace_id: str | None = None
    http_status: int | None = None
    reason: str | None = None  # why not available or unreadable
    summary: dict[str, int | None] = field(default_factory=dict)
    generated_at: str | None = None
    drifts: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)  # drifts recon cannot use

    def table(self) -> pa.Table:
        return pa.Table.from_pylist(self.drifts, DRIFTS)

    def manifest(self) -> dict[str, Any]:
        return {
            "dataset": "reconciliation",
            "date": self.day.isoformat(),
            "status": self.status,
            "complete": self.status != "unreadable",
            "http_status": self.http_status,
            "trace_id": self.trace_id,
            "reason": self.reason,
            "summary": self.summary,
            "generated_at": self.generated_at,
            "rejected": self.rejected,
        }

    def line(self) -> str:
        """One line for the extraction's summary."""
        quoted = self.trace_id and self.trace_id in (self.reason or "")
        where = f" (X-Trace-ID {self.trace_id})" if self.trace_id and not quoted else ""
        if self.status == "available":
            counts = ", ".join(f"{k} {v}" for k, v in self.summary.items() if v is not None)
            return f"Starship's reconciliation of {self.day}: {counts}; {len(self.drifts)} drifts"
        words = "not available" if self.status == "not_available" else "unreadable"
        return f"Starship's reconciliation of {self.day}: {words}: {self.reason}{where}"


def fetch(client: StarshipClient, day: date) -> Reconciliation:
    try:
        answer = client.get(f"reconciliation/{day.isoformat()}")
    except ApiError as error:
        if error.status in NOT_AVAILABLE_STATUSES or (error.code or "").endswith(
            NOT_AVAILABLE_CODES
        ):
            status = "not_available"
        else:
            status = "unreadable"
        reason = (
            f"HTTP {error.status} {error.code or ''}".strip()
            if status == "not_available"
            else str(error)
        )
        return Reconciliation(day, status, error.trace_id, error.status, reason)
    try:
        payload = answer.payload
    except ApiError as error:
        return Reconciliation(day, "unreadable", answer.trace_id, answer.status, str(error))
    return parse(payload, day, answer.trace_id, client.fingerprint, answer.status)


def parse(
    payload: Any,
    day: date,
    trace_id: str | None,
    fingerprint: Fingerprint,
    http_status: int | None = 200,
) -> Reconciliation:
    """Read a decoded answer tolerantly; `unreadable` only when there is nothing to go on."""
    found = Reconciliation(day, "available", trace_id, http_status)
    if isinstance(payload, dict) and not _has_any(payload, ("summary", "drifts")):
        payload = payload.get("data", payload)  # an envelope around the planned shape
    if not isinstance(payload, dict):
        found.status, found.reason = "unreadable", "the answer is not a JSON object"
        return found
    answered = _text(pick(payload, ("date",)))
    if answered and answered[:10] != day.isoformat():
        found.status = "unreadable"
        found.reason = f"asked for {day}, the answer is for {answered[:10]}"
        return found
    summary = pick(payload, ("summary",))
    summary = summary if isinstance(summary, dict) else {}
    found.summary = {name: _whole(pick(summary, names), name) for name, names in SUMMARY.items()}
    found.generated_at = _text(pick(payload, ("generated_at", "generatedAt")))
    drifts = pick(payload, ("drifts",))
    if drifts is None:
        drifts = []
    if not isinstance(drifts, list):
        found.status, found.reason = "unreadable", "`drifts` is not a list"
        return found
    if not summary and not drifts:
        found.status, found.reason = "unreadable", "neither a summary nor drifts in the answer"
        return found
    for number, raw in enumerate(drifts, start=1):
        drift, reason = _drift(raw, fingerprint, trace_id)
        if reason:
            printable = json.dumps(_printable(raw, fingerprint), sort_keys=True, default=str)
            found.rejected.append(
                {
                    "line": number,
                    "entry_id": drift.get("order_id"),
                    "reason": reason,
                    "raw": printable,
                }
            )
        else:
            found.drifts.append(drift)
    return found


def _drift(
    raw: Any, fingerprint: Fingerprint, trace_id: str | None
) -> tuple[dict[str, Any], str | None]:
    if not isinstance(raw, dict):
        return {}, "a drift that is not a JSON object"
    drift: dict[str, Any] = {name: pick(raw, names) for name, names in DRIFT.items()}
    for name in SECRET_FIELDS:
        drift[name] = _fingerprint(drift[name], fingerprint)
    for name in ("order_id", "vendor", "product_id", "resolution"):
        drift[name] = _text(drift[name])
    if drift["resolution"]:
        drift["resolution"] = drift["resolution"].lower()
    drift["trace_id"] = trace_id
    if not drift["order_id"]:
        return drift, "a drift without an order_id"
    try:
        drift["detected_at"] = moment(drift["detected_at"], "detected_at", required=False)
    except Reject as reason:
        return drift, str(reason)
    identity = "\x1f".join(str(drift[n] or "") for n in ("order_id", *SECRET_FIELDS))
    drift["drift_id"] = fingerprint(identity)
    return drift, None


def _printable(raw: Any, fingerprint: Fingerprint) -> Any:
    """A rejected drift as quarantine keeps it: only the fields recon knows, the secret ones
    fingerprinted (a new key could hold a voucher code, so nothing else is copied)."""
    if not isinstance(raw, dict):
        return f"<a JSON {type(raw).__name__}>"
    known = {name: pick(raw, names) for name, names in DRIFT.items()}
    return {
        name: _fingerprint(value, fingerprint) if name in SECRET_FIELDS else _text(value)
        for name, value in known.items()
        if value is not None
    }


def _fingerprint(value: Any, fingerprint: Fingerprint) -> str | None:
    if value is None or value == "":
        return None
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return fingerprint(text)


def _has_any(payload: dict[str, Any], names: tuple[str, ...]) -> bool:
    return any(name in payload for name in names)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def _whole(value: Any, name: str) -> int | None:
    """A count from a number or a numeric string; None (not checked) if it is not one."""
    try:
        return whole_number(value.strip() if isinstance(value, str) else value, name)
    except Reject:
        return None

"""A list answer's body: its `data` rows and its paging `meta`.

The paginators read the meta, the record parser the rows; both build on this module, which
knows nothing of either.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from recon.errors import ApiError
from recon.starship.client import Answer, redact


def json_rows(answer: Answer) -> tuple[list[dict[str, Any]], int, dict[str, Any]]:
    """The default page decoder: the `data` list as dicts, its size, and the `meta`."""
    return list_body(answer.payload, answer.trace_id, answer.url)


def list_body(
    payload: Any, trace_id: str | None, url: str
) -> tuple[list[dict[str, Any]], int, dict[str, Any]]:
    """A decoded list answer's rows, their count and its meta; ApiError if it is no list
    answer at all (`null`, a number, `data` that is not a list)."""
    if not isinstance(payload, dict | list):  # `null`, a number, a string: no page at all
        raise ApiError(
            f"a list answer that is {'null' if payload is None else str(payload)[:40]}, "
            "not an object with a `data` list",
            trace_id=trace_id,
            request=f"GET {redact(url)}",
        )
    rows = payload.get("data") if isinstance(payload, dict) else payload
    if rows is None:
        rows = []
    if not isinstance(rows, list):
        raise ApiError(
            "a list answer without a `data` list", trace_id=trace_id, request=f"GET {redact(url)}"
        )
    meta = payload.get("meta") if isinstance(payload, dict) else None
    if isinstance(payload, dict) and "next_cursor" in payload:
        meta = {**(meta or {}), "next_cursor": payload["next_cursor"]}
    return rows, len(rows), snake_meta(meta)


def snake_meta(meta: Any) -> dict[str, Any]:
    """Paging meta with `perPage` and `per_page` alike as `per_page`; nulls dropped."""
    if not isinstance(meta, dict):
        return {}
    return {_snake(key): value for key, value in meta.items() if value is not None}


@functools.lru_cache(maxsize=256)  # the same few keys on every page; bounded all the same
def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()

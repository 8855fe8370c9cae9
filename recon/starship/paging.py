"""Paginators: small classes behind one interface, chosen by name from the configuration.

The list endpoints' paging is not documented (the API contract's assumptions): page numbers
with `page` and `limit`, a `meta` in snake_case or camelCase that may carry `total`,
`current_page`, `last_page` and `next_page_url`, or a `next_cursor`. Each paginator yields
`Page`s; it never trusts `total` to decide when to stop.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from recon.errors import ApiError, ConfigError
from recon.starship.client import Answer, StarshipClient

MAX_PAGES = 1_000_000  # a server that never stops paging is a bug, not a big night


@dataclass
class Page:
    number: int
    rows: list[dict[str, Any]]
    meta: dict[str, Any]  # normalised to snake_case
    trace_id: str | None

    @property
    def total(self) -> int | None:
        value = self.meta.get("total")
        return value if isinstance(value, int) and not isinstance(value, bool) else None


def snake_meta(meta: Any) -> dict[str, Any]:
    """`perPage` and `per_page` alike become `per_page`."""
    if not isinstance(meta, dict):
        return {}
    return {re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower(): value for key, value in meta.items()}


def rows_of(answer: Answer) -> list[dict[str, Any]]:
    payload = answer.payload
    rows = payload.get("data") if isinstance(payload, dict) else payload
    if rows is None:
        rows = []
    if not isinstance(rows, list):
        raise ApiError(
            "a list answer without a `data` list",
            trace_id=answer.trace_id,
            request=f"GET {answer.url}",
        )
    return rows


class Paginator(Protocol):
    name: ClassVar[str]

    def pages(
        self, client: StarshipClient, path: str, params: dict[str, Any], limit: int
    ) -> Iterator[Page]: ...


class PageNumberPaginator:
    """`page` = 1, 2, ...; follows `next_page_url` when the server gives one. Stops on an
    empty page, a null `next_page_url`, or `current_page >= last_page`."""

    name: ClassVar[str] = "page_number"

    def pages(
        self, client: StarshipClient, path: str, params: dict[str, Any], limit: int
    ) -> Iterator[Page]:
        number = 1
        target: str = path
        query: dict[str, Any] | None = {**params, "page": 1, "limit": limit}
        while number <= MAX_PAGES:
            answer = client.get(target, query)
            rows = rows_of(answer)
            meta = snake_meta(
                answer.payload.get("meta") if isinstance(answer.payload, dict) else None
            )
            current = meta.get("current_page", number)
            if isinstance(current, int) and current != number:
                raise ApiError(
                    f"asked for page {number}, the server answered page {current}",
                    trace_id=answer.trace_id,
                    request=f"GET {path}",
                )
            yield Page(number, rows, meta, answer.trace_id)
            last = meta.get("last_page")
            next_url = meta.get("next_page_url")
            if (
                not rows
                or (isinstance(last, int) and number >= last)
                or ("next_page_url" in meta and not next_url)
            ):
                return
            number += 1
            if next_url:
                target, query = str(next_url), None
            else:
                target, query = path, {**params, "page": number, "limit": limit}
        raise ApiError(
            f"more than {MAX_PAGES} pages: the server does not stop paging", request=f"GET {path}"
        )


class CursorPaginator:
    """`cursor` = the previous page's `meta.next_cursor` (or top-level `next_cursor`)."""

    name: ClassVar[str] = "cursor"

    def pages(
        self, client: StarshipClient, path: str, params: dict[str, Any], limit: int
    ) -> Iterator[Page]:
        cursor: str | None = None
        for number in range(1, MAX_PAGES + 1):
            query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
            answer = client.get(path, query)
            rows = rows_of(answer)
            meta = snake_meta(
                answer.payload.get("meta") if isinstance(answer.payload, dict) else None
            )
            yield Page(number, rows, meta, answer.trace_id)
            cursor = meta.get("next_cursor") or (
                answer.payload.get("next_cursor") if isinstance(answer.payload, dict) else None
            )
            if not rows or not cursor:
                return
        raise ApiError(
            f"more than {MAX_PAGES} pages: the server does not stop paging", request=f"GET {path}"
        )


PAGINATORS: dict[str, type[PageNumberPaginator] | type[CursorPaginator]] = {
    PageNumberPaginator.name: PageNumberPaginator,
    CursorPaginator.name: CursorPaginator,
}


def paginator(name: str) -> Paginator:
    try:
        return PAGINATORS[name]()
    except KeyError:
        raise ConfigError(f"unknown paginator {name!r}; one of {', '.join(PAGINATORS)}") from None

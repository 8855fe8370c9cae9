"""Paginators: small classes behind one interface, chosen by name from the configuration.

The list endpoints' paging is not documented (docs/starship-api.md, What recon assumes): page
numbers with `page` and `limit`, a `meta` in snake_case or camelCase that may carry `total`,
`current_page`, `last_page` and `next_page_url`, or a `next_cursor`. Each paginator yields `Page`s;
it never trusts `total` to decide when to stop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from recon.errors import ApiError, ConfigError
from recon.starship.client import Answer, StarshipClient
from recon.starship.pages import json_rows

MAX_PAGES = 1_000_000  # a server that never stops paging is a bug, not a big night


@dataclass
class Page:
    number: int
    rows: Any  # what the decoder made of the page: dicts, or a parsed batch
    size: int  # how many records the page carried
    meta: dict[str, Any]  # normalised to snake_case
    trace_id: str | None

    @property
    def total(self) -> int | None:
        value = self.meta.get("total")
        return value if isinstance(value, int) and not isinstance(value, bool) else None


Decoder = Callable[[Answer], tuple[Any, int, dict[str, Any]]]


class Paginator(Protocol):
    name: ClassVar[str]

    def pages(
        self,
        client: StarshipClient,
        path: str,
        params: dict[str, Any],
        limit: int,
        decode: Decoder = json_rows,
    ) -> Iterator[Page]: ...


class PageNumberPaginator:
    """`page` = 1, 2, ...; follows `next_page_url` when the server gives one. Stops on an
    empty page or at `last_page`; a page without `next_page_url` is not taken for the last
    (the next page number is asked for, and comes back empty at the end)."""

    name: ClassVar[str] = "page_number"

    def pages(
        self,
        client: StarshipClient,
        path: str,
        params: dict[str, Any],
        limit: int,
        decode: Decoder = json_rows,
    ) -> Iterator[Page]:
        number = 1
        target: str = path
        query: dict[str, Any] | None = {**params, "page": 1, "limit": limit}
        while number <= MAX_PAGES:
            answer = client.get(target, query)
            rows, size, meta = decode(answer)
            current = meta.get("current_page", number)
            if isinstance(current, int) and current != number:
                raise ApiError(
                    f"asked for page {number}, the server answered page {current}",
                    trace_id=answer.trace_id,
                    request=f"GET {path}",
                )
            yield Page(number, rows, size, meta, answer.trace_id)
            last = meta.get("last_page")
            next_url = meta.get("next_page_url")
            if not size or (isinstance(last, int) and number >= last):
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
    """`cursor` = the previous page's `meta.next_cursor` (or a top-level `next_cursor`)."""

    name: ClassVar[str] = "cursor"

    def pages(
        self,
        client: StarshipClient,
        path: str,
        params: dict[str, Any],
        limit: int,
        decode: Decoder = json_rows,
    ) -> Iterator[Page]:
        cursor: str | None = None
        for number in range(1, MAX_PAGES + 1):
            query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
            answer = client.get(path, query)
            rows, size, meta = decode(answer)
            yield Page(number, rows, size, meta, answer.trace_id)
            cursor = meta.get("next_cursor")
            if not size or not cursor:
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

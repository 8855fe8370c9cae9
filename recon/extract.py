"""API -> lake for a date and its look-back window.

For date D, the orders and wallet transactions created on D and on each of the `lookback_days`
before it are read again and their partitions replaced, so late cancellations and PENDING
orders that resolved are current; the wallets are snapshotted into D's partition.

Paging is not a snapshot: rows can be inserted while recon pages. After the last page of a
window, the `total` of its first and last pages and the number of distinct keys seen must
agree; when they do not, the window is paged again (at most `max_repages` times), every
pass feeding the same staging file, and the de-duplication keeps each row once. A window
whose totals never tie is published all the same, marked incomplete in its manifest.

An order older than the window is never paged again, so a break about it (a stuck PENDING, a
missing refund, an entry the ledger never booked; `history.carried`) could never resolve. Each
night therefore also reads again, one `GET /orders/{id}` each, the orders older than the window
that breaks still open are about, into `refreshed_orders/date=D/` (the checks let the latest of
these rows stand in for the order's own). The caller names them (`pipeline.extract` asks the
break history), so this stage reads nothing but the API and the lake. An order Starship no
longer knows (404) is recorded in that partition's manifest, with the trace id; it does not
fail the night.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pyarrow as pa

from recon.config import Config
from recon.errors import ApiError
from recon.lake import Lake, Staging
from recon.starship import reconciliation, records
from recon.starship.client import Answer, StarshipClient
from recon.starship.pages import json_rows
from recon.starship.paging import Page, paginator

log = logging.getLogger("recon.extract")

Progress = Callable[[str, date, int, int | None], None]  # dataset, day, rows so far, total
CONVERT_ROWS = 8_192  # decoded rows converted together (bounded memory, amortised calls)
SHAPES = {"orders": records.ORDER_SHAPE, "transactions": records.TRANSACTION_SHAPE}
# Older orders read again a night, at most: one request each, where a list page carries a
# hundred. Breaks that outlive the window are few in books that are looked after (each is
# waiting on a person); 200 requests stay a small part of a night even when paced or
# throttled, while a history that has piled up thousands cannot turn a night into thousands
# of requests. Past the limit, the orders refreshed rotate with the date (`rotation`), so each
# is read again within a few nights.
REFRESH_LIMIT = 200


@dataclass
class WindowResult:
    dataset: str
    day: date
    rows: int
    pages: int
    passes: int
    complete: bool
    rejected: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RefreshResult:
    """The orders older than the window that open breaks are about, read again on `day`."""

    day: date
    created_before: datetime  # the window's start: older orders are not paged again
    open: int  # orders open breaks are about
    asked: list[str]  # the ones read again tonight (at most `limit`)
    limit: int
    rows: int  # refreshed rows published
    not_found: list[dict[str, Any]] = field(default_factory=list)  # 404: order_id, trace_id
    rejected: list[dict[str, Any]] = field(default_factory=list)

    @property
    def left(self) -> int:
        """Orders left for later nights by the limit."""
        return self.open - len(self.asked)

    def line(self) -> str:
        text = (
            f"refreshed {self.rows} older order{'s' if self.rows != 1 else ''} with open "
            f"breaks (created before {self.created_before.date()})"
        )
        if self.not_found:
            text += f"; {len(self.not_found)} not found at Starship"
        if self.rejected:
            text += f"; {len(self.rejected)} rejected"
        if self.not_found or self.rejected:
            text += " (order ids and trace ids in the partition's _manifest.json)"
        if self.left:
            text += f"; {self.left} left for later nights (at most {self.limit} a night)"
        return text


@dataclass
class ExtractResult:
    day: date
    windows: list[WindowResult]
    wallets: int
    requests: int
    retries: int
    reconciliation: reconciliation.Reconciliation | None = None
    refreshed: RefreshResult | None = None

    @property
    def complete(self) -> bool:
        return all(window.complete for window in self.windows)

    def rows(self, dataset: str, day: date | None = None) -> int:
        return sum(
            w.rows for w in self.windows if w.dataset == dataset and (day is None or w.day == day)
        )

    def summary(self) -> list[str]:
        days = len({w.day for w in self.windows})
        lines = [
            f"extracted {self.day} and the {days - 1} days before it: "
            f"{self.rows('orders', self.day)} orders and "
            f"{self.rows('transactions', self.day)} transactions on {self.day} "
            f"({self.rows('orders')} and {self.rows('transactions')} in the window), "
            f"{self.wallets} wallets; {self.requests} requests, {self.retries} retries"
        ]
        if self.refreshed and self.refreshed.open:
            lines.append("  " + self.refreshed.line())
        if self.reconciliation:
            lines.append("  " + self.reconciliation.line())
        for window in self.windows:
            if not window.complete:
                lines.append(
                    f"  incomplete: {window.dataset} for {window.day}: the totals "
                    f"never tied after {window.passes} passes"
                )
            if window.rejected:
                lines.append(
                    f"  {len(window.rejected)} {window.dataset} rows rejected for "
                    f"{window.day} (reasons in the partition's _manifest.json)"
                )
        return lines


def window_start(config: Config, day: date) -> datetime:
    """The first moment of `day`'s look-back window: older orders are only read again."""
    return day_window(day - timedelta(days=config.starship.lookback_days))[0]


def day_window(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def rotation(order_ids: list[str], day: date, limit: int) -> list[str]:
    """`limit` of `order_ids`, starting at a place that moves on by `limit` each date: when
    more are open than a night reads again, every one still comes round, and a re-run of a
    date asks for the same ones."""
    if len(order_ids) <= limit:
        return list(order_ids)
    start = (day.toordinal() * limit) % len(order_ids)
    return (order_ids[start:] + order_ids[:start])[:limit]


ConvertedPages = tuple[pa.RecordBatch, list[records.Rejected]]
# A converted batch, its rejected rows, and the page number of each trace id in it.
Converted = Callable[[pa.RecordBatch, list[records.Rejected], dict[str | None, int]], None]


class PageConverter:
    """Decoded pages converted to the lake's schema `batch_rows` rows at a time.

    Paging needs each page's meta before it can ask for the next, so pages are decoded one by
    one as they arrive (`records.decode_page`, which skips the records' fields), and their
    records are read and converted many pages at a time (`records.convert_pages`), in a
    worker thread while the next pages are fetched and decoded: pyarrow lets go of the GIL.
    Each batch is handed to `converted` on the caller's thread, in page order. At most two
    batches are held: the one being gathered and the one being converted.
    """

    def __init__(
        self, shape: records.Shape, converted: Converted, batch_rows: int = CONVERT_ROWS
    ) -> None:
        self.shape = shape
        self.converted = converted
        self.batch_rows = batch_rows
        self.rows = 0  # rows added and not yet handed to `converted`
        self._pages: list[records.RawPage] = []
        self._page_of: dict[str | None, int] = {}
        self._gathered = 0
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recon-convert")
        self._converting: tuple[Future[ConvertedPages], dict[str | None, int], int] | None = None

    def __enter__(self) -> PageConverter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._worker.shutdown(cancel_futures=True)

    def add(self, page: records.RawPage, number: int) -> None:
        self._pages.append(page)
        self._page_of[page.trace_id] = number
        self._gathered += page.size
        self.rows += page.size
        if self._gathered >= self.batch_rows:
            self._hand_over()

    def flush(self) -> None:
        """Every page added so far converted and handed to `converted`."""
        if self._pages:
            self._hand_over()
        self._collect()

    def _hand_over(self) -> None:
        self._collect()  # the batch before this one first: batches come back in page order
        converting = self._worker.submit(records.convert_pages, self.shape, self._pages)
        self._converting = (converting, self._page_of, self._gathered)
        self._pages, self._page_of, self._gathered = [], {}, 0

    def _collect(self) -> None:
        if self._converting:
            converting, page_of, rows = self._converting
            self._converting = None
            batch, bad = converting.result()
            self.rows -= rows
            self.converted(batch, bad, page_of)


class Extractor:
    def __init__(
        self,
        config: Config,
        client: StarshipClient,
        lake: Lake | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.config = config
        self.client = client
        self.lake = lake or Lake(config.storage.data_dir / "lake")
        self.paginator = paginator(config.starship.paginator)
        self.progress = progress
        self.refresh_limit = REFRESH_LIMIT

    def run(self, day: date, open_orders: Sequence[tuple[str, bool]]) -> ExtractResult:
        """Extract `day` and its look-back window, and read again `open_orders` (order id,
        carried: what `History.open_orders` answers); each partition is replaced atomically."""
        requests_before, retries_before = self.client.stats.requests, self.client.stats.retries
        days = [
            day - timedelta(days=back) for back in range(self.config.starship.lookback_days, -1, -1)
        ]
        windows = [self.window(dataset, each) for each in days for dataset in SHAPES]
        refreshed = self.refresh(day, window_start(self.config, day), open_orders)
        wallets = self.wallets(day)
        reported = self.reconciliation(day)
        return ExtractResult(
            day,
            windows,
            wallets,
            self.client.stats.requests - requests_before,
            self.client.stats.retries - retries_before,
            reported,
            refreshed,
        )

    def window(self, dataset: str, day: date) -> WindowResult:
        start, end = day_window(day)
        params = {"from": iso(start), "to": iso(end)}
        started = datetime.now(UTC)
        retries_before = self.client.stats.retries
        keys: set[str] = set()
        rejected: list[dict[str, Any]] = []
        pages = passes = 0
        totals: list[tuple[int | None, int | None]] = []
        complete = False
        with self.lake.staging(dataset, day) as staging:
            for passes in range(1, self.config.starship.max_repages + 2):
                first_total, last_total, count = self._pass(
                    dataset, day, params, staging, keys, rejected
                )
                pages += count
                totals.append((first_total, last_total))
                accounted = len(keys) + len({r["key"] for r in rejected if r["key"]} - keys)
                complete = first_total is None or first_total == last_total == accounted
                if complete:
                    break
                log.warning(
                    "%s for %s: totals %s and %s, %d distinct rows; paging the window "
                    "again (pass %d)",
                    dataset,
                    day,
                    first_total,
                    last_total,
                    accounted,
                    passes + 1,
                )
            manifest = {
                "dataset": dataset,
                "date": day.isoformat(),
                "window": {"from": params["from"], "to": params["to"]},
                "pages": pages,
                "passes": passes,
                "complete": complete,
                "totals_seen": [list(pair) for pair in totals],
                "retries": self.client.stats.retries - retries_before,
                "rejected": rejected,
                "started_at": iso(started),
                "finished_at": iso(datetime.now(UTC)),
            }
            rows = self.lake.publish(staging, dataset, day, manifest)
        if not complete:
            log.error(
                "%s for %s: the totals never tied after %d passes; published as incomplete",
                dataset,
                day,
                passes,
            )
        return WindowResult(dataset, day, rows, pages, passes, complete, rejected)

    def _pass(
        self,
        dataset: str,
        day: date,
        params: dict[str, str],
        staging: Staging,
        keys: set[str],
        rejected: list[dict[str, Any]],
    ) -> tuple[int | None, int | None, int]:
        """Page through the window once; (first page's total, last page's total, pages)."""
        shape = SHAPES[dataset]
        first_total: int | None = None
        page: Page | None = None
        count = 0

        def converted(
            batch: pa.RecordBatch, bad: list[records.Rejected], page_of: dict[str | None, int]
        ) -> None:
            staging.write(batch)
            keys.update(batch.column(shape.key).to_pylist())
            for item in bad:
                entry = {
                    "key": item.key,
                    "reason": item.reason,
                    "trace_id": item.trace_id,
                    "page": page_of.get(item.trace_id),
                }
                if entry not in rejected:
                    rejected.append(entry)
                    log.warning(
                        "%s for %s: rejected %s: %s (X-Trace-ID %s)",
                        dataset,
                        day,
                        item.key or "a row",
                        item.reason,
                        item.trace_id,
                    )

        def decode(answer: Answer) -> tuple[records.RawPage, int, dict[str, Any]]:
            raw = records.decode_page(answer)
            return raw, raw.size, raw.meta

        with PageConverter(shape, converted) as converter:
            for page in self.paginator.pages(
                self.client, dataset, params, self.config.starship.page_size, decode
            ):
                count += 1
                if first_total is None:
                    first_total = page.total
                converter.add(page.rows, page.number)
                if self.progress:
                    self.progress(dataset, day, len(keys) + converter.rows, page.total)
            converter.flush()
        return first_total, (page.total if page else None), count

    def refresh(
        self, day: date, created_before: datetime, candidates: Sequence[tuple[str, bool]]
    ) -> RefreshResult:
        """Read again `candidates` (order id, carried), the orders created before
        `created_before` (the window's start) that breaks open when `day` begins are about,
        into `day`'s `refreshed_orders` partition.

        The partition is published even when there is nothing to read again, so that a re-run
        of `day` always replaces what an earlier run left there.
        """
        started = datetime.now(UTC)
        retries_before = self.client.stats.retries
        # A fresh status can resolve only the breaks of checks that look again every night:
        # their orders come first when the limit leaves some for later nights.
        carried = [order_id for order_id, is_carried in candidates if is_carried]
        others = [order_id for order_id, is_carried in candidates if not is_carried]
        asked = rotation(carried, day, self.refresh_limit)
        asked += rotation(others, day, self.refresh_limit - len(asked))
        not_found: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        with self.lake.staging("refreshed_orders", day) as staging:
            for number, order_id in enumerate(asked, 1):
                self._refresh_one(day, order_id, staging, not_found, rejected)
                if self.progress:
                    self.progress("refreshed_orders", day, number, len(asked))
            manifest = {
                "dataset": "refreshed_orders",
                "date": day.isoformat(),
                "created_before": iso(created_before),
                "open": len(candidates),
                "asked": asked,
                "limit": self.refresh_limit,
                "left": len(candidates) - len(asked),
                "not_found": not_found,
                "rejected": rejected,
                "retries": self.client.stats.retries - retries_before,
                "started_at": iso(started),
                "finished_at": iso(datetime.now(UTC)),
            }
            rows = self.lake.publish(staging, "refreshed_orders", day, manifest)
        return RefreshResult(
            day,
            created_before,
            len(candidates),
            asked,
            self.refresh_limit,
            rows,
            not_found,
            rejected,
        )

    def _refresh_one(
        self,
        day: date,
        order_id: str,
        staging: Staging,
        not_found: list[dict[str, Any]],
        rejected: list[dict[str, Any]],
    ) -> None:
        """`GET /orders/{order_id}` into `staging`; a 404 or an unusable answer is recorded."""
        # Quoted whole: an id is opaque text, and a `/` or `..` in it must not reach another
        # endpoint with our credentials.
        try:
            answer = self.client.get(f"orders/{quote(order_id, safe='')}")
        except ApiError as error:
            if error.status != 404:
                raise  # as on a list page: the client already retried what can be retried
            not_found.append({"order_id": order_id, "code": error.code, "trace_id": error.trace_id})
            log.warning(
                "refreshing %s for %s: Starship answered 404 %s (X-Trace-ID %s)",
                order_id,
                day,
                error.code or "",
                error.trace_id,
            )
            return
        try:
            payload = answer.payload
        except ApiError as error:
            problems = [records.Rejected(order_id, str(error), answer.trace_id)]
        else:
            # The order under `data`, as the documentation shows it, or bare; then the same
            # tolerant reading as a list page's rows (the one `convert_pages` falls back on).
            order = payload.get("data", payload) if isinstance(payload, dict) else payload
            batch, problems = records.parse_orders([order], answer.trace_id)
            answered = batch.column("order_id").to_pylist()
            if answered and answered != [order_id]:
                problems = [
                    records.Rejected(
                        order_id, f"asked for {order_id}, answered {answered[0]}", answer.trace_id
                    )
                ]
            else:
                staging.write(batch)
        for problem in problems:
            rejected.append(
                {
                    "key": problem.key or order_id,
                    "reason": problem.reason,
                    "trace_id": problem.trace_id,
                }
            )
            log.warning(
                "refreshing %s for %s: rejected: %s (X-Trace-ID %s)",
                order_id,
                day,
                problem.reason,
                problem.trace_id,
            )

    def wallets(self, day: date) -> int:
        """Snapshot the wallet balances into `day`'s partition."""
        fetched_at = datetime.now(UTC)
        answer = self.client.get("wallets")
        # a bare list or under `data` (the contract); `null` or `{"data": "x"}` is no answer,
        # not "no wallets": the low-balance check would go quiet on it
        rows, _, _ = json_rows(answer)
        batch, bad = records.parse_wallets(rows, answer.trace_id, fetched_at)
        with self.lake.staging("wallets", day) as staging:
            staging.write(batch)
            return self.lake.publish(
                staging,
                "wallets",
                day,
                {
                    "dataset": "wallets",
                    "date": day.isoformat(),
                    "complete": not bad,
                    "rejected": [
                        {"key": b.key, "reason": b.reason, "trace_id": b.trace_id} for b in bad
                    ],
                    "fetched_at": iso(fetched_at),
                },
            )

    def reconciliation(self, day: date) -> reconciliation.Reconciliation:
        """Starship's own reconciliation of `day` into its partition: the drifts as rows,
        the summary and whether the endpoint answered at all in the manifest."""
        found = reconciliation.fetch(self.client, day)
        if found.status != "available":
            log.info("%s", found.line())
        for rejected in found.rejected:
            log.warning(
                "reconciliation of %s: drift %d rejected: %s (X-Trace-ID %s)",
                day,
                rejected["line"],
                rejected["reason"],
                found.trace_id,
            )
        with self.lake.staging("reconciliation", day) as staging:
            for batch in found.table().to_batches():
                staging.write(batch)
            self.lake.publish(staging, "reconciliation", day, found.manifest())
        return found


def extract(
    config: Config,
    day: date,
    *,
    client: StarshipClient | None = None,
    progress: Progress | None = None,
    open_orders: Sequence[tuple[str, bool]],
) -> ExtractResult:
    """D's partitions of the lake, with `open_orders` read again (`Extractor.run`)."""
    extractor = Extractor(config, client or StarshipClient.from_config(config), progress=progress)
    return extractor.run(day, open_orders)

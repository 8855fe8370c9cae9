"""`recon bench extract`: extraction measured on synthetic books, each run in its own process.

Figures are medians of `repeat` runs; peak RSS is the measured process's own high-water mark
(`measure.peak_rss_mb`), so the data generator and the sandbox never count against the
extractor.

    recon bench extract --orders 1000000 --page-size 100

* parse+write: JSON pages (rendered by the sandbox beforehand, read one at a time from a
  file) to a published Parquet partition, HTTP aside;
* end to end: a sandbox in another process serving the orders over loopback, extracted
  with the real client, paginator and lake.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from recon.bench.measure import child, peak_rss_mb, summary
from recon.sandbox.scenario import Order, Scenario, generate, iso

MODULE = "recon.bench.extract"  # the measured processes run this module
DAY = date(2026, 4, 14)
BASE_ORDERS = 2000  # distinct generated orders; larger books repeat them under new ids


def book(orders: int) -> Scenario:
    """A scenario whose scenario date holds `orders` orders (copies under new ids)."""
    scenario = generate(7, DAY, BASE_ORDERS)
    day = [o for o in scenario.orders if o.created_at.date() == DAY]
    copies: list[Order] = []
    for number in range(orders):
        template = day[number % len(day)]
        copies.append(
            dataclasses.replace(template, order_id=f"ord_{number:012d}", items=list(template.items))
        )
    others = [o for o in scenario.orders if o.created_at.date() != DAY]
    return dataclasses.replace(scenario, orders=others + copies)


def write_pages(orders: int, page_size: int, path: Path) -> int:
    """The orders of DAY as API pages, one JSON document a line; returns the page count."""
    from recon.sandbox.server import Sandbox

    sandbox = Sandbox(book(orders))
    try:
        day = [o for o in sandbox.state.orders if o.created_at.date() == DAY]
        pages = 0
        with path.open("wb") as out:
            for start in range(0, len(day), page_size):
                rows = [sandbox.order_json(o) for o in day[start : start + page_size]]
                meta = {"total": len(day), "per_page": page_size, "current_page": pages + 1}
                body = json.dumps({"data": rows, "meta": meta}, default=str)
                out.write(body.encode() + b"\n")
                pages += 1
        return pages
    finally:
        sandbox.stop()


# -- the measured processes --------------------------------------------------------------------


def measure_parse_write(pages_file: Path, data_dir: Path) -> dict[str, Any]:
    from recon.extract import PageConverter
    from recon.lake import Lake
    from recon.starship import records
    from recon.starship.client import Answer

    lake = Lake(data_dir)
    started = time.perf_counter()
    with (
        lake.staging("orders", DAY) as staging,
        # A megabyte at a time: with the default 8 KiB buffer, splitting 65 KB lines cost a
        # second of a million orders, which is the stand-in for HTTP, not parse+write.
        pages_file.open("rb", buffering=1 << 20) as pages,
        PageConverter(records.ORDER_SHAPE, lambda batch, *_: staging.write(batch)) as converter,
    ):
        for number, line in enumerate(pages, 1):  # as the extractor does
            converter.add(records.decode_page(Answer(line, f"trc_{number}", 200, "")), number)
        converter.flush()
        rows = lake.publish(staging, "orders", DAY, {"dataset": "orders"})
    return {"rows": rows, "seconds": time.perf_counter() - started, "peak_rss_mb": peak_rss_mb()}


def measure_end_to_end(base_url: str, page_size: int, data_dir: Path) -> dict[str, Any]:
    from recon import config
    from recon.extract import Extractor
    from recon.starship.client import StarshipClient

    settings = config.from_dict(
        {
            "starship": {"base_url": base_url, "page_size": page_size, "lookback_days": 0},
            "storage": {"data_dir": str(data_dir)},
        }
    )
    client = StarshipClient(base_url, "pk_test_sandbox", "sk_test_sandbox")
    extractor = Extractor(settings, client)
    started = time.perf_counter()
    window = extractor.window("orders", DAY)
    return {
        "rows": window.rows,
        "seconds": time.perf_counter() - started,
        "peak_rss_mb": peak_rss_mb(),
        "pages": window.pages,
        "complete": window.complete,
    }


def serve(orders: int, page_size: int, port: int) -> None:
    from recon.sandbox.server import Sandbox, SandboxOptions

    sandbox = Sandbox(book(orders), SandboxOptions(page_cap=page_size), port=port)
    print("ready", flush=True)  # noqa: T201 (the parent waits for this line)
    sandbox.serve_forever()


# -- the parent ---------------------------------------------------------------------------------


@dataclasses.dataclass
class ExtractBench:
    orders: int
    page_size: int
    parse_write: dict[str, Any]
    end_to_end: dict[str, Any] | None
    sandbox_only: dict[str, Any] | None

    def lines(self) -> list[str]:
        def row(name: str, figures: dict[str, Any]) -> str:
            return (
                f"  {name:<22} {figures['rows_per_second']:>10,} rows/s  "
                f"{figures['median_seconds']:>8.2f} s  peak RSS {figures['peak_rss_mb']:>7.1f} MB"
            )

        lines = [
            f"recon bench extract: {self.orders:,} orders, pages of {self.page_size}, "
            f"median of {self.parse_write['runs']}"
        ]
        lines.append(row("parse+write", self.parse_write))
        if self.end_to_end and self.sandbox_only:
            lines.append(row("end to end (sandbox)", self.end_to_end))
            lines.append(row("sandbox alone (GET)", self.sandbox_only))
            bound = (
                "the sandbox"
                if self.sandbox_only["rows_per_second"] < self.parse_write["rows_per_second"]
                else "the extractor"
            )
            lines.append(
                f"  bounded by {bound}: the sandbox serves "
                f"{self.sandbox_only['rows_per_second']:,} rows/s alone, parse+write "
                f"takes {self.parse_write['rows_per_second']:,}"
            )
        return lines


def bench_extract(
    orders: int, page_size: int, repeat: int = 3, end_to_end: bool = True, progress: Any = None
) -> ExtractBench:
    say = progress or (lambda _: None)
    with tempfile.TemporaryDirectory(prefix="recon-bench-") as folder:
        work = Path(folder)
        say(f"rendering {orders:,} orders as pages of {page_size}")
        write_pages(orders, page_size, work / "pages.ndjson")
        runs = []
        for number in range(repeat):
            say(f"parse+write, run {number + 1} of {repeat}")
            runs.append(
                child(
                    "parse-write",
                    str(work / "pages.ndjson"),
                    str(work / f"lake-pw-{number}"),
                    module=MODULE,
                )
            )
        parse_write = summary(runs)
        e2e = alone = None
        if end_to_end:
            e2e, alone = _bench_served(orders, page_size, repeat, work, say)
    return ExtractBench(orders, page_size, parse_write, e2e, alone)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _bench_served(
    orders: int, page_size: int, repeat: int, work: Path, say: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The extractor against a sandbox in another process, and that sandbox's own pace."""
    say(f"starting a sandbox with {orders:,} orders")
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", MODULE, "serve", str(orders), str(page_size), str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        if server.stdout.readline().strip() != "ready":
            raise RuntimeError("the benchmark's sandbox did not start")
        base = f"http://127.0.0.1:{port}/api/v1"
        e2e, alone = [], []
        for number in range(repeat):
            say(f"end to end, run {number + 1} of {repeat}")
            e2e.append(
                child(
                    "end-to-end", base, str(page_size), str(work / f"e2e-{number}"), module=MODULE
                )
            )
            alone.append(child("fetch-only", base, str(page_size), module=MODULE))
        return summary(e2e), summary(alone)
    finally:
        server.terminate()
        server.wait()


def measure_fetch_only(base_url: str, page_size: int) -> dict[str, Any]:
    """Every page fetched and dropped: what the sandbox and HTTP cost without recon's work."""
    from recon.starship.client import Answer, StarshipClient
    from recon.starship.paging import PageNumberPaginator

    client = StarshipClient(base_url, "pk_test_sandbox", "sk_test_sandbox")
    start = iso(datetime_of(DAY))
    end = iso(datetime_of(DAY + timedelta(days=1)))

    def count(answer: Answer) -> tuple[None, int, dict[str, Any]]:
        return None, answer.content.count(b'"order_id":'), {}

    started = time.perf_counter()
    rows = sum(
        page.size
        for page in PageNumberPaginator().pages(
            client, "orders", {"from": start, "to": end}, page_size, count
        )
    )
    return {"rows": rows, "seconds": time.perf_counter() - started, "peak_rss_mb": peak_rss_mb()}


def datetime_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def main(argv: list[str]) -> None:
    """The measured processes: `python -m recon.bench.extract parse-write PAGES DIR`, and so on."""
    stage, *args = argv
    if stage == "parse-write":
        result = measure_parse_write(Path(args[0]), Path(args[1]))
    elif stage == "end-to-end":
        result = measure_end_to_end(args[0], int(args[1]), Path(args[2]))
    elif stage == "fetch-only":
        result = measure_fetch_only(args[0], int(args[1]))
    elif stage == "serve":
        serve(int(args[0]), int(args[1]), int(args[2]))
        return
    else:
        raise SystemExit(f"unknown stage {stage}")
    print(json.dumps(result))  # noqa: T201 (the parent reads this line)


if __name__ == "__main__":
    main(sys.argv[1:])

"""`recon bench all`: every stage's benchmark in one run, one table and one JSON file.

    recon bench all --orders 1000000 --json bench.json

Extraction (parse+write and end to end from a sandbox), ledger ingest (a CSV export), the diff
(all checks, beside pandas and datacompy) and the report, each as its own command does it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from recon.bench.diff import DiffBench, bench_diff
from recon.bench.extract import ExtractBench, bench_extract
from recon.bench.ingest import IngestBench, bench_ingest
from recon.bench.report import ReportBench, bench_report


@dataclasses.dataclass
class AllBench:
    extract: ExtractBench
    ingest: IngestBench
    diff: DiffBench
    report: ReportBench

    def lines(self) -> list[str]:
        stages = (self.extract, self.ingest, self.diff, self.report)
        return [line for stage in stages for line in (*stage.lines(), "")][:-1]


def bench_all(
    orders: int,
    extract_orders: int,
    page_size: int,
    findings: int,
    repeat: int = 3,
    progress: Any = None,
) -> AllBench:
    return AllBench(
        extract=bench_extract(extract_orders, page_size, repeat, progress=progress),
        ingest=bench_ingest(orders, repeat, progress=progress),
        diff=bench_diff(orders, repeat, progress=progress),
        report=bench_report(findings, repeat, progress=progress),
    )

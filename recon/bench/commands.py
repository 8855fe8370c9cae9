"""`recon bench`: each stage measured on synthetic books, a command a stage."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click


@click.group()
def bench() -> None:
    """Measure recon's stages on synthetic books (figures, not pass/fail)."""


json_option = click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the figures to this JSON file.",
)

repeat_option = click.option(
    "--repeat",
    type=click.IntRange(1),
    default=3,
    show_default=True,
    help="Runs of each measurement; the figures are their median.",
)


def baseline_option(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "--baseline/--no-baseline",
        default=True,
        show_default=True,
        help=f"Also {what} (needs pip install 'recon[bench]').",
    )


@bench.command("extract")
@click.option("--orders", type=click.IntRange(1), default=100_000, show_default=True)
@click.option("--page-size", type=click.IntRange(1), default=100, show_default=True)
@repeat_option
@click.option(
    "--end-to-end/--parse-only",
    default=True,
    show_default=True,
    help="Also extract from a sandbox over loopback.",
)
@json_option
def bench_extract(
    orders: int, page_size: int, repeat: int, end_to_end: bool, json_path: Path | None
) -> None:
    """Extraction: parse+write (JSON pages to Parquet) and end to end from the sandbox."""
    from recon.bench.extract import bench_extract as run_bench

    result = run_bench(orders, page_size, repeat, end_to_end, progress=_bench_progress)
    _report_bench(result, json_path)


@bench.command("diff")
@click.option("--orders", type=click.IntRange(1), default=1_000_000, show_default=True)
@repeat_option
@baseline_option("run the same checks in pandas and the amounts in datacompy")
@click.option("--profile", is_flag=True, help="Also print recon's seconds per SQL step.")
@json_option
def bench_diff(
    orders: int, repeat: int, baseline: bool, profile: bool, json_path: Path | None
) -> None:
    """The diff: N orders against an N-row Parquet ledger, beside a one-statement DuckDB
    floor, pandas and datacompy."""
    from recon.bench.diff import bench_diff as run_bench

    result = run_bench(orders, repeat, baseline, progress=_bench_progress, profile=profile)
    _report_bench(result, json_path)


@bench.command("ingest")
@click.option("--rows", type=click.IntRange(1), default=1_000_000, show_default=True)
@click.option(
    "--format",
    "export_format",
    type=click.Choice(["csv", "xlsx"]),
    default="csv",
    show_default=True,
    help="The export's format; xlsx also reads the sheet through calamine and openpyxl.",
)
@repeat_option
@baseline_option("read a CSV with pandas, or an XLSX through both engines")
@json_option
def bench_ingest(
    rows: int, export_format: str, repeat: int, baseline: bool, json_path: Path | None
) -> None:
    """Ledger ingest: an export of N rows typed and validated, beside DuckDB and pandas."""
    from recon.bench.ingest import bench_ingest as run_bench

    result = run_bench(
        rows, repeat, baseline, progress=_bench_progress, export_format=export_format
    )
    _report_bench(result, json_path)


@bench.command("report")
@click.option("--findings", type=click.IntRange(1), default=100_000, show_default=True)
@repeat_option
@json_option
def bench_report(findings: int, repeat: int, json_path: Path | None) -> None:
    """The report: the HTML e-mail and all six files for a night with N findings."""
    from recon.bench.report import bench_report as run_bench

    result = run_bench(findings, repeat, progress=_bench_progress)
    _report_bench(result, json_path)


@bench.command("all")
@click.option(
    "--orders",
    type=click.IntRange(1),
    default=1_000_000,
    show_default=True,
    help="Orders for the diff, and rows of the ledger export for the ingest.",
)
@click.option("--extract-orders", type=click.IntRange(1), default=100_000, show_default=True)
@click.option("--page-size", type=click.IntRange(1), default=100, show_default=True)
@click.option("--findings", type=click.IntRange(1), default=100_000, show_default=True)
@repeat_option
@json_option
def bench_all(
    orders: int,
    extract_orders: int,
    page_size: int,
    findings: int,
    repeat: int,
    json_path: Path | None,
) -> None:
    """Every stage: extract, ingest, diff (beside pandas and datacompy) and report."""
    from recon.bench.all import bench_all as run_bench

    result = run_bench(
        orders, extract_orders, page_size, findings, repeat, progress=_bench_progress
    )
    _report_bench(result, json_path)


def _bench_progress(text: str) -> None:
    click.echo(f"  {text}", err=True)


def _report_bench(result: Any, json_path: Path | None) -> None:
    """Print a benchmark's table; write its figures, with the machine, as JSON if asked."""
    import dataclasses
    import json
    import platform

    for line in result.lines():
        click.echo(line)
    if json_path:
        figures = {
            **dataclasses.asdict(result),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
        }
        json_path.write_text(json.dumps(figures, indent=2) + "\n")

"""What every benchmark shares: each measured run is a process of its own (`child`), whose
figures are its wall time and its own peak RSS; the parent takes medians (`summary`).
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any


def peak_rss_mb() -> float:
    """This process's peak RSS since it started its program. Linux's `ru_maxrss` would not do:
    exec carries over the high-water mark of the process it was forked from, so a child of a
    parent that had just generated 10M rows reported the parent's size as its own."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    [kib] = [line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")]
    return int(kib) / 1024


def child(*args: str, module: str) -> dict[str, Any]:
    """Run `python -m module *args` and return the JSON figures it prints last."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args], check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = statistics.median(run["seconds"] for run in runs)
    rows = runs[0]["rows"]
    return {
        "rows": rows,
        "median_seconds": round(seconds, 3),
        "rows_per_second": round(rows / seconds) if seconds else None,
        "peak_rss_mb": round(max(run["peak_rss_mb"] for run in runs), 1),
        "runs": len(runs),
    }


def figure_row(name: str, figures: dict[str, Any], unit: str) -> str:
    """One tool's line in a benchmark's table: its median, pace and peak RSS."""
    return (
        f"  {name:<10} {figures['median_seconds']:>8.2f} s  "
        f"{figures['rows_per_second']:>12,} {unit}/s  "
        f"peak RSS {figures['peak_rss_mb']:>8.1f} MB"
    )

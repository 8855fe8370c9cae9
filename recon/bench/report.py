"""`recon bench report`: how long the report of a night with N findings takes, and its size.

    recon bench report --findings 100000

The model is the demo's night (the bundled sandbox and ledger fixture, so every field a
finding carries is real), its findings multiplied under new ids to N. Each run, in its own
process, renders the HTML e-mail (which must stay under the e-mail size limit however many
findings there are) and writes all six files of the report folder.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from recon import report
from recon.bench.measure import child, peak_rss_mb


def bulk_model(findings: int, work: Path) -> report.Report:
    """The demo's report model with its findings repeated, under new ids, up to `findings`."""
    from recon import config
    from recon.demo import run_demo
    from recon.history import history_of

    demo = run_demo(work / "demo")
    history = history_of(config.load(demo.config_file))
    model = report.build(history, demo.scenario.date)
    templates = model.findings
    bulk = []
    for n in range(findings):
        finding = dict(templates[n % len(templates)])
        finding.update(key=f"bulk_{n:07d}", break_id=f"b{n:011d}")
        if finding.get("order_id"):
            finding["order_id"] = f"ord_bulk_{n:07d}"
        bulk.append(finding)
    model.findings = bulk
    return model


def measure(findings: int) -> dict[str, Any]:
    """One run: build the model, then time the HTML alone and the whole report folder."""
    with tempfile.TemporaryDirectory(prefix="recon-bench-report-") as folder:
        work = Path(folder)
        model = bulk_model(findings, work)
        started = time.perf_counter()
        html = report.render_html(model)
        html_seconds = time.perf_counter() - started
        started = time.perf_counter()
        files = report.write(model, work / "reports")
        write_seconds = time.perf_counter() - started
        sizes = {
            path.name: path.stat().st_size for path in files.folder.iterdir() if path.is_file()
        }
    return {
        "findings": len(model.findings),
        "html_seconds": html_seconds,
        "html_bytes": len(html.encode("utf-8")),
        "write_seconds": write_seconds,
        "file_bytes": sizes,
        "peak_rss_mb": peak_rss_mb(),
    }


@dataclasses.dataclass
class ReportBench:
    findings: int
    runs: int
    html_seconds: float
    html_bytes: int
    write_seconds: float
    file_bytes: dict[str, int]
    peak_rss_mb: float

    def lines(self) -> list[str]:
        within = "within" if self.html_bytes <= report.EMAIL_BYTES else "OVER"
        return [
            f"recon bench report: {self.findings:,} findings, median of {self.runs}",
            f"  report.html alone   {self.html_seconds:>8.2f} s  {self.html_bytes:>10,} bytes "
            f"({within} the {report.EMAIL_BYTES:,}-byte e-mail limit)",
            f"  all six files       {self.write_seconds:>8.2f} s  "
            + ", ".join(f"{name} {size:,}" for name, size in sorted(self.file_bytes.items())),
            f"  peak RSS            {self.peak_rss_mb:>8.1f} MB (the model included)",
        ]


def bench_report(findings: int, repeat: int = 3, progress: Any = None) -> ReportBench:
    say = progress or (lambda _: None)
    runs = []
    for number in range(repeat):
        say(f"report of {findings:,} findings, run {number + 1} of {repeat}")
        runs.append(child(str(findings), module="recon.bench.report"))
    return ReportBench(
        findings=runs[0]["findings"],
        runs=len(runs),
        html_seconds=round(statistics.median(r["html_seconds"] for r in runs), 3),
        html_bytes=runs[0]["html_bytes"],
        write_seconds=round(statistics.median(r["write_seconds"] for r in runs), 3),
        file_bytes=runs[0]["file_bytes"],
        peak_rss_mb=round(max(r["peak_rss_mb"] for r in runs), 1),
    )


def main(argv: list[str]) -> None:
    print(json.dumps(measure(int(argv[0]))))  # noqa: T201 (the parent reads this line)


if __name__ == "__main__":
    main(sys.argv[1:])

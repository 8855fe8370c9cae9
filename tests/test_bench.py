"""The benchmarks run small: their figures are printed, never asserted; what is asserted is that
they measure what they claim (every planted kind present, recon and the baseline agreeing)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from recon.bench.diff import COMPARED, DATACOMPY_COMPARED, SALE_AMOUNTS, bench_diff
from recon.cli import cli
from recon.report import EMAIL_BYTES


def test_bench_diff_plants_every_compared_kind_and_the_baselines_agree() -> None:
    result = bench_diff(5_000, repeat=1, profile=True)
    assert all(result.recon["counts"][check] > 0 for check in COMPARED), result.recon["counts"]
    assert result.agree, (result.recon["counts"], result.duckdb, result.pandas, result.datacompy)
    assert result.duckdb is not None
    assert result.duckdb["counts"] == {check: result.recon["counts"][check] for check in COMPARED}
    # the books are real books: reversals (one of a partial delivery misbooked) beside the sales
    assert result.recon["counts"]["amount_mismatch"] > result.recon["counts"][SALE_AMOUNTS] > 0
    # the profile names every SQL step the diff ran, and they add up to its time
    assert result.profile is not None
    assert {
        "setup/match.sql: pairs",
        "checks/balance_gap.sql",
        "ledger stream (read, keep)",
    } <= set(result.profile)
    assert abs(sum(result.profile.values()) - result.recon["median_seconds"]) < 0.01
    assert result.datacompy is not None
    assert set(result.datacompy["counts"]) == set(DATACOMPY_COMPARED)
    assert result.recon["rows"] == 5_000


def test_bench_ingest_reads_every_row_of_the_export(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    result = CliRunner().invoke(
        cli, ["bench", "ingest", "--rows", "3000", "--repeat", "1", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text())
    # the export is well formed: every row usable, and each reader saw all of them
    assert figures["recon"]["quarantined"] == 0
    assert figures["recon"]["rows"] == figures["duckdb"]["rows"] == figures["pandas"]["rows"]
    assert figures["recon"]["rows"] >= 3000
    assert "read_csv with types" in result.output


def test_bench_ingest_reads_an_xlsx_export_through_both_engines(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    args = ["bench", "ingest", "--format", "xlsx", "--rows", "2000", "--repeat", "1"]
    result = CliRunner().invoke(cli, [*args, "--json", str(out)])
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text())
    assert figures["export_format"] == "xlsx"
    # number cells and date cells, every row usable, and each engine saw all of them
    assert figures["recon"]["quarantined"] == 0
    assert figures["recon"]["rows"] == figures["calamine"]["rows"] == figures["openpyxl"]["rows"]
    assert figures["recon"]["rows"] >= 2000
    assert figures["duckdb"] is None and figures["pandas"] is None
    assert "an XLSX ledger export" in result.output
    assert "openpyxl takes" in result.output


def test_bench_all_measures_every_stage(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    result = CliRunner().invoke(
        cli,
        [
            "bench",
            "all",
            "--orders",
            "2000",
            "--extract-orders",
            "200",
            "--findings",
            "200",
            "--repeat",
            "1",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text())
    assert set(figures) == {"extract", "ingest", "diff", "report", "machine"}
    assert figures["extract"]["end_to_end"]["rows"] == 200
    assert figures["diff"]["recon"]["rows"] == 2000
    assert figures["report"]["findings"] == 200
    assert "FINDINGS DIFFER" not in result.output


def test_bench_extract_writes_its_figures(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    result = CliRunner().invoke(
        cli,
        [
            "bench",
            "extract",
            "--orders",
            "300",
            "--page-size",
            "100",
            "--repeat",
            "1",
            "--parse-only",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text())
    assert figures["parse_write"]["rows"] == 300
    assert figures["machine"]["cpus"]


def test_bench_report_measures_a_report_of_the_asked_size(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    result = CliRunner().invoke(
        cli, ["bench", "report", "--findings", "500", "--repeat", "1", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text())
    assert figures["findings"] == 500
    assert 0 < figures["html_bytes"] <= EMAIL_BYTES
    assert set(figures["file_bytes"]) == {
        "report.html",
        "report.txt",
        "discrepancies.csv",
        "discrepancies.xlsx",
        "summary.json",
        "quarantine.csv",
    }
    assert figures["file_bytes"]["discrepancies.csv"] > 500 * 50  # a row per finding
    assert "report.html alone" in result.output

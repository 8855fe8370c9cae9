"""recon from a notebook (`recon.open`) and `recon explain`, on the demo's data.

The demo extracts the scenario's week and diffs D; the module diffs D-1 and then D again, so
the history holds two nights and the stuck orders of D-1 are persisting breaks on D.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import recon
from recon import config, pipeline
from recon.cli import cli
from recon.demo import run_demo
from recon.errors import InputError, ReconError
from recon.report import CSV_COLUMNS
from recon.workbench import Workbench
from tests.helpers import hold_lock

D = date(2026, 4, 14)
D_1 = date(2026, 4, 13)
MONEY = pd.ArrowDtype(pa.decimal128(18, 4))
UTC_TIME = pd.ArrowDtype(pa.timestamp("us", tz="UTC"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo folder, with D-1 and D diffed (in that order): its recon.toml."""
    folder = tmp_path_factory.mktemp("workbench") / "demo"
    result = run_demo(folder)
    settings = config.load(result.config_file)
    pipeline.diff(settings, D_1)
    pipeline.diff(settings, D)
    pipeline.report(settings, D)
    return result.config_file


@pytest.fixture
def bench(demo: Path) -> Workbench:
    return recon.open(demo)


@pytest.fixture
def scratch(demo: Path, tmp_path: Path) -> Iterator[Workbench]:
    """A copy of the demo folder, for tests that write (acks) or take parts away."""
    copy = tmp_path / "demo"
    shutil.copytree(demo.parent, copy)
    yield recon.open(copy / demo.name)


def answer_key(demo: Path) -> list[dict[str, str]]:
    return json.loads((demo.parent / "answer-key-2026-04-14.json").read_text())["findings"]


# -- findings -------------------------------------------------------------------------------


def test_findings_have_the_csv_columns_in_order_typed(bench: Workbench) -> None:
    frame = bench.findings("2026-04-14")
    assert list(frame.columns[: len(CSV_COLUMNS)]) == list(CSV_COLUMNS)
    for column in ("starship_amount", "ledger_amount", "delta"):
        assert frame[column].dtype == MONEY, column
    assert frame["created_at"].dtype == UTC_TIME
    assert frame["first_seen"].dtype == pd.ArrowDtype(pa.date32())
    assert frame["line"].dtype == pd.ArrowDtype(pa.int64())
    assert not any(str(t).startswith(("float", "object")) for t in frame.dtypes.drop("age_hours"))


def test_findings_are_the_answer_keys_with_exact_amounts(demo: Path, bench: Workbench) -> None:
    frame = bench.findings(D)
    key = answer_key(demo)
    assert len(frame) == len(key)
    drift = frame[frame["order_id"] == "ord_4b39482d055269d9"].iloc[0]
    assert drift["check"] == "amount_mismatch"
    assert drift["starship_amount"] == Decimal("24.13")
    assert drift["ledger_amount"] == Decimal("24.18")
    assert drift["delta"] == Decimal("0.05")
    assert isinstance(drift["delta"], Decimal)
    assert drift["created_at"].tzname() == "UTC"
    money = ("starship_amount", "ledger_amount", "delta")
    for planted in key:
        same = frame[frame["check"] == planted["check"]]
        for name in ("order_id", "transaction_id", "ledger_entry_id"):
            if planted.get(name):
                same = same[same[name] == planted[name]]
        assert len(same) >= 1, planted
        amounts = {c: Decimal(planted[c]) for c in money if planted.get(c)}
        assert any(all(row[c] == v for c, v in amounts.items()) for _, row in same.iterrows()), (
            planted
        )


def test_findings_agree_with_the_written_csv_cell_for_cell(demo: Path, bench: Workbench) -> None:
    from recon.money import amount_text

    with (demo.parent / "reports" / D.isoformat() / "discrepancies.csv").open() as handle:
        written = list(csv.DictReader(handle))
    frame = bench.findings(D)
    assert len(frame) == len(written)
    for row, cells in zip(frame.to_dict("records"), written, strict=True):
        assert row["break_id"] == cells["break_id"]
        for column in ("starship_amount", "ledger_amount", "delta"):
            value = row[column]
            assert (amount_text(value, row["currency"]) if pd.notna(value) else "") == cells[column]
        assert row["state"] == cells["state"]


def test_money_sums_stay_exact_decimals(bench: Workbench) -> None:
    at_risk = bench.findings(D).groupby("currency")["at_risk"].sum()
    assert at_risk.dtype == MONEY
    # the report's money at risk, as the README's example shows it
    assert at_risk.to_dict() == {
        "EUR": Decimal("35.19"),
        "JPY": Decimal("5850"),
        "KWD": Decimal("29.477"),
        "USD": Decimal("6184.82"),
    }


def test_summary_runs_and_trend_are_typed(bench: Workbench) -> None:
    summary = bench.summary(D)
    assert summary["started_at"].tzname() == "UTC"
    totals = summary["totals"].set_index("currency")
    assert totals["starship_total"].dtype == MONEY
    assert isinstance(totals.loc["USD", "starship_total"], Decimal)
    runs = bench.runs()  # the demo records no `recon run`: no rows, but its columns
    assert runs.empty and {"run_date", "status", "exit_code", "error"} <= set(runs.columns)
    trend = bench.trend()
    assert trend["infos"].iloc[-1] == (bench.findings(D)["severity"] == "info").sum() > 0
    with pytest.raises(InputError, match="at least one night"):
        bench.trend(nights=0)


def test_a_night_never_diffed_is_a_clear_error(bench: Workbench) -> None:
    with pytest.raises(InputError, match="no diff recorded for 2026-04-01"):
        bench.findings("2026-04-01")
    with pytest.raises(InputError, match="not a date"):
        bench.findings("14/04/2026")


# -- across nights ----------------------------------------------------------------------------


def test_breaks_across_nights_with_first_seen_nights_and_age(bench: Workbench) -> None:
    frame = bench.breaks()
    stuck = frame[frame["check"] == "stuck_pending"]
    persisting = stuck[stuck["first_seen"] == D_1]
    assert len(persisting) == 3
    assert set(persisting["nights"]) == {2}
    assert set(persisting["last_seen"]) == {D}
    assert (persisting["age_hours"] > 24).all()
    assert frame["state"].isin(["open", "expected"]).all()
    assert bench.breaks("resolved").empty
    assert len(bench.breaks("all")) == len(frame)
    with pytest.raises(InputError, match="one of open"):
        bench.breaks("closed")


def test_ack_snooze_and_reopen_show_in_breaks(scratch: Workbench) -> None:
    target = scratch.breaks()
    break_id = target[target["check"] == "amount_mismatch"]["break_id"].iloc[0]
    assert scratch.ack(break_id[:8], note="Starship credit note CN-1") == break_id
    acked = scratch.breaks("acknowledged")
    assert list(acked["break_id"]) == [break_id]
    assert acked["note"].iloc[0] == "Starship credit note CN-1"
    assert break_id not in set(scratch.breaks("unexplained")["break_id"])
    scratch.snooze(break_id, until="9999-01-01", note="until the credit note")
    assert list(scratch.breaks("snoozed")["break_id"]) == [break_id]
    scratch.reopen(break_id)
    assert break_id in set(scratch.breaks("unexplained")["break_id"])
    with pytest.raises(InputError, match="needs a note"):
        scratch.ack(break_id, note=" ")


def test_ack_takes_the_lock_like_the_cli(scratch: Workbench) -> None:
    holder = hold_lock(scratch.config.storage.data_dir, 30)
    try:
        with pytest.raises(ReconError, match="is running with this data directory"):
            scratch.ack(scratch.breaks()["break_id"].iloc[0], note="explained")
        assert len(scratch.breaks()) > 0  # reading takes no lock
    finally:
        holder.kill()
        holder.wait()


def test_reading_never_writes_the_history(scratch: Workbench) -> None:
    path = scratch.history.path
    before = path.stat().st_mtime_ns, path.read_bytes()
    scratch.findings(D), scratch.breaks(), scratch.trend(), scratch.explain("LE-4021")
    assert (path.stat().st_mtime_ns, path.read_bytes()) == before
    path.unlink()
    with pytest.raises(InputError, match="no break history yet"):
        scratch.breaks()
    assert not path.exists()


def test_a_history_being_written_is_a_one_line_error(scratch: Workbench) -> None:
    """Another process holding recon.duckdb open to write, as a night's diff does."""
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
            "print('open', flush=True); time.sleep(60)",
            str(scratch.history.path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "open"
        for read in (scratch.breaks, lambda: scratch.explain("LE-4021")):
            with pytest.raises(ReconError, match="a nightly run may be writing it"):
                read()
    finally:
        writer.kill()
        writer.wait()


def test_a_history_of_an_older_recon_is_refused_until_migrated(scratch: Workbench) -> None:
    import duckdb

    with duckdb.connect(str(scratch.history.path)) as con:
        # as an older recon left it: without the column, and without this schema's version
        con.execute("ALTER TABLE findings DROP COLUMN ledger_source")
        con.execute("DROP TABLE schema_version")
    for read in (lambda: scratch.findings(D), lambda: scratch.explain("LE-4021")):
        with pytest.raises(InputError, match=r"older recon \(no findings.ledger_source\)"):
            read()
    config.load(scratch.config.source)  # a writer migrates it, and reading works again
    pipeline.diff(scratch.config, D)
    assert len(scratch.findings(D)) == 23


def test_trend_counts_and_net_drift_per_night(bench: Workbench) -> None:
    trend = bench.trend(nights=30)
    assert list(trend["run_date"]) == [D_1, D]
    for night in (D_1, D):
        findings = bench.findings(night)
        row = trend[trend["run_date"] == night].iloc[0]
        assert row["errors"] == (findings["severity"] == "error").sum()
        assert row["warnings"] == (findings["severity"] == "warning").sum()
        unexplained = ~findings["state"].isin(["expected", "acknowledged", "snoozed"])
        for severity in ("error", "warning"):
            counted = (unexplained & (findings["severity"] == severity)).sum()
            assert row[f"unexplained_{severity}s"] == counted, (night, severity)
    usd = bench.findings(D)
    usd = usd[(usd["currency"] == "USD") & usd["drift"].notna()]
    assert trend["net_drift_USD"].dtype == MONEY
    assert trend["net_drift_USD"].iloc[-1] == sum(usd["drift"], Decimal(0))
    assert list(bench.trend(nights=1)["run_date"]) == [D]


# -- the inputs -------------------------------------------------------------------------------


def test_orders_and_transactions_as_extracted(demo: Path, bench: Workbench) -> None:
    lake = demo.parent / "var" / "lake"
    orders = bench.orders(D)
    assert (
        len(orders)
        == pq.read_metadata(lake / "orders" / "date=2026-04-14" / "part.parquet").num_rows
    )
    assert orders["total_amount"].dtype == MONEY
    assert orders["created_at"].dtype == UTC_TIME
    assert (orders["created_at"].dt.date == D).all()
    assert "voucher" not in " ".join(orders.columns).lower()
    transactions = bench.transactions(D)
    assert len(transactions) == 29
    assert transactions["amount"].dtype == MONEY
    assert set(bench.wallets(D)["currency"]) == {"EUR", "JPY", "KWD", "USD"}
    with pytest.raises(InputError, match="no orders extracted for 2026-03-01"):
        bench.orders("2026-03-01")


def test_ledger_is_typed_with_file_and_line(demo: Path, bench: Workbench) -> None:
    frame = bench.ledger(D)
    assert len(frame) == 29 - 5  # the export's rows less the quarantined
    assert list(frame["line"]) == sorted(frame["line"])
    assert frame["amount"].dtype == MONEY
    assert frame["booked_at"].dtype == UTC_TIME
    row = frame[frame["entry_id"] == "LE-4015"].iloc[0]
    assert row["amount"] == Decimal("24.18")
    assert Path(row["source"]).name == "ledger-2026-04-14.csv"
    assert len(bench.quarantine(D)) == 5
    assert set(bench.quarantine(D).columns) == {"source", "line", "entry_id", "reason", "raw"}


def test_ledger_of_a_night_not_kept_is_read_from_the_export(scratch: Workbench) -> None:
    kept = scratch.ledger(D_1)
    part = scratch.lake.part("ledger", D_1)
    part.unlink()
    fresh = scratch.ledger(D_1)
    pd.testing.assert_frame_equal(fresh.drop(columns="source"), kept.drop(columns="source"))
    export = Path(scratch.config.ledger.path.replace("{date}", D_1.isoformat()))
    assert set(fresh["source"]) == {str(export)}
    assert not part.exists()  # reading never writes the lake


# -- explain ----------------------------------------------------------------------------------


def stuck_break(bench: Workbench) -> pd.Series:
    breaks = bench.breaks()
    return breaks[(breaks["check"] == "stuck_pending") & (breaks["nights"] == 2)].iloc[0]


def test_explain_an_order_with_two_nights_of_history(demo: Path, scratch: Workbench) -> None:
    stuck = stuck_break(scratch)
    scratch.ack(stuck["break_id"], note="vendor backlog, ticket 123")
    story = scratch.explain(stuck["order_id"])
    assert story.kind == "order"
    assert list(story.findings["run_date"]) == [D_1, D]
    assert set(story.findings["starship_status"]) == {"PENDING"}
    assert list(story.breaks["state"]) == ["acknowledged"]
    assert story.actions["note"].tolist() == ["vendor backlog, ticket 123"]
    [sighting] = story.orders.to_dict("records")
    lake = pq.read_table(
        demo.parent / "var" / "lake" / "orders" / f"date={sighting['date']}" / "part.parquet"
    ).to_pylist()
    [extracted] = [o for o in lake if o["order_id"] == stuck["order_id"]]
    assert sighting["trace_id"] == extracted["trace_id"]
    assert sighting["trace_id"].startswith("trc_")
    assert pd.notna(sighting["extracted_at"])
    assert set(story.transactions["order_id"]) == {stuck["order_id"]}
    [booked] = story.ledger.to_dict("records")
    assert booked["order_id"] == stuck["order_id"]
    assert booked["export_date"] == sighting["date"]
    text = "\n".join(story.lines())
    assert (
        f"ledger-{booked['export_date']} line {booked['line']}".replace(" line", ".csv line")
        in text
    )
    assert "vendor backlog, ticket 123" in text and sighting["trace_id"] in text


def test_explain_by_entry_reference_and_break_prefix_reach_the_same_booking(
    bench: Workbench,
) -> None:
    by_entry = bench.explain("LE-4021")  # booked twice: the duplicate_ledger_entry
    assert by_entry.kind == "ledger entry"
    assert set(by_entry.ledger["entry_id"]) == {"LE-4018", "LE-4021"}
    assert "duplicate_ledger_entry" in set(by_entry.findings["check"])
    order_id = by_entry.orders["order_id"].iloc[0]
    reference = by_entry.orders["client_reference"].iloc[0]
    by_reference = bench.explain(reference)
    assert by_reference.kind == "reference"
    assert set(by_reference.orders["order_id"]) == {order_id}
    break_id = by_entry.findings["break_id"].iloc[0]
    by_break = bench.explain(break_id[:7])
    assert by_break.kind == "break"
    assert set(by_break.ledger["entry_id"]) == {"LE-4018", "LE-4021"}


def test_explain_a_transaction_without_an_order_and_a_quarantined_row(bench: Workbench) -> None:
    findings = bench.findings(D)
    fx = findings[(findings["check"] == "unknown_status") & findings["transaction_id"].notna()]
    transaction_id = fx["transaction_id"].iloc[0]
    story = bench.explain(transaction_id)
    assert story.kind == "transaction"
    assert list(story.transactions["transaction_id"]) == [transaction_id]
    assert list(story.findings["break_id"]) == [fx["break_id"].iloc[0]]
    quarantined = bench.quarantine(D)
    entry = quarantined[quarantined["entry_id"] != ""]["entry_id"].iloc[0]
    story = bench.explain(entry)
    assert story.kind == "ledger entry"
    assert list(story.quarantine["entry_id"]) == [entry]
    assert (
        story.quarantine["reason"].iloc[0] == quarantined.set_index("entry_id").loc[entry, "reason"]
    )
    with pytest.raises(InputError, match="needs at least 6 of its 12 characters"):
        bench.explain(story.findings["break_id"].iloc[0][:4] if len(story.findings) else "4992")


def test_explain_of_a_duplicate_order_shows_both_orders(bench: Workbench) -> None:
    findings = bench.findings(D)
    duplicate = findings[findings["check"] == "duplicate_order"].iloc[0]
    story = bench.explain(duplicate["reference"])
    assert len(set(story.orders["order_id"])) == 2


def test_explain_on_the_command_line(demo: Path) -> None:
    runner = CliRunner()
    shown = runner.invoke(cli, ["explain", "LE-4021", "--config", str(demo)])
    assert shown.exit_code == 0, shown.output
    assert "Ledger rows that booked it (2)" in shown.output
    as_json = runner.invoke(cli, ["explain", "LE-4021", "--json", "--config", str(demo)])
    assert as_json.exit_code == 0
    document = json.loads(as_json.output)
    assert document["kind"] == "ledger entry"
    amounts = {row["entry_id"]: row["amount"] for row in document["ledger"]}
    assert amounts == {"LE-4018": "14.738", "LE-4021": "14.738"}  # KWD's three decimals, exact
    unknown = runner.invoke(cli, ["explain", "ord_never_seen", "--config", str(demo)])
    assert unknown.exit_code == 2
    assert "'ord_never_seen': recon has never seen it" in unknown.output
    assert "Traceback" not in unknown.output

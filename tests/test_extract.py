"""Extraction into the lake, against the sandbox over HTTP with each fault turned on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from recon import config
from recon.bench.extract import book
from recon.cli import cli
from recon.extract import CONVERT_ROWS, Extractor, PageConverter, extract
from recon.lake import Lake
from recon.sandbox.faults import Faults
from recon.sandbox.scenario import iso
from recon.sandbox.server import Sandbox, encode_json
from recon.starship import records
from recon.starship.client import Answer, StarshipClient
from recon.starship.errors import ServerError
from tests.conftest import MakeSandbox

D = date(2026, 4, 14)
CREDENTIALS = {"STARSHIP_API_KEY": "pk_test_sandbox", "STARSHIP_API_SECRET": "sk_test_sandbox"}


def settings(sandbox: Sandbox, data_dir: Path, **starship: object) -> config.Config:
    return config.from_dict(
        {
            "starship": {
                "base_url": sandbox.base_url,
                "page_size": 5,
                "lookback_days": 1,
                **starship,
            },
            "storage": {"data_dir": str(data_dir)},
        }
    )


def run(sandbox: Sandbox, data_dir: Path, day: date = D, **starship: object):
    chosen = settings(sandbox, data_dir, **starship)
    client = StarshipClient.from_config(chosen, CREDENTIALS, sleep=lambda _: None)
    return extract(chosen, day, client=client, open_orders=())


def served_orders(sandbox: Sandbox, day: date) -> dict[str, Decimal]:
    """What the sandbox holds for `day`, read from its state after the run (drift included)."""
    return {o.order_id: o.total_amount for o in sandbox.state.orders if o.created_at.date() == day}


def lake_orders(data_dir: Path, day: date) -> list[dict]:
    return Lake(data_dir / "lake").read("orders", day).to_pylist()


def assert_exactly_once(sandbox: Sandbox, data_dir: Path, day: date = D) -> None:
    rows = lake_orders(data_dir, day)
    ids = [row["order_id"] for row in rows]
    assert len(ids) == len(set(ids)), "a row was written twice"
    assert {row["order_id"]: row["total_amount"] for row in rows} == served_orders(sandbox, day)


def test_a_clean_extraction_is_exact_and_complete(sandbox: Sandbox, tmp_path: Path) -> None:
    result = run(sandbox, tmp_path)
    assert result.complete
    assert_exactly_once(sandbox, tmp_path)
    assert_exactly_once(sandbox, tmp_path, D - timedelta(days=1))
    lake = Lake(tmp_path / "lake")
    txns = lake.read("transactions", D).to_pylist()
    expected = {
        t.transaction_id: (t.amount, t.balance_after)
        for t in sandbox.scenario.transactions
        if t.created_at.date() == D
    }
    assert {t["transaction_id"]: (t["amount"], t["balance_after"]) for t in txns} == expected
    wallets = {w["currency"]: w["balance"] for w in lake.read("wallets", D).to_pylist()}
    assert wallets == sandbox.scenario.wallets
    manifest = lake.manifest("orders", D)
    assert manifest["rows"] == len(served_orders(sandbox, D))
    assert manifest["complete"] and manifest["schema_version"] == 1
    assert manifest["window"] == {"from": "2026-04-14T00:00:00Z", "to": "2026-04-15T00:00:00Z"}
    assert manifest["pages"] >= 5 and manifest["retries"] == 0


def test_rows_carry_the_trace_id_of_their_page(sandbox: Sandbox, tmp_path: Path) -> None:
    run(sandbox, tmp_path)
    traces = Counter(row["trace_id"] for row in lake_orders(tmp_path, D))
    assert all(trace.startswith("trc_") for trace in traces)
    assert max(traces.values()) <= 5 and len(traces) >= 5  # one trace id a page of 5


def test_no_voucher_code_pin_or_link_reaches_the_lake(sandbox: Sandbox, tmp_path: Path) -> None:
    run(sandbox, tmp_path)
    secrets = {
        value
        for order in sandbox.scenario.orders
        for item in order.items
        for value in (item.voucher_code, item.pin)
        if value
    }
    assert secrets
    for path in (tmp_path / "lake").rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert b"claim.sandbox.invalid" not in content
            leaked = [s for s in secrets if len(s) > 4 and s.encode() in content]
            assert not leaked, f"{path} holds voucher codes"


def test_page_drift_loses_and_duplicates_nothing(make_sandbox: MakeSandbox, tmp_path: Path) -> None:
    sandbox = make_sandbox(faults=Faults(page_drift=3))
    result = run(sandbox, tmp_path, lookback_days=0)
    assert sandbox.stats["drift_inserted"] == 3
    assert_exactly_once(sandbox, tmp_path)
    window = next(w for w in result.windows if w.dataset == "orders")
    assert window.passes > 1 and window.complete
    manifest = Lake(tmp_path / "lake").manifest("orders", D)
    assert manifest["passes"] == window.passes
    first, last = manifest["totals_seen"][0]
    assert first < last  # the drift, recorded


def test_totals_that_never_tie_are_published_as_incomplete(
    make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    sandbox = make_sandbox(faults=Faults(page_drift=50))
    result = run(sandbox, tmp_path, lookback_days=0, max_repages=1)
    window = next(w for w in result.windows if w.dataset == "orders")
    assert (window.passes, window.complete) == (2, False)
    assert not Lake(tmp_path / "lake").manifest("orders", D)["complete"]
    assert any("incomplete" in line for line in result.summary())


@pytest.mark.parametrize(
    "faults",
    [
        Faults(throttle_rate=0.4, seed=1),
        Faults(error_rate=0.3, seed=2),
        Faults(numeric_amounts=True),
        Faults(extra_fields=True, new_enum_values=True, field_aliases=True),
    ],
    ids=["429-storm", "5xx-html", "numeric-amounts", "additive-changes"],
)
def test_every_row_exactly_once_under_faults(
    make_sandbox: MakeSandbox, tmp_path: Path, faults: Faults
) -> None:
    sandbox = make_sandbox(faults=faults)
    result = run(sandbox, tmp_path, max_attempts=20)
    assert result.complete
    assert_exactly_once(sandbox, tmp_path)
    if faults.throttle_rate or faults.error_rate:
        assert result.retries > 0


def test_a_window_of_many_batches_is_exact_and_keeps_each_pages_trace_id(
    make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    """More rows than one batch converts: the worker converts one batch while the next pages
    are fetched, and the lake still holds every row once, each with its own page's trace id."""
    sandbox = make_sandbox(scenario=book(3 * CONVERT_ROWS), page_cap=1000)
    result = run(sandbox, tmp_path, lookback_days=0, page_size=1000)
    assert result.complete and result.windows[0].pages == 25  # the last one of 576 rows
    assert_exactly_once(sandbox, tmp_path)
    traces = Counter(row["trace_id"] for row in lake_orders(tmp_path, D))
    assert len(traces) == 25 and max(traces.values()) == 1000


def page_of_orders(number: int, count: int = 3) -> records.RawPage:
    rows = [
        {
            "order_id": f"p{number}-{n}",
            "status": "DELIVERED",
            "total_amount": "10.00",
            "currency": "USD",
            "created_at": "2026-04-14T00:00:00Z",
        }
        for n in range(count)
    ]
    if number == 17:
        rows[1]["total_amount"] = "10.001"  # finer than USD allows: rejected, alone
    text = encode_json({"data": rows, "meta": {"current_page": number}}, numeric_amounts=False)
    return records.decode_page(Answer(text, f"trc_{number}", 200, ""))


def test_converted_batches_come_back_in_page_order_two_at_most_held() -> None:
    handed: list[tuple[list[str], list[tuple[str | None, int]]]] = []

    def converted(
        batch: pa.RecordBatch, rejected: list[records.Rejected], page_of: dict[str | None, int]
    ) -> None:
        handed.append(
            (batch.column("order_id").to_pylist(), [(r.key, page_of[r.trace_id]) for r in rejected])
        )

    with PageConverter(records.ORDER_SHAPE, converted, batch_rows=10) as converter:
        for number in range(1, 31):
            converter.add(page_of_orders(number), number)
            assert converter.rows <= 2 * 12  # a batch gathered, one converting: 12 rows each
        converter.flush()
    assert converter.rows == 0
    assert len(handed) == 8  # 90 rows, 12 a batch
    expected = [f"p{page}-{n}" for page in range(1, 31) for n in range(3)]
    assert [key for keys, _ in handed for key in keys] == [k for k in expected if k != "p17-1"]
    assert [bad for _, rejected in handed for bad in rejected] == [("p17-1", 17)]


def test_a_page_that_fails_in_the_worker_fails_the_window_naming_its_request() -> None:
    """Invalid UTF-8 in a record: the paging read skips the field, the records' read
    refuses it, and the row-by-row reading finds the answer is not JSON after all."""
    body = b'{"data": [{"order_id": "\xff", "status": "DELIVERED"}]}'
    page = records.decode_page(
        Answer(body, "trc_bad", 200, "https://starship.invalid/api/v1/orders?page=3")
    )
    assert page.size == 1
    with (
        pytest.raises(ServerError, match="not JSON") as caught,
        PageConverter(records.ORDER_SHAPE, lambda *_: None) as converter,
    ):
        converter.add(page, 3)
        converter.flush()
    assert str(caught.value) == (
        "GET https://starship.invalid/api/v1/orders?page=3: the answer is not JSON "
        "(X-Trace-ID trc_bad)"
    )


@pytest.mark.parametrize(
    ("options", "starship"),
    [
        ({"meta_style": "camel"}, {}),
        ({"page_cap": 3}, {"page_size": 50}),
        ({"next_links": False}, {}),
        ({"paging": "cursor"}, {"paginator": "cursor"}),
        ({"paging": "cursor", "meta_style": "camel"}, {"paginator": "cursor"}),
    ],
    ids=["camel-meta", "page-cap-below-limit", "no-next-links", "cursor", "cursor-camel"],
)
def test_paging_dialects(
    make_sandbox: MakeSandbox, tmp_path: Path, options: dict, starship: dict
) -> None:
    sandbox = make_sandbox(**options)
    result = run(sandbox, tmp_path, **starship)
    assert result.complete
    assert_exactly_once(sandbox, tmp_path)


def test_a_timeout_past_the_budget_fails_naming_the_request(
    make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    sandbox = make_sandbox(faults=Faults(slow_rate=1.0, slow_seconds=1.0))
    from recon.starship.errors import UnreachableError

    with pytest.raises(UnreachableError, match=r"GET .*/orders\?.*no answer within"):
        run(sandbox, tmp_path, read_timeout_seconds=0.2, max_attempts=2)
    assert not (tmp_path / "lake" / "orders" / "date=2026-04-13" / "part.parquet").exists()
    assert not list((tmp_path / "lake" / ".staging").glob("*"))  # nothing half-written left


def test_rerunning_a_date_changes_nothing_but_the_file(sandbox: Sandbox, tmp_path: Path) -> None:
    run(sandbox, tmp_path)
    lake = Lake(tmp_path / "lake")
    first = {ds: lake.read(ds, D).num_rows for ds in ("orders", "transactions", "wallets")}
    run(sandbox, tmp_path)
    second = {ds: lake.read(ds, D).num_rows for ds in ("orders", "transactions", "wallets")}
    assert first == second
    assert sorted(p.name for p in (tmp_path / "lake" / "orders" / "date=2026-04-14").iterdir()) == [
        "_manifest.json",
        "part.parquet",
    ]


def test_lookback_refreshes_a_late_cancellation(sandbox: Sandbox, tmp_path: Path) -> None:
    earlier = D - timedelta(days=2)
    order = next(
        o
        for o in sandbox.state.orders
        if o.created_at.date() == earlier and o.status == "DELIVERED"
    )
    run(sandbox, tmp_path, earlier, lookback_days=0)
    before = {r["order_id"]: r["status"] for r in lake_orders(tmp_path, earlier)}
    assert before[order.order_id] == "DELIVERED"
    with sandbox.state.lock:  # Starship cancels it today, after the delivery
        order.status, order.sub_status = "CANCELLED", "REFUNDED"
    run(sandbox, tmp_path, D, lookback_days=2)
    after = {r["order_id"]: (r["status"], r["sub_status"]) for r in lake_orders(tmp_path, earlier)}
    assert after[order.order_id] == ("CANCELLED", "REFUNDED")
    assert len(after) == len(before)


def test_a_killed_extraction_leaves_the_previous_partition_readable(
    make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    sandbox = make_sandbox()
    run(sandbox, tmp_path, lookback_days=0)
    part = tmp_path / "lake" / "orders" / "date=2026-04-14" / "part.parquet"
    before = part.read_bytes()
    sandbox.faults.latency_ms = 150  # slow pages, so the process is killed mid-window
    (tmp_path / "recon.toml").write_text(
        f'[starship]\nbase_url = "{sandbox.base_url}"\npage_size = 2\nlookback_days = 0\n'
        f'[storage]\ndata_dir = "{tmp_path}"\n'
    )
    env = {
        **os.environ,
        "STARSHIP_API_KEY": "pk_test_sandbox",
        "STARSHIP_API_SECRET": "sk_test_sandbox",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "recon",
            "extract",
            "--date",
            "2026-04-14",
            "--config",
            str(tmp_path / "recon.toml"),
        ],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    staging = tmp_path / "lake" / ".staging"
    deadline = time.monotonic() + 20
    while not any(p.stat().st_size for p in staging.glob("orders-*.parquet")):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    time.sleep(0.3)  # a few pages into the window
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert part.read_bytes() == before
    assert pq.read_table(part).num_rows == len(served_orders(sandbox, D))
    visible = sorted(p.name for p in part.parent.iterdir() if not p.name.startswith("."))
    assert visible == ["_manifest.json", "part.parquet"]
    # The next run cleans up after the killed one and publishes normally.
    sandbox.faults.latency_ms = 0
    run(sandbox, tmp_path, lookback_days=0)
    assert not list(staging.glob("orders-2026-04-14-*"))
    assert_exactly_once(sandbox, tmp_path)


def staged_order(order_id: str, created: str, updated: str | None, trace: str) -> pa.RecordBatch:
    row = {
        "order_id": order_id,
        "status": "DELIVERED",
        "total_amount": "1.00",
        "currency": "USD",
        "created_at": f"2026-04-14T{created}:00Z",
        "updated_at": updated and f"2026-04-14T{updated}:00Z",
    }
    batch, rejected = records.parse_orders([row], trace)
    assert not rejected
    return batch


def published(lake: Lake, staged: list[pa.RecordBatch]) -> list[tuple[str, str]]:
    with lake.staging("orders", D) as staging:
        for batch in staged:
            staging.write(batch)
        lake.publish(staging, "orders", D, {"dataset": "orders"})
    return [(row["order_id"], row["trace_id"]) for row in lake.read("orders", D).to_pylist()]


def test_publishing_keeps_the_latest_row_of_a_key_staged_twice(tmp_path: Path) -> None:
    staged = [
        staged_order("b", "02:00", "05:00", "first"),
        staged_order("a", "01:00", None, "first"),
        staged_order("c", "03:00", "04:00", "first"),
        staged_order("b", "02:00", "04:00", "second"),  # older than the first: the first stays
        staged_order("a", "01:00", "03:00", "second"),  # a time beats none
        staged_order("c", "03:00", "04:00", "second"),  # a tie: the one fetched later wins
    ]
    assert published(Lake(tmp_path), staged) == [("a", "second"), ("b", "first"), ("c", "second")]


def test_publishing_keys_staged_once_keeps_every_row_in_order(tmp_path: Path) -> None:
    staged = [
        staged_order("c", "03:00", None, "t1"),
        staged_order("b", "01:00", "02:00", "t1"),
        staged_order("a", "01:00", None, "t2"),  # the same moment as b: then by order id
    ]
    assert published(Lake(tmp_path), staged) == [("a", "t2"), ("b", "t1"), ("c", "t1")]


def test_recon_extract_command(sandbox: Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "recon.toml"
    path.write_text(
        f'[starship]\nbase_url = "{sandbox.base_url}"\nlookback_days = 1\n'
        '[storage]\ndata_dir = "var"\n'
    )
    env = {"STARSHIP_API_KEY": "pk_test_sandbox", "STARSHIP_API_SECRET": "sk_test_sandbox"}
    result = CliRunner().invoke(
        cli,
        ["extract", "--date", "2026-04-14", "--config", str(path)],
        env=env,
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "23 orders and 29 transactions on 2026-04-14" in result.output
    assert (tmp_path / "var" / "lake" / "orders" / "date=2026-04-13" / "part.parquet").exists()
    assert "\r" not in result.output  # no progress line when not on a terminal


@pytest.mark.parametrize(
    ("env", "text", "message"),
    [
        ({}, None, "environment variable STARSHIP_API_KEY is not set"),
        (
            {"STARSHIP_API_KEY": "pk_live_x", "STARSHIP_API_SECRET": "sk_live_x"},
            None,
            "live credentials",
        ),
        (
            {"STARSHIP_API_KEY": "k", "STARSHIP_API_SECRET": "s"},
            "[starship]\npage_sise = 5\n",
            "unknown key 'page_sise' in \\[starship\\]",
        ),
    ],
)
def test_recon_extract_fails_clearly(
    sandbox: Sandbox, tmp_path: Path, env: dict, text: str | None, message: str
) -> None:
    path = tmp_path / "recon.toml"
    path.write_text(text or f'[starship]\nbase_url = "{sandbox.base_url}"\n')
    result = CliRunner().invoke(
        cli,
        ["extract", "--date", "2026-04-14", "--config", str(path)],
        env={"STARSHIP_API_KEY": None, "STARSHIP_API_SECRET": None, **env},
    )
    assert result.exit_code == 2
    assert result.output.startswith("recon: ")
    assert pytest.importorskip("re").search(message, result.output)
    assert "Traceback" not in result.output
    assert "sk_live_x" not in result.output


def test_extractor_uses_the_configured_lake(sandbox: Sandbox, tmp_path: Path) -> None:
    client = StarshipClient(sandbox.base_url, "pk_test_sandbox", "sk_test_sandbox")
    extractor = Extractor(settings(sandbox, tmp_path), client)
    assert extractor.lake.root == tmp_path / "lake"
    assert iso(sandbox.scenario.snapshot_at) == "2026-04-15T00:30:00Z"

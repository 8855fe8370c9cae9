"""Orders older than the look-back window with breaks still open, read again each night.

Extraction asks the break history which orders such breaks are about, reads each again with
`GET /orders/{id}` from the sandbox on loopback, and publishes them as `refreshed_orders`; the
diff lets the latest refreshed row stand in for the order's row in its partition, so a break
carried across nights can resolve. The older books come from the scenario itself (extracted
over HTTP) or from `tests.books.Books`, written straight into the lake.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from recon import config, pipeline
from recon.extract import Extractor, ExtractResult, rotation
from recon.lake import Lake, diff_views
from recon.sandbox.faults import Faults
from recon.sandbox.scenario import Item, Order
from recon.sandbox.server import Sandbox
from recon.starship.client import StarshipClient
from tests.books import Books, publish
from tests.conftest import MakeSandbox
from tests.helpers import DAY, credentials, header_only_ledger, run_config

VOUCHER = "SBX-REFRESHSECRET1"


def extract_with(settings: config.Config, sandbox: Sandbox, day: date) -> ExtractResult:
    client = StarshipClient.from_config(settings, credentials(sandbox), sleep=lambda _: None)
    return pipeline.extract(settings, day, client=client)


def keys(night: pipeline.Night) -> set[tuple[str, str]]:
    return {(f["check"], f["key"]) for f in night.findings.to_pylist()}


def test_an_older_order_delivered_since_resolves_its_stuck_pending_break(
    make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    sandbox = make_sandbox()
    settings = config.load(run_config(tmp_path, sandbox.base_url))  # look-back of 7 days
    first = extract_with(settings, sandbox, DAY)
    assert first.refreshed is not None and first.refreshed.open == 0  # no history yet
    assert not any("refreshed" in line for line in first.summary())
    night = pipeline.diff(settings, DAY)
    # Five nights on, the window starts on 2026-04-12: older partitions are never paged again.
    later = DAY + timedelta(days=5)
    window_start = datetime(2026, 4, 12, tzinfo=UTC)
    [stuck] = [  # the scenario's order PENDING at the vendor since 2026-04-11
        f
        for f in night.findings.to_pylist()
        if f["check"] == "stuck_pending" and f["created_at"].date() < window_start.date()
    ]
    stuck_id, created = stuck["order_id"], stuck["created_at"].date()
    header_only_ledger(tmp_path, later)
    with sandbox.state.lock:  # Starship delivered it meanwhile, vouchers and all
        order = sandbox.state.orders_by_id[stuck_id]
        order.status, order.sub_status, order.fulfilled_from = "DELIVERED", "COMPLETED", "vendor"
        order.items = [
            Item(f"itm_refresh_{n}", "DELIVERED", f"{VOUCHER}{n}", "4321", "2027-04-11")
            for n in range(order.quantity)
        ]
        order.updated_at = datetime(2026, 4, 18, 9, tzinfo=UTC)
    result = extract_with(settings, sandbox, later)

    refreshed = result.refreshed
    assert refreshed is not None
    assert refreshed.created_before == window_start
    assert stuck_id in refreshed.asked and refreshed.left == 0
    assert refreshed.rows == len(refreshed.asked) and not refreshed.not_found
    line = next(line for line in result.summary() if "refreshed" in line)
    assert line.startswith(f"  refreshed {refreshed.rows} older order")
    assert "with open breaks (created before 2026-04-12)" in line

    lake = Lake(settings.storage.data_dir / "lake")
    old = {r["order_id"]: r for r in lake.read("orders", created).to_pylist()}
    assert old[stuck_id]["status"] == "PENDING"  # its own partition keeps what it was
    rows = {r["order_id"]: r for r in lake.read("refreshed_orders", later).to_pylist()}
    fresh = rows[stuck_id]
    assert (fresh["status"], fresh["sub_status"]) == ("DELIVERED", "COMPLETED")
    assert fresh["delivered_item_count"] == fresh["quantity"] == order.quantity
    assert fresh["total_amount"] == old[stuck_id]["total_amount"] == order.total_amount
    assert fresh["trace_id"].startswith("trc_")
    assert all(r["created_at"] < refreshed.created_before for r in rows.values())
    manifest = lake.manifest("refreshed_orders", later)
    assert manifest is not None
    assert (manifest["open"], manifest["asked"], manifest["rows"]) == (
        refreshed.open,
        refreshed.asked,
        refreshed.rows,
    )
    part = lake.part("refreshed_orders", later)
    assert VOUCHER.encode() not in part.read_bytes()  # the allow-list, as for list pages
    assert VOUCHER not in part.with_name("_manifest.json").read_text()

    night = pipeline.diff(settings, later)
    assert ("stuck_pending", stuck_id) in {(r["check"], r["key"]) for r in night.resolved}
    assert ("stuck_pending", stuck_id) not in keys(night)


def older_books(tmp_path: Path, day: date) -> tuple[Books, str, config.Config]:
    """Clean synthetic books of `day` with one order stuck PENDING two days before it; the
    night is diffed, so the history holds the open stuck_pending break."""
    books = Books.clean(41, day, 8, currencies=("USD",))
    check, stuck = books.plant("stuck_pending")
    settings = books.write(tmp_path)
    assert (check, stuck) in keys(pipeline.diff(settings, day))
    return books, stuck, settings


def against(settings: config.Config, sandbox: Sandbox) -> config.Config:
    return replace(settings, starship=replace(settings.starship, base_url=sandbox.base_url))


B = date(2026, 3, 2)  # the synthetic books' night: weeks before the sandbox's scenario
LATER = B + timedelta(days=10)  # its window (3 days) starts long after the stuck order


def test_an_order_starship_no_longer_knows_is_recorded_not_fatal(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    books, stuck, settings = older_books(tmp_path, B)
    settings = against(settings, sandbox)
    result = extract_with(settings, sandbox, LATER)  # the sandbox has no such order: 404

    refreshed = result.refreshed
    assert refreshed is not None
    assert (refreshed.open, refreshed.asked, refreshed.rows) == (1, [stuck], 0)
    [missing] = refreshed.not_found
    assert (missing["order_id"], missing["code"]) == (stuck, "E_ORDER_NOT_FOUND")
    assert missing["trace_id"].startswith("trc_")
    lake = Lake(settings.storage.data_dir / "lake")
    manifest = lake.manifest("refreshed_orders", LATER)
    assert manifest is not None and manifest["not_found"] == [missing]
    assert "1 not found at Starship" in "\n".join(result.summary())
    assert result.complete and result.wallets  # the night went on after the 404
    assert lake.manifest("reconciliation", LATER) is not None

    # Nothing stands in for the order: its break stays open, with its age.
    books.write_ledger(tmp_path, LATER)
    night = pipeline.diff(settings, LATER)
    states = {(f["check"], f["key"]): f["state"] for f in night.findings.to_pylist()}
    assert states[("stuck_pending", stuck)] == "persisting"


def serve_delivered(sandbox: Sandbox, books: Books, order_id: str) -> Order:
    """Let the sandbox serve the books' order `order_id` as delivered (vouchers and all);
    the order as the sandbox serves it."""
    pending = next(o for o in books.orders if o.order_id == order_id)
    delivered = Order(
        order_id,
        "amazon-us",
        pending.denomination,
        pending.quantity,
        pending.currency,
        "DELIVERED",
        "COMPLETED",
        "vendor",
        pending.reference,
        f"idem-{pending.reference}",
        pending.created_at,
        pending.created_at + timedelta(days=3),
        items=[
            Item(f"itm_{n}", "DELIVERED", f"{VOUCHER}{n}", "1111") for n in range(pending.quantity)
        ],
    )
    with sandbox.state.lock:
        sandbox.state.add_order(delivered)
    return delivered


def test_rerunning_a_night_replaces_its_refreshed_orders(sandbox: Sandbox, tmp_path: Path) -> None:
    books, stuck, settings = older_books(tmp_path, B)
    settings = against(settings, sandbox)
    first = extract_with(settings, sandbox, LATER).refreshed
    assert first is not None and [m["order_id"] for m in first.not_found] == [stuck]

    served = serve_delivered(sandbox, books, stuck)  # it turns up at Starship; LATER again
    again = extract_with(settings, sandbox, LATER)
    assert again.refreshed is not None
    assert (again.refreshed.rows, again.refreshed.not_found) == (1, [])
    lake = Lake(settings.storage.data_dir / "lake")
    [row] = lake.read("refreshed_orders", LATER).to_pylist()
    assert (row["order_id"], row["status"], row["total_amount"]) == (
        stuck,
        "DELIVERED",
        served.total_amount,
    )
    folder = lake.partition("refreshed_orders", LATER)
    assert sorted(p.name for p in folder.iterdir()) == ["_manifest.json", "part.parquet"]
    manifest = lake.manifest("refreshed_orders", LATER)
    assert manifest is not None and manifest["not_found"] == []

    books.write_ledger(tmp_path, LATER)
    night = pipeline.diff(settings, LATER)
    assert [(r["check"], r["key"]) for r in night.resolved] == [("stuck_pending", stuck)]


def test_the_limit_rotates_through_the_open_orders(sandbox: Sandbox, tmp_path: Path) -> None:
    ids = [f"ord_{n}" for n in range(5)]
    assert rotation(ids, B, 10) == ids
    nights = [rotation(ids, B + timedelta(days=n), 2) for n in range(5)]
    assert all(len(asked) == 2 for asked in nights)
    assert {order_id for asked in nights for order_id in asked} == set(ids)  # all come round
    assert rotation(ids, B, 2) == rotation(ids, B, 2)  # a re-run asks for the same ones

    _, _, settings = older_books(tmp_path, B)
    settings = against(settings, sandbox)
    client = StarshipClient.from_config(settings, credentials(sandbox), sleep=lambda _: None)
    extractor = Extractor(settings, client)
    extractor.refresh_limit = 0
    result = extractor.run(LATER, pipeline.open_orders(settings, LATER))
    assert result.refreshed is not None
    assert (result.refreshed.open, result.refreshed.asked, result.refreshed.left) == (1, [], 1)
    # One 404, the reconciliation the sandbox does not offer: the stuck order was not asked for.
    assert client.stats.by_status.get(404) == 1
    assert "1 left for later nights (at most 0 a night)" in "\n".join(result.summary())


# -- the diff's view of the lake --------------------------------------------------------------


def orders_all(settings: config.Config, day: date) -> tuple[str, list[dict]]:
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        diff_views(con, Lake(settings.storage.data_dir / "lake"), day)
        [(sql,)] = con.sql(
            "SELECT sql FROM duckdb_views() WHERE view_name = 'orders_all'"
        ).fetchall()
        rows = con.sql("SELECT * FROM orders_all ORDER BY order_id").to_arrow_table().to_pylist()
    return sql, rows


def test_orders_all_takes_the_latest_refreshed_row_and_stays_plain_without_any(
    tmp_path: Path,
) -> None:
    night, next_day = B + timedelta(days=2), B + timedelta(days=1)
    books = Books.clean(51, B, 6, currencies=("USD",))
    settings = books.write(tmp_path, nights=(night,))
    lake = Lake(settings.storage.data_dir / "lake")
    plain_sql, plain = orders_all(settings, night)
    assert "refreshed" not in plain_sql

    publish(lake, "refreshed_orders", next_day, [])  # a night with nothing to read again
    assert orders_all(settings, night) == (plain_sql, plain)

    target = plain[0]  # created on B; read again on the nights after it
    early = {**target, "status": "CANCELLED", "sub_status": "REFUNDED", "trace_id": "trc_early"}
    publish(lake, "refreshed_orders", next_day, [early])  # that night run again: replaced
    late = {  # a later night's row wins, even with an older updated_at
        **target,
        "status": "DELIVERED",
        "sub_status": "LATE",
        "updated_at": target["updated_at"] - timedelta(hours=1),
        "trace_id": "trc_late",
    }
    publish(lake, "refreshed_orders", night, [late])
    publish(lake, "refreshed_orders", night + timedelta(days=1), [{**target, "status": "FAILED"}])

    sql, rows = orders_all(settings, night)
    assert "refreshed_orders" in sql
    assert len(rows) == len(plain)
    assert list(rows[0]) == list(plain[0])  # the same columns, in the same order
    mine = next(r for r in rows if r["order_id"] == target["order_id"])
    assert (mine["status"], mine["sub_status"], mine["trace_id"]) == (
        "DELIVERED",
        "LATE",
        "trc_late",
    )
    assert mine["date"] == target["date"] == B  # still in its creation day's partition
    assert mine["total_amount"] == target["total_amount"]
    others = [r for r in rows if r["order_id"] != target["order_id"]]
    assert others == [r for r in plain if r["order_id"] != target["order_id"]]

    _, earlier = orders_all(settings, next_day)  # a re-run of an earlier night sees its own
    assert next(r for r in earlier if r["order_id"] == target["order_id"])["status"] == "CANCELLED"


@pytest.mark.parametrize(
    "faults",
    [Faults(), Faults(numeric_amounts=True, field_aliases=True, extra_fields=True)],
    ids=["documented", "numbers-aliases-extra-fields"],
)
def test_a_refreshed_order_reads_exactly_as_a_list_page_does(
    make_sandbox: MakeSandbox, tmp_path: Path, faults: Faults
) -> None:
    sandbox = make_sandbox(faults=faults)
    books, stuck, settings = older_books(tmp_path, B)
    settings = against(settings, sandbox)
    served = serve_delivered(sandbox, books, stuck)
    client = StarshipClient.from_config(settings, credentials(sandbox), sleep=lambda _: None)
    extractor = Extractor(settings, client)
    extractor.run(LATER, pipeline.open_orders(settings, LATER))
    [refreshed] = extractor.lake.read("refreshed_orders", LATER).to_pylist()
    created = served.created_at.date()
    extractor.window("orders", created)  # the same order, paged as a list
    [listed] = extractor.lake.read("orders", created).to_pylist()
    assert {**refreshed, "trace_id": None} == {**listed, "trace_id": None}
    assert refreshed["total_amount"] == served.total_amount  # exact, never through a float
    assert refreshed["trace_id"] != listed["trace_id"]  # each quotes its own request


@pytest.mark.parametrize("order_id", ["../wallets", "ord/1?x=1"])
def test_an_order_id_is_one_path_segment(sandbox: Sandbox, tmp_path: Path, order_id: str) -> None:
    settings = config.from_dict(
        {"starship": {"base_url": sandbox.base_url}, "storage": {"data_dir": str(tmp_path)}}
    )
    client = StarshipClient.from_config(settings, credentials(sandbox), sleep=lambda _: None)
    extractor = Extractor(settings, client)
    with extractor.lake.staging("refreshed_orders", LATER) as staging:
        not_found: list[dict] = []
        extractor._refresh_one(LATER, order_id, staging, not_found, [])
    assert [m["order_id"] for m in not_found] == [order_id]  # a 404, not the wallets

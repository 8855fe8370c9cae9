"""One id, every side: what `recon explain ID` and the notebook's `explain(id)` show.

    found = explain.explain(lake, history, "ord_9f2c")   # an Explanation
    found.lines()       # for a terminal
    found.as_dict()     # for JSON, amounts as their currency's text
    found.orders        # each side a DataFrame: orders, transactions, ledger, quarantine,
                        # findings, breaks, actions

The id may be an order id, a ledger entry id, a partner reference, a transaction id or a break
id (or a unique prefix of one). `sql/explain/resolve.sql` finds what it reaches; each side is a
query of `sql/explain/` over views of every partition the lake holds and the break history,
attached read-only: explaining takes no lock and changes nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from recon import memory
from recon.errors import InputError
from recon.frames import dataframe, scratch
from recon.history import History
from recon.lake import DATASETS, Lake, empty_select
from recon.money import amount_text
from recon.queries import execute_script, fetch, relation
from recon.resources import sql_literal, sql_text

# The views the queries read: every partition of these datasets, with the dataset's name.
SOURCES = {
    "orders_seen": ("orders", "refreshed_orders"),
    "transactions_seen": ("transactions",),
    "ledger_seen": (memory.DATASET,),
}
# Each side of an Explanation, and the file of sql/explain/ that finds it (breaks: below).
SIDES = ("orders", "transactions", "ledger", "quarantine", "findings", "actions")


def explain(lake: Lake, history: History, id: str) -> Explanation:
    """Everything recon knows of one id (the module's docstring); InputError (exit 2) for an id
    recon has never seen."""
    wanted = id.strip()
    if not wanted:
        raise InputError("explain: give an order id, ledger entry id, reference or break id")
    with scratch() as con:
        _views(con, lake, history)
        kind, keys = _resolve(con, wanted)
        if kind is None:
            raise InputError(
                f"{wanted!r}: recon has never seen it (no order id, ledger entry id, "
                f"reference, transaction id or break id of that name in {lake.root.parent})"
            )
        execute_script(con, "explain/about.sql", keys)
        found = {
            side: relation(con, f"explain/{side}.sql", keys).to_arrow_table() for side in SIDES
        }
        # a break's state today is history/breaks.sql's, as `recon breaks` lists it
        breaks = relation(con, "history/breaks.sql", {"today": datetime.now(UTC).date()})
        found["breaks"] = _of_breaks(breaks.to_arrow_table(), found["findings"])
    found["orders"] = _with_extraction_times(lake, found["orders"])
    return Explanation(wanted, kind, **{side: dataframe(t) for side, t in found.items()})


def _views(con: duckdb.DuckDBPyConnection, lake: Lake, history: History) -> None:
    """Views over every partition the lake holds, and the history attached read-only."""
    for name, datasets in SOURCES.items():
        selects = [
            f"SELECT '{dataset}' AS dataset, * "
            f"FROM read_parquet({sql_literal(lake.glob(dataset))}, "
            "hive_partitioning = true, union_by_name = true)"
            for dataset in datasets
            if any((lake.root / dataset).glob("date=*/part.parquet"))
        ]
        none = (
            memory.EMPTY
            if datasets[0] == memory.DATASET
            else empty_select(DATASETS[datasets[0]].schema)
        )
        source = " UNION ALL BY NAME ".join(selects) or (
            f"SELECT '{datasets[0]}' AS dataset, *, NULL::DATE AS date FROM ({none})"
        )
        con.execute(f"CREATE TEMP VIEW {name} AS {source}")
    if history.path.exists():
        history.attach(con, "h")
        con.execute("USE h")
    else:  # nothing diffed yet: the lake alone speaks, beside an empty history
        con.execute("ATTACH ':memory:' AS h")
        con.execute("USE h")
        con.execute(sql_text("history/schema.sql"))


def _resolve(con: duckdb.DuckDBPyConnection, wanted: str) -> tuple[str | None, dict[str, Any]]:
    [(kind, orders, entries, references, transactions, breaks)] = fetch(
        con, "explain/resolve.sql", {"id": wanted}
    ).fetchall()
    if breaks and len(breaks) > 1:
        raise InputError(f"{wanted!r} is ambiguous: breaks {', '.join(breaks[:5])}")
    if kind is None and re.fullmatch(r"[0-9a-fA-F]{1,5}", wanted):
        raise InputError(f"{wanted!r}: a break id prefix needs at least 6 of its 12 characters")
    keys = {
        "orders": orders or [],
        "entries": entries or [],
        "references": references or [],
        "transactions": transactions or [],
        "breaks": breaks or [],
    }
    return kind, keys


def _of_breaks(breaks: pa.Table, findings: pa.Table) -> pa.Table:
    """The breaks the findings about the id are, in `recon breaks`' order."""
    return breaks.filter(pc.is_in(breaks.column("break_id"), findings.column("break_id")))


def _with_extraction_times(lake: Lake, orders: pa.Table) -> pa.Table:
    """Each sighting of the order with the time its partition was extracted (manifest)."""
    at = [
        (lake.manifest(dataset, night) or {}).get("finished_at")
        for dataset, night in zip(
            orders.column("dataset").to_pylist(), orders.column("date").to_pylist(), strict=True
        )
    ]
    moments = pa.array(
        [datetime.fromisoformat(t.replace("Z", "+00:00")) if t else None for t in at],
        pa.timestamp("us", tz="UTC"),
    )
    return orders.append_column("extracted_at", moments).sort_by(
        [("extracted_at", "ascending"), ("date", "ascending")]
    )


@dataclass
class Explanation:
    """Everything about one id, each side as a DataFrame; `lines()` for a terminal, `as_dict()`
    for JSON."""

    id: str
    kind: str  # order, ledger entry, reference, transaction or break
    orders: pd.DataFrame  # every sighting of the order(s) in the lake, oldest extraction first
    transactions: pd.DataFrame
    ledger: pd.DataFrame  # the ledger rows that booked it, every export the lake remembers
    quarantine: pd.DataFrame  # its ledger rows some night could not use
    findings: pd.DataFrame  # every night's findings about it
    breaks: pd.DataFrame  # the breaks those findings are, with their state today
    actions: pd.DataFrame  # what analysts said of them, oldest first

    _TABLES = ("orders", "transactions", "ledger", "quarantine", "findings", "breaks", "actions")

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            **{name: _records(getattr(self, name)) for name in self._TABLES},
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, default=_json_value)

    def lines(self) -> list[str]:
        """What each side says, for a terminal."""
        out = [f"{self.id}: {self.kind}"]
        out += _section(
            "Starship order, as each lake partition holds it",
            self.orders,
            lambda o: (
                f"{o['order_id']}  {o['status']}/{_text(o['sub_status'])}  "
                f"{o['currency']} {_money(o['total_amount'], o['currency'])}  "
                f"ref {_text(o['client_reference'])}  created {_instant(o['created_at'])}  "
                f"updated {_instant(o['updated_at'])}  [{o['dataset']} date={o['date']}, "
                f"extracted {_instant(o['extracted_at'])}, trace {_text(o['trace_id'])}]"
            ),
        )
        out += _section(
            "Wallet transactions",
            self.transactions,
            lambda t: (
                f"{t['transaction_id']}  {t['type']}  {t['currency']} "
                f"{_money(t['amount'], t['currency'])}  balance after "
                f"{_money(t['balance_after'], t['currency'])}  {_instant(t['created_at'])}  "
                f"[trace {_text(t['trace_id'])}]"
            ),
        )
        out += _section(
            "Ledger rows that booked it",
            self.ledger,
            lambda e: (
                f"{Path(e['source']).name} line {e['line']} (export of {e['export_date']})  "
                f"{e['entry_id']}  order {_text(e['order_id'])}  ref {_text(e['reference'])}  "
                f"{e['currency']} {_money(e['amount'], e['currency'])}  {e['status']}  "
                f"booked {_instant(e['booked_at'])}"
            ),
        )
        out += _section(
            "Quarantined ledger rows",
            self.quarantine,
            lambda q: (
                f"night {q['run_date']}: {Path(q['source']).name} line {q['line']}  "
                f"{q['entry_id']}: {q['reason']}"
            ),
        )
        out += _section(
            "Findings, night by night",
            self.findings,
            lambda f: (
                f"{f['run_date']}  {f['break_id']}  {f['check']} ({f['severity']})  "
                f"{_amounts(f)}{_statuses(f)}{'' if _missing(f['detail']) else f['detail']}"
            ),
        )
        out += _section(
            "Breaks",
            self.breaks,
            lambda b: (
                f"{b['break_id']}  {b['check']}  {b['state']}  first seen {b['first_seen']}, "
                f"last seen {b['last_seen']} ({b['nights']} night(s))"
                + (f", resolved {b['resolved_on']}" if not _missing(b["resolved_on"]) else "")
                + (f"  [{b['note']}]" if not _missing(b["note"]) else "")
            ),
        )
        out += _section(
            "What analysts said",
            self.actions,
            lambda a: (
                f"{_instant(a['acted_at'])}  {a['break_id']}  {a['action']} by {a['by_user']}"
                + (f" until {a['until']}" if not _missing(a["until"]) else "")
                + (f": {a['note']}" if not _missing(a["note"]) else "")
            ),
        )
        return out


# -- for a terminal and for JSON --------------------------------------------------------------


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows as plain values; an amount as the text of its row's currency (24.13, not
    24.1300), exact, as discrepancies.csv writes it."""
    rows = pa.Table.from_pandas(frame, preserve_index=False).to_pylist()
    for row in rows:
        for name, value in row.items():
            if isinstance(value, Decimal):
                row[name] = amount_text(value, row.get("currency"))
    return rows


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _text(value: Any) -> str:
    return "-" if _missing(value) else str(value)


def _instant(value: Any) -> str:
    if _missing(value):
        return "-"
    return pd.Timestamp(value).tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%SZ")


def _money(amount: Any, currency: Any) -> str:
    return (
        "-" if _missing(amount) else amount_text(amount, None if _missing(currency) else currency)
    )


def _amounts(finding: Any) -> str:
    currency = finding["currency"]
    parts = [
        f"{label} {_money(finding[column], currency)}"
        for label, column in (
            ("starship", "starship_amount"),
            ("ledger", "ledger_amount"),
            ("delta", "delta"),
        )
        if not _missing(finding[column])
    ]
    return (f"{_text(currency)} " + ", ".join(parts) + "  ") if parts else ""


def _statuses(finding: Any) -> str:
    """What each side's status was that night: the order's status history, night by night."""
    sides = [
        f"{side} {'/'.join(str(v) for v in values if not _missing(v))}"
        for side, values in (
            ("Starship", (finding["starship_status"], finding["starship_sub_status"])),
            ("ledger", (finding["ledger_status"],)),
        )
        if not _missing(values[0])
    ]
    return f"[{', '.join(sides)}]  " if sides else ""


def _section(title: str, frame: pd.DataFrame, line: Any) -> list[str]:
    rows = frame.to_dict("records")
    return (
        ["", f"{title} ({len(rows)})", *(f"  {line(row)}".rstrip() for row in rows)] if rows else []
    )

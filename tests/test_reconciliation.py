"""The `/reconciliation/{date}` adapter against the sandbox in each of its modes, and the
tolerant reading of whatever shape the planned endpoint ends up with."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from recon import config, pipeline
from recon.lake import Lake
from recon.sandbox.scenario import Scenario, generate
from recon.sandbox.server import Sandbox, changed_shape
from recon.starship import reconciliation
from tests.conftest import MakeSandbox
from tests.helpers import DAY, recon_run, run_config, subject


def night(
    make_sandbox: MakeSandbox, tmp_path: Path, mode: str, scenario: Scenario | None = None
) -> tuple[Any, dict[str, Any], Sandbox]:
    """`recon run` of the scenario date against a sandbox serving `mode`: the CLI's result,
    summary.json, and the sandbox."""
    sandbox = make_sandbox(reconciliation=mode, scenario=scenario or generate())
    path = run_config(tmp_path, sandbox.base_url)
    result = recon_run(path, sandbox)
    assert result.exit_code in (0, 1), result.output
    summary = json.loads((tmp_path / "reports" / str(DAY) / "summary.json").read_text())
    return result, summary, sandbox


def drift_findings(tmp_path: Path) -> list[dict[str, Any]]:
    history = pipeline.history_of(config.load(tmp_path / "recon.toml"))
    return [f for f in history.findings(DAY).to_pylist() if f["check"] == "starship_reported_drift"]


def answer_key_drifts(scenario: Scenario) -> set[tuple[str, str | None, str]]:
    return {
        ("starship_reported_drift", subject(f), f["state"])
        for f in scenario.answer_key["findings"]
        if f.get("requires") == "reconciliation"
    }


def voucher_values(scenario: Scenario) -> list[bytes]:
    return [
        str(d[name]).encode()
        for d in scenario.reconciliation["drifts"]
        for name in reconciliation.SECRET_FIELDS
    ]


def files_holding(folder: Path, needles: list[bytes]) -> list[str]:
    return [
        str(path)
        for path in folder.rglob("*")
        if path.is_file() and any(needle in path.read_bytes() for needle in needles)
    ]


# -- against the sandbox -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["planned", "changed"])
def test_each_reported_drift_is_a_finding_and_the_control_total_ties(
    make_sandbox: MakeSandbox, tmp_path: Path, mode: str
) -> None:
    scenario = generate()
    result, summary, _ = night(make_sandbox, tmp_path, mode, scenario)
    found = drift_findings(tmp_path)
    assert {(f["check"], subject(f), f["state"]) for f in found} == answer_key_drifts(scenario)
    [drift] = found
    answered = scenario.reconciliation["drifts"][0]
    assert drift["order_id"] == answered["order_id"]
    assert drift["severity"] == "warning"
    assert drift["trace_id"].startswith("trc_")
    resolution = "pending" if mode == "planned" else "escalated_to_vendor"  # a new value, kept
    assert f"resolution {resolution}" in drift["detail"]
    assert summary["complete"] and summary["incomplete"] == []
    control = summary["reconciliation"]
    assert (control["status"], control["ties"]) == ("available", True)
    assert control["recon"] == {
        "orders_total": scenario.reconciliation["summary"]["orders_total"],
        "vouchers_allocated": scenario.reconciliation["summary"]["vouchers_allocated"],
    }
    assert "Starship's reconciliation of 2026-04-14: orders_total 23" in result.output
    html = (tmp_path / "reports" / str(DAY) / "report.html").read_text()
    assert "Starship&#39;s own reconciliation ties to what recon extracted" in html


@pytest.mark.parametrize("mode", ["off", "not-implemented"])
def test_an_endpoint_that_is_not_there_yet_is_recorded_not_an_error(
    make_sandbox: MakeSandbox, tmp_path: Path, mode: str
) -> None:
    result, summary, _ = night(make_sandbox, tmp_path, mode)
    status = 404 if mode == "off" else 501
    assert result.exit_code == 1  # the scenario's breaks; the endpoint changes nothing
    assert summary["complete"]
    assert summary["reconciliation"]["status"] == "not_available"
    assert summary["reconciliation"]["ties"] is None
    assert f"HTTP {status}" in summary["reconciliation"]["reason"]
    assert drift_findings(tmp_path) == []
    manifest = Lake(tmp_path / "var" / "lake").manifest("reconciliation", DAY)
    assert manifest is not None and manifest["status"] == "not_available"
    assert manifest["trace_id"].startswith("trc_")
    assert "is not available yet" in (tmp_path / "reports" / str(DAY) / "report.html").read_text()


def test_an_unreadable_answer_marks_the_night_incomplete(
    make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    result, summary, _ = night(make_sandbox, tmp_path, "malformed")
    assert result.exit_code == 1
    assert not summary["complete"]
    [reason] = summary["incomplete"]
    assert reason.startswith("Starship's reconciliation could not be read: GET ")
    assert "the answer is not JSON (X-Trace-ID trc_" in reason
    assert summary["verdict"].startswith("INCOMPLETE: ")
    text = (tmp_path / "reports" / str(DAY) / "report.txt").read_text()
    assert f"- {reason}" in text


def test_a_control_total_that_does_not_tie_marks_the_night_incomplete(
    make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    scenario = generate()
    scenario.reconciliation["summary"]["orders_total"] += 2  # Starship saw orders recon did not
    result, summary, _ = night(make_sandbox, tmp_path, "planned", scenario)
    ours = summary["reconciliation"]["recon"]["orders_total"]
    assert summary["reconciliation"]["ties"] is False
    assert summary["incomplete"] == [
        f"Starship's reconciliation does not tie: orders_total {ours + 2} at Starship, "
        f"{ours} extracted; rows may be missing"
    ]
    assert f"INCOMPLETE: Starship's reconciliation does not tie: orders_total {ours + 2}" in (
        result.output
    )
    history = pipeline.history_of(config.load(tmp_path / "recon.toml"))
    assert [a["status"] for a in history.attempts()] == ["incomplete"]


def test_voucher_codes_in_drifts_never_reach_disk_or_output(
    make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    scenario = generate()
    result, _, sandbox = night(make_sandbox, tmp_path, "planned", scenario)
    secrets = voucher_values(scenario)
    assert all(len(s) > 8 for s in secrets)
    assert files_holding(tmp_path, secrets) == []
    assert not any(s.decode() in result.output for s in secrets)
    # The fingerprints are there instead, the same as the client computes with the key.
    [drift] = drift_findings(tmp_path)
    from recon.starship.client import StarshipClient

    client = StarshipClient(sandbox.base_url, sandbox.options.api_key, sandbox.options.api_secret)
    expected = client.fingerprint(scenario.reconciliation["drifts"][0]["our_allocation"])
    assert f"our allocation {expected}" in drift["detail"]


def test_a_second_night_sees_the_same_drift_as_the_same_break(
    make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    night(make_sandbox, tmp_path, "planned")
    [first] = drift_findings(tmp_path)
    night(make_sandbox, tmp_path, "planned")  # a re-run, new process state, same secret
    [again] = drift_findings(tmp_path)
    assert again["break_id"] == first["break_id"]


# -- tolerant parsing -----------------------------------------------------------------------------


def tag(value: str) -> str:
    return f"fp({len(value)})"


PLANNED = {
    "date": "2026-04-13",
    "summary": {
        "orders_total": 847,
        "vouchers_allocated": 1283,
        "matched": 1281,
        "drifted": 2,
        "unmatched": 0,
    },
    "drifts": [
        {
            "order_id": "ord_01HX9",
            "vendor": "voucherkart",
            "product_id": "amazon-gift-500",
            "our_allocation": "VOUCHER-A",
            "vendor_record": "VOUCHER-B",
            "detected_at": "2026-04-13T18:42:00Z",
            "resolution": "pending",
        }
    ],
    "generated_at": "2026-04-14T00:30:12Z",
}


def test_seed_001s_planned_shape_reads_as_documented() -> None:
    found = reconciliation.parse(PLANNED, date(2026, 4, 13), "trc_1", tag)
    assert found.status == "available"
    assert found.summary == PLANNED["summary"]
    [drift] = found.drifts
    assert drift["our_allocation"] == tag("VOUCHER-A") and drift["vendor_record"] == tag(
        "VOUCHER-B"
    )
    assert drift["resolution"] == "pending" and drift["trace_id"] == "trc_1"
    assert found.table().num_rows == 1


def test_the_changed_shape_reads_the_same_as_the_planned_one() -> None:
    body = {**PLANNED, "date": "2026-04-13"}
    planned = reconciliation.parse(body, date(2026, 4, 13), None, tag)
    changed = reconciliation.parse(changed_shape(body), date(2026, 4, 13), None, tag)
    assert changed.status == "available"
    assert changed.summary == {**planned.summary, "unmatched": None}  # gone: not compared
    assert [{k: v for k, v in d.items() if k != "resolution"} for d in changed.drifts] == [
        {k: v for k, v in d.items() if k != "resolution"} for d in planned.drifts
    ]
    assert changed.drifts[0]["resolution"] == "escalated_to_vendor"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ([1, 2], "not a JSON object"),
        ("<html>", "not a JSON object"),
        ({"date": "2026-04-12", "summary": {}, "drifts": []}, "the answer is for 2026-04-12"),
        ({"summary": {}, "drifts": {"a": 1}}, "`drifts` is not a list"),
        ({"date": "2026-04-13", "status": "ok"}, "neither a summary nor drifts"),
    ],
)
def test_answers_with_nothing_to_go_on_are_unreadable(payload: Any, reason: str) -> None:
    found = reconciliation.parse(payload, date(2026, 4, 13), "trc_9", tag)
    assert found.status == "unreadable"
    assert reason in (found.reason or "")
    assert found.manifest()["complete"] is False


def test_bad_drifts_are_quarantined_with_fingerprints_and_the_good_ones_kept() -> None:
    good = PLANNED["drifts"][0]
    payload = {
        "summary": {"orders_total": "847", "vouchers_allocated": Decimal("1283"), "drifted": "x"},
        "drifts": [
            {**good, "order_id": None, "voucher_code": "SECRET-NEW-KEY"},
            "VOUCHER-AS-A-STRING",
            {**good, "detected_at": "yesterday"},
            {**good, "resolution": "RESOLVED", "extra": {"nested": True}},
        ],
    }
    found = reconciliation.parse(payload, date(2026, 4, 13), "trc_2", tag)
    assert found.summary["orders_total"] == 847  # counts as strings or exact decimals
    assert found.summary["vouchers_allocated"] == 1283
    assert found.summary["drifted"] is None  # not a count: not compared
    assert [r["line"] for r in found.rejected] == [1, 2, 3]
    assert [r["reason"] for r in found.rejected] == [
        "a drift without an order_id",
        "a drift that is not a JSON object",
        "detected_at is not an ISO 8601 timestamp: 'yesterday'",
    ]
    raw = json.dumps(found.rejected)
    for secret in ("VOUCHER-A", "VOUCHER-B", "SECRET-NEW-KEY", "VOUCHER-AS-A-STRING"):
        assert secret not in raw
    [kept] = found.drifts
    assert kept["resolution"] == "resolved"


def test_a_resolved_drift_is_listed_as_expected(make_sandbox: MakeSandbox, tmp_path: Path) -> None:
    scenario = generate()
    scenario.reconciliation["drifts"][0]["resolution"] = "resolved"
    night(make_sandbox, tmp_path, "planned", scenario)
    [drift] = drift_findings(tmp_path)
    assert drift["state"] == "expected"


def test_rejected_drifts_reach_quarantine_csv(make_sandbox: MakeSandbox, tmp_path: Path) -> None:
    scenario = generate()
    broken = {**scenario.reconciliation["drifts"][0], "order_id": ""}
    scenario.reconciliation["drifts"].append(broken)
    night(make_sandbox, tmp_path, "planned", scenario)
    quarantine = (tmp_path / "reports" / str(DAY) / "quarantine.csv").read_text()
    [line] = [row for row in quarantine.splitlines() if "reconciliation" in row]
    assert line.startswith(f"Starship GET /reconciliation/{DAY} (X-Trace-ID trc_")
    assert "a drift without an order_id" in line
    assert broken["our_allocation"] not in quarantine
    assert len(drift_findings(tmp_path)) == 1

"""Each fault option of the sandbox actually happens, over real HTTP."""

from __future__ import annotations

import email.utils
import json
import re
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import requests

from recon.sandbox.faults import Faults
from recon.sandbox.server import SandboxOptions
from tests.conftest import MakeSandbox, day_window
from tests.helpers import USD_25, page_through, signed_post


def get(sandbox, path: str = "/wallets", **params: object) -> requests.Response:
    return requests.get(
        f"{sandbox.base_url}{path}", params=params, headers=sandbox.auth_headers(), timeout=10
    )


def test_rate_limit_answers_429_with_retry_after_seconds(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(rate_limit=1.0, burst=3)
    statuses = [get(sandbox) for _ in range(5)]
    assert [r.status_code for r in statuses[:3]] == [200, 200, 200]
    throttled = statuses[3]
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "E_REQUEST_THROTTLED"
    assert throttled.headers["Retry-After"] == "1"
    assert throttled.headers["X-Trace-ID"]
    assert sandbox.stats["rate_limited"] >= 2


def test_retry_after_can_be_an_http_date(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(rate_limit=0.5, burst=1, retry_after_format="http-date")
    get(sandbox)
    throttled = get(sandbox)
    assert throttled.status_code == 429
    when = email.utils.parsedate_to_datetime(throttled.headers["Retry-After"])
    wait = (when - datetime.now(UTC)).total_seconds()
    assert -1 <= wait <= 3


def test_the_bucket_refills(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(rate_limit=20.0, burst=1)
    assert get(sandbox).status_code == 200
    assert get(sandbox).status_code == 429
    time.sleep(0.15)
    assert get(sandbox).status_code == 200


def test_throttle_storm(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(faults=Faults(throttle_rate=0.5, throttle_retry_after=2, seed=3))
    answers = [get(sandbox) for _ in range(40)]
    storm = [a for a in answers if a.status_code == 429]
    assert 5 < len(storm) < 35
    assert {a.headers["Retry-After"] for a in storm} == {"2"}
    assert len(storm) + sum(a.status_code == 200 for a in answers) == 40


def test_server_errors_some_in_html(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(faults=Faults(error_rate=1.0, seed=1))
    answers = [get(sandbox) for _ in range(30)]
    assert {a.status_code for a in answers} <= {500, 502, 503, 504}
    html = [a for a in answers if a.headers["Content-Type"].startswith("text/html")]
    as_json = [a for a in answers if a.headers["Content-Type"] == "application/json"]
    assert html and as_json
    assert all(a.status_code in (502, 504) and "<html>" in a.text for a in html)
    assert all(a.json()["error"]["code"] in ("E_INTERNAL", "E_UNAVAILABLE") for a in as_json)
    assert all(a.headers["X-Trace-ID"] for a in answers)


def test_a_lost_answer_still_created_the_order(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(faults=Faults(error_rate=1.0))
    assert signed_post(sandbox, USD_25, key="lost").status_code >= 500
    sandbox.faults.error_rate = 0.0
    retried = signed_post(sandbox, USD_25, key="lost")
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert sandbox.stats["orders_created"] == 1


def test_slow_responses_outlast_a_client_timeout(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(faults=Faults(slow_rate=1.0, slow_seconds=1.0))
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{sandbox.base_url}/wallets", headers=sandbox.auth_headers(), timeout=0.2)
    assert sandbox.stats["slow"] == 1


def test_latency_is_added(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(faults=Faults(latency_ms=300))
    started = time.monotonic()
    assert get(sandbox).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_page_drift_makes_naive_paging_see_a_row_twice_and_miss_the_new_ones(
    make_sandbox: MakeSandbox,
) -> None:
    sandbox = make_sandbox(faults=Faults(page_drift=2))
    window = day_window(sandbox.scenario)
    with requests.Session() as http:
        http.headers.update(sandbox.auth_headers())
        ids, metas = page_through(http, f"{sandbox.base_url}/orders", {**window, "limit": 5})
        assert sandbox.stats["drift_inserted"] == 2
        assert len(ids) != len(set(ids))  # the shift showed a row twice
        assert metas[0]["total"] + 2 == metas[-1]["total"]  # and the total moved
        again, _ = page_through(http, f"{sandbox.base_url}/orders", {**window, "limit": 5})
    assert len(again) == len(set(again)) == metas[-1]["total"]  # drift budget spent: stable
    assert set(ids) < set(again)  # the first pass missed the inserted rows


def test_numeric_amounts_keep_every_digit(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(faults=Faults(numeric_amounts=True))
    raw = get(sandbox, "/orders", limit=100).text
    assert re.search(r'"total_amount":-?\d+(\.\d+)?[,}]', raw)
    kwd = [o for o in json.loads(raw, parse_float=Decimal)["data"] if o["currency"] == "KWD"]
    assert kwd and all(str(o["total_amount"]).count(".") == 1 for o in kwd)
    assert all(len(str(o["total_amount"]).split(".")[1]) == 3 for o in kwd)  # 12.500, not 12.5
    txns = json.loads(get(sandbox, "/transactions", limit=100).text, parse_float=Decimal)
    assert all(isinstance(t["amount"], (Decimal, int)) for t in txns["data"])


def test_extra_fields_new_enum_values_and_aliases(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(
        faults=Faults(extra_fields=True, new_enum_values=True, field_aliases=True)
    )
    body = get(sandbox, "/orders", limit=100).json()
    order = body["data"][0]
    assert {"id", "amount", "subStatus", "risk_level", "metadata"} <= set(order)
    assert not {"order_id", "total_amount", "sub_status"} & set(order)
    assert "served_by" in body["meta"] and "links" in body
    assert "COMPLETED_WITH_NOTES" in {o["subStatus"] for o in body["data"]}
    txns = get(sandbox, "/transactions", limit=100).json()["data"]
    assert "TOPUP_BANK_TRANSFER" in {t["type"] for t in txns}
    assert all("fx_rate" in t and "id" in t for t in txns)


def test_faults_are_seeded_and_repeatable(make_sandbox: MakeSandbox) -> None:
    def pattern() -> list[int]:
        sandbox = make_sandbox(SandboxOptions(faults=Faults(error_rate=0.3, seed=42)))
        return [get(sandbox).status_code for _ in range(20)]

    assert pattern() == pattern()


def test_rates_outside_0_1_are_refused() -> None:
    with pytest.raises(ValueError, match="error_rate"):
        Faults(error_rate=1.5)

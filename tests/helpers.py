"""Helpers the test modules share, so that no test module imports another (fixtures that several
modules use are in conftest.py; the ledger-file helpers in ledger_files.py, the SMTP relay's in
smtp.py; synthetic books in books.py).

The committed fixture scenario and what a finding is about; `recon run` in a folder laid out
like the demo's; another process holding the data directory's lock; plain HTTP to the sandbox;
and starting a `recon sandbox serve` process and waiting until it answers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from click.testing import CliRunner

from recon.cli import cli
from recon.demo import DEMO_TOML
from recon.sandbox.scenario import DEFAULT_DATE
from recon.sandbox.server import Sandbox

FIXTURES = Path(__file__).resolve().parent.parent / "data" / "fixtures"
DAY = DEFAULT_DATE


# -- the fixture scenario -------------------------------------------------------------------


def subject(finding: dict[str, Any]) -> str:
    """What a finding is about, the way the answer key names it."""
    ledger_side = finding["check"] in ("missing_at_starship", "duplicate_ledger_entry")
    names = ("transaction_id", "ledger_entry_id") if ledger_side else ("transaction_id",)
    for name in (*names, "order_id", "currency"):
        if finding.get(name):
            return str(finding[name])
    raise AssertionError(f"a finding about nothing: {finding}")


# -- recon run --------------------------------------------------------------------------------


def run_config(tmp_path: Path, base_url: str, starship: str = "", ledger: str = "") -> Path:
    """A working folder like the demo's, whose recon.toml points at `base_url` (with the extra
    `starship` and `ledger` keys)."""
    # the week's exports (D remembers the earlier ones) and the discount sheet, as the demo lays
    for fixture in (Path(__file__).parents[1] / "data" / "fixtures").glob("*.csv"):
        shutil.copyfile(fixture, tmp_path / fixture.name)
    path = tmp_path / "recon.toml"
    text = DEMO_TOML.format(base_url=base_url)
    text = text.replace("[starship]\n", f"[starship]\n{starship}\n")
    path.write_text(text.replace("[ledger]\n", f"[ledger]\n{ledger}\n"), encoding="utf-8")
    return path


def credentials(sandbox: Sandbox | None = None) -> dict[str, str]:
    """The environment that names `sandbox`'s key and secret (test ones without a sandbox)."""
    return {
        "STARSHIP_API_KEY": sandbox.options.api_key if sandbox else "pk_test_sandbox",
        "STARSHIP_API_SECRET": sandbox.options.api_secret if sandbox else "sk_test_sandbox",
    }


def recon_run(path: Path, sandbox: Sandbox | None = None, *extra: str) -> Any:
    return CliRunner().invoke(
        cli,
        ["run", "--date", DAY.isoformat(), "--config", str(path), *extra],
        env=credentials(sandbox),
    )


def header_only_ledger(folder: Path, day: Any) -> None:
    """A ledger export for `day` with no rows: the night runs and reports every order."""
    fixture = (folder / f"ledger-{DAY}.csv").read_text(encoding="utf-8")
    (folder / f"ledger-{day}.csv").write_text(fixture.splitlines()[0] + "\n", encoding="utf-8")


# -- the data directory's lock ----------------------------------------------------------------


HOLD = """
import sys, time
from pathlib import Path
from recon.lock import exclusive
with exclusive(Path(sys.argv[1]), "run --date 2026-04-14"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold_lock(data_dir: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process holding the data directory's lock for `seconds`."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(data_dir), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


# -- plain HTTP to the sandbox ----------------------------------------------------------------


def page_through(
    session: requests.Session, url: str, params: dict[str, Any], id_key: str = "order_id"
) -> tuple[list[str], list[dict[str, Any]]]:
    """Naive page-number paging (no de-duplication): the ids in the order they came."""
    ids: list[str] = []
    metas: list[dict[str, Any]] = []
    page = 1
    while True:
        answer = session.get(url, params={**params, "page": page})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        metas.append(body["meta"])
        if not body["data"]:
            break
        ids.extend(row[id_key] for row in body["data"])
        page += 1
    return ids, metas


ORDERS_PATH = "/api/v1/orders"


def signed_post(
    sandbox: Sandbox,
    order: dict[str, Any],
    *,
    key: str | None = "k-1",
    ts: int | None = None,
    body: bytes | None = None,
    sign_body: bytes | None = None,
) -> requests.Response:
    """POST /orders signed over `sign_body` (default: the body sent)."""
    body = body if body is not None else json.dumps(order).encode()
    ts = int(time.time()) if ts is None else ts
    secret = sandbox.options.api_secret.encode()
    message = f"{ts}POST{ORDERS_PATH}".encode() + (sign_body if sign_body is not None else body)
    digest = hmac.new(secret, message, hashlib.sha256).hexdigest()
    headers = {
        **sandbox.auth_headers(),
        "X-Timestamp": str(ts),
        "X-Signature": f"t={ts},v1={digest}",
        "Content-Type": "application/json",
    }
    if key is not None:
        headers["Idempotency-Key"] = key
    return requests.post(f"{sandbox.base_url}/orders", data=body, headers=headers)


USD_25 = {
    "product_id": "amazon-gift-usd",
    "denomination": "25.00",
    "quantity": 2,
    "client_reference": "po-test-1",
}


# -- a `recon sandbox serve` process ----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(command: Sequence[str], port: int, cwd: Path | None = None) -> Iterator[str]:
    """Run `command` (a sandbox server on `port`) until the block ends; yield its API root."""
    process = subprocess.Popen(
        [*command, "--port", str(port)], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    root = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{root}/categories", timeout=1)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    _, err = process.communicate()
                    raise AssertionError(f"sandbox did not start: {err.decode()}") from None
                time.sleep(0.1)
        yield root
    finally:
        process.terminate()
        process.wait(timeout=10)

"""Hostile answers and careless hands: each case a review found, kept together so the next
reviewer can add to it.

The hostile answers come from a real loopback server in front of the sandbox that breaks one
endpoint (tests/hostile.py); nothing here patches the HTTP stack. Each case must end in one
`recon:` line and exit 2 (130 for Ctrl-C), with the run record saying the same, and no
traceback, hang or half-written file.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from recon import config, pipeline
from recon.cli import cli
from tests import hostile
from tests.conftest import MakeSandbox
from tests.test_report import DAY, credentials, run_config

# -- hostile answers ----------------------------------------------------------------------------


def run(path: Path, sandbox: Any, *extra: str, limit: float = 120) -> Any:
    """`recon run` for DAY, in a thread that must finish within `limit` seconds: a hang is a
    failure here, not a stuck test run."""
    done: list[Any] = []
    worker = threading.Thread(
        target=lambda: done.append(
            CliRunner().invoke(
                cli,
                ["run", "--date", DAY.isoformat(), "--config", str(path), *extra],
                env=credentials(sandbox),
            )
        ),
        daemon=True,
    )
    worker.start()
    worker.join(limit)
    assert done, f"recon run still running after {limit:g} s"
    return done[0]


def refused(result: Any, path: Path, *names: str) -> None:
    """Exit 2 with one `recon:` line naming each of `names`, and a run record that says 2."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("recon: ")]
    assert len(lines) == 1, result.output
    for name in names:
        assert name in lines[0], (name, lines[0])
    settings = config.load(path)
    [attempt] = pipeline.history_of(settings).attempts(1)
    assert attempt["exit_code"] == 2, attempt
    staging = settings.storage.data_dir / "lake" / ".staging"
    assert not staging.exists() or not any(staging.iterdir())


BROKEN_LISTS = {
    "null": hostile.answer(b"null"),
    "a number": hostile.answer(b"42"),
    "nested in data": hostile.answer(hostile.nested(inside='{"data": {}}')),
    "nested": hostile.answer(hostile.nested()),
}


@pytest.mark.parametrize("body", BROKEN_LISTS.values(), ids=list(BROKEN_LISTS))
def test_an_orders_page_that_is_no_object_is_a_failed_request(
    make_sandbox: MakeSandbox, tmp_path: Path, body: hostile.Breakage
) -> None:
    sandbox = make_sandbox()
    with hostile.breaking(sandbox.base_url, "/orders", body) as root:
        path = run_config(tmp_path, root, "max_attempts = 1")
        refused(run(path, sandbox), path, "GET ", "/orders", hostile.TRACE_ID)


def test_a_null_page_does_not_crash_the_process(make_sandbox: MakeSandbox, tmp_path: Path) -> None:
    """pyarrow 26's JSON reader takes the process down on a bare `null` (exit 139, nothing
    said): recon, run as cron runs it, must answer with exit 2 and a line."""
    sandbox = make_sandbox()
    with hostile.breaking(sandbox.base_url, "/orders", hostile.answer(b"null")) as root:
        path = run_config(tmp_path, root, "max_attempts = 1")
        done = subprocess.run(
            [sys.executable, "-m", "recon", "run", "--date", str(DAY), "--config", str(path)],
            env={**os.environ, **credentials(sandbox)},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert hostile.TRACE_ID in done.stderr


WALLETS = {
    "null": hostile.answer(b"null"),
    "data a string": hostile.answer(b'{"data": "x"}'),
    "nested": hostile.answer(hostile.nested()),
    "nested, as a 401": hostile.answer(hostile.nested(), status=401),
}


@pytest.mark.parametrize("body", WALLETS.values(), ids=list(WALLETS))
def test_a_wallets_answer_that_is_no_list_of_wallets_fails_the_night(
    make_sandbox: MakeSandbox, tmp_path: Path, body: hostile.Breakage
) -> None:
    """Not "0 wallets" and a complete night with the low-balance warning silently gone."""
    sandbox = make_sandbox()
    with hostile.breaking(sandbox.base_url, "/wallets", body) as root:
        path = run_config(tmp_path, root, "max_attempts = 1")
        refused(run(path, sandbox), path, "/wallets", hostile.TRACE_ID)


def test_an_answer_that_trickles_meets_a_deadline(
    make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    """A byte every half second never trips a 3-second read timeout; the whole answer's
    deadline does, and the request fails as a timeout does (retried, then exit 2)."""
    sandbox = make_sandbox()
    with hostile.breaking(sandbox.base_url, "/orders", hostile.trickle(b'{"data": [')) as root:
        starship = "max_attempts = 2\nretry_budget_seconds = 1\nread_timeout_seconds = 3\n"
        path = run_config(tmp_path, root, starship + "answer_timeout_seconds = 2")
        result = run(path, sandbox, limit=60)
    refused(result, path, "/orders", "did not finish within 2 s")


def test_ctrl_c_exits_130_and_the_record_agrees(make_sandbox: MakeSandbox, tmp_path: Path) -> None:
    """Interrupted halfway (here: waiting on an answer that never ends), `recon run` exits 130,
    never 1 (which says "discrepancies found"), and its run record says 130 too."""
    sandbox = make_sandbox()
    with hostile.breaking(sandbox.base_url, "/orders", hostile.trickle(b'{"data": [')) as root:
        path = run_config(tmp_path, root)
        process = subprocess.Popen(
            [sys.executable, "-m", "recon", "run", "--date", str(DAY), "--config", str(path)],
            env={**os.environ, **credentials(sandbox)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        history = config.load(path).storage.data_dir / "recon.duckdb"
        for _ in range(300):  # until the run is recorded as started
            if history.exists():
                break
            threading.Event().wait(0.1)
        threading.Event().wait(1.0)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 130, (process.returncode, err)
    assert "Traceback" not in err
    [attempt] = pipeline.history_of(config.load(path)).attempts(1)
    assert attempt["exit_code"] == 130, attempt

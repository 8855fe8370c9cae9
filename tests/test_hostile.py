"""Hostile answers and careless hands: each case a review found, kept together so the next
reviewer can add to it.

The hostile answers come from a real loopback server in front of the sandbox that breaks one
endpoint (tests/hostile.py); nothing here patches the HTTP stack. Each case must end in one
`recon:` line and exit 2 (130 for Ctrl-C), with the run record saying the same, and no
traceback, hang or half-written file.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from recon import config, pipeline
from recon.cli import cli
from tests import hostile
from tests.conftest import MakeSandbox
from tests.helpers import DAY, credentials, run_config

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


# -- careless hands -----------------------------------------------------------------------------


def recon(*args: str, sandbox: Any = None) -> Any:
    return CliRunner().invoke(cli, list(args), env=credentials(sandbox))


def one_line(result: Any, *names: str) -> str:
    """Exit 2, no traceback, and a message naming each of `names`."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output, result.output
    for name in names:
        assert name in result.output, (name, result.output)
    return str(result.output)


@pytest.mark.parametrize("command", ["run", "diff", "report"])
def test_a_data_dir_that_is_a_file_is_named_not_a_traceback(
    make_sandbox: MakeSandbox, tmp_path: Path, command: str
) -> None:
    sandbox = make_sandbox()
    path = run_config(tmp_path, sandbox.base_url)
    (tmp_path / "var").write_text("not a folder")  # the demo's data_dir
    one_line(recon(command, "--date", str(DAY), "--config", str(path), sandbox=sandbox), "var")


def test_a_report_folder_that_is_a_file_is_named(make_sandbox: MakeSandbox, tmp_path: Path) -> None:
    sandbox = make_sandbox()
    path = run_config(tmp_path, sandbox.base_url)
    assert recon("run", "--date", str(DAY), "--config", str(path), sandbox=sandbox).exit_code == 1
    shutil.rmtree(tmp_path / "reports")
    (tmp_path / "reports").write_text("not a folder")
    one_line(recon("report", "--date", str(DAY), "--config", str(path)), "reports")


@pytest.mark.parametrize("command", ["run", "diff", "extract"])
def test_a_night_that_has_not_ended_is_refused_before_anything_is_written(
    tmp_path: Path, command: str
) -> None:
    path = run_config(tmp_path, "http://127.0.0.1:1/api/v1")
    one_line(recon(command, "--date", "2999-01-01", "--config", str(path)), "2999-01-01")
    assert not (tmp_path / "var").exists()
    today = str(datetime.now(UTC).date())
    one_line(recon(command, "--date", today, "--config", str(path)), "--allow-today")


def test_a_lock_that_is_a_link_is_refused_and_its_target_kept(tmp_path: Path) -> None:
    """recon writes who holds the lock into it: through a link it emptied another file."""
    path = run_config(tmp_path, "http://127.0.0.1:1/api/v1")
    precious = tmp_path / "precious.txt"
    precious.write_text("a file someone needs\n")
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "recon.lock").symlink_to(precious)
    one_line(recon("diff", "--date", str(DAY), "--config", str(path)), "recon.lock", "link")
    assert precious.read_text() == "a file someone needs\n"


def test_breaks_wants_six_characters_a_future_snooze_and_takes_config_anywhere(
    make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    sandbox = make_sandbox()
    path = run_config(tmp_path, sandbox.base_url)
    assert recon("run", "--date", str(DAY), "--config", str(path), sandbox=sandbox).exit_code == 1
    [break_id, *_] = [
        f["break_id"]
        for f in pipeline.history_of(config.load(path)).findings(DAY).to_pylist()
        if f["severity"] == "error"
    ]
    short = recon("breaks", "--config", str(path), "ack", break_id[0], "--note", "x")
    one_line(short, "at least 6")
    past = recon("breaks", "--config", str(path), "snooze", break_id, "--until", "1999-01-01")
    one_line(past, "1999-01-01 has passed")
    after = recon("breaks", "ack", break_id[:6], "--note", "explained", "--config", str(path))
    assert after.exit_code == 0, after.output
    assert f"acknowledged {break_id}" in after.output


def test_a_backfill_of_decades_asks_for_yes(tmp_path: Path) -> None:
    path = run_config(tmp_path, "http://127.0.0.1:1/api/v1")
    one_line(recon("backfill", "--since", "1900-01-01", "--config", str(path)), "--yes")
    assert not (tmp_path / "var").exists()


def test_bidi_controls_are_shown_and_long_text_is_clipped(
    make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    """A reference with U+202E (it reverses what follows on screen) and a 100 KB note: the
    HTML, CSV, text e-mail and terminal show the control as <U+202E>; the terminal and the
    text e-mail clip the note, the CSV keeps it whole."""
    sandbox = make_sandbox()
    path = run_config(tmp_path, sandbox.base_url)
    ledger = tmp_path / f"ledger-{DAY}.csv"
    text = ledger.read_text()
    header, first, rest = text.split("\n", 2)
    phantom = first.split(",")
    phantom[0], phantom[1], phantom[2] = "LE-9999", "ord_hostile", "po-\u202eexe.txt"
    ledger.write_text("\n".join([header, first, ",".join(phantom), rest]))
    assert recon("run", "--date", str(DAY), "--config", str(path), sandbox=sandbox).exit_code == 1
    findings = pipeline.history_of(config.load(path)).findings(DAY).to_pylist()
    [other] = [f["break_id"] for f in findings if f["check"] == "currency_mismatch"]
    note = "\u202e" + "n" * 100_000
    acked = recon("breaks", "--config", str(path), "ack", other, "--note", note)
    assert acked.exit_code == 0, acked.output
    assert recon("report", "--date", str(DAY), "--config", str(path)).exit_code == 1

    folder = tmp_path / "reports" / str(DAY)
    csv_text = (folder / "discrepancies.csv").read_text(encoding="utf-8")
    html = (folder / "report.html").read_text(encoding="utf-8")
    for name, shown, marker in [
        ("csv", csv_text, "<U+202E>"),
        ("html", html, "&lt;U+202E&gt;"),
        ("txt", (folder / "report.txt").read_text(encoding="utf-8"), "<U+202E>"),
    ]:
        assert "\u202e" not in shown, name
        assert f"po-{marker}exe.txt" in shown, name
    assert "<U+202E>" + "n" * 100_000 in csv_text  # the CSV keeps the note whole
    assert "&lt;U+202E&gt;" + "n" * 199 + "... (99801 more characters)" in html
    listing = recon("breaks", "--config", str(path))
    assert "\u202e" not in listing.output and "n" * 201 not in listing.output
    assert "<U+202E>" + "n" * 199 + "... (99801 more characters)" in listing.output

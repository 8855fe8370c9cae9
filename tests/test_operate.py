"""Operating recon nightly: run records, `recon backfill`, the data-directory lock, concurrent
runs, `--fail-on` and `--log-format json` with redaction.

Runs go against the sandbox on loopback; the lock and concurrency tests start real `recon`
processes, since a lock held by the test's own process would prove nothing.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from recon import config, logs, pipeline
from recon.cli import cli
from recon.history import History, exit_code
from recon.lake import Lake
from recon.lock import Busy, exclusive
from recon.sandbox.server import Sandbox
from tests.conftest import MakeSandbox
from tests.helpers import DAY, credentials, free_port, header_only_ledger, hold_lock, run_config

RECON = str(Path(sys.executable).with_name("recon"))


def recon(sandbox: Sandbox, *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env=credentials(sandbox))


# A partner that exports every day: a night without its export fails (exit 2) at once.
EVERY_DAY = "max_export_gap_days = 0"


def attempts(path: Path) -> list[dict[str, Any]]:
    return list(reversed(pipeline.history_of(config.load(path)).attempts(100)))


# -- run records and backfill -----------------------------------------------------------------


def test_every_run_is_recorded_with_its_status_exit_code_and_stage_timings(
    make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    sandbox = make_sandbox()
    path = run_config(tmp_path, sandbox.base_url, ledger=EVERY_DAY)
    done = recon(sandbox, "run", "--date", str(DAY), "--config", str(path), "--no-email")
    assert done.exit_code == 1, done.output
    (tmp_path / f"ledger-{DAY}.csv").unlink()
    failed = recon(sandbox, "run", "--date", str(DAY), "--config", str(path), "--no-email")
    assert failed.exit_code == 2

    first, second = attempts(path)
    assert (first["run_date"], first["command"], first["status"], first["exit_code"]) == (
        DAY,
        "run",
        "breaks",
        1,
    )
    assert set(json.loads(first["seconds"])) == {"extract", "diff", "report"}
    assert first["finished_at"] >= first["started_at"]
    assert (second["status"], second["exit_code"]) == ("failed", 2)
    assert f"ledger-{DAY}.csv" in second["error"]
    assert json.loads(second["seconds"]) == {}  # failed before asking Starship anything

    listing = recon(sandbox, "runs", "--config", str(path))
    assert listing.exit_code == 0, listing.output
    lines = listing.output.splitlines()
    assert "failed" in lines[1] and f"ledger-{DAY}.csv" in lines[1]  # newest first
    assert "breaks" in lines[2] and "extract" in lines[2]


def test_backfill_runs_exactly_the_dates_without_a_good_run_oldest_first(
    make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    sandbox = make_sandbox()
    path = run_config(tmp_path, sandbox.base_url, ledger=EVERY_DAY)
    three, two, one = (DAY - timedelta(days=n) for n in (3, 2, 1))
    (tmp_path / f"ledger-{three}.csv").unlink()
    header_only_ledger(tmp_path, two)
    header_only_ledger(tmp_path, one)
    assert recon(sandbox, "run", "--date", str(DAY), "--config", str(path)).exit_code == 1

    result = recon(
        sandbox, "backfill", "--since", str(three), "--until", str(DAY), "--config", str(path)
    )
    assert result.exit_code == 2, result.output  # `three` has no ledger export
    lines = result.output.splitlines()
    assert lines[0] == f"backfill {three} to {DAY}: 3 date(s) to run"
    assert [line.split()[:3] for line in lines[1:]] == [
        [str(three), "exit", "2"],
        [str(two), "exit", "1"],
        [str(one), "exit", "1"],
    ]
    assert f"ledger-{three}.csv" in lines[1]
    ran = attempts(path)
    assert [(a["run_date"], a["command"], a["exit_code"]) for a in ran] == [
        (DAY, "run", 1),
        (three, "backfill", 2),
        (two, "backfill", 1),
        (one, "backfill", 1),
    ]
    assert (tmp_path / "reports" / str(two) / "report.html").exists()

    header_only_ledger(tmp_path, three)  # the export arrives: only `three` is run again
    again = recon(
        sandbox, "backfill", "--since", str(three), "--until", str(DAY), "--config", str(path)
    )
    assert again.exit_code == 1, again.output
    assert [line.split()[0] for line in again.output.splitlines()[1:]] == [str(three)]

    nothing = recon(
        sandbox, "backfill", "--since", str(three), "--until", str(DAY), "--config", str(path)
    )
    assert nothing.exit_code == 0
    assert nothing.output.strip() == f"backfill {three} to {DAY}: every date has a good run"


def test_an_attempt_left_running_is_marked_killed_when_the_next_one_starts(
    tmp_path: Path,
) -> None:
    history = History(tmp_path / "recon.duckdb")
    dead = history.begin_attempt(DAY, "run")  # its process was killed: never finished
    alive = history.begin_attempt(DAY, "run")
    history.finish_attempt(alive, status="breaks", exit_code=1, seconds={"extract": 1.0})
    rows = {a["number"]: a for a in history.attempts()}
    assert (rows[dead]["status"], rows[dead]["exit_code"]) == ("killed", None)
    assert rows[alive]["status"] == "breaks"
    assert history.succeeded(DAY, DAY) == {DAY}


def test_backfill_refuses_an_empty_range(make_sandbox: MakeSandbox, tmp_path: Path) -> None:
    sandbox = make_sandbox()
    path = run_config(tmp_path, sandbox.base_url)
    result = recon(
        sandbox, "backfill", "--since", str(DAY), "--until", str(DAY - timedelta(days=1)),
        "--config", str(path),
    )  # fmt: skip
    assert result.exit_code == 2
    assert "is after --until" in result.output


# -- the lock and concurrent runs -------------------------------------------------------------


def test_a_run_exits_2_naming_the_holder_while_another_holds_the_lock(
    make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    sandbox = make_sandbox()
    path = run_config(tmp_path, sandbox.base_url)
    holder = hold_lock(tmp_path / "var", 30)
    try:
        result = recon(sandbox, "run", "--date", str(DAY), "--config", str(path))
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 2
    message = result.output.strip()
    assert message.startswith(f"recon: {tmp_path / 'var' / 'recon.lock'}: ")
    assert f"`recon run --date {DAY}` (pid {holder.pid}" in message
    assert "--wait" in message
    assert not (tmp_path / "var" / "lake").exists()  # nothing was extracted
    assert not (tmp_path / "var" / "recon.duckdb").exists()


def test_a_run_waits_for_the_lock_when_asked(make_sandbox: MakeSandbox, tmp_path: Path) -> None:
    sandbox = make_sandbox()
    path = run_config(tmp_path, sandbox.base_url)
    holder = hold_lock(tmp_path / "var", 1.5)
    started = time.monotonic()
    result = recon(sandbox, "run", "--date", str(DAY), "--config", str(path), "--wait", "60")
    holder.wait()
    assert result.exit_code == 1, result.output
    assert time.monotonic() - started >= 1.0  # it did wait for the holder


def test_the_lock_is_released_when_its_holder_dies(tmp_path: Path) -> None:
    holder = hold_lock(tmp_path, 60)
    with pytest.raises(Busy), exclusive(tmp_path, "test"):
        pass
    holder.kill()
    holder.wait()
    with exclusive(tmp_path, "test") as lock:
        assert json.loads(lock.read_text())["command"] == "test"
    assert lock.read_text() == ""  # who held it is cleared on release


def test_two_runs_of_one_date_at_once_take_turns_and_leave_one_consistent_night(
    make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    sandbox = make_sandbox()
    path = run_config(tmp_path, sandbox.base_url)
    command = [RECON, "run", "--date", str(DAY), "--config", str(path), "--no-email"]
    env = {**os.environ, **credentials(sandbox)}
    both = [
        subprocess.Popen(
            [*command, "--wait", "120"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in both]
    assert [p.returncode for p in both] == [1, 1], outputs

    ran = attempts(path)
    assert [a["status"] for a in ran] == ["breaks", "breaks"]
    first, second = sorted(ran, key=lambda a: a["started_at"])
    assert first["finished_at"] <= second["started_at"]  # one after the other, never together

    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copyfile(tmp_path / f"ledger-{DAY}.csv", alone / f"ledger-{DAY}.csv")
    single = run_config(alone, sandbox.base_url)
    assert recon(sandbox, "run", "--date", str(DAY), "--config", str(single)).exit_code == 1
    twice = pipeline.history_of(config.load(path)).findings(DAY)
    once = pipeline.history_of(config.load(single)).findings(DAY)
    columns = ["break_id", "check", "key", "state"]
    assert twice.select(columns).to_pylist() == once.select(columns).to_pylist()
    lake = Lake(tmp_path / "var" / "lake")
    assert (
        lake.read("orders", DAY).num_rows
        == Lake(alone / "var" / "lake").read("orders", DAY).num_rows
    )
    assert not list((tmp_path / "var" / "lake" / ".staging").glob("*.parquet"))


# -- what makes the exit code 1 ---------------------------------------------------------------


def finding(severity: str, state: str = "new") -> dict[str, str]:
    return {"severity": severity, "state": state}


def test_fail_on_chooses_the_severity_that_exits_1() -> None:
    warnings = [finding("warning"), finding("error", "acknowledged"), finding("info")]
    assert exit_code(warnings, complete=True) == 0
    assert exit_code(warnings, complete=True, fail_on="warning") == 1
    assert exit_code([finding("info")], complete=True, fail_on="warning") == 0
    assert exit_code([finding("warning", "snoozed")], complete=True, fail_on="warning") == 0
    assert exit_code([finding("error")], complete=True) == 1
    assert exit_code([], complete=False) == 1  # an incomplete night cannot show agreement


def test_fail_on_warning_on_the_command_line(make_sandbox: MakeSandbox, tmp_path: Path) -> None:
    sandbox = make_sandbox()
    path = run_config(tmp_path, sandbox.base_url)
    assert recon(sandbox, "run", "--date", str(DAY), "--config", str(path)).exit_code == 1
    history = pipeline.history_of(config.load(path))
    for f in history.findings(DAY).to_pylist():
        if f["severity"] == "error" and f["state"] != "expected":
            history.act(f["break_id"], "ack", note="explained in a test")
    args = ["report", "--date", str(DAY), "--config", str(path)]
    assert recon(sandbox, *args).exit_code == 0
    strict = recon(sandbox, *args, "--fail-on", "warning")
    assert strict.exit_code == 1  # the scenario's stuck PENDING orders are warnings
    summary = json.loads((tmp_path / "reports" / str(DAY) / "summary.json").read_text())
    assert summary["exit_code"] == 1


# -- logs ---------------------------------------------------------------------------------------


def test_json_logs_are_one_object_a_line_and_name_the_failure(tmp_path: Path) -> None:
    root = f"http://127.0.0.1:{free_port()}/api/v1"
    path = run_config(tmp_path, root, "max_attempts = 2")
    secret = "sk_test_do-not-log-this-0123456789"
    result = CliRunner().invoke(
        cli,
        ["--log-format", "json", "-vv", "run", "--date", str(DAY), "--config", str(path)],
        env={"STARSHIP_API_KEY": "pk_test_partner-key", "STARSHIP_API_SECRET": secret},
    )
    assert result.exit_code == 2
    records = [json.loads(line) for line in result.stderr.splitlines()]
    assert records, "no log lines"
    assert {"time", "level", "logger", "message"} <= set(records[0])
    assert any("retry" in r["message"].lower() for r in records)  # -vv: the request log
    last = records[-1]
    assert (last["level"], last["exit_code"], last["error"]) == ("error", 2, "UnreachableError")
    assert root in last["message"]
    assert secret not in result.output and "pk_test_partner-key" not in result.output


def test_secrets_are_redacted_from_messages_arguments_and_tracebacks() -> None:
    secret = "a-registered-smtp-password"
    logs.register_secret(secret)
    for log_format in logs.FORMATS:
        stream = _Stream()
        logs.setup(log_format, 0, stream)
        log = logging.getLogger("recon.test")
        log.warning("login as %s failed", secret)
        log.warning("header X-API-Secret: sk_live_abcdef123456 refused")
        try:
            raise ValueError(f"connection string user:{secret}@host")
        except ValueError:
            log.exception("could not connect")
        text = stream.getvalue()
        assert secret not in text and "sk_live_abcdef123456" not in text, text
        assert text.count(logs.REDACTED) == 3
        if log_format == "json":
            lines = [json.loads(line) for line in text.splitlines()]
            assert "ValueError" in lines[-1]["exception"]
    logs.setup("text", 0)


class _Stream:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def flush(self) -> None:
        pass

    def getvalue(self) -> str:
        return "".join(self.parts)

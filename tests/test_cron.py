"""cron/recon-nightly, run for real: bash, flock, the venv's recon and the sandbox over HTTP.

Each test lays out a working folder (`home`) as an operator would: recon.toml and the
fixture ledger (tests.test_report.run_config), and the env file beside them, so RECON_HOME
defaults to it. The wrapper runs with a cron-like environment (a short PATH, nothing else of
this process's), from another folder.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from recon import config, pipeline
from recon.sandbox.server import Sandbox
from tests.conftest import MakeSandbox
from tests.helpers import DAY, credentials, free_port, run_config

ROOT = Path(__file__).parents[1]
SCRIPT = ROOT / "cron" / "recon-nightly"
RECON = Path(sys.executable).with_name("recon")
LOG = Path("var", "log", "recon-nightly.log")  # under home, the default RECON_LOG
LOCK = Path("var", "recon-nightly.lock")  # the default RECON_LOCK
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ recon-nightly: "  # a wrapper line's start

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or shutil.which("flock") is None,
    reason="the wrapper needs Linux's flock(1) and GNU date",
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder.resolve()  # as the wrapper names it (pwd -P)


def write_env(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)
    return path


def settings(sandbox: Sandbox | None = None, **extra: object) -> str:
    """An env file's text: the recon to run, the scenario date, credentials, then `extra`."""
    values: dict[str, object] = {
        "RECON_BIN": RECON,
        "RECON_DATE": DAY.isoformat(),
        **credentials(sandbox),
        **extra,
    }
    return "# recon-nightly's settings\n\n" + "".join(f"{k}={v}\n" for k, v in values.items())


def nightly(env_file: Path | None, cwd: Path, **environ: str) -> subprocess.CompletedProcess[str]:
    """Run the wrapper as cron would; `environ` adds to a cron-like environment."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "LANG": "C.UTF-8", **environ}
    args = [str(SCRIPT)] if env_file is None else [str(SCRIPT), str(env_file)]
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def unreachable(home: Path) -> str:
    """Point home's recon.toml at a closed port, tried once: a run fails fast with exit 2."""
    root = f"http://127.0.0.1:{free_port()}/api/v1"
    run_config(home, root, "max_attempts = 1")
    return root


def recon_runs(home: Path) -> list[tuple[str, str, str, str]]:
    """`recon runs` as (date, command, status, exit code), newest first."""
    done = subprocess.run(
        [str(RECON), "runs", "--config", str(home / "recon.toml"), "--limit", "100"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    rows = [line.split() for line in done.stdout.splitlines() if re.match(r"\d{4}-", line)]
    return [(row[0], row[1], row[4], row[5]) for row in rows]


# -- a night ----------------------------------------------------------------------------------


def test_a_night_with_breaks_exits_1_logs_everything_and_prints_one_line(
    make_sandbox: MakeSandbox, home: Path, tmp_path: Path
) -> None:
    secret = f"sk_test_{secrets.token_hex(12)}"
    sandbox = make_sandbox(api_secret=secret)
    run_config(home, sandbox.base_url)
    env_file = write_env(home / "recon.env", settings(sandbox, RECON_BACKFILL_DAYS=0))

    night = nightly(env_file, cwd=tmp_path)

    assert night.returncode == 1, night.stderr
    log = home / LOG
    html = home / "reports" / DAY.isoformat() / "report.html"
    assert html.is_file()
    assert night.stdout == ""
    assert night.stderr == f"recon-nightly: exit 1 (discrepancies found) for {DAY}; see {log}\n"
    text = log.read_text()
    assert f"report: {html}" in text  # recon's own output
    assert "12 unexplained break(s) at error severity" in text
    wrapper = [line for line in text.splitlines() if "recon-nightly: " in line]
    assert all(re.match(STAMP, line) for line in wrapper), wrapper
    assert [re.sub(STAMP, "", line) for line in wrapper] == [
        f"start: date {DAY}, backfill of 0 day(s) before it, recon.toml in {home}",
        "backfill: off (RECON_BACKFILL_DAYS=0)",
        f"$ {RECON} --log-format text run --date {DAY} --config recon.toml --fail-on error "
        "--wait 300",
        "exit 1",
        "end: exit 1 (discrepancies found)",
    ]
    assert log.stat().st_mode & 0o777 == 0o600  # umask 077
    for output in (text, night.stdout, night.stderr):
        assert secret not in output

    # Once every error break is explained the books agree: exit 0, and not a word for cron.
    history = pipeline.history_of(config.load(home / "recon.toml"))
    for f in history.findings(DAY).to_pylist():
        if f["severity"] == "error" and f["state"] != "expected":
            history.act(f["break_id"], "ack", note="explained in a test")
    quiet = nightly(env_file, cwd=tmp_path)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    assert log.read_text().startswith(text)  # appended to, not replaced
    assert log.read_text().rstrip().endswith("recon-nightly: end: exit 0 (the books agree)")


def test_a_failed_run_passes_exit_2_on(home: Path, tmp_path: Path) -> None:
    root = unreachable(home)
    env_file = write_env(
        home / "recon.env",
        settings(RECON_BACKFILL_DAYS=7, RECON_LOG_FORMAT="json", RECON_FAIL_ON="warning"),
    )

    # The environment wins over the file: backfill off for this one night.
    night = nightly(env_file, cwd=tmp_path, RECON_BACKFILL_DAYS="0")

    assert night.returncode == 2
    assert night.stdout == ""
    assert night.stderr == f"recon-nightly: exit 2 (a run failed) for {DAY}; see {home / LOG}\n"
    text = (home / LOG).read_text()
    assert re.search(
        rf" --log-format json run --date {DAY} --config recon\.toml --fail-on warning "
        r"--wait 300\n",
        text,
    )
    errors = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert [e["exit_code"] for e in errors] == [2]
    assert root in errors[0]["message"]
    assert re.search(STAMP + "exit 2\n", text)
    assert "backfill: off" in text
    assert not (home / "reports").exists()


# -- the env file -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_an_env_file_others_can_read_is_refused_before_anything_runs(
    home: Path, tmp_path: Path, mode: int
) -> None:
    unreachable(home)  # were the wrapper to run recon after all, it would fail fast
    env_file = write_env(home / "recon.env", settings(), mode)

    night = nightly(env_file, cwd=tmp_path)

    assert night.returncode == 2
    assert night.stdout == ""
    assert night.stderr == (
        f"recon-nightly: {env_file} has mode {mode:04o}; group and others must not read it: "
        "chmod 600 it\n"
    )
    assert not (home / "var").exists()  # no log, no lock, no lake


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file away takes root")
def test_an_env_file_of_another_user_is_refused(home: Path, tmp_path: Path) -> None:
    unreachable(home)
    env_file = write_env(home / "recon.env", settings())
    os.chown(env_file, 65534, 65534)  # nobody

    night = nightly(env_file, cwd=tmp_path)

    assert night.returncode == 2
    assert night.stderr.startswith(f"recon-nightly: {env_file} is owned by uid 65534, not by")
    assert not (home / "var").exists()


def test_the_env_file_comes_from_the_argument_then_recon_env_file_then_etc(
    home: Path, tmp_path: Path
) -> None:
    missing = home / "missing.env"
    assert nightly(missing, cwd=tmp_path).stderr.startswith(f"recon-nightly: {missing}: no such")
    open_file = write_env(home / "recon.env", settings(), 0o644)
    by_variable = nightly(None, cwd=tmp_path, RECON_ENV_FILE=str(open_file))
    assert (by_variable.returncode, by_variable.stderr.split(" has ")[0]) == (
        2,
        f"recon-nightly: {open_file}",
    )
    if not Path("/etc/recon/recon.env").exists():
        default = nightly(None, cwd=tmp_path)
        assert default.returncode == 2
        assert default.stderr.startswith("recon-nightly: /etc/recon/recon.env: no such file")


@pytest.mark.parametrize(
    "line",
    [
        "touch pwned",
        "RECON_FAIL_ON = error",
        "1RECON=x",
        "RECON-FAIL-ON=error",
        'NOTE="$(touch pwned)',
        "IFS=x",
        "_worst=0",
    ],
)
def test_a_malformed_line_is_refused_with_its_number_and_nothing_runs(
    home: Path, tmp_path: Path, line: str
) -> None:
    unreachable(home)  # were the wrapper to run recon after all, it would fail fast
    text = settings() + "NOTE=$(touch pwned) `touch pwned`\n" + line + "\n"
    env_file = write_env(home / "recon.env", text)
    number = text.count("\n")

    night = nightly(env_file, cwd=tmp_path)

    assert night.returncode == 2
    assert night.stderr.startswith(f"recon-nightly: {env_file} line {number}: ")
    assert "pwned" not in night.stderr  # the line's text is never echoed
    assert not (home / "var").exists()
    assert not list(tmp_path.rglob("pwned"))


def test_values_are_taken_as_written_never_executed(home: Path, tmp_path: Path) -> None:
    """A config file named like a command substitution, in quotes: it reaches recon as is."""
    root = unreachable(home)
    hostile = "$(touch pwned) `touch pwned` ${HOME}.toml"
    (home / "recon.toml").rename(home / hostile)
    env_file = write_env(
        home / "recon.env",
        settings(
            RECON_BACKFILL_DAYS=0,
            RECON_CONFIG=f'"{hostile}"',
            RECON_LOG="'var/night log.txt'",
            NOTE="$(touch pwned) `touch pwned`; touch pwned",
        )
        + "  export RECON_LOCK='var/the lock'  \n",
    )

    night = nightly(env_file, cwd=tmp_path)

    assert not list(tmp_path.rglob("pwned"))
    assert night.returncode == 2  # recon read that config: it went to the closed port
    log = home / "var" / "night log.txt"
    assert night.stderr.endswith(f"; see {log}\n")
    assert root in log.read_text()
    assert (home / "var" / "the lock").exists()


# -- the lock ---------------------------------------------------------------------------------


@pytest.fixture
def held_lock(home: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the wrapper's lock until its stdin closes."""
    (home / LOCK).parent.mkdir(parents=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys\n"
            "lock = open(sys.argv[1], 'a')\n"
            "fcntl.flock(lock, fcntl.LOCK_EX)\n"
            "print('held', flush=True)\n"
            "sys.stdin.read()\n",
            str(home / LOCK),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    try:
        yield holder
    finally:
        holder.kill()
        holder.wait()


def test_a_held_lock_stops_the_night_then_waiting_for_it_works(
    make_sandbox: MakeSandbox, home: Path, tmp_path: Path, held_lock: subprocess.Popen[str]
) -> None:
    sandbox = make_sandbox()
    run_config(home, sandbox.base_url)
    env_file = write_env(home / "recon.env", settings(sandbox, RECON_BACKFILL_DAYS=0))

    night = nightly(env_file, cwd=tmp_path)

    message = f"another recon-nightly holds {home / LOCK}; not starting"
    assert (night.returncode, night.stdout, night.stderr) == (2, "", f"recon-nightly: {message}\n")
    assert re.fullmatch(STAMP + re.escape(message) + "\n", (home / LOG).read_text())
    assert not (home / "var" / "lake").exists()
    assert not (home / "var" / "recon.duckdb").exists()

    # Released a second into a wait of up to 60: the night runs once it has the lock.
    assert held_lock.stdin is not None
    threading.Timer(1.0, held_lock.stdin.close).start()
    waited = nightly(env_file, cwd=tmp_path, RECON_LOCK_WAIT="60")
    assert waited.returncode == 1, waited.stderr
    assert held_lock.wait(timeout=5) == 0
    assert (home / "reports" / DAY.isoformat() / "report.html").is_file()


# -- catching up ------------------------------------------------------------------------------


def test_a_missed_night_is_caught_up_once(
    make_sandbox: MakeSandbox, home: Path, tmp_path: Path
) -> None:
    """Backfill runs the nights before DAY that have no successful run, oldest first.

    Night one: DAY-1 has a ledger export with no rows, so its run works and reports every
    Starship order of that day missing from the ledger (exit 1: a successful run). DAY-2 has
    no export at all and the partner exports every day, so its run fails ("no ledger
    export", exit 2) and stays due. The wrapper
    exits 2, the worst of run (1) and backfill (2).

    Night two: DAY-2's export has landed, DAY's has gone. The run of DAY fails (2), backfill
    runs DAY-2 (1) and not DAY-1, which already succeeded. Still exit 2: the worst, not the last.
    """
    sandbox = make_sandbox()
    run_config(home, sandbox.base_url, ledger="max_export_gap_days = 0")
    before, missing = DAY - timedelta(days=1), DAY - timedelta(days=2)
    header = (home / f"ledger-{DAY}.csv").read_text(encoding="utf-8").splitlines()[0] + "\n"
    (home / f"ledger-{before}.csv").write_text(header, encoding="utf-8")
    (home / f"ledger-{missing}.csv").unlink()
    env_file = write_env(home / "recon.env", settings(sandbox, RECON_BACKFILL_DAYS=2))

    first = nightly(env_file, cwd=tmp_path)

    assert first.returncode == 2, first.stderr
    assert first.stderr == f"recon-nightly: exit 2 (a run failed) for {DAY}; see {home / LOG}\n"
    text = (home / LOG).read_text()
    assert f" backfill --since {missing} --until {before} --config recon.toml" in text
    assert re.search(rf"^{missing}\s+exit 2\s+failed: .*ledger-{missing}\.csv", text, re.M)
    assert re.search(rf"^{before}\s+exit 1\s", text, re.M)
    caught_up = home / "reports" / before.isoformat() / "report.html"
    assert caught_up.is_file()
    assert not (home / "reports" / missing.isoformat()).exists()
    runs = [
        (str(DAY), "run", "breaks", "1"),
        (str(missing), "backfill", "failed", "2"),
        (str(before), "backfill", "breaks", "1"),
    ]
    assert Counter(recon_runs(home)) == Counter(runs)

    report = caught_up.stat()
    (home / f"ledger-{missing}.csv").write_text(header, encoding="utf-8")
    (home / f"ledger-{DAY}.csv").unlink()
    second = nightly(env_file, cwd=tmp_path)

    assert second.returncode == 2, second.stderr
    assert (home / "reports" / missing.isoformat() / "report.html").is_file()
    again = [(str(DAY), "run", "failed", "2"), (str(missing), "backfill", "breaks", "1")]
    assert Counter(recon_runs(home)) == Counter(runs + again)  # DAY-1 not run again
    assert (caught_up.stat().st_ino, caught_up.stat().st_mtime_ns) == (
        report.st_ino,
        report.st_mtime_ns,
    )


# -- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"RECON_DATE": "2026-02-30"}, "RECON_DATE 2026-02-30: not a date (YYYY-MM-DD)"),
        ({"RECON_BACKFILL_DAYS": "a week"}, "RECON_BACKFILL_DAYS a week: not a whole number"),
        ({"RECON_LOCK_WAIT": "-1"}, "RECON_LOCK_WAIT -1: not a number of seconds"),
        ({"RECON_BIN": "/nonexistent/recon"}, "RECON_BIN /nonexistent/recon: no such command"),
        ({"RECON_HOME": "nowhere"}, "RECON_HOME nowhere: cannot change into it"),
    ],
)
def test_bad_settings_stop_the_wrapper_before_it_runs(
    home: Path, tmp_path: Path, extra: dict[str, str], message: str
) -> None:
    env_file = write_env(home / "recon.env", settings(**extra))
    night = nightly(env_file, cwd=tmp_path)
    assert night.returncode == 2
    assert night.stderr.startswith(f"recon-nightly: {message}")
    assert not (home / "var").exists()


def test_the_example_env_file_parses(home: Path, tmp_path: Path) -> None:
    """Every line of cron/recon.env.example is one the wrapper takes: it gets as far as
    RECON_HOME, which does not exist on a test machine."""
    if Path("/var/lib/recon").exists():
        pytest.skip("/var/lib/recon exists here")
    example = write_env(home / "recon.env", (ROOT / "cron" / "recon.env.example").read_text())
    night = nightly(example, cwd=tmp_path)
    assert night.returncode == 2
    assert night.stderr == "recon-nightly: RECON_HOME /var/lib/recon: cannot change into it\n"


def test_the_crontab_runs_the_wrapper_after_midnight_utc() -> None:
    lines = (ROOT / "cron" / "recon.crontab").read_text().splitlines()
    entries = [line for line in lines if line and not line.startswith("#")]
    assert entries[0] == "CRON_TZ=UTC"
    jobs = [line.split(maxsplit=5) for line in entries if "=" not in line.split()[0]]
    assert len(jobs) == 1
    minute, hour, *days, command = jobs[0]
    assert days == ["*", "*", "*"]
    assert command == "/opt/recon/cron/recon-nightly /etc/recon/recon.env"
    assert 0 <= int(hour) < 6 and 0 <= int(minute) < 60
    assert os.access(SCRIPT, os.X_OK)

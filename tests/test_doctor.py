"""`recon doctor` against real parts: the Starship sandbox on loopback and an aiosmtpd relay.

Each test lays out the demo's folder (`run_config`: the week's exports, the discount sheet, a
recon.toml pointing at the sandbox), breaks one thing, and reads doctor's lines as an on-call
engineer would. The relay is a real SMTP server with STARTTLS (a throwaway CA from trustme)
and a login it never gets: doctor only says EHLO.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme
from click.testing import CliRunner

from recon import doctor
from recon.cli import cli
from recon.lock import exclusive
from recon.sandbox.server import Sandbox
from tests.conftest import MakeSandbox
from tests.helpers import DAY, credentials, free_port, run_config
from tests.smtp import CountingController, Handler

SMTP_USER, SMTP_PASSWORD = "night-batch", "pw-Xr4!doctor-never-prints-it"
LINE = re.compile(r"(ok|warn|FAIL|skip) +(\S+) +(.*)")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def relay(ca: trustme.CA) -> Iterator[tuple[CountingController, Handler]]:
    """A submission relay on loopback: STARTTLS required, then a login (never used here)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    handler = Handler()
    controller = CountingController(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=context,
        require_starttls=True,
        authenticator=handler.authenticate,
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    controller.connections = 0  # start() made one of its own
    yield controller, handler
    controller.stop()


def email_section(port: int, ca_file: Path | None = None) -> str:
    tls = f'starttls = true\nca_file = "{ca_file}"\n' if ca_file else "starttls = false\n"
    return (
        f'\n[email]\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\n{tls}'
        'to = ["finance@example.com"]\ntimeout_seconds = 5\n'
    )


def environment(sandbox: Sandbox | None, **changes: str | None) -> dict[str, str | None]:
    """The sandbox's credentials and nothing of the caller's SMTP login; None unsets."""
    env: dict[str, str | None] = {
        **credentials(sandbox),
        "RECON_SMTP_USER": None,
        "RECON_SMTP_PASSWORD": None,
    }
    return env | changes


def recon_doctor(path: Path, env: dict[str, str | None], *extra: str) -> tuple[int, dict, str]:
    """Exit code, {check name: (status, message)} in order, and everything printed."""
    result = CliRunner().invoke(
        cli, ["doctor", "--config", str(path), "--date", DAY.isoformat(), *extra], env=env
    )
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    checks = {}
    for line in result.stdout.splitlines():
        match = LINE.fullmatch(line)
        assert match, f"not a check line: {line!r}"
        checks[match[2]] = (match[1], match[3])
    return result.exit_code, checks, result.output


def tree(folder: Path) -> list[tuple[str, int, int]]:
    """Every path under `folder`, with each file's size and modification time (a folder's
    own time changes when a probe is created in it and removed)."""
    return sorted(
        (str(p.relative_to(folder)), -1, -1)
        if p.is_dir()
        else (str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
    )


def test_all_green_exits_0_and_changes_nothing(
    make_sandbox: MakeSandbox,
    relay: tuple[CountingController, Handler],
    ca: trustme.CA,
    tmp_path: Path,
) -> None:
    controller, handler = relay
    sandbox = make_sandbox(reconciliation="planned")
    ca_file = tmp_path / "relay-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    path = run_config(tmp_path, sandbox.base_url)
    path.write_text(path.read_text() + email_section(controller.port, ca_file))
    env = environment(sandbox, RECON_SMTP_USER=SMTP_USER, RECON_SMTP_PASSWORD=SMTP_PASSWORD)
    settings_data = tmp_path / "var"
    # the night's Starship side, which doctor tries the export against
    extracted = CliRunner().invoke(
        cli, ["extract", "--date", DAY.isoformat(), "--config", str(path)], env=env
    )
    assert extracted.exit_code == 0, extracted.output
    # a writer holding the lock does not stop doctor: it takes none
    with exclusive(settings_data, "run --date 2026-04-14"):
        before = tree(tmp_path)
        code, checks, output = recon_doctor(path, env)
        assert tree(tmp_path) == before  # the probes are gone, nothing else was written
    assert code == 0, output
    assert list(checks) == list(doctor.NAMES)
    assert {status for status, _ in checks.values()} == {"ok"}, output
    assert checks["config"][1] == f"{path}: valid"
    assert checks["credentials"][1] == (
        "STARSHIP_API_KEY, STARSHIP_API_SECRET, RECON_SMTP_USER, RECON_SMTP_PASSWORD are set"
    )
    assert re.fullmatch(
        rf"GET {re.escape(sandbox.base_url)}/wallets: 4 wallet\(s\) \(EUR, JPY, KWD, USD\) "
        r"\(X-Trace-ID trc_[0-9a-f]{32}\)",
        checks["starship"][1],
    )
    assert checks["reconciliation"][1].startswith(
        f"GET /reconciliation/{DAY}: served (orders_total 23, vouchers_allocated 33, "
        "matched 32, drifted 1, unmatched 0; 1 drift(s)) (X-Trace-ID trc_"
    )
    assert checks["ledger"][1] == (
        f"{tmp_path / f'ledger-{DAY}.csv'}: the header has the 7 mapped columns"
    )
    assert checks["books"][1] == (
        f"{DAY}'s export against the lake: 23 findings, none of them pointing to a setting "
        "(tried in a scratch folder, nothing recorded)"
    )
    assert checks["data_dir"][1].startswith(f"{settings_data}: writable, ")
    assert checks["out_dir"][1].startswith(
        f"{tmp_path / 'reports'}: not there yet; recon creates it in {tmp_path}, writable"
    )
    assert checks["discounts"][1] == f"{tmp_path / 'discounts.csv'}: 9 discount term(s)"
    assert checks["smtp"][1].startswith(f"127.0.0.1:{controller.port} answered EHLO (")
    assert checks["smtp"][1].endswith("over TLSv1.3; no login tried, nothing sent")
    # the relay was greeted once: no login, no message
    assert (controller.connections, handler.logins, handler.data_calls) == (1, [], 0)
    for secret in (SMTP_PASSWORD, sandbox.options.api_secret, sandbox.options.api_key):
        assert secret not in output


@pytest.mark.parametrize(("value", "says"), [(None, "is not set"), ("  ", "is empty")])
def test_a_missing_variable_exits_2_naming_it_and_skips_starship(
    sandbox: Sandbox, tmp_path: Path, value: str | None, says: str
) -> None:
    path = run_config(tmp_path, sandbox.base_url)
    code, checks, output = recon_doctor(path, environment(sandbox, STARSHIP_API_SECRET=value))
    assert code == 2, output
    assert checks["credentials"] == ("FAIL", f"STARSHIP_API_SECRET {says}")
    assert checks["starship"] == ("skip", "needs STARSHIP_API_SECRET")
    assert checks["reconciliation"][0] == "skip"
    # the checks that do not need Starship still ran (no lake yet to try the books against)
    assert [checks[name][0] for name in doctor.NAMES[4:]] == ["ok", "warn", "ok", "ok", "ok", "ok"]
    assert sandbox.options.api_key not in output
    assert f"FAIL credentials     STARSHIP_API_SECRET {says}\n" in output


def test_a_wrong_secret_is_the_401_with_its_request_and_trace_id(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    path = run_config(tmp_path, sandbox.base_url)
    env = environment(sandbox, STARSHIP_API_SECRET="sk_test_not-the-sandbox-one")
    code, checks, output = recon_doctor(path, env)
    assert code == 2
    status, message = checks["starship"]
    assert status == "FAIL"
    assert re.fullmatch(
        rf"GET {re.escape(sandbox.base_url)}/wallets: HTTP 401 E_UNAUTHORIZED: .+ "
        r"\(X-Trace-ID trc_[0-9a-f]{32}\)",
        message,
    ), message
    assert checks["reconciliation"] == ("skip", "needs an answer from Starship")
    assert "not-the-sandbox" not in output


def test_an_unreachable_starship_fails_quickly_naming_the_request(tmp_path: Path) -> None:
    base_url = f"http://127.0.0.1:{free_port()}/api/v1"
    code, checks, _ = recon_doctor(run_config(tmp_path, base_url), environment(None))
    assert code == 2
    assert checks["starship"] == (
        "FAIL",
        f"GET {base_url}/wallets: connection failed (ConnectionError)",
    )


@pytest.mark.parametrize(
    ("mode", "status", "says", "code"),
    [
        ("off", "warn", "not available yet (HTTP 404 E_NOT_FOUND)", 0),
        ("not-implemented", "warn", "not available yet (HTTP 501 E_NOT_IMPLEMENTED)", 0),
        ("planned", "ok", "served (orders_total 23,", 0),
        ("changed", "ok", "served (orders_total 23,", 0),
        ("malformed", "FAIL", "unreadable: ", 2),
    ],
)
def test_whether_starship_serves_the_reconciliation_yet(
    make_sandbox: MakeSandbox, tmp_path: Path, mode: str, status: str, says: str, code: int
) -> None:
    sandbox = make_sandbox(reconciliation=mode)
    path = run_config(tmp_path, sandbox.base_url)
    exit_code, checks, output = recon_doctor(path, environment(sandbox))
    assert exit_code == code, output
    assert checks["reconciliation"][0] == status
    assert checks["reconciliation"][1].startswith(f"GET /reconciliation/{DAY}: {says}")
    assert "X-Trace-ID trc_" in checks["reconciliation"][1]


def test_a_night_without_its_export_checks_the_latest_one(sandbox: Sandbox, tmp_path: Path) -> None:
    path = run_config(tmp_path, sandbox.base_url)
    (tmp_path / f"ledger-{DAY}.csv").unlink()
    code, checks, _ = recon_doctor(path, environment(sandbox))
    assert code == 0
    assert checks["ledger"][0] == "ok"
    assert checks["ledger"][1].startswith(f"no ledger export for {DAY} yet")
    assert checks["ledger"][1].endswith(
        f"the latest, {tmp_path / f'ledger-{DAY - timedelta(days=1)}.csv'}: the header has the "
        "7 mapped columns"
    )


def test_a_missing_ledger_export_names_its_path(sandbox: Sandbox, tmp_path: Path) -> None:
    path = run_config(tmp_path, sandbox.base_url, ledger="max_export_gap_days = 0")
    export = tmp_path / f"ledger-{DAY}.csv"
    export.unlink()
    code, checks, _ = recon_doctor(path, environment(sandbox))
    assert code == 2
    assert checks["ledger"][0] == "FAIL"
    assert (
        f"no ledger export for 1 day in a row ({DAY} to {DAY}: ledger-{DAY}.csv"
        in (checks["ledger"][1])
    )


def test_a_ledger_missing_mapped_columns_names_them_and_what_the_file_has(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    path = run_config(tmp_path, sandbox.base_url)
    export = tmp_path / f"ledger-{DAY}.csv"
    header, rest = export.read_text(encoding="utf-8").split("\n", 1)
    renamed = header.replace("Ccy", "Currency").replace("Our Ref", "Reference")
    export.write_text(renamed + "\n" + rest, encoding="utf-8")
    code, checks, _ = recon_doctor(path, environment(sandbox))
    assert code == 2
    has = ", ".join(repr(name) for name in renamed.split(","))
    assert checks["ledger"] == (
        "FAIL",
        f"{export}: no column 'Our Ref' (ledger.columns.reference), 'Ccy' "
        f"(ledger.columns.currency); the file has: {has}",
    )


def test_an_smtp_port_with_nothing_listening_names_host_and_port(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    port = free_port()
    path = run_config(tmp_path, sandbox.base_url)
    path.write_text(path.read_text() + email_section(port))
    code, checks, _ = recon_doctor(path, environment(sandbox))
    assert code == 2
    status, message = checks["smtp"]
    assert status == "FAIL"
    assert message.startswith(f"SMTP 127.0.0.1:{port}: ") and "refused" in message
    # no login named: fine for a local relay, and worth saying
    assert checks["credentials"] == (
        "warn",
        "RECON_SMTP_USER is not set: mail is sent without logging in",
    )


def test_a_relay_that_offers_no_login_to_a_configured_user_fails(
    sandbox: Sandbox, relay: tuple[CountingController, Handler], tmp_path: Path
) -> None:
    """STARTTLS off: this relay advertises AUTH only over TLS, so the login would fail."""
    controller, handler = relay
    path = run_config(tmp_path, sandbox.base_url)
    path.write_text(path.read_text() + email_section(controller.port))
    env = environment(sandbox, RECON_SMTP_USER=SMTP_USER, RECON_SMTP_PASSWORD=SMTP_PASSWORD)
    code, checks, output = recon_doctor(path, env)
    assert code == 2
    assert SMTP_PASSWORD not in output
    # a password over an unencrypted connection to loopback is allowed (mail's own rule)
    assert checks["credentials"][0] == "ok"
    assert checks["smtp"][0] == "FAIL"
    assert "in the clear but offers no AUTH, and RECON_SMTP_USER is set" in checks["smtp"][1]
    assert handler.logins == []


def test_a_bad_configuration_is_the_one_failure_and_the_rest_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "recon.toml"
    path.write_text('[storage]\nmemory_limit = "lots"\n')
    code, checks, _ = recon_doctor(path, environment(None))
    assert code == 2
    assert checks["config"] == (
        "FAIL",
        f'{path}: [storage] memory_limit must be a size like "1.5GB" or "800MiB", not \'lots\'',
    )
    assert list(checks) == list(doctor.NAMES)
    assert {checks[name] for name in doctor.NAMES[1:]} == {("skip", "needs a valid configuration")}


def test_folders_a_night_cannot_write_to(tmp_path: Path) -> None:
    """The library call, without Starship (no credentials): the folder checks alone."""
    path = run_config(tmp_path, "http://127.0.0.1:9/api/v1")
    (tmp_path / "a-file").write_text("not a folder\n")
    path.write_text(
        path.read_text()
        .replace('data_dir = "var"', 'data_dir = "a-file/var"')
        .replace('out_dir = "reports"', 'out_dir = "new/reports/out"')
    )
    before = tree(tmp_path)
    checks: list[Any] = doctor.run(path, DAY, environ={})
    assert tree(tmp_path) == before
    found = {check.name: check for check in checks}
    assert (found["data_dir"].status, found["data_dir"].message) == (
        "fail",
        f"{tmp_path / 'a-file' / 'var'} ([storage] data_dir): "
        f"{tmp_path / 'a-file'} is not a folder",
    )
    assert found["out_dir"].status == "ok"
    assert found["out_dir"].message.startswith(
        f"{tmp_path / 'new' / 'reports' / 'out'}: not there yet; recon creates it in {tmp_path}"
    )
    assert doctor.exit_code(checks) == 2
    lines = doctor.lines(checks)
    assert lines[0] == f"ok   config          {path}: valid"
    assert lines[1].startswith("FAIL credentials     STARSHIP_API_KEY is not set; ")


def test_a_relay_that_wants_a_login_nobody_configured_fails(
    sandbox: Sandbox,
    relay: tuple[CountingController, Handler],
    ca: trustme.CA,
    tmp_path: Path,
) -> None:
    """No RECON_SMTP_USER, and the relay takes mail only after a login: MAIL FROM (then RSET)
    finds that out before the first night does, and still sends nothing."""
    controller, handler = relay
    ca_file = tmp_path / "relay-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    path = run_config(tmp_path, sandbox.base_url)
    path.write_text(path.read_text() + email_section(controller.port, ca_file))
    code, checks, _ = recon_doctor(path, environment(sandbox))
    assert code == 2
    status, message = checks["smtp"]
    assert status == "FAIL"
    assert message.startswith(
        f"SMTP 127.0.0.1:{controller.port}: refused mail from recon@example.com without a "
        "login: 530"
    ), message
    assert handler.logins == [] and handler.delivered == [] and handler.data_calls == 0


def test_a_setting_most_breaks_point_to_fails_the_books_check(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """The demo's export read with purchases as negative numbers: every matched amount is
    minus the charge, and doctor names the key before the first night is ever recorded."""
    path = run_config(tmp_path, sandbox.base_url, ledger='purchase_sign = "negative"')
    env = environment(sandbox)
    extracted = CliRunner().invoke(
        cli, ["extract", "--date", DAY.isoformat(), "--config", str(path)], env=env
    )
    assert extracted.exit_code == 0, extracted.output
    before = tree(tmp_path)
    code, checks, output = recon_doctor(path, env)
    assert tree(tmp_path) == before  # no history, no kept export: the lake's ledger untouched
    assert code == 2, output
    status, message = checks["books"]
    assert status == "FAIL"
    assert message.startswith("likely cause ledger.purchase_sign: 18 of 22 matched amounts ")
    assert "(now 'negative'): positive?" in message


def test_without_the_nights_orders_in_the_lake_the_books_check_says_how(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    path = run_config(tmp_path, sandbox.base_url)
    _, checks, output = recon_doctor(path, environment(sandbox))
    assert checks["books"] == (
        "warn",
        f"the lake has no orders of {DAY} to try the export against: run `recon extract "
        f"--date {DAY}`, then `recon doctor --date {DAY}`",
    ), output

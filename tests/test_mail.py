"""recon.mail against a real SMTP server on loopback (aiosmtpd), plain and over TLS.

Nothing in smtplib is replaced: every test composes the report `recon demo` wrote and sends it
over a socket to an aiosmtpd relay, whose handler (tests/smtp.py) records what arrived and
answers what the test asks it to. A throwaway CA (trustme) signs the relay's certificate for
STARTTLS and implicit TLS. Waits between attempts go through `send`'s own `sleep` argument,
recorded instead of slept.
"""

from __future__ import annotations

import csv
import email
import email.policy
import gzip
import json
import re
import shutil
import ssl
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

import pytest
import trustme
from click.testing import CliRunner

from recon import report
from recon.cli import cli
from recon.config import EmailConfig, from_dict
from recon.demo import DemoResult, run_demo
from recon.errors import ConfigError, ReconError
from recon.history import History
from recon.mail import COMPRESS_ABOVE_BYTES, MailError, compose, send
from recon.report import EMAIL_BYTES, TREND_NIGHTS, ReportFiles
from tests.helpers import free_port
from tests.nights import CURRENCIES, record_nights
from tests.smtp import PASSWORD, USER, CountingController, Handler

DAY = "2026-04-14"
SENDER = "recon@example.com"
RECIPIENTS = ["finance@example.com", "ops@example.com"]
LOGIN_ENV = {"RECON_SMTP_USER": USER, "RECON_SMTP_PASSWORD": PASSWORD}
SANDBOX_SECRET = "sk_test_sandbox"
VOUCHER_CODE = re.compile(r"\b[A-HJ-NP-Z2-9]{4}(?:-[A-HJ-NP-Z2-9]{4}){3}\b")


# -- the relay -------------------------------------------------------------------------------


@dataclass
class Relay:
    controller: CountingController
    handler: Handler
    host: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def connections(self) -> int:
        return self.controller.connections


StartRelay = Callable[..., Relay]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    return context


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The throwaway CA's certificate, as `[email] ca_file` names a company CA."""
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def start_relay() -> Iterator[StartRelay]:
    """Start an aiosmtpd relay on a free loopback port (Controller keywords pass through)."""
    with ExitStack() as stack:

        def start(handler: Handler | None = None, **options: Any) -> Relay:
            handler = handler or Handler()
            host, port = "127.0.0.1", free_port()
            controller = CountingController(handler, hostname=host, port=port, **options)
            controller.start()
            stack.callback(controller.stop)
            controller.connections = 0  # start() made one connection of its own
            return Relay(controller, handler, host, port)

        yield start


@pytest.fixture
def relay(start_relay: StartRelay) -> Relay:
    """A plain local relay: no TLS, no login."""
    return start_relay()


@pytest.fixture
def tls_relay(start_relay: StartRelay, server_tls: ssl.SSLContext) -> Relay:
    """A submission relay: STARTTLS required, and a login over it."""
    handler = Handler()
    return start_relay(
        handler,
        tls_context=server_tls,
        require_starttls=True,
        authenticator=handler.authenticate,
        auth_required=True,
        auth_require_tls=True,
    )


# -- the report ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return run_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def files(demo: DemoResult) -> ReportFiles:
    return ReportFiles(demo.report.parent)


@pytest.fixture(scope="module")
def summary(files: ReportFiles) -> dict[str, Any]:
    return cast(dict[str, Any], json.loads(files.summary.read_text(encoding="utf-8")))


@pytest.fixture
def copied_files(files: ReportFiles, tmp_path: Path) -> ReportFiles:
    """A copy of the report folder that a test may change."""
    return ReportFiles(Path(shutil.copytree(files.folder, tmp_path / DAY)))


@pytest.fixture
def sleeps() -> list[float]:
    """The waits `send` asked for, instead of sleeping them."""
    return []


# -- helpers ---------------------------------------------------------------------------------


def email_config(relay: Relay | None = None, **keys: Any) -> EmailConfig:
    """A validated [email] section for `relay`: plain SMTP unless `keys` say otherwise."""
    table: dict[str, Any] = {"starttls": False, "from": SENDER, "to": RECIPIENTS}
    if relay is not None:
        table |= {"smtp_host": relay.host, "smtp_port": relay.port, "timeout_seconds": 10}
    table |= keys
    config = from_dict({"email": table}).email
    assert config is not None
    return config


def parse(raw: bytes) -> EmailMessage:
    return cast(EmailMessage, email.message_from_bytes(raw, policy=email.policy.default))


def decoded_parts(message: EmailMessage) -> list[bytes]:
    """Every leaf part's decoded bytes, gunzipped where gzipped."""
    found = []
    for part in message.walk():
        if part.is_multipart():
            continue
        data = cast(bytes, part.get_payload(decode=True))
        found.append(
            gzip.decompress(data) if part.get_content_type() == "application/gzip" else data
        )
    return found


def attachments(message: EmailMessage) -> dict[str, tuple[str, bytes]]:
    """{filename: (content type, decoded bytes)}."""
    return {
        str(part.get_filename()): (
            part.get_content_type(),
            cast(bytes, part.get_payload(decode=True)),
        )
        for part in message.iter_attachments()
    }


def subject(message: EmailMessage) -> str:
    """The Subject as a mail client shows it. Python folds a long Subject right after the
    colon ("Subject:\\r\\n recon ..."), and its parser keeps the fold's space when
    unfolding; readers drop that leading white space."""
    return str(message["Subject"]).lstrip()


def as_sent(text: str) -> str:
    """A file's text as a MIME text part carries it: lines end CRLF, the last one too."""
    return (text if text.endswith("\n") else text + "\n").replace("\n", "\r\n")


def pad_csv(path: Path, size: int) -> bytes:
    """Grow the CSV at `path` to exactly `size` bytes with copies of its data rows."""
    data = path.read_bytes()
    header, _, rows = data.partition(b"\r\n")
    assert rows, "the demo's discrepancies.csv has no rows to repeat"
    grown = header + b"\r\n" + rows * (size // len(rows) + 1)
    padded = grown[:size]
    path.write_bytes(padded)
    return padded


# -- delivery --------------------------------------------------------------------------------


def test_plain_relay_gets_the_report_as_written(
    relay: Relay, files: ReportFiles, summary: dict[str, Any]
) -> None:
    """To a local relay without TLS or login: headers, both bodies and both CSVs, as on disk."""
    config = email_config(relay)
    before = datetime.now(UTC)
    send(compose(files, config), config, environ={}, backoff_seconds=0)

    [delivery] = relay.handler.delivered
    assert delivery.mail_from == SENDER
    assert delivery.rcpt_tos == RECIPIENTS
    assert delivery.tls is None
    message = parse(delivery.raw)
    assert summary["verdict"] and summary["date"] == DAY
    assert subject(message) == f"recon {DAY}: {summary['verdict']}"
    assert message["From"] == SENDER
    assert [a.addr_spec for a in message["To"].addresses] == RECIPIENTS
    sent_at = message["Date"].datetime
    assert before - timedelta(seconds=5) <= sent_at <= datetime.now(UTC) + timedelta(seconds=5)
    assert re.fullmatch(r"<[^<>@\s]+@example\.com>", message["Message-ID"])
    assert message["Auto-Submitted"] == "auto-generated"

    assert message.get_content_type() == "multipart/mixed"
    body = next(message.iter_parts())
    assert body.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in body.iter_parts()] == ["text/plain", "text/html"]
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None
    assert plain.get_content() == as_sent(files.text.read_text(encoding="utf-8"))
    assert html.get_content() == as_sent(files.html.read_text(encoding="utf-8"))

    assert summary["inputs"]["quarantined"] > 0  # so quarantine.csv must be attached
    assert attachments(message) == {
        f"{DAY}-discrepancies.csv": ("text/csv", files.discrepancies.read_bytes()),
        f"{DAY}-quarantine.csv": ("text/csv", files.quarantine.read_bytes()),
    }


def test_starttls_login_and_no_secrets_in_the_message(
    tls_relay: Relay, files: ReportFiles, ca_file: Path, demo: DemoResult
) -> None:
    """Over STARTTLS with the CA file: the login from the environment reaches the relay inside
    TLS, and neither that password, the API secret nor any voucher code is in the message."""
    config = email_config(tls_relay, starttls=True, ca_file=str(ca_file))
    send(compose(files, config), config, environ=LOGIN_ENV, backoff_seconds=0)

    assert tls_relay.handler.logins == [(USER, PASSWORD, True)]
    [delivery] = tls_relay.handler.delivered
    assert delivery.tls is not None and delivery.tls.startswith("TLS")

    codes = {i.voucher_code for o in demo.scenario.orders for i in o.items if i.voucher_code}
    codes |= set(VOUCHER_CODE.findall(json.dumps(demo.scenario.answer_key)))
    assert len(codes) > 50  # the scenario does hand out vouchers
    decoded = decoded_parts(parse(delivery.raw))
    with files.discrepancies.open(encoding="utf-8", newline="") as handle:
        first_order = next(csv.DictReader(handle))["order_id"]
    # the decoded parts are the readable report: a finding's order id is there
    assert first_order.startswith("ord_") and any(first_order.encode() in p for p in decoded)
    for blob in [delivery.raw, *decoded]:
        assert PASSWORD.encode() not in blob
        assert SANDBOX_SECRET.encode() not in blob
        assert not any(code.encode() in blob for code in codes)
        assert not VOUCHER_CODE.search(blob.decode("utf-8", "replace"))


def test_implicit_tls(
    start_relay: StartRelay, server_tls: ssl.SSLContext, files: ReportFiles, ca_file: Path
) -> None:
    """implicit_tls = true speaks TLS from the first byte (port 465 style)."""
    relay = start_relay(ssl_context=server_tls)
    config = email_config(relay, implicit_tls=True, ca_file=str(ca_file))
    send(compose(files, config), config, environ={}, backoff_seconds=0)

    [delivery] = relay.handler.delivered
    assert delivery.tls is not None and delivery.tls.startswith("TLS")
    assert subject(parse(delivery.raw)).startswith(f"recon {DAY}: ")


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_login_in_the_clear_is_allowed_to_a_loopback_relay(
    start_relay: StartRelay, files: ReportFiles
) -> None:
    """The one exception to 'never log in unencrypted': a relay on this machine."""
    handler = Handler()
    relay = start_relay(
        handler, authenticator=handler.authenticate, auth_required=True, auth_require_tls=False
    )
    config = email_config(relay)
    send(compose(files, config), config, environ=LOGIN_ENV, backoff_seconds=0)

    assert handler.logins == [(USER, PASSWORD, False)]
    assert len(handler.delivered) == 1


def test_large_csv_is_attached_gzipped(relay: Relay, copied_files: ReportFiles) -> None:
    """A discrepancies.csv over 1 MB goes as application/gzip, .csv.gz, the same bytes inside;
    one of exactly the limit still goes as text/csv."""
    padded = pad_csv(copied_files.discrepancies, COMPRESS_ABOVE_BYTES + 1)
    config = email_config(relay)
    send(compose(copied_files, config), config, environ={}, backoff_seconds=0)

    [delivery] = relay.handler.delivered
    sent = attachments(parse(delivery.raw))
    assert sorted(sent) == [f"{DAY}-discrepancies.csv.gz", f"{DAY}-quarantine.csv"]
    content_type, data = sent[f"{DAY}-discrepancies.csv.gz"]
    assert content_type == "application/gzip"
    assert gzip.decompress(data) == padded
    assert len(delivery.raw) < COMPRESS_ABOVE_BYTES // 2

    at_limit = pad_csv(copied_files.discrepancies, COMPRESS_ABOVE_BYTES)
    limit_message = compose(copied_files, config)
    assert attachments(limit_message)[f"{DAY}-discrepancies.csv"] == ("text/csv", at_limit)


def test_thirty_nights_of_trend_arrive_within_the_limit(relay: Relay, tmp_path: Path) -> None:
    """A month of breaks in six currencies: the message's HTML carries the trend's bars and
    its table and stays within EMAIL_BYTES; the plain text carries a line per night."""
    history = History(tmp_path / "recon.duckdb")
    day = datetime.fromisoformat(DAY).date()
    nights = record_nights(history, day, TREND_NIGHTS, currencies=CURRENCIES, seed=7)
    files = report.write(report.build(history, day), tmp_path / "reports")
    config = email_config(relay)
    send(compose(files, config), config, environ={}, backoff_seconds=0)

    [delivery] = relay.handler.delivered
    message = parse(delivery.raw)
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None
    sent = cast(str, html.get_content())
    size = len(sent.replace("\r\n", "\n").encode("utf-8"))
    assert size <= EMAIL_BYTES, f"{size} bytes of HTML"
    assert 'id="trend-chart"' in sent and 'id="trend-numbers"' in sent
    text = cast(str, plain.get_content())
    assert f"The last {TREND_NIGHTS} nights, unexplained" in text
    assert all(f"\r\n  {night}  " in text for night in nights)


# -- failures --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["starttls", "implicit_tls"])
def test_untrusted_certificate_fails_at_once(
    start_relay: StartRelay,
    server_tls: ssl.SSLContext,
    files: ReportFiles,
    sleeps: list[float],
    mode: str,
) -> None:
    """Without ca_file the throwaway CA is not trusted: MailError about the certificate after
    one connection, no retry, nothing delivered."""
    if mode == "starttls":
        relay = start_relay(tls_context=server_tls, require_starttls=True)
        config = email_config(relay, starttls=True, attempts=3)
    else:
        relay = start_relay(ssl_context=server_tls)
        config = email_config(relay, implicit_tls=True, attempts=3)

    with pytest.raises(MailError) as caught:
        send(compose(files, config), config, environ={}, backoff_seconds=1, sleep=sleeps.append)

    assert "certificate" in str(caught.value)
    assert relay.address in str(caught.value)
    assert relay.connections == 1
    assert sleeps == []
    assert relay.handler.delivered == []


def test_starttls_not_offered_fails_rather_than_sending_in_the_clear(
    relay: Relay, files: ReportFiles, sleeps: list[float]
) -> None:
    """starttls = true against a relay without STARTTLS: MailError, nothing sent in the clear."""
    config = email_config(relay, starttls=True)
    with pytest.raises(MailError, match="STARTTLS") as caught:
        send(compose(files, config), config, environ=LOGIN_ENV, sleep=sleeps.append)

    assert relay.address in str(caught.value)
    assert relay.handler.delivered == [] and relay.handler.data_calls == 0
    assert relay.connections == 1 and sleeps == []


def test_refused_login_fails_at_once(
    tls_relay: Relay, files: ReportFiles, ca_file: Path, sleeps: list[float]
) -> None:
    """A wrong password is permanent: one connection, MailError naming the relay's reply."""
    config = email_config(tls_relay, starttls=True, ca_file=str(ca_file))
    environ = {**LOGIN_ENV, "RECON_SMTP_PASSWORD": "wrong"}
    with pytest.raises(MailError, match="login refused: 535") as caught:
        send(compose(files, config), config, environ=environ, sleep=sleeps.append)

    assert tls_relay.address in str(caught.value)
    # smtplib tries each mechanism the relay offers (PLAIN, LOGIN), all on one connection
    assert tls_relay.handler.logins
    assert set(tls_relay.handler.logins) == {(USER, "wrong", True)}
    assert tls_relay.connections == 1
    assert tls_relay.handler.delivered == [] and sleeps == []


def test_transient_reply_is_retried_once_then_delivered(
    start_relay: StartRelay, files: ReportFiles, sleeps: list[float]
) -> None:
    """451 to the first DATA, 250 to the second: delivered exactly once after one wait."""
    relay = start_relay(Handler(data_replies=["451 4.3.0 try later"]))
    config = email_config(relay, attempts=3)
    send(compose(files, config), config, environ={}, backoff_seconds=1.5, sleep=sleeps.append)

    assert relay.handler.data_calls == 2
    assert len(relay.handler.delivered) == 1
    assert relay.connections == 2
    assert sleeps == [1.5]


def test_permanent_reply_fails_at_once(
    start_relay: StartRelay, files: ReportFiles, sleeps: list[float]
) -> None:
    """550 to DATA: MailError naming host:port and the reply, after one DATA, no wait."""
    relay = start_relay(Handler(data_replies=["550 5.7.1 rejected by policy"]))
    config = email_config(relay, attempts=3)
    with pytest.raises(MailError) as caught:
        send(compose(files, config), config, environ={}, backoff_seconds=1, sleep=sleeps.append)

    assert relay.address in str(caught.value)
    assert "550" in str(caught.value) and "rejected by policy" in str(caught.value)
    assert relay.handler.data_calls == 1 and relay.handler.delivered == []
    assert sleeps == []


@pytest.mark.parametrize(("attempts", "waits"), [(2, [1.0]), (3, [1.0, 2.0])])
def test_transient_forever_gives_up_after_the_attempts(
    start_relay: StartRelay,
    files: ReportFiles,
    sleeps: list[float],
    attempts: int,
    waits: list[float],
) -> None:
    """451 every time: `attempts` DATAs, waits doubling between them, then MailError
    'gave up after N attempts'."""
    relay = start_relay(Handler(data_replies=["451 4.3.0 try later"] * 5))
    config = email_config(relay, attempts=attempts)
    with pytest.raises(MailError, match=f"gave up after {attempts} attempts") as caught:
        send(compose(files, config), config, environ={}, backoff_seconds=1, sleep=sleeps.append)

    assert relay.address in str(caught.value) and "451 4.3.0 try later" in str(caught.value)
    assert relay.handler.data_calls == attempts and relay.handler.delivered == []
    assert sleeps == waits


def test_partly_refused_recipients_are_not_retried(
    start_relay: StartRelay, files: ReportFiles, sleeps: list[float]
) -> None:
    """One of two recipients refused: the other got it, so no retry (it would duplicate);
    MailError names the refused address."""
    relay = start_relay(Handler(refuse_rcpt={"ops@example.com": "550 5.1.1 no such user"}))
    config = email_config(relay, attempts=3)
    with pytest.raises(MailError, match=re.escape("ops@example.com")):
        send(compose(files, config), config, environ={}, backoff_seconds=1, sleep=sleeps.append)

    assert [d.rcpt_tos for d in relay.handler.delivered] == [["finance@example.com"]]
    assert sleeps == []


# -- configuration refused before connecting -------------------------------------------------


def test_login_unencrypted_to_a_remote_host_is_refused(
    files: ReportFiles, sleeps: list[float]
) -> None:
    """A password never goes unencrypted to another machine: ConfigError, before any
    connection (one to mail.example.com would fail as a retried MailError instead)."""
    config = email_config(smtp_host="mail.example.com", smtp_port=25, attempts=3)
    with pytest.raises(ConfigError, match="unencrypted") as caught:
        send(compose(files, config), config, environ=LOGIN_ENV, sleep=sleeps.append)

    assert "mail.example.com" in str(caught.value) and USER in str(caught.value)
    assert sleeps == []


def test_user_without_password_is_refused(relay: Relay, files: ReportFiles) -> None:
    """A user name but no password: ConfigError naming the password variable; no connection."""
    config = email_config(relay, username_env="NIGHT_SMTP_USER", password_env="NIGHT_SMTP_PW")
    with pytest.raises(ConfigError, match="NIGHT_SMTP_PW"):
        send(compose(files, config), config, environ={"NIGHT_SMTP_USER": USER})

    assert relay.connections == 0


# -- the command line ------------------------------------------------------------------------


@pytest.fixture
def mail_toml(demo: DemoResult, tls_relay: Relay, ca_file: Path) -> Path:
    """The demo's recon.toml plus an [email] section for `tls_relay`, beside it."""
    path = demo.config_file.with_name("recon-mail.toml")
    path.write_text(
        demo.config_file.read_text(encoding="utf-8")
        + "\n[email]\n"
        + f'smtp_host = "{tls_relay.host}"\n'
        + f"smtp_port = {tls_relay.port}\n"
        + f'from = "{SENDER}"\n'
        + f"to = {json.dumps(RECIPIENTS)}\n"
        + f"ca_file = {json.dumps(str(ca_file))}\n"
        + "timeout_seconds = 10\n",
        encoding="utf-8",
    )
    return path


def test_cli_email_sends_the_report(
    mail_toml: Path, tls_relay: Relay, summary: dict[str, Any]
) -> None:
    """`recon email` reads the login from the real environment and sends D's report."""
    result = CliRunner(env=LOGIN_ENV).invoke(
        cli, ["email", "--date", DAY, "--config", str(mail_toml)]
    )

    assert result.exit_code == 0, result.output
    assert result.stdout == f"sent the report of {DAY} to {', '.join(RECIPIENTS)}\n"
    assert tls_relay.handler.logins == [(USER, PASSWORD, True)]
    [delivery] = tls_relay.handler.delivered
    assert subject(parse(delivery.raw)) == f"recon {DAY}: {summary['verdict']}"


def test_cli_email_without_a_report_exits_2(mail_toml: Path, tls_relay: Relay) -> None:
    """A date with no report folder: exit 2, one `recon:` line naming it, no traceback."""
    result = CliRunner(env=LOGIN_ENV).invoke(
        cli, ["email", "--date", "2026-04-13", "--config", str(mail_toml)]
    )

    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("recon: ")
    assert "2026-04-13" in lines[0] and "recon report" in lines[0]
    assert "Traceback" not in result.output
    assert tls_relay.connections == 0


def test_cli_email_without_an_email_section_exits_2(demo: DemoResult) -> None:
    """The demo's own recon.toml has no [email]: exit 2, saying so."""
    result = CliRunner().invoke(cli, ["email", "--date", DAY, "--config", str(demo.config_file)])

    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("recon: ")
    assert "no [email] section" in lines[0] and str(demo.config_file) in lines[0]
    assert "Traceback" not in result.output


# -- found by these tests, fixed --------------------------------------------------------


def test_error_reply_to_quit_after_delivery_does_not_resend(
    start_relay: StartRelay, files: ReportFiles, sleeps: list[float]
) -> None:
    """Once the relay has taken the message (250 to DATA), a 421 to QUIT must not cause a
    second copy nor a failure: the report was delivered."""
    relay = start_relay(Handler(quit_reply="421 4.3.2 shutting down"))
    config = email_config(relay, attempts=3)
    error: MailError | None = None
    try:
        send(compose(files, config), config, environ={}, backoff_seconds=1, sleep=sleeps.append)
    except MailError as exc:
        error = exc

    assert (len(relay.handler.delivered), error) == (1, None)


def test_missing_ca_file_fails_at_once_naming_it(
    relay: Relay, files: ReportFiles, tmp_path: Path, sleeps: list[float]
) -> None:
    """A ca_file that does not exist is a configuration mistake: fail at once, naming it."""
    missing = tmp_path / "no-such-ca.pem"
    with pytest.raises(ReconError) as caught:
        config = email_config(relay, ca_file=str(missing), attempts=3)
        send(compose(files, config), config, environ={}, backoff_seconds=1, sleep=sleeps.append)

    assert sleeps == []
    assert str(missing) in str(caught.value)


def test_zero_timeout_is_a_config_error(relay: Relay, files: ReportFiles) -> None:
    """timeout_seconds = 0 cannot work with smtplib: a ConfigError, not a traceback."""
    with pytest.raises(ConfigError, match="timeout_seconds"):
        config = email_config(relay, timeout_seconds=0)
        send(compose(files, config), config, environ={}, backoff_seconds=0)


def test_missing_quarantine_csv_is_a_mail_error(copied_files: ReportFiles) -> None:
    """summary.json counts quarantined rows but quarantine.csv is gone: MailError naming it."""
    copied_files.quarantine.unlink()
    with pytest.raises(MailError, match=re.escape("quarantine.csv")):
        compose(copied_files, email_config(smtp_host="localhost"))


def test_partly_refused_error_names_relay_and_reply(
    start_relay: StartRelay, files: ReportFiles
) -> None:
    """The refused recipient's MailError says host:port and the relay's reply."""
    relay = start_relay(Handler(refuse_rcpt={"ops@example.com": "550 5.1.1 no such user"}))
    config = email_config(relay)
    with pytest.raises(MailError) as caught:
        send(compose(files, config), config, environ={}, backoff_seconds=0)

    assert relay.address in str(caught.value)
    assert "550" in str(caught.value) and "no such user" in str(caught.value)

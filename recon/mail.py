"""Send date D's report by SMTP: the HTML report as the body, with its plain-text part, and the
CSVs attached.

    message = compose(ReportFiles(Path("reports/2026-04-14")), config.email)
    send(message, config.email)

The message is built from the files `recon report` wrote, so what is mailed is what is on disk.
Credentials come from the environment variables `[email]` names; without a user name recon
sends without logging in (a local relay). It never logs in over a connection that is not
encrypted unless the relay is on this machine. A transient failure (a 4xx reply, a dropped or
refused connection) is tried again with backoff; a permanent one (5xx, a refused login, a
certificate that does not verify) is a MailError at once, naming the relay and its reply.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from recon import logs
from recon.config import ConfigError, EmailConfig
from recon.errors import ReconError
from recon.hosts import is_loopback
from recon.report import ReportFiles

log = logging.getLogger(__name__)

# An attachment bigger than this is sent gzipped: a mail server refuses large messages (often
# 10 to 25 MB), and CSV compresses about tenfold.
COMPRESS_ABOVE_BYTES = 1_000_000


class MailError(ReconError):
    """The report could not be sent."""


def compose(files: ReportFiles, config: EmailConfig) -> EmailMessage:
    """A multipart/alternative message (plain text, HTML) with the CSVs attached."""
    if not files.summary.exists():
        raise MailError(f"{files.summary}: missing; run `recon report` for this date first")
    summary = json.loads(files.summary.read_text(encoding="utf-8"))
    attachments = [files.discrepancies]
    if summary.get("inputs", {}).get("quarantined"):
        attachments.append(files.quarantine)
    for path in (files.html, files.text, *attachments):
        if not path.exists():
            raise MailError(f"{path}: missing; run `recon report` for this date first")
    message = EmailMessage()
    message["Subject"] = f"recon {summary['date']}: {summary['verdict']}"
    message["From"] = config.sender
    message["To"] = ", ".join(config.to)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid("recon", domain=config.sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a robot
    # quoted-printable: 7-bit safe whatever the report holds (smtplib never announces 8BITMIME)
    message.set_content(files.text.read_text(encoding="utf-8"), cte="quoted-printable")
    message.add_alternative(
        files.html.read_text(encoding="utf-8"), subtype="html", cte="quoted-printable"
    )
    for path in attachments:
        data = path.read_bytes()
        if len(data) > COMPRESS_ABOVE_BYTES:
            message.add_attachment(
                gzip.compress(data, mtime=0),
                maintype="application",
                subtype="gzip",
                filename=f"{summary['date']}-{path.name}.gz",
            )
        else:
            message.add_attachment(
                data, maintype="text", subtype="csv", filename=f"{summary['date']}-{path.name}"
            )
    return message


def send(
    message: EmailMessage,
    config: EmailConfig,
    *,
    environ: Mapping[str, str] | None = None,
    backoff_seconds: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Deliver `message` to the relay, trying a transient failure `config.attempts` times."""
    login = credentials(config, os.environ if environ is None else environ)
    context = _tls_context(config)
    relay = f"{config.smtp_host}:{config.smtp_port}"
    for attempt in range(1, config.attempts + 1):
        try:
            _deliver(message, config, login, context)
            log.info("sent %r to %s through %s", message["Subject"], message["To"], relay)
            return
        except Exception as exc:  # classified just below; anything unknown is re-raised
            transient, reason = _classify(exc)
            if transient is None:
                raise
            if not transient:
                raise MailError(f"SMTP {relay}: {reason}") from None
            if attempt == config.attempts:
                raise MailError(
                    f"SMTP {relay}: {reason} (gave up after {config.attempts} attempts)"
                ) from None
            delay = backoff_seconds * 2 ** (attempt - 1)
            log.warning("SMTP %s: %s; trying again in %.0f s", relay, reason, delay)
            sleep(delay)


def credentials(config: EmailConfig, environ: Mapping[str, str]) -> tuple[str, str] | None:
    """(user, password) to log in with, None to send without a login (no user name set);
    ConfigError when the password is missing or would cross the network unencrypted."""
    user = environ.get(config.username_env, "").strip()
    if not user:
        return None
    password = environ.get(config.password_env, "")
    logs.register_secret(password)
    if not password:
        raise ConfigError(
            f"environment variable {config.password_env} is not set, but "
            f"{config.username_env} is: both are needed to log in to {config.smtp_host}"
        )
    encrypted = config.starttls or config.implicit_tls
    if not encrypted and not is_loopback(config.smtp_host):
        raise ConfigError(
            f"[email] would send the password for {user} to {config.smtp_host} unencrypted; "
            "set starttls = true (port 587) or implicit_tls = true (port 465)"
        )
    return user, password


def _tls_context(config: EmailConfig) -> ssl.SSLContext | None:
    """Built once, before any attempt: a bad ca_file is the configuration's fault, not the
    relay's, and trying again would not help."""
    if not (config.starttls or config.implicit_tls):
        return None
    try:
        return ssl.create_default_context(cafile=str(config.ca_file) if config.ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"[email] ca_file {config.ca_file}: {exc}") from None


@dataclass(frozen=True)
class Greeting:
    """How the relay answered `greet`."""

    relay: str  # host:port
    name: str  # the name the relay gave in its EHLO reply
    tls: str | None  # the TLS version of the session, None in the clear
    offers_login: bool  # AUTH advertised (after STARTTLS, where the relay asks for it)


def greet(
    config: EmailConfig, *, timeout_seconds: float | None = None, sender: bool = False
) -> Greeting:
    """Connect as `send` does (TLS as configured), say EHLO, and QUIT: whether the relay
    answers, with no login and nothing sent. `sender`: also announce `[email] from` (MAIL
    FROM, then RSET), which a relay that wants a login refuses. Tried once; MailError naming
    the relay and why."""
    context = _tls_context(config)
    relay = f"{config.smtp_host}:{config.smtp_port}"
    try:
        smtp = _connect(config, context, timeout_seconds or config.timeout_seconds)
    except Exception as exc:  # classified just below; anything unknown is re-raised
        transient, reason = _classify(exc)
        if transient is None:
            raise
        raise MailError(f"SMTP {relay}: {reason}") from None
    try:
        reply = _text(smtp.ehlo_resp or b"").strip()
        if not smtp.does_esmtp:  # smtplib sets it on a 250 reply to EHLO only
            raise MailError(f"SMTP {relay}: EHLO refused ({reply or 'no reply'})")
        socket = smtp.sock
        greeting = Greeting(
            relay,
            reply.splitlines()[0] if reply else "",
            socket.version() if isinstance(socket, ssl.SSLSocket) else None,
            smtp.has_extn("auth"),
        )
        if sender:
            code, answer = smtp.mail(config.sender)
            if code >= 400:
                raise MailError(
                    f"SMTP {relay}: refused mail from {config.sender} without a login: "
                    f"{code} {_text(answer)}"
                )
            smtp.rset()
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()
    return greeting


def _connect(
    config: EmailConfig, context: ssl.SSLContext | None, timeout_seconds: float
) -> smtplib.SMTP:
    """A session with the relay that has said EHLO, over TLS when the configuration asks."""
    smtp: smtplib.SMTP
    if config.implicit_tls:
        smtp = smtplib.SMTP_SSL(
            config.smtp_host, config.smtp_port, timeout=timeout_seconds, context=context
        )
    else:
        smtp = smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=timeout_seconds)
    try:
        smtp.ehlo()
        if config.starttls and not config.implicit_tls:
            smtp.starttls(context=context)
            smtp.ehlo()
    except BaseException:
        smtp.close()
        raise
    return smtp


def _deliver(
    message: EmailMessage,
    config: EmailConfig,
    login: tuple[str, str] | None,
    context: ssl.SSLContext | None,
) -> None:
    smtp = _connect(config, context, config.timeout_seconds)
    try:
        if login:
            smtp.login(*login)
        refused = smtp.send_message(message)
    except BaseException:
        smtp.close()
        raise
    # Delivered: a failed goodbye must not make the message go out again.
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError) as exc:
        log.info(
            "SMTP %s: QUIT after delivery failed (%s); it was delivered", config.smtp_host, exc
        )
        smtp.close()
    if refused:
        # Some recipients were taken, so this is not retried: it would duplicate theirs.
        replies = "; ".join(
            f"{who}: {code} {_text(reply)}" for who, (code, reply) in sorted(refused.items())
        )
        raise MailError(
            f"SMTP {config.smtp_host}:{config.smtp_port}: refused some recipients ({replies})"
        )


def _classify(exc: Exception) -> tuple[bool | None, str]:
    """(transient?, reason); None for an exception that is not about mail delivery."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        replies = "; ".join(
            f"{who}: {code} {_text(reply)}" for who, (code, reply) in exc.recipients.items()
        )
        return all(400 <= c < 500 for c in codes), f"recipients refused ({replies})"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return False, f"login refused: {exc.smtp_code} {_text(exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500, f"{exc.smtp_code} {_text(exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return False, f"{exc} (does the relay offer STARTTLS?)"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return False, f"the relay's certificate does not verify: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return False, f"TLS failed: {exc.reason or exc}"
    if isinstance(exc, UnicodeError):  # the idna codec refusing the host name
        return False, f"not a host name: {exc}"
    if isinstance(exc, smtplib.SMTPServerDisconnected | OSError):
        return True, str(exc) or type(exc).__name__
    return None, ""


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)

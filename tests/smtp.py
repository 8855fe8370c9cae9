"""An aiosmtpd relay's parts: a handler that records what arrived and answers what the test asks
it to, and a controller that counts the connections made to it.

The handler accepts one login, USER with PASSWORD.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

USER, PASSWORD = "night-batch", "pw-Zq7!never-in-the-message"


@dataclass
class Delivery:
    """One message the relay accepted."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    tls: str | None  # the TLS version the message came over, None in the clear


@dataclass
class Handler:
    """Answers DATA with `data_replies` in turn (then '250 OK'), and records what it saw."""

    data_replies: list[str] = field(default_factory=list)
    refuse_rcpt: dict[str, str] = field(default_factory=dict)  # address: reply
    quit_reply: str | None = None  # instead of '221 Bye'
    data_calls: int = 0
    delivered: list[Delivery] = field(default_factory=list)
    logins: list[tuple[str, str, bool]] = field(default_factory=list)  # user, password, TLS?

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.data_calls += 1
        reply = self.data_replies.pop(0) if self.data_replies else "250 OK"
        if reply.startswith("250"):
            assert server.transport is not None
            tls = server.transport.get_extra_info("ssl_object")
            self.delivered.append(
                Delivery(
                    str(envelope.mail_from),
                    list(envelope.rcpt_tos),
                    cast(bytes, envelope.original_content),
                    tls.version() if tls else None,
                )
            )
        return reply

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return self.quit_reply or "221 Bye"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        user, password = data.login.decode(), data.password.decode()
        assert server.transport is not None
        self.logins.append(
            (user, password, server.transport.get_extra_info("ssl_object") is not None)
        )
        return AuthResult(success=(user, password) == (USER, PASSWORD), handled=False)


class CountingController(Controller):
    """A Controller that counts the connections made to it."""

    connections = 0

    def factory(self) -> SMTP:
        self.connections += 1
        return super().factory()

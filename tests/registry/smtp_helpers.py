"""A real SMTP server on 127.0.0.1 for the tests of e-mail reminders (aiosmtpd in a thread);
it keeps every delivered message."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from tests.pgserver import free_port


@dataclass
class Delivered:
    """A message as the server received it: envelope sender and recipients, parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class Sink:
    messages: list[Delivered] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd hook name
        msg = message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append(Delivered(envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server() -> Iterator[tuple[Sink, int]]:
    """A running SMTP server: the sink of delivered messages and the port."""
    from aiosmtpd.controller import Controller

    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()

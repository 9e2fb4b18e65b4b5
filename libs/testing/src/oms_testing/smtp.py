"""A real SMTP server (aiosmtpd) that keeps what it receives, for tests and the local stack."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class SmtpSink:
    messages: list[EmailMessage] = field(default_factory=list)
    # The client's (host, port) of each message: one port for several messages is one connection.
    peers: list[tuple[str, int]] = field(default_factory=list)
    _held: Callable[[EmailMessage], bool] | None = None
    _gate: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        if self._held is not None and self._held(msg):
            # A slow or stuck mail server: the sender waits for our answer until `release`.
            if self._gate is None:
                self._gate, self._loop = asyncio.Event(), asyncio.get_running_loop()
            await self._gate.wait()
        self.messages.append(msg)
        self.peers.append(tuple(session.peer))
        return "250 OK"

    def hold(self, predicate: Callable[[EmailMessage], bool]) -> None:
        """Leave the sender of every message matching `predicate` waiting for the server's answer."""
        self._held = predicate

    def release(self) -> None:
        """Answer the held messages (and hold nothing more)."""
        self._held = None
        if self._gate is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._gate.set)
        self._gate = None

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m.get("To", ""))]


class SmtpServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sink = SmtpSink()
        self.controller = Controller(self.sink, hostname=host, port=port or _free_port())

    @property
    def port(self) -> int:
        return int(self.controller.port)

    @property
    def host(self) -> str:
        return str(self.controller.hostname)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

"""The local stack's SMTP sink: every email received is written, as received, to a maildir.

A small SMTP server of its own on asyncio's protocol layer. aiosmtpd (which it replaces) read the
message a line at a time through a stream reader, with a coroutine step and a log call per line: in
the load bench that was 3.5 ms of CPU per order, as much as a whole service. This one takes what the
socket gives, finds the end of the message (`CRLF.CRLF`) in it, removes the dot-stuffing and writes
the bytes (line ends made LF, as maildir files have them) in `tmp/` first and then renamed into
`new/`, the way the maildir format has it, so a reader never sees half a message.

It speaks what the notification service's client (aiosmtplib) and Python's smtplib use — EHLO/HELO,
MAIL, RCPT, DATA, RSET, NOOP, QUIT — advertises 8BITMIME, SMTPUTF8 and PIPELINING (commands are read
as they come, several per packet or one across packets), accepts every recipient and keeps nothing
in memory once a message is written. Not a mail server: no relaying, no authentication, loopback only.

    python -m deploy.local.mail_sink --host 127.0.0.1 --port 8025 /path/to/maildir
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import socket
import time
from pathlib import Path

_HOST = socket.gethostname().replace("/", "_").replace(":", "_")
MAX_LINE = 4096  # a command line longer than this is refused (RFC 5321 allows 512)
MAX_MESSAGE = 32 * 1024 * 1024  # what one message may be, as SIZE says
END_OF_DATA = b"\r\n.\r\n"


class Maildir:
    def __init__(self, directory: str | os.PathLike[str]) -> None:
        root = Path(directory)
        self.tmp, self.new = root / "tmp", root / "new"
        for sub in ("tmp", "new", "cur"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        self._count = itertools.count()

    def deliver(self, content: bytes) -> None:
        # A unique name in the maildir convention: time, pid and a counter, host.
        name = f"{time.time_ns()}.P{os.getpid()}Q{next(self._count)}.{_HOST}"
        staged = self.tmp / name
        staged.write_bytes(content.replace(b"\r\n", b"\n"))
        staged.rename(self.new / name)


class SmtpSession(asyncio.Protocol):
    """One client connection: commands line by line, then the message until `CRLF.CRLF`."""

    def __init__(self, maildir: Maildir) -> None:
        self.maildir = maildir
        self.buffer = bytearray()
        self.in_data = False
        self.sender: bytes | None = None
        self.recipients = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._reply(f"220 {_HOST} OMS mail sink ESMTP")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None and not self.transport.is_closing():
            if self.in_data:
                if not self._take_message():
                    return
                continue
            end = self.buffer.find(b"\r\n")
            if end < 0:
                if len(self.buffer) > MAX_LINE:
                    self._reply("500 Line too long")
                    self.buffer.clear()
                return
            line = bytes(self.buffer[:end])
            del self.buffer[: end + 2]
            self._command(line)

    def _take_message(self) -> bool:
        # The DATA line's own CRLF is consumed, so an empty message is just ".\r\n".
        if self.buffer.startswith(b".\r\n"):
            body, rest = b"", 3
        else:
            end = self.buffer.find(END_OF_DATA)
            if end < 0:
                if len(self.buffer) > MAX_MESSAGE:
                    self._reply("552 Message too big")
                    if self.transport is not None:
                        self.transport.close()
                return False
            body, rest = bytes(self.buffer[: end + 2]), end + len(END_OF_DATA)
        del self.buffer[:rest]
        # Undo the dot-stuffing: a line the client began with "." was sent with "..".
        if body.startswith(b".."):
            body = body[1:]
        self.maildir.deliver(body.replace(b"\r\n..", b"\r\n."))
        self.in_data, self.sender, self.recipients = False, None, 0
        self._reply("250 OK")
        return True

    def _command(self, line: bytes) -> None:
        verb, _, argument = line.partition(b" ")
        verb = verb.upper()
        if verb == b"EHLO":
            self.sender, self.recipients = None, 0
            self._reply(
                f"250-{_HOST}\r\n250-SIZE {MAX_MESSAGE}\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-PIPELINING\r\n250 HELP"
            )
        elif verb == b"HELO":
            self.sender, self.recipients = None, 0
            self._reply(f"250 {_HOST}")
        elif verb == b"MAIL":
            if not argument.upper().startswith(b"FROM:"):
                self._reply("501 Syntax: MAIL FROM:<address>")
            else:
                self.sender, self.recipients = argument[5:], 0
                self._reply("250 OK")
        elif verb == b"RCPT":
            if self.sender is None:
                self._reply("503 Error: need MAIL command")
            elif not argument.upper().startswith(b"TO:"):
                self._reply("501 Syntax: RCPT TO:<address>")
            else:
                self.recipients += 1
                self._reply("250 OK")
        elif verb == b"DATA":
            if not self.recipients:
                self._reply("503 Error: need RCPT command")
            else:
                self.in_data = True
                self._reply("354 End data with <CR><LF>.<CR><LF>")
        elif verb == b"RSET":
            self.sender, self.recipients = None, 0
            self._reply("250 OK")
        elif verb == b"NOOP":
            self._reply("250 OK")
        elif verb == b"VRFY":
            self._reply("252 Cannot VRFY user, but will accept message and attempt delivery")
        elif verb == b"QUIT":
            self._reply("221 Bye")
            if self.transport is not None:
                self.transport.close()
        else:
            self._reply("500 Error: command not recognized")

    def _reply(self, text: str) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(text.encode("ascii") + b"\r\n")


async def serve(host: str, port: int, maildir: Maildir) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SmtpSession(maildir), host, port, reuse_address=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The local stack's SMTP sink: every email into a maildir.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("maildir")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, Maildir(args.maildir)))


if __name__ == "__main__":
    main()

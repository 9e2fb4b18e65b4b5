"""The local stack's SMTP sink: every email received is written, as received, to a maildir.

    python -m deploy.local.mail_sink -l 127.0.0.1:8025 /path/to/maildir

The server is aiosmtpd's (`SMTP`), with what a mail relay that only stores would not spend CPU on
left out; in the load bench it is a process of the stack like any other, counted in every figure:

- `MaildirSink` writes the bytes it got (line ends made LF, as maildir files have them), in `tmp/`
  first and then renamed into `new/`, the way the maildir format has it, so a reader never sees
  half a message. aiosmtpd's own `Mailbox` parses each message into an `email.message.Message`,
  adds three headers and writes it out again (as much CPU as webhooks spent per order).
- `StoringSMTP` reads the plain `<local@domain>` path of MAIL and RCPT by splitting at the angle
  brackets. aiosmtpd runs every address through the `email` package's header parser (and builds a
  `typing.Protocol` class per call): two thirds of the sink's CPU per email went to MAIL and RCPT.
  A path with anything the split cannot read plainly (quotes, spaces, a source route, no angle
  brackets) still goes through aiosmtpd's parser, so what is accepted and what is refused does not
  change.
- Each connection's set-up looked up every attribute of the protocol object (`inspect.getmembers`,
  properties included) to find its `smtp_*` and `auth_*` methods; `StoringSMTP.__dir__` names only
  those, so the set-up finds the same methods without the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import re
import socket
import time
from argparse import ArgumentParser
from functools import cache, partial
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP

_HOST = socket.gethostname().replace("/", "_").replace(":", "_")

# `<local@domain>` with nothing a mail path's plain form cannot hold: no quotes, spaces, brackets,
# commas, colons (a source route), backslashes or control characters; the domain dot-separated labels
# (none empty) or an address literal. Anything else is aiosmtpd's to read.
_ATOM = r"[^\s<>()\[\]\\\",;:@.\x00-\x1f\x7f]+"
_PLAIN_PATH = re.compile(rf"<((?:{_ATOM}|\.)+@(?:{_ATOM}(?:\.{_ATOM})*|\[[^\s<>()\[\]\\\"\x00-\x1f\x7f]*\]))>")


class MaildirSink:
    def __init__(self, directory: str | os.PathLike[str]) -> None:
        root = Path(directory)
        self.tmp, self.new = root / "tmp", root / "new"
        for sub in ("tmp", "new", "cur"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        self._count = itertools.count()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content: bytes = envelope.original_content or envelope.content
        # A unique name in the maildir convention: time, pid and a counter, host.
        name = f"{time.time_ns()}.P{os.getpid()}Q{next(self._count)}.{_HOST}"
        staged = self.tmp / name
        staged.write_bytes(content.replace(b"\r\n", b"\n"))
        staged.rename(self.new / name)
        return "250 OK"

    @classmethod
    def from_cli(cls, parser: ArgumentParser, *args: str) -> MaildirSink:
        if len(args) != 1:
            parser.error("MaildirSink takes one argument: the maildir")
        return cls(args[0])


class StoringSMTP(SMTP):
    """aiosmtpd's SMTP server, reading plain mail paths without the `email` header parser."""

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        stripped = arg.lstrip()
        plain = _PLAIN_PATH.match(stripped)
        if plain is None or (self.local_part_limit and plain[1].rfind("@") > self.local_part_limit):
            return super()._getaddr(arg)  # type: ignore[no-any-return]
        return plain[1], stripped[plain.end() :].lstrip()

    def __dir__(self) -> list[str]:
        # Read by SMTP.__init__ for each connection, only to find the `smtp_*` and `auth_*` methods.
        return _protocol_names(type(self))


@cache
def _protocol_names(cls: type) -> list[str]:
    return [name for name in dir(cls) if name.startswith(("smtp_", "auth_"))]


def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(prog="python -m deploy.local.mail_sink", description=__doc__.split("\n\n")[0])
    parser.add_argument("-l", "--listen", default="127.0.0.1:8025", metavar="HOST:PORT")
    parser.add_argument("-u", "--smtputf8", action="store_true", help="offer the SMTPUTF8 extension (RFC 6531)")
    parser.add_argument("maildir")
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    logging.basicConfig(level=logging.ERROR)
    # The host name of the greeting and EHLO, looked up once (aiosmtpd asks for it per connection).
    factory = partial(StoringSMTP, MaildirSink(args.maildir), enable_SMTPUTF8=args.smtputf8, hostname=socket.getfqdn())

    async def serve() -> None:
        server = await asyncio.get_running_loop().create_server(factory, host=host or "127.0.0.1", port=int(port))
        await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()

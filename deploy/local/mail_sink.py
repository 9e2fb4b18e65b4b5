"""The local stack's SMTP sink: every email received is written, as received, to a maildir.

aiosmtpd's own `Mailbox` handler parses each message into an `email.message.Message`, adds three
headers and writes it out again through `mailbox.Maildir` (a generator pass): in the load bench
that was as much CPU as webhooks spent per order. This one writes the bytes it got (line ends
made LF, as maildir files have them), in `tmp/` first and then renamed into `new/`, the way the
maildir format has it, so a reader never sees half a message.

    python -m aiosmtpd -n -l 127.0.0.1:8025 -c deploy.local.mail_sink.MaildirSink /path/to/maildir
"""

from __future__ import annotations

import itertools
import os
import socket
import time
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

_HOST = socket.gethostname().replace("/", "_").replace(":", "_")


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

"""The local stack's SMTP sink, started as the Procfile starts it: each email lands in the maildir's
`new/` as it was sent, readable by the standard parser (the chaos check reads them so)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import smtplib
import socket
import sys
from email.message import EmailMessage
from pathlib import Path

from oms_testing import eventually

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _procfile_command(port: int, maildir: Path) -> str:
    procfile = (REPO / "deploy" / "local" / "Procfile").read_text(encoding="utf-8")
    [line] = re.findall(r"^mail: (.*)$", procfile, flags=re.MULTILINE)
    values = {"OMS_SMTP_HOST": "127.0.0.1", "OMS_SMTP_PORT": str(port), "OMS_MAILDIR": str(maildir)}
    return re.sub(r"\$(\w+)", lambda m: values[m.group(1)], line).replace("exec python", f"exec {sys.executable}")


async def test_the_sink_keeps_every_email_of_a_connection_in_the_maildir(tmp_path: Path) -> None:
    port, maildir = _free_port(), tmp_path / "mail"
    sink = await asyncio.create_subprocess_exec("bash", "-c", _procfile_command(port, maildir), cwd=REPO)
    try:

        def connected() -> smtplib.SMTP | None:
            try:
                return smtplib.SMTP("127.0.0.1", port, timeout=5)
            except OSError:
                return None

        client = await eventually(connected, timeout=20)
        with client:
            for n in range(2):
                msg = EmailMessage()
                msg["From"], msg["To"], msg["Subject"] = "no-reply@oms.local", "anna@example.com", f"Заказ №{n}"
                msg.set_content("Здравствуйте!\n")
                client.send_message(msg)
        files = await eventually(lambda: len(got := sorted((maildir / "new").iterdir())) == 2 and got, timeout=10)
        read = [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files]
        assert sorted(str(m["Subject"]) for m in read) == ["Заказ №0", "Заказ №1"]
        assert all(str(m.get_content()) == "Здравствуйте!\n" for m in read)  # type: ignore[attr-defined]
        assert not list((maildir / "tmp").iterdir())
    finally:
        sink.terminate()
        await asyncio.wait_for(sink.wait(), timeout=10)


PATHS = [
    "<anna@example.com>",
    "<anna.b+tag@example.com> SIZE=100 BODY=8BITMIME",
    " <anna@example.com>",
    "<анна@пример.рф>",
    "<a@[127.0.0.1]>",
    "<a@[IPv6:::1]>",
    "<.a..b.@example.com>",
    "<a#b%c{d}|e'f@example.com>",
    # Not the plain form: aiosmtpd's own parser reads these (and refuses the last one).
    "anna@example.com SIZE=1",
    "<>",
    "<a b@example.com>",
    '<"quoted local"@example.com>',
    "<@relay.example,@other.example:anna@example.com>",
    "<anna@example.com",
    "<a@@b>",
    "<a@example.com.>",
    "<a@example..com>",
    "<a@.example.com>",
    "<a@example.com]>",
    "<a@[b c]>",
    "",
]


async def test_the_sink_reads_mail_paths_as_aiosmtpd_does_and_finds_the_same_commands() -> None:
    from aiosmtpd.handlers import Sink
    from aiosmtpd.smtp import SMTP

    from deploy.local.mail_sink import StoringSMTP

    ours, theirs = StoringSMTP(Sink()), SMTP(Sink())
    assert [ours._getaddr(p) for p in PATHS] == [theirs._getaddr(p) for p in PATHS]
    assert ours._smtp_methods.keys() == theirs._smtp_methods.keys()
    assert ours._auth_methods.keys() == theirs._auth_methods.keys()

"""The SMS channel against a local fake of SMS.ru's HTTP API (started here, it records every request):
a shop that sends SMS too gets each customer's order messages by the channel they chose (email, sms or
both); quiet hours in the shop's time zone defer an SMS to their end, never drop it; a number SMS.ru
refuses for good fails the delivery at once. The only fake: the real gateway is outside this network."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from litestar.testing import AsyncTestClient
from oms_contracts.messages.common import Customer
from oms_notification.bootstrap import create_app
from oms_runtime.clock import FixedClock
from oms_testing import eventually
from oms_testing.http import internal_headers
from oms_testing.infra import Infra
from oms_testing.smtp import SmtpServer

from .helpers import address, database, envelope, order_placed, publish, settings_for

API_ID = "test-api-id"
REFUSED = "79990000207"  # the fake answers SMS.ru's 207 "no route to this number" for it


class FakeSmsRu:
    """SMS.ru's `POST /sms/send` (json=1) on a local port, recording each request's form."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                fake.requests.append({"path": self.path, **form})
                to = form.get("to", "")
                if form.get("api_id") != API_ID:
                    body: dict[str, Any] = {"status": "ERROR", "status_code": 200, "status_text": "bad api_id"}
                elif to == REFUSED:
                    status = {"status": "ERROR", "status_code": 207, "status_text": "no route"}
                    body = {"status": "OK", "status_code": 100, "sms": {to: status}, "balance": 10}
                else:
                    sent = {"status": "OK", "status_code": 100, "sms_id": f"sms-{len(fake.requests)}"}
                    body = {"status": "OK", "status_code": 100, "sms": {to: sent}, "balance": 10}
                payload = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def to(self, phone: str) -> list[dict[str, str]]:
        return [r for r in self.requests if r.get("to") == phone]


@pytest.fixture(scope="module")
def sms_ru() -> Iterator[FakeSmsRu]:
    fake = FakeSmsRu()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def placed_with_phone(number: int, email: str, phone: str, locale: str = "ru") -> Any:
    placed = order_placed(number, email, locale=locale, name="Зоя")
    customer = Customer(name="Зоя", email=email, phone=phone, locale=locale)
    return placed.model_copy(update={"customer": customer})


async def test_sms_by_choice_deferred_in_quiet_hours_and_refused_numbers_fail(
    infra: Infra, topic_prefix: str, shop_id: str, sms_ru: FakeSmsRu, smtp: SmtpServer
) -> None:
    # 23:30 in Moscow (UTC+3): inside the shop's quiet hours 22:00-08:00.
    clock = FixedClock(datetime(2026, 6, 1, 20, 30, tzinfo=UTC))
    settings = settings_for(
        infra,
        topic_prefix,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        sms_ru_api_id=API_ID,
        sms_ru_base_url=sms_ru.url,
        delivery_max_attempts=3,
    )
    admin, storefront = internal_headers(shop_id, role="admin"), internal_headers(shop_id, kind="storefront")
    async with AsyncTestClient(create_app(settings, clock=clock)) as client:
        assert (await client.get("/sms-settings", headers=admin)).json()["enabled"] is False
        bad = await client.put("/sms-settings", json={"enabled": True, "timezone": "Mars/Olympus"}, headers=admin)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "timezone"
        half = await client.put("/sms-settings", json={"enabled": True, "quiet_from": "22:00"}, headers=admin)
        assert half.status_code == 422
        for body in (
            {"enabled": True, "timezone": "America"},  # a directory of the zone database, not a zone
            {"enabled": True, "quiet_from": "22:00+03:00", "quiet_to": "08:00"},  # local times, no offset
        ):
            wrong = await client.put("/sms-settings", json=body, headers=admin)
            assert wrong.status_code == 422, wrong.text
        refused = await client.put("/sms-settings", json={"enabled": True}, headers=storefront)
        assert refused.status_code == 403
        saved = await client.put(
            "/sms-settings",
            json={"enabled": True, "default_channel": "both", "sender": "TeaShop", "timezone": "Europe/Moscow"},
            headers=admin,
        )
        assert saved.status_code == 200 and saved.json()["gateway_configured"] is True

        # The shop's default (both): an email and an SMS, the SMS being the email's subject.
        both = address("both", shop_id)
        await publish(infra, topic_prefix, envelope(placed_with_phone(41, both, "8 (916) 555-44-01"), shop_id))
        [sms] = await eventually(lambda: sms_ru.to("79165554401"), what="the SMS at SMS.ru")
        [mail] = await eventually(lambda: smtp.sink.to(both), what="the email too")
        assert sms["path"] == "/sms/send" and sms["api_id"] == API_ID and sms["json"] == "1"
        assert sms["from"] == "TeaShop" and sms["msg"] == " ".join(str(mail["Subject"]).split())
        assert "41" in sms["msg"]

        # A customer who chose email only (through their storefront) gets no SMS.
        only_email = address("mail", shop_id)
        chose = await client.put(
            "/notification-preferences", json={"email": only_email, "channel": "email"}, headers=storefront
        )
        assert chose.status_code == 200
        sms_only = address("sms", shop_id)
        await client.put("/notification-preferences", json={"email": sms_only, "channel": "sms"}, headers=admin)
        await publish(infra, topic_prefix, envelope(placed_with_phone(42, only_email, "+7 916 555 44 02"), shop_id))
        await publish(infra, topic_prefix, envelope(placed_with_phone(43, sms_only, "+7 916 555 44 03"), shop_id))
        await eventually(lambda: smtp.sink.to(only_email), what="the email-only customer's email")
        await eventually(lambda: sms_ru.to("79165554403"), what="the sms-only customer's SMS")
        assert sms_ru.to("79165554402") == []
        assert smtp.sink.to(sms_only) == []

        # A number SMS.ru refuses for good: failed after one attempt, the email still goes.
        await publish(infra, topic_prefix, envelope(placed_with_phone(44, address("ref", shop_id), REFUSED), shop_id))
        log = database(infra, settings)["notifications"]

        async def failed() -> dict[str, Any] | None:
            doc = await log.find_one({"shop_id": shop_id, "recipient": REFUSED})
            return doc if doc is not None and doc["status"] == "failed" else None

        doc = await eventually(failed, what="the refused SMS failed")
        assert doc["attempts"] == 1 and "207" in doc["last_error"] and len(sms_ru.to(REFUSED)) == 1

        # Quiet hours: the SMS waits until 08:00 Moscow time; the email goes at once.
        quiet = await client.put(
            "/sms-settings",
            json={"enabled": True, "default_channel": "both", "quiet_from": "22:00", "quiet_to": "08:00"},
            headers=admin,
        )
        assert quiet.status_code == 200, quiet.text
        night = address("night", shop_id)
        await publish(infra, topic_prefix, envelope(placed_with_phone(45, night, "+79165554405"), shop_id))
        await eventually(lambda: smtp.sink.to(night), what="the email in quiet hours")

        async def waiting() -> dict[str, Any] | None:
            return await log.find_one({"shop_id": shop_id, "recipient": "79165554405", "status": "pending"})

        deferred = await eventually(waiting, what="the SMS deferred")
        assert deferred["due_at"] == datetime(2026, 6, 2, 5, 0, tzinfo=UTC) and deferred["attempts"] == 0
        assert sms_ru.to("79165554405") == []
        clock.advance(timedelta(hours=8, minutes=31))  # 08:01 in Moscow
        [late] = await eventually(lambda: sms_ru.to("79165554405"), what="the SMS after the quiet hours")
        assert "45" in late["msg"]

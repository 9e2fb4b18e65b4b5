"""The HTTP sender against a real receiver: what each kind of answer (or none) becomes."""

from __future__ import annotations

import socket

from oms_testing.webhook_receiver import WebhookReceiver
from oms_webhooks.adapters.outbound.sender_http import HttpSender


def sender(*, allow_private: bool = True) -> HttpSender:
    return HttpSender(timeout_seconds=2, connect_timeout_seconds=1, allow_private=allow_private)


async def test_a_2xx_is_delivered_and_the_receiver_gets_the_body_and_headers() -> None:
    s = sender()
    with WebhookReceiver(fail_first=1) as receiver:
        failed = await s.post(receiver.url, {"webhook-id": "msg_1"}, '{"a":1}')
        ok = await s.post(receiver.url, {"webhook-id": "msg_1"}, '{"a":1}')
    await s.close()
    assert (failed.ok, failed.status_code, failed.error) == (False, 500, "HTTP 500")
    assert ok.ok and ok.status_code == 204 and ok.error is None
    call = receiver.snapshot()[1]
    assert call.body == '{"a":1}' and call.headers["content-type"] == "application/json"
    assert call.headers["user-agent"].startswith("oms-webhooks/")


async def test_no_answer_bad_urls_and_private_targets_are_failed_attempts_never_exceptions() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    s = sender()
    refused = await s.post(f"http://127.0.0.1:{port}/", {}, "{}")
    assert refused.status_code is None and refused.error and not refused.ok
    for url in ("http://[::1/", "http://exa\u0000mple.com/", "http://" + "a" * 300 + ".example/"):
        bad = await s.post(url, {}, "{}")
        assert bad.status_code is None and bad.error, url
    await s.close()

    strict = sender(allow_private=False)
    with WebhookReceiver() as receiver:
        kept_out = await strict.post(receiver.url, {}, "{}")
        assert kept_out.error is not None and "private address" in kept_out.error
        assert receiver.snapshot() == []
    await strict.close()

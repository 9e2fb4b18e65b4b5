"""The SMS channel's settings through the gateway (issue 13): an admin turns SMS on with quiet hours, a
manager reads them but may not change them; a storefront records its customer's channel; the
warehouse and couriers reach neither. (The sending itself is tested against a local fake of SMS.ru in
the notification service's integration tests: the e2e stack has no SMS gateway account.)"""

from __future__ import annotations

from oms_contracts import new_id

from tests.e2e.client import Gateway


async def test_sms_settings_and_a_customers_channel_by_role(gateway: Gateway) -> None:
    admin, manager = await gateway.as_staff("admin"), await gateway.as_staff("manager")
    body = {
        "enabled": True,
        "default_channel": "both",
        "quiet_from": "22:00",
        "quiet_to": "08:00",
        "timezone": "Europe/Moscow",
        "sender": "DemoShop",
    }
    saved = await gateway.http.put("/api/v1/sms-settings", json=body, headers=admin)
    assert saved.status_code == 200, saved.text
    try:
        read = await gateway.http.get("/api/v1/sms-settings", headers=manager)
        assert read.status_code == 200 and read.json()["quiet_from"] == "22:00:00"
        assert read.json()["gateway_configured"] is False  # the stack has no SMS.ru account
        assert (await gateway.http.put("/api/v1/sms-settings", json=body, headers=manager)).status_code == 403
        wrong = await gateway.http.put("/api/v1/sms-settings", json={**body, "timezone": "Moon/Base"}, headers=admin)
        assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "timezone"
        choice = {"email": f"zoya+{new_id()[-6:]}@example.com", "channel": "sms"}
        chosen = await gateway.http.put("/api/v1/notification-preferences", json=choice, headers=gateway.storefront)
        assert chosen.status_code == 200 and chosen.json() == choice
        bad = await gateway.http.put(
            "/api/v1/notification-preferences", json={**choice, "channel": "pigeon"}, headers=gateway.storefront
        )
        assert bad.status_code == 422
        for role in ("warehouse", "courier"):
            who = await gateway.as_staff(role)
            assert (await gateway.http.get("/api/v1/sms-settings", headers=who)).status_code == 403
            assert (
                await gateway.http.put("/api/v1/notification-preferences", json=choice, headers=who)
            ).status_code == 403
        assert (await gateway.http.get("/api/v1/sms-settings", headers=gateway.storefront)).status_code == 403
    finally:
        off = await gateway.http.put("/api/v1/sms-settings", json={"enabled": False}, headers=admin)
        assert off.status_code == 200, off.text

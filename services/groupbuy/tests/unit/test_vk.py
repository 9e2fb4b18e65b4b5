"""Reading VK Callback API bodies: the handshake, the secret, orders; everything else is answered "ok"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from oms_groupbuy.domain import vk
from oms_groupbuy.domain.errors import InvalidInput

RECORDED = Path(__file__).parent.parent / "fixtures" / "vk"
GROUP = vk.VkGroup(218877123, "shop-1", "vk-callback-secret-1", "a1b2c3d4")


def body(name: str, **changes: Any) -> bytes:
    doc = json.loads((RECORDED / f"{name}.json").read_text())
    doc.update(changes)
    return json.dumps(doc).encode()


def test_the_confirmation_handshake_answers_the_communitys_string() -> None:
    assert vk.read(body("confirmation"), GROUP, GROUP.group_id) == vk.Reply("a1b2c3d4")


def test_a_new_order_becomes_lines_by_article_with_the_recipient() -> None:
    reply = vk.read(body("market_order_new"), GROUP, GROUP.group_id)
    assert reply.body == "ok" and reply.order is not None
    assert reply.order == vk.VkOrder(
        group_id=218877123,
        order_id=17,
        user_id=730451102,
        name="Ирина Смирнова",
        contact="vk:730451102, +79990001122",
        currency="RUB",
        lines=(("DRESS-M", 1), ("SCARF", 1)),
    )
    assert reply.order.external_ref == "vk:218877123:17"
    assert vk.group_of(body("market_order_new")) == 218877123


@pytest.mark.parametrize(
    ("raw", "group", "path_group", "why"),
    [
        (b"not json", GROUP, GROUP.group_id, "not a VK callback"),
        (b'{"type": "market_order_new"}', GROUP, GROUP.group_id, "not a VK callback"),
        (body("market_order_new"), None, GROUP.group_id, "not connected"),
        (body("market_order_new", group_id=1), GROUP, GROUP.group_id, "not connected"),
        (body("market_order_new"), GROUP, 1, "not connected"),
        (body("confirmation"), None, GROUP.group_id, "not connected"),
        (body("market_order_new", secret="guess"), GROUP, GROUP.group_id, "wrong secret"),
        (body("market_order_new", secret=None), GROUP, GROUP.group_id, "wrong secret"),
        (body("market_order_new", type="wall_post_new"), GROUP, GROUP.group_id, "not taken in"),
        (body("market_order_new", object={"id": "x"}), GROUP, GROUP.group_id, "malformed order"),
        (body("market_order_new", object={"id": 1, "user_id": 2}), GROUP, GROUP.group_id, "without items"),
        (
            body(
                "market_order_new",
                object={"id": 1, "user_id": 2, "preview_order_items": [{"item_id": 5, "quantity": 1}]},
            ),
            GROUP,
            GROUP.group_id,
            "no article",
        ),
    ],
)
def test_anything_else_is_answered_ok_and_takes_nothing(
    raw: bytes, group: vk.VkGroup | None, path_group: int, why: str
) -> None:
    reply = vk.read(raw, group, path_group)
    assert reply.body == "ok" and reply.order is None
    assert reply.ignored is not None and why in reply.ignored


def test_a_community_needs_a_secret_vk_accepts() -> None:
    with pytest.raises(InvalidInput) as err:
        vk.VkGroup(1, "s", "short", "c")
    assert err.value.field == "secret"

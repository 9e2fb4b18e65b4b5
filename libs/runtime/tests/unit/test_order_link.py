"""The order-status link codec shared by order, payment and fulfilment: a signed token names one order
of one shop until it expires; a token signed with another secret, tampered or expired is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from oms_runtime.order_link import DEV_SECRET, OrderLinkClaims, OrderLinkCodec, OrderLinkInvalid

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def test_a_token_opens_its_order_until_it_expires() -> None:
    codec = OrderLinkCodec(DEV_SECRET)
    claims = OrderLinkClaims("shop-1", "order-1", NOW, NOW + timedelta(days=30))
    token = codec.sign(claims)
    assert codec.verify(token, now=NOW + timedelta(days=1)) == claims
    with pytest.raises(OrderLinkInvalid, match="expired"):
        codec.verify(token, now=NOW + timedelta(days=30))
    with pytest.raises(OrderLinkInvalid):
        codec.verify(token[:-2] + ("AA" if not token.endswith("AA") else "BB"), now=NOW)
    with pytest.raises(OrderLinkInvalid):
        OrderLinkCodec("another-secret-of-at-least-32-bytes-long").verify(token, now=NOW)
    with pytest.raises(ValueError):
        OrderLinkCodec("short")

from datetime import UTC, datetime, timedelta

import pytest
from oms_contracts import Actor, new_id
from oms_messaging.domain import conversation as rules

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_an_order_conversation_is_keyed_by_its_order() -> None:
    conversation = rules.order_conversation(
        conversation_id="c1", shop_id="s1", order_id="o1", number=12, customer_name="Ann", now=NOW
    )
    assert conversation.about == rules.about_order("o1") == "order:o1"
    assert conversation.title == "#12 Ann" and conversation.message_count == 0
    assert conversation.last_message_at is None
    assert rules.about_nothing_else("c2") != rules.about_order("c2")  # ad-hoc threads never clash with orders


def test_text_is_trimmed_and_must_say_something() -> None:
    assert rules.clean_text("  hello \n") == "hello"
    with pytest.raises(rules.InvalidPost) as empty:
        rules.clean_text(" \n\t ")
    assert empty.value.field == "text"
    with pytest.raises(rules.InvalidPost):
        rules.clean_text("x" * (rules.MAX_TEXT + 1))


def test_client_message_ids_must_be_time_ordered_uuids() -> None:
    good = new_id()
    assert rules.check_client_message_id(good) == good
    for bad in ("not-a-uuid", "1b4e28ba-2fa1-11d2-883f-0016d3cca427"):  # garbage, then a UUIDv1
        with pytest.raises(rules.InvalidPost) as exc:
            rules.check_client_message_id(bad)
        assert exc.value.field == "message_id"


def test_a_retry_is_the_same_post_only_with_the_same_author_text_and_conversation() -> None:
    author = Actor(kind="staff", id="u1", role="manager")
    stored = rules.Message("m1", "s1", "c1", "o1", author, "hi", NOW)
    assert rules.is_same_post(stored, rules.Post("m1", "c1", "u1", "hi"))
    assert not rules.is_same_post(stored, rules.Post("m1", "c1", "u1", "hello"))
    assert not rules.is_same_post(stored, rules.Post("m1", "c1", "u2", "hi"))
    assert not rules.is_same_post(stored, rules.Post("m1", "c2", "u1", "hi"))


def test_last_message_time_never_goes_back() -> None:
    earlier = NOW - timedelta(seconds=5)
    assert rules.latest(None, NOW) == NOW
    assert rules.latest(NOW, earlier) == NOW
    assert rules.latest(earlier, NOW) == NOW


def test_counting_a_message_keeps_the_latest_time_whatever_the_order() -> None:
    conversation = rules.order_conversation(
        conversation_id="c1", shop_id="s1", order_id="o1", number=12, customer_name="Ann", now=NOW
    )
    author = Actor(kind="staff", id="u1", role="manager")
    later = rules.Message("m2", "s1", "c1", "o1", author, "b", NOW + timedelta(seconds=5))
    earlier = rules.Message("m1", "s1", "c1", "o1", author, "a", NOW)
    counted = conversation.counting(later).counting(earlier)
    assert (counted.message_count, counted.last_message_at) == (2, later.at)

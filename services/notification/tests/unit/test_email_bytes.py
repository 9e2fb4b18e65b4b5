# ruff: noqa: RUF001  (Russian text: Cyrillic letters that look Latin are meant)
"""The email's bytes read back by Python's standard reader (`policy.default`) to what was sent."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import EmailMessage

import pytest
from oms_notification.adapters.outbound.email_bytes import BadAddress, compose, encoded_words, mailbox

WRITTEN = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
SUBJECT = "Заказ №1042 принят — спасибо за покупку в магазине «Зелёный чай», Анна Иванова-Петрова"
TEXT = "Здравствуйте, Анна!\n\nЗаказ №1042 на 1 500,00 ₽ принят.\n.\nFrom the shop\n"
HTML = "<p>Здравствуйте, <b>Анна</b>!</p>\n<p>Заказ №1042</p>\n"


def read(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def body(msg: EmailMessage, kind: str) -> str:
    part = msg.get_body((kind,))
    assert isinstance(part, EmailMessage)
    return str(part.get_content()).replace("\r\n", "\n")  # text travels with CRLF line ends


def message(name: str = "Анна Иванова", subject: str = SUBJECT, text: str = TEXT, html: str = HTML) -> bytes:
    return compose(
        sender=mailbox("Чайная лавка", "no-reply@oms.local"),
        to=mailbox(name, "anna@example.com"),
        subject=subject,
        message_id="0190aa-1",
        date=WRITTEN,
        text=text,
        html=html,
    )


def test_cyrillic_subject_names_and_bodies_read_back_as_written() -> None:
    raw = message()
    assert raw.isascii() and all(len(line) <= 78 for line in raw.split(b"\r\n"))
    msg = read(raw)
    assert msg["Subject"] == SUBJECT
    assert msg["From"].addresses[0].display_name == "Чайная лавка"
    assert msg["From"].addresses[0].addr_spec == "no-reply@oms.local"
    assert msg["To"].addresses[0].display_name == "Анна Иванова"
    assert msg["To"].addresses[0].addr_spec == "anna@example.com"
    assert msg["Message-ID"] == "<0190aa-1@oms.local>"
    assert msg["Date"].datetime == WRITTEN
    assert msg.get_content_type() == "multipart/alternative"
    assert body(msg, "plain") == TEXT and body(msg, "html") == HTML


def test_every_attempt_of_a_delivery_sends_the_same_bytes() -> None:
    assert message() == message()


def test_ascii_content_stays_readable_and_names_with_specials_are_quoted() -> None:
    raw = message(name="O'Neil, Ann", subject="Order 7 placed", text="Hello Ann\n", html="<p>Hello</p>")
    assert b"Subject: Order 7 placed\r\n" in raw and b"Content-Transfer-Encoding: 7bit" in raw
    msg = read(raw)
    assert msg["To"].addresses[0].display_name == "O'Neil, Ann" and msg["Subject"] == "Order 7 placed"
    assert body(msg, "plain") == "Hello Ann\n" and body(msg, "html") == "<p>Hello</p>\n"


def test_text_that_looks_like_an_encoded_word_is_not_decoded_by_the_reader() -> None:
    subject = "Promo =?utf-8?b?0JfQsNC60LDQtw==?= inside"
    assert read(message(subject=subject))["Subject"] == subject


def test_a_long_name_is_split_between_words_into_encoded_words_an_rfc_reader_joins_exactly() -> None:
    name = "Анна-Мария Константиновна Иванова-Петрова Водкина"
    header = mailbox(name, "anna@example.com")
    assert all(len(word) <= 75 for word in header.split())
    # compat32's decoder follows RFC 2047 6.2 (the folding between encoded words is dropped).
    assert str(make_header(decode_header(header.rsplit(" <", 1)[0]))) == name
    # Python's phrase reader adds a space between encoded words: the words themselves stay whole.
    assert read(message(name=name))["To"].addresses[0].display_name.split() == name.split()


def test_a_word_longer_than_an_encoded_word_is_cut_between_characters() -> None:
    word = "Ж" * 60 + "😀"
    assert str(make_header(decode_header(encoded_words(word)))) == word


def test_long_lines_and_a_body_that_contains_the_boundary_go_base64() -> None:
    long_line = "x" * 1200 + "\n"
    sneaky = "--=_oms_0190aa-1\nnot a part\n"
    msg = read(message(text=long_line, html=sneaky))
    assert body(msg, "plain") == long_line and body(msg, "html") == sneaky


def test_an_internationalised_address_is_written_as_utf8() -> None:
    raw = compose(
        sender=mailbox("OMS", "no-reply@oms.local"),
        to=mailbox("Анна", "анна@пример.рф"),
        subject="Заказ",
        message_id="0190aa-2",
        date=WRITTEN,
        text="x",
        html="y",
    )
    utf8 = email.message_from_string(raw.decode(), policy=email.policy.default)  # RFC 6532: headers in UTF-8
    assert isinstance(utf8, EmailMessage)
    [to] = utf8["To"].addresses
    assert (to.display_name, to.addr_spec) == ("Анна", "анна@пример.рф")


@pytest.mark.parametrize(
    "address", ["ann@example.com\r\nBcc: all@example.com", "ann @example.com", "<ann@example.com>"]
)
def test_an_address_that_would_break_the_header_is_refused(address: str) -> None:
    with pytest.raises(BadAddress):
        mailbox("Ann", address)


def test_a_name_with_a_line_break_cannot_add_a_header() -> None:
    raw = message(name="Ann\r\nBcc: all@example.com")
    msg = read(raw)
    assert msg["Bcc"] is None and msg["To"].addresses[0].addr_spec == "anna@example.com"
    assert msg["To"].addresses[0].display_name == "Ann Bcc: all@example.com"

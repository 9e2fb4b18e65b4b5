# ruff: noqa: RUF001  (the forms are Russian: Cyrillic letters that look Latin are meant)
"""Every document rendered and read back with pypdf: the figures, requisites and Cyrillic survive."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from io import BytesIO

import pytest
from hypothesis import given
from hypothesis import strategies as st
from oms_contracts import Money
from oms_documents import (
    BankRequisites,
    FontsMissing,
    Invoice,
    ItemLine,
    PackingSlip,
    Party,
    Pd4,
    PricedLine,
    ShippingLabel,
    Waybill,
    fonts,
    format_money,
    render_invoice,
    render_label,
    render_packing_slip,
    render_pd4,
    render_waybill,
    tracking_barcode,
)
from pypdf import PdfReader

BANK = BankRequisites(
    recipient="ООО «Ромашка»",
    inn="7701234567",
    kpp="770101001",
    account="40702810900000012345",
    bank_name="ПАО Сбербанк г. Москва",
    bic="044525225",
    correspondent_account="30101810400000000225",
)
SELLER = Party("ООО «Ромашка»", address="Москва, ул. Ленина, 1", inn="7701234567", kpp="770101001")
BUYER = Party("Иванов Иван Иванович", address="Санкт-Петербург, Невский пр., 10", phone="+79990001122")


def rub(amount: str) -> Money:
    return Money.of(amount, "RUB")


def text_of(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_money_is_formatted_per_currency() -> None:
    assert format_money(rub("1234.5")) == "1 234,50 RUB"
    assert format_money(Money.of("1234.5", "USD")) == "1,234.50 USD"
    assert format_money(Money.of("1234.5", "JPY")) == "1,235 JPY"
    assert format_money(Money.of("1.0005", "KWD")) == "1.001 KWD"


@given(st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=4))
def test_formatted_money_reads_back_as_the_rounded_amount(amount: Decimal) -> None:
    text = format_money(Money(amount=amount, currency="RUB")).removesuffix(" RUB")
    assert Decimal(text.replace(" ", "").replace(",", ".")) == Money(amount=amount, currency="RUB").rounded().amount


def invoice(**overrides: object) -> Invoice:
    fields: dict[str, object] = {
        "number": "INV-42",
        "issued_on": date(2026, 11, 23),
        "seller": SELLER,
        "bank": BANK,
        "buyer": BUYER,
        "lines": (
            PricedLine("Кружка красная", 2, rub("450.00"), sku="MUG-RED"),
            PricedLine("Ложка чайная", 3, rub("99.90"), sku="SPOON"),
        ),
        "currency": "RUB",
        "delivery": rub("300"),
        "vat_rate": Decimal(20),
        "total_in_words": "Одна тысяча пятьсот девяносто девять рублей 70 копеек",
        "purpose": "Оплата заказа № 42",
    }
    fields |= overrides
    return Invoice(**fields)  # type: ignore[arg-type]


def test_invoice_shows_requisites_lines_vat_and_total() -> None:
    doc = invoice()
    assert doc.total == rub("1499.70")  # 900 + 299.70 + 300
    assert doc.vat == rub("249.95")  # 1499.70 * 20 / 120
    text = flat(text_of(render_invoice(doc)))
    for expected in (
        "Счёт на оплату № INV-42 от 23.11.2026",
        "ООО «Ромашка»",
        "ИНН 7701234567",
        "КПП 770101001",
        "40702810900000012345",
        "044525225",
        "30101810400000000225",
        "ПАО Сбербанк г. Москва",
        "Иванов Иван Иванович",
        "Кружка красная",
        "MUG-RED",
        "900,00",
        "299,70",
        "Доставка",
        "В том числе НДС 20% (VAT included): 249,95 RUB",
        "Всего к оплате (Amount due): 1 499,70 RUB",
        "Оплата заказа № 42",
        "Одна тысяча",
    ):
        assert expected in text, expected


def test_invoice_without_vat_says_so() -> None:
    text = flat(text_of(render_invoice(invoice(vat_rate=None, delivery=None))))
    assert "Без налога (НДС)" in text
    assert "1 199,70 RUB" in text
    assert "Доставка" not in text


def test_invoice_with_many_lines_runs_over_pages_and_keeps_every_line() -> None:
    lines = tuple(PricedLine(f"Товар {i}", 1, rub("10"), sku=f"SKU-{i}") for i in range(80))
    pdf = render_invoice(invoice(lines=lines, delivery=None))
    assert len(PdfReader(BytesIO(pdf)).pages) > 1
    text = flat(text_of(pdf))
    assert "SKU-79" in text
    assert "800,00 RUB" in text


def test_pd4_has_notice_and_receipt_with_every_requisite_twice() -> None:
    slip = Pd4(
        bank=BANK,
        payer_name="Иванов Иван Иванович",
        payer_address="Санкт-Петербург, Невский пр., 10",
        purpose="Оплата заказа № 42",
        amount=rub("1499.7"),
    )
    text = flat(text_of(render_pd4(slip)))
    assert "Извещение" in text and "Квитанция" in text
    assert "Форма № ПД-4" in text
    for requisite in (
        "ИНН 7701234567",
        "КПП 770101001",
        "40702810900000012345",
        "БИК 044525225",
        "30101810400000000225",
        "ООО «Ромашка»",
        "Оплата заказа № 42",
        "Сумма платежа: 1 499,70 RUB",
        "Иванов Иван Иванович",
    ):
        assert text.count(requisite) == 2, requisite


def test_waybill_lists_items_parties_tracking_and_total() -> None:
    waybill = Waybill(
        number="WB-7",
        issued_on=date(2026, 11, 23),
        order_number=42,
        sender=Party("ООО «Ромашка», склад Север", address="Москва, ул. Складская, 5"),
        recipient=BUYER,
        lines=(
            ItemLine("MUG-RED", "Кружка красная", 2, rub("450")),
            ItemLine("SPOON", "Ложка чайная", 3, rub("99.90")),
        ),
        carrier="СДЭК",
        tracking_number="OMS123456789AB",
        warehouse="wh-north",
        currency="RUB",
    )
    text = flat(text_of(render_waybill(waybill)))
    for expected in (
        "Накладная № WB-7 от 23.11.2026",
        "Заказ (Order) № 42",
        "СДЭК",
        "OMS123456789AB",
        "Кружка красная",
        "Ложка чайная",
        "единиц (Units): 5",
        "Итого (Total): 1 199,70 RUB",
        "Иванов Иван Иванович",
        "склад Север",
    ):
        assert expected in text, expected


def test_waybill_without_prices_has_no_total() -> None:
    waybill = Waybill(
        number="WB-8",
        issued_on=date(2026, 11, 23),
        order_number=43,
        sender=SELLER,
        recipient=BUYER,
        lines=(ItemLine("MUG-RED", "Кружка", 1),),
    )
    text = flat(text_of(render_waybill(waybill)))
    assert "Итого" not in text
    assert "MUG-RED" in text


def test_packing_slip_lists_what_goes_in_the_parcel() -> None:
    slip = PackingSlip(
        order_number=42,
        shipment_id="0190-ship",
        warehouse="wh-north",
        recipient=BUYER,
        lines=(ItemLine("MUG-RED", "Кружка красная", 2), ItemLine("SPOON", "Ложка чайная", 3)),
        notes="Позвонить за час",
        shipment_index="1/2",
    )
    text = flat(text_of(render_packing_slip(slip)))
    for expected in (
        "заказ (order) № 42",
        "посылка (parcel) 1/2",
        "0190-ship",
        "wh-north",
        "Кружка красная",
        "MUG-RED",
        "Всего единиц (Units): 5",
        "Позвонить за час",
    ):
        assert expected in text, expected


def test_label_carries_tracking_number_as_text_and_a_code128_barcode() -> None:
    label = ShippingLabel(
        tracking_number="OMS123456789AB",
        carrier="cdek",
        sender=SELLER,
        recipient=BUYER,
        order_number=42,
        parcel="1/2",
    )
    pdf = render_label(label)
    text = flat(text_of(pdf))
    assert "OMS123456789AB" in text
    assert "CDEK" in text
    assert "Иванов Иван Иванович" in text
    assert "Невский пр., 10" in text
    # The barcode is drawn as filled bars: the page's content stream holds one rectangle per bar.
    content = PdfReader(BytesIO(pdf)).pages[0].get_contents()
    assert content is not None
    bars = content.get_data().count(b" re")
    barcode = tracking_barcode("OMS123456789AB")
    assert barcode.width > 30  # points: a real symbol, not an empty drawing
    assert bars >= 30, bars


def test_barcodes_differ_with_the_tracking_number() -> None:
    first = render_label(ShippingLabel("OMS000000000001", "post", SELLER, BUYER, 1))
    second = render_label(ShippingLabel("OMS999999999999", "post", SELLER, BUYER, 1))
    assert first != second


def test_missing_fonts_fail_with_a_clear_message(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setattr(fonts, "FONT_DIRS", ())
    monkeypatch.setenv("OMS_DOCUMENTS_FONT_DIR", str(tmp_path))
    with pytest.raises(FontsMissing, match="fonts-dejavu-core"):
        fonts.find_font("DejaVuSans.ttf")

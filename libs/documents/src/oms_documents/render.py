# ruff: noqa: RUF001  (the forms are Russian: Cyrillic letters that look Latin are meant)
"""Rendering: pure functions from a document's data to PDF bytes (reportlab, DejaVu fonts with Cyrillic).

Each function builds the PDF in memory and returns its bytes; nothing is read or written but the
fonts. Labels and headings are bilingual (Russian first: the forms are Russian ones).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from io import BytesIO
from typing import Any

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, A6
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from oms_documents.fonts import BOLD, MONO, REGULAR, register_fonts
from oms_documents.model import BankRequisites, Invoice, ItemLine, PackingSlip, Party, Pd4, ShippingLabel, Waybill
from oms_documents.money import format_amount, format_money

PRODUCER = "OMS documents"


def _styles() -> dict[str, ParagraphStyle]:
    register_fonts()
    base = ParagraphStyle("base", fontName=REGULAR, fontSize=9, leading=11)
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=9),
        "title": ParagraphStyle("title", parent=base, fontName=BOLD, fontSize=14, leading=18, spaceAfter=6),
        "bold": ParagraphStyle("bold", parent=base, fontName=BOLD),
    }


def _esc(text: object) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _date(value: date) -> str:
    return value.strftime("%d.%m.%Y")


def _party(label: str, party: Party) -> str:
    parts = [f"<b>{_esc(label)}:</b> {_esc(party.name)}"]
    if party.inn:
        parts.append(f"ИНН {_esc(party.inn)}" + (f", КПП {_esc(party.kpp)}" if party.kpp else ""))
    for value in (party.address, party.phone, party.email):
        if value:
            parts.append(_esc(value))
    return ", ".join(parts)


def _grid(data: Sequence[Sequence[Any]], widths: Sequence[float], *, header: bool = True) -> Table:
    table = Table(list(map(list, data)), colWidths=list(widths), repeatRows=1 if header else 0)
    style = [
        ("FONTNAME", (0, 0), (-1, -1), REGULAR),
        ("FONTSIZE", (0, 0), (-1, -1), 8.5),
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    if header:
        style += [("FONTNAME", (0, 0), (-1, 0), BOLD), ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke)]
    table.setStyle(TableStyle(style))
    return table


def _build(story: list[Any], *, title: str, pagesize: tuple[float, float] = A4) -> bytes:
    buffer = BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=pagesize,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=title,
        author=PRODUCER,
        creator=PRODUCER,
        invariant=1,
    )
    doc.build(story)
    return buffer.getvalue()


def _bank_table(bank: BankRequisites, styles: dict[str, ParagraphStyle]) -> Table:
    p = styles["base"]
    inn_kpp = f"ИНН {bank.inn}" + (f"   КПП {bank.kpp}" if bank.kpp else "")
    data = [
        [Paragraph(_esc(bank.bank_name), p), "БИК", bank.bic],
        [Paragraph("Банк получателя", styles["small"]), "Сч. №", bank.correspondent_account],
        [Paragraph(_esc(inn_kpp), p), "Сч. №", bank.account],
        [Paragraph(f"{_esc(bank.recipient)}<br/><font size=7>Получатель</font>", p), "", ""],
    ]
    return _grid(data, [95 * mm, 20 * mm, 65 * mm], header=False)


# ---- invoice ---------------------------------------------------------------------------------


def render_invoice(invoice: Invoice) -> bytes:
    """Счёт на оплату: bank requisites, seller and buyer, lines, VAT line, total (and in words)."""
    s = _styles()
    cur = invoice.currency
    story: list[Any] = [_bank_table(invoice.bank, s), Spacer(1, 6 * mm)]
    story.append(
        Paragraph(f"Счёт на оплату № {_esc(invoice.number)} от {_date(invoice.issued_on)} / Invoice", s["title"])
    )
    story.append(Paragraph(_party("Поставщик (Seller)", invoice.seller), s["base"]))
    story.append(Spacer(1, 2 * mm))
    story.append(Paragraph(_party("Покупатель (Buyer)", invoice.buyer), s["base"]))
    story.append(Spacer(1, 4 * mm))
    rows: list[list[Any]] = [["№", "Товар / Item", "Артикул", "Кол-во", f"Цена, {cur}", f"Сумма, {cur}"]]
    for i, line in enumerate(invoice.lines, start=1):
        rows.append(
            [
                str(i),
                Paragraph(_esc(line.name), s["base"]),
                line.sku or "",
                str(line.quantity),
                format_amount(line.unit_price.amount, cur),
                format_amount(line.total.amount, cur),
            ]
        )
    if invoice.delivery is not None and invoice.delivery.amount:
        rows.append(
            [
                str(len(invoice.lines) + 1),
                "Доставка / Delivery",
                "",
                "1",
                format_amount(invoice.delivery.amount, cur),
                format_amount(invoice.delivery.amount, cur),
            ]
        )
    story.append(_grid(rows, [8 * mm, 72 * mm, 28 * mm, 16 * mm, 28 * mm, 28 * mm]))
    story.append(Spacer(1, 3 * mm))
    vat = invoice.vat
    vat_text = (
        f"В том числе НДС {invoice.vat_rate}% (VAT included): {format_money(vat)}"
        if vat is not None
        else "Без налога (НДС) / VAT not applicable"
    )
    totals = [
        ["Итого (Total):", format_money(invoice.total)],
        [vat_text, ""],
        ["Всего к оплате (Amount due):", format_money(invoice.total)],
    ]
    table = Table(totals, colWidths=[140 * mm, 40 * mm])
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), REGULAR),
                ("FONTNAME", (0, 2), (-1, 2), BOLD),
                ("ALIGN", (0, 0), (-1, -1), "RIGHT"),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
            ]
        )
    )
    story.append(table)
    items = len(invoice.lines) + (1 if invoice.delivery is not None and invoice.delivery.amount else 0)
    story.append(Paragraph(f"Всего наименований {items}, на сумму {format_money(invoice.total)}", s["base"]))
    if invoice.total_in_words:
        story.append(Paragraph(f"<b>{_esc(invoice.total_in_words)}</b>", s["base"]))
    if invoice.purpose:
        story.append(Spacer(1, 2 * mm))
        story.append(Paragraph(f"Назначение платежа (Payment reference): {_esc(invoice.purpose)}", s["base"]))
    if invoice.due_on:
        story.append(Paragraph(f"Оплатить до (Pay by): {_date(invoice.due_on)}", s["base"]))
    story.append(Spacer(1, 12 * mm))
    story.append(Paragraph("Руководитель ____________________     Бухгалтер ____________________", s["base"]))
    return _build(story, title=f"Invoice {invoice.number}")


# ---- PD-4 ------------------------------------------------------------------------------------

PD4_WIDTH = 180 * mm
PD4_PART_HEIGHT = 72 * mm
PD4_STUB = 52 * mm


def render_pd4(slip: Pd4) -> bytes:
    """Форма № ПД-4: the notice (Извещение) above the receipt (Квитанция), both with the same requisites."""
    register_fonts()
    buffer = BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1)
    canvas.setTitle("ПД-4")
    canvas.setAuthor(PRODUCER)
    left = 15 * mm
    top = A4[1] - 20 * mm
    for index, part in enumerate(("Извещение", "Квитанция")):
        y_top = top - index * PD4_PART_HEIGHT
        _pd4_part(canvas, slip, part, left, y_top)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _pd4_part(canvas: Canvas, slip: Pd4, part: str, left: float, top: float) -> None:
    bank = slip.bank
    canvas.setLineWidth(0.8)
    canvas.rect(left, top - PD4_PART_HEIGHT, PD4_WIDTH, PD4_PART_HEIGHT)
    canvas.line(left + PD4_STUB, top, left + PD4_STUB, top - PD4_PART_HEIGHT)
    canvas.setFont(BOLD, 10)
    canvas.drawString(left + 4 * mm, top - 8 * mm, part)
    canvas.setFont(REGULAR, 8)
    canvas.drawString(left + 4 * mm, top - PD4_PART_HEIGHT + 6 * mm, "Кассир")
    x = left + PD4_STUB + 3 * mm
    width = PD4_WIDTH - PD4_STUB - 6 * mm
    canvas.setFont(REGULAR, 7)
    canvas.drawRightString(left + PD4_WIDTH - 3 * mm, top - 4 * mm, "Форма № ПД-4")
    y = top - 9 * mm

    def field(value: str, caption: str, *, size: float = 9) -> None:
        nonlocal y
        canvas.setFont(REGULAR, size)
        canvas.drawString(x, y, value)
        canvas.line(x, y - 1.2 * mm, x + width, y - 1.2 * mm)
        canvas.setFont(REGULAR, 6)
        canvas.drawCentredString(x + width / 2, y - 3.6 * mm, caption)
        y -= 7.5 * mm

    field(bank.recipient, "(наименование получателя платежа)")
    inn_kpp = f"ИНН {bank.inn}" + (f"  КПП {bank.kpp}" if bank.kpp else "")
    field(
        f"{inn_kpp}      р/с {bank.account}", "(ИНН/КПП получателя платежа)            (номер счёта получателя платежа)"
    )
    field(f"{bank.bank_name}   БИК {bank.bic}", "(наименование банка получателя платежа)")
    field(f"Кор. сч. {bank.correspondent_account}", "(номер кор./сч. банка получателя платежа)")
    field(slip.purpose, "(наименование платежа)")
    field(f"{slip.payer_name}" + (f", {slip.payer_address}" if slip.payer_address else ""), "Ф.И.О., адрес плательщика")
    canvas.setFont(BOLD, 9)
    canvas.drawString(x, y, f"Сумма платежа: {format_money(slip.amount)}")
    y -= 6 * mm
    canvas.setFont(REGULAR, 7)
    canvas.drawString(x, y, "Итого ______________   «____» ______________ 20__ г.")
    y -= 4.5 * mm
    canvas.drawString(
        x, y, "С условиями приёма указанной в платёжном документе суммы ознакомлен и согласен. Подпись плательщика ____"
    )


# ---- waybill and packing slip ----------------------------------------------------------------


def _item_rows(lines: Sequence[ItemLine], s: dict[str, ParagraphStyle], *, prices: bool) -> list[list[Any]]:
    head = ["№", "Артикул / SKU", "Наименование / Item", "Кол-во / Qty"]
    if prices:
        head += ["Цена / Price", "Сумма / Total"]
    rows: list[list[Any]] = [head]
    for i, line in enumerate(lines, start=1):
        row: list[Any] = [str(i), line.sku, Paragraph(_esc(line.name), s["base"]), str(line.quantity)]
        if prices:
            assert line.unit_price is not None
            row += [
                format_money(line.unit_price.rounded()),
                format_money(line.unit_price.times(line.quantity).rounded()),
            ]
        rows.append(row)
    return rows


def render_waybill(waybill: Waybill) -> bytes:
    """Накладная / delivery note: sender, recipient, carrier and tracking number, items, signatures."""
    s = _styles()
    story: list[Any] = [
        Paragraph(
            f"Накладная № {_esc(waybill.number)} от {_date(waybill.issued_on)} / Waybill (delivery note)", s["title"]
        ),
        Paragraph(f"Заказ (Order) № {waybill.order_number}", s["base"]),
    ]
    if waybill.warehouse:
        story.append(Paragraph(f"Склад (Warehouse): {_esc(waybill.warehouse)}", s["base"]))
    if waybill.carrier or waybill.tracking_number:
        story.append(
            Paragraph(
                f"Перевозчик (Carrier): {_esc(waybill.carrier or '—')}; "
                f"трек-номер (Tracking): {_esc(waybill.tracking_number or '—')}",
                s["base"],
            )
        )
    story += [
        Spacer(1, 3 * mm),
        Paragraph(_party("Грузоотправитель (Sender)", waybill.sender), s["base"]),
        Spacer(1, 2 * mm),
        Paragraph(_party("Грузополучатель (Recipient)", waybill.recipient), s["base"]),
        Spacer(1, 4 * mm),
    ]
    total = waybill.total
    prices = total is not None
    widths = [8 * mm, 32 * mm, 70 * mm, 20 * mm, 25 * mm, 25 * mm] if prices else [8 * mm, 40 * mm, 102 * mm, 30 * mm]
    story.append(_grid(_item_rows(waybill.lines, s, prices=prices), widths))
    story.append(Spacer(1, 3 * mm))
    units = sum(line.quantity for line in waybill.lines)
    summary = f"Всего позиций (Lines): {len(waybill.lines)}; единиц (Units): {units}; мест (Parcels): {waybill.parcels}"
    story.append(Paragraph(summary, s["base"]))
    if total is not None:
        story.append(Paragraph(f"<b>Итого (Total): {format_money(total)}</b>", s["base"]))
    story += [
        Spacer(1, 14 * mm),
        Paragraph(
            "Отпустил (Released by) ____________________     Получил (Received by) ____________________", s["base"]
        ),
    ]
    return _build(story, title=f"Waybill {waybill.number}")


def render_packing_slip(slip: PackingSlip) -> bytes:
    """Упаковочный лист / packing slip: what is in the parcel, with boxes to tick."""
    s = _styles()
    heading = f"Упаковочный лист / Packing slip — заказ (order) № {slip.order_number}"
    if slip.shipment_index:
        heading += f", посылка (parcel) {slip.shipment_index}"
    story: list[Any] = [
        Paragraph(_esc(heading), s["title"]),
        Paragraph(f"Отправление (Shipment): {_esc(slip.shipment_id)}", s["base"]),
        Paragraph(f"Склад (Warehouse): {_esc(slip.warehouse)}", s["base"]),
        Spacer(1, 2 * mm),
        Paragraph(_party("Получатель (Recipient)", slip.recipient), s["base"]),
        Spacer(1, 4 * mm),
    ]
    rows = _item_rows(slip.lines, s, prices=False)
    rows[0].append("✓")
    for row in rows[1:]:
        row.append("☐")
    story.append(_grid(rows, [8 * mm, 40 * mm, 92 * mm, 28 * mm, 12 * mm]))
    units = sum(line.quantity for line in slip.lines)
    story += [Spacer(1, 3 * mm), Paragraph(f"Всего единиц (Units): {units}", s["bold"])]
    if slip.notes:
        story += [Spacer(1, 3 * mm), Paragraph(f"Примечание (Notes): {_esc(slip.notes)}", s["base"])]
    story += [Spacer(1, 10 * mm), Paragraph("Упаковал (Packed by) ____________________", s["base"])]
    return _build(story, title=f"Packing slip {slip.order_number}")


# ---- shipping label ----------------------------------------------------------------------------


def tracking_barcode(tracking_number: str) -> Code128:
    """The Code 128 barcode of a tracking number, as printed on the label."""
    return Code128(tracking_number, barHeight=18 * mm, barWidth=0.33 * mm, humanReadable=False, quiet=True)


def render_label(label: ShippingLabel) -> bytes:
    """A6 shipping label: carrier, addresses, the tracking number as Code 128 and in clear text."""
    register_fonts()
    buffer = BytesIO()
    width, height = A6
    canvas = Canvas(buffer, pagesize=A6, invariant=1)
    canvas.setTitle(f"Label {label.tracking_number}")
    canvas.setAuthor(PRODUCER)
    margin = 6 * mm
    y = height - margin - 4 * mm
    canvas.setFont(BOLD, 13)
    canvas.drawString(margin, y, label.carrier.upper())
    canvas.setFont(REGULAR, 8)
    canvas.drawRightString(width - margin, y, f"Заказ № {label.order_number} · {label.parcel}")
    y -= 6 * mm
    canvas.line(margin, y, width - margin, y)

    def block(caption: str, party: Party, size: float) -> None:
        nonlocal y
        y -= 4.5 * mm
        canvas.setFont(REGULAR, 7)
        canvas.drawString(margin, y, caption)
        y -= size * 0.45 * mm
        canvas.setFont(BOLD, size)
        canvas.drawString(margin, y, party.name)
        canvas.setFont(REGULAR, size - 1.5)
        for text in (party.address, party.phone):
            if text:
                y -= size * 0.42 * mm
                canvas.drawString(margin, y, text)

    block("От (From):", label.sender, 8)
    y -= 2 * mm
    block("Кому (To):", label.recipient, 11)
    for text in label.extra:
        y -= 4 * mm
        canvas.setFont(REGULAR, 8)
        canvas.drawString(margin, y, text)
    barcode = tracking_barcode(label.tracking_number)
    bar_y = margin + 10 * mm
    barcode.drawOn(canvas, max(margin, (width - barcode.width) / 2), bar_y)
    canvas.setFont(MONO, 11)
    canvas.drawCentredString(width / 2, margin + 4 * mm, label.tracking_number)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


__all__ = [
    "render_invoice",
    "render_label",
    "render_packing_slip",
    "render_pd4",
    "render_waybill",
    "tracking_barcode",
]

# ruff: noqa: RUF001  (Russian words: Cyrillic letters that look Latin are meant)
"""The console's two languages. Pure: which language a request gets, and the words of each.

The user's choice is a cookie kept by the gateway (ADR 0016), which hands it over as the
`Accept-Language` header; without a choice the browser's own preference decides.
"""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = ("en", "ru")
DEFAULT = "en"

Translate = Callable[..., str]

EN: dict[str, str] = {
    "console": "Operations console",
    "sign_in": "Sign in",
    "sign_out": "Sign out",
    "shop": "Shop",
    "email": "E-mail",
    "password": "Password",
    "error.credentials": "Unknown shop, e-mail or password.",
    "error.missing": "Shop, e-mail and password are required.",
    "error.origin": "The form must be sent from the console itself.",
    "board": "Stage board",
    "orders": "Orders",
    "pipeline": "Pipeline",
    "manager": "Manager",
    "channel": "Channel",
    "delivery_type": "Delivery",
    "problem_only": "Problems only",
    "apply": "Apply",
    "reset": "Reset",
    "any": "any",
    "me": "me",
    "nobody": "nobody",
    "more": "More",
    "loading": "Loading…",
    "empty": "No orders",
    "advance": "Advance",
    "move": "Move",
    "move_to": "Move to…",
    "problem": "Problem",
    "in_stage": "in stage",
    "limit": "limit",
    "no_limit": "no limit",
    "overdue": "overdue",
    "open": "Open",
    "conflict": "The order was changed by someone else meanwhile; it has been reloaded. Check it and try again.",
    "refused": "Refused",
    "done.advance": "Advanced to {stage}.",
    "done.move": "Moved to {stage}.",
    "done": "Done.",
    "not_allowed_here": "Your role cannot see this list.",
    "plain_list": "Newest first; filters are for managers.",
    "unavailable": "The OMS did not answer: {detail}",
    "search": "Search",
    "q": "Name, phone, e-mail or number",
    "stage": "Stage",
    "status": "Status",
    "payment_status": "Payment",
    "placed_from": "Placed from",
    "placed_to": "Placed to",
    "sort": "Sort",
    "order": "Direction",
    "asc": "ascending",
    "desc": "descending",
    "sort.placed_at": "date placed",
    "sort.customer_name": "customer",
    "sort.item_count": "items",
    "sort.total": "total",
    "sort.payment_status": "payment status",
    "region": "Region",
    "customer_kind": "Customer",
    "kind.first": "first order",
    "kind.repeat": "repeat",
    "export_csv": "Export CSV",
    "group_by": "Group by",
    "count": "Orders",
    "by.date": "day placed",
    "by.stage": "stage",
    "by.delivery_method": "delivery",
    "by.region": "region",
    "by.customer_kind": "first / repeat",
    "by.closing_date": "day closed",
    "next_page": "Next page",
    "first_page": "First page",
    "number": "No.",
    "customer": "Customer",
    "total": "Total",
    "placed_at": "Placed",
    "items": "Items",
    "order_n": "Order #{number}",
    "lines": "Lines",
    "sku": "SKU",
    "name": "Name",
    "quantity": "Qty",
    "in_stock": "Available",
    "price": "Price",
    "line_total": "Sum",
    "subtotal": "Subtotal",
    "discount": "Discount",
    "delivery": "Delivery",
    "grand_total": "Total",
    "address": "Address",
    "wishes": "Wishes",
    "payment": "Payment",
    "paid": "Paid",
    "refunded": "Refunded",
    "due": "Due",
    "refund_due": "Refund due",
    "shipments": "Shipments",
    "tracking": "Tracking",
    "returns": "Returns",
    "documents": "Documents",
    "invoice": "Invoice (PDF)",
    "pd4": "PD-4 slip (PDF)",
    "waybill": "Waybill",
    "label": "Label",
    "audit": "Audit trail",
    "messages": "Messages",
    "notes": "Staff notes",
    "add_note": "Add note",
    "send": "Send",
    "cancel_order": "Cancel order",
    "reason": "Reason",
    "resolve_problem": "Resolve problem",
    "comment": "Comment",
    "assign_me": "Assign to me",
    "save": "Save",
    "change_qty": "Change",
    "stage_history": "Stage history",
    "when": "When",
    "who": "Who",
    "what": "What",
    "none": "—",
    "read_only": "Read only: your role has no actions on this order.",
    "actions": "Actions",
    "language": "Language",
    "not_found": "Not found.",
    "sla": "SLA",
    "weakest": "Weakest stages",
    "managers": "Managers",
    "sla_truncated": "More orders in flight than one overview reads: the oldest are counted.",
    "sla_note": "Orders in flight now; time in stage so far (p50 / p95) against the stage's limit.",
}

RU: dict[str, str] = {
    "console": "Операционная консоль",
    "sign_in": "Войти",
    "sign_out": "Выйти",
    "shop": "Магазин",
    "email": "E-mail",
    "password": "Пароль",
    "error.credentials": "Неизвестный магазин, e-mail или пароль.",
    "error.missing": "Нужны магазин, e-mail и пароль.",
    "error.origin": "Форму нужно отправлять из самой консоли.",
    "board": "Доска этапов",
    "orders": "Заказы",
    "pipeline": "Воронка",
    "manager": "Менеджер",
    "channel": "Канал",
    "delivery_type": "Доставка",
    "problem_only": "Только проблемные",
    "apply": "Применить",
    "reset": "Сбросить",
    "any": "любой",
    "me": "я",
    "nobody": "никто",
    "more": "Ещё",
    "loading": "Загрузка…",
    "empty": "Нет заказов",
    "advance": "Дальше",
    "move": "Перевести",
    "move_to": "Перевести в…",
    "problem": "Проблема",
    "in_stage": "на этапе",
    "limit": "лимит",
    "no_limit": "без лимита",
    "overdue": "просрочен",
    "open": "Открыть",
    "conflict": "Заказ тем временем изменил кто-то другой; он перезагружен. Проверьте и повторите.",
    "refused": "Отказано",
    "done.advance": "Переведён на этап «{stage}».",
    "done.move": "Переведён на этап «{stage}».",
    "done": "Готово.",
    "not_allowed_here": "Вашей роли этот список недоступен.",
    "plain_list": "Сначала новые; фильтры — для менеджеров.",
    "unavailable": "OMS не ответила: {detail}",
    "search": "Поиск",
    "q": "Имя, телефон, e-mail или номер",
    "stage": "Этап",
    "status": "Статус",
    "payment_status": "Оплата",
    "placed_from": "Создан с",
    "placed_to": "Создан по",
    "sort": "Сортировка",
    "order": "Порядок",
    "asc": "по возрастанию",
    "desc": "по убыванию",
    "sort.placed_at": "дата создания",
    "sort.customer_name": "клиент",
    "sort.item_count": "товаров",
    "sort.total": "сумма",
    "sort.payment_status": "статус оплаты",
    "region": "Регион",
    "customer_kind": "Клиент",
    "kind.first": "первый заказ",
    "kind.repeat": "повторный",
    "export_csv": "Выгрузить CSV",
    "group_by": "Группировка",
    "count": "Заказов",
    "by.date": "день создания",
    "by.stage": "этап",
    "by.delivery_method": "доставка",
    "by.region": "регион",
    "by.customer_kind": "новый / повторный",
    "by.closing_date": "день закрытия",
    "next_page": "Следующая страница",
    "first_page": "Первая страница",
    "number": "№",
    "customer": "Клиент",
    "total": "Сумма",
    "placed_at": "Создан",
    "items": "Товаров",
    "order_n": "Заказ №{number}",
    "lines": "Позиции",
    "sku": "Артикул",
    "name": "Название",
    "quantity": "Кол-во",
    "in_stock": "Доступно",
    "price": "Цена",
    "line_total": "Сумма",
    "subtotal": "Товары",
    "discount": "Скидка",
    "delivery": "Доставка",
    "grand_total": "Итого",
    "address": "Адрес",
    "wishes": "Пожелания",
    "payment": "Оплата",
    "paid": "Оплачено",
    "refunded": "Возвращено",
    "due": "К оплате",
    "refund_due": "К возврату",
    "shipments": "Отправления",
    "tracking": "Трек",
    "returns": "Возвраты",
    "documents": "Документы",
    "invoice": "Счёт (PDF)",
    "pd4": "Квитанция ПД-4 (PDF)",
    "waybill": "Накладная",
    "label": "Этикетка",
    "audit": "История действий",
    "messages": "Сообщения",
    "notes": "Заметки сотрудников",
    "add_note": "Добавить заметку",
    "send": "Отправить",
    "cancel_order": "Отменить заказ",
    "reason": "Причина",
    "resolve_problem": "Снять проблему",
    "comment": "Комментарий",
    "assign_me": "Назначить меня",
    "save": "Сохранить",
    "change_qty": "Изменить",
    "stage_history": "История этапов",
    "when": "Когда",
    "who": "Кто",
    "what": "Что",
    "none": "—",
    "read_only": "Только просмотр: у вашей роли нет действий с этим заказом.",
    "actions": "Действия",
    "language": "Язык",
    "not_found": "Не найдено.",
    "sla": "SLA",
    "weakest": "Слабые этапы",
    "managers": "Менеджеры",
    "sla_truncated": "Заказов в работе больше, чем читает один обзор: учтены самые старые.",
    "sla_note": "Заказы в работе сейчас; время на этапе (p50 / p95) против лимита этапа.",
}

WORDS = {"en": EN, "ru": RU}


def choose(accept_language: str | None) -> str:
    """The first language of an Accept-Language header we speak (q-values respected), else English."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, index, tag.strip().lower().split("-")[0]))
    for neg_q, _, lang in sorted(ranked):
        if lang in LANGUAGES and neg_q < 0:
            return lang
    return DEFAULT


def translator(lang: str) -> Translate:
    words = WORDS.get(lang, EN)

    def t(key: str, **values: object) -> str:
        text = words.get(key) or EN.get(key) or key
        return text.format(**values) if values else text

    return t


def duration(seconds: float, lang: str) -> str:
    """A short human duration: 45 s, 12 min, 3 h 05 min, 2 d 4 h."""
    s = int(max(0, seconds))
    ru = lang == "ru"
    if s < 60:
        return f"{s} {'с' if ru else 's'}"
    minutes = s // 60
    if minutes < 60:
        return f"{minutes} {'мин' if ru else 'min'}"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} {'ч' if ru else 'h'} {minutes:02d} {'мин' if ru else 'min'}"
    days, hours = divmod(hours, 24)
    return f"{days} {'д' if ru else 'd'} {hours} {'ч' if ru else 'h'}"

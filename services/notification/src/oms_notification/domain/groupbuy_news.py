"""News of a joint purchase, and the shop's news for its partners: whom the groupbuy service's
JointPurchaseNewsPublished and ShopNewsPublished are mailed to (one template, `shop_wide` tells them apart).

Each participant with an e-mail address (in the shop's language) and each partner of the purchase
(from the staff projection, in their own), once per address. Participants without an address and
partners this service does not know are skipped (the news stays pinned on their pages); the
notifier first waits a while for a partner whose staff record lags (`Notifier.on_news_published`).
"""

from __future__ import annotations

from collections.abc import Iterable

from oms_contracts.messages.groupbuy import JointPurchaseNewsPublished, ShopNewsPublished

from oms_notification.domain.model import Intent, Recipient, ShopInfo, StaffMember, Template


def unknown_partners(event: JointPurchaseNewsPublished | ShopNewsPublished, staff: Iterable[StaffMember]) -> list[str]:
    """The purchase's partners missing from the staff projection (their StaffMemberAdded lags)."""
    known = {m.staff_id for m in staff}
    return sorted(set(event.partner_ids) - known)


def for_news(event: JointPurchaseNewsPublished, shop: ShopInfo | None, staff: Iterable[StaffMember]) -> list[Intent]:
    locale = shop.locale if shop else "en"
    context = {"title": event.title, "text": event.text, "shop_name": shop.name if shop else "", "shop_wide": False}
    recipients: list[Recipient] = [
        Recipient(email=str(r.email), name=r.name, locale=locale) for r in event.recipients if r.email
    ]
    return _once_per_address(recipients, event.partner_ids, staff, context)


def for_shop_news(event: ShopNewsPublished, shop: ShopInfo | None, staff: Iterable[StaffMember]) -> list[Intent]:
    """The shop's news: each partner it names, in their own language, once per address."""
    context = {"title": "", "text": event.text, "shop_name": shop.name if shop else "", "shop_wide": True}
    return _once_per_address([], event.partner_ids, staff, context)


def _once_per_address(
    recipients: list[Recipient], partner_ids: Iterable[str], staff: Iterable[StaffMember], context: dict[str, object]
) -> list[Intent]:
    partners = set(partner_ids)
    recipients += [
        Recipient(email=m.email, name=m.name, locale=m.locale)
        for m in sorted(staff, key=lambda m: m.staff_id)
        if m.staff_id in partners
    ]
    seen: set[str] = set()
    intents = []
    for recipient in recipients:
        if recipient.email.lower() in seen:
            continue
        seen.add(recipient.email.lower())
        intents.append(Intent(Template.GROUPBUY_NEWS, recipient, None, {**context, "name": recipient.name}))
    return intents

"""Orders from outside (the VK Callback API) become participants of the active joint purchase.

Idempotent per VK order id twice over: the purchase refuses a second participant with the same
`external_ref`, and the intake log remembers which purchase took the order, so a repeated or edited
order never lands in a second purchase. (A crash between the two writes is completed by VK's retry:
the purchase finds its participant, the log is written then.)
"""

from __future__ import annotations

from dataclasses import dataclass

from oms_runtime.telemetry import get_logger

from oms_groupbuy.application.ports import IntakeLog, IntakeRecord, PurchaseRepository, VkGroups
from oms_groupbuy.application.purchases import Caller, NewParticipant, Purchases
from oms_groupbuy.domain import vk
from oms_groupbuy.domain.errors import GroupBuyError, NotFound
from oms_groupbuy.domain.purchase import JointPurchase

log = get_logger(__name__)
CANDIDATES = 20


class GroupTaken(GroupBuyError):
    """The VK community is connected to another shop (409)."""


@dataclass
class VkIntake:
    groups: VkGroups
    log: IntakeLog
    purchases: PurchaseRepository
    service: Purchases

    async def connect(self, caller: Caller, group_id: int, secret: str, confirmation: str) -> vk.VkGroup:
        group = vk.VkGroup(group_id, caller.shop_id, secret, confirmation)
        if not await self.groups.put(group):
            raise GroupTaken(f"VK community {group_id} is connected to another shop", "group_id")
        return group

    async def connected(self, caller: Caller, group_id: int) -> vk.VkGroup:
        group = await self.groups.get(group_id)
        if group is None or group.shop_id != caller.shop_id:
            raise NotFound(f"VK community {group_id} is not connected", "group_id")
        return group

    async def callback(self, group_id: int, raw: bytes) -> str:
        """The body to answer VK with; takes a new order in on the way."""
        group = await self.groups.get(group_id)
        reply = vk.read(raw, group, group_id)
        if reply.order is None:
            if reply.ignored:
                log.info("vk callback changed nothing", group_id=group_id, why=reply.ignored)
            return reply.body
        assert group is not None
        await self._take(group, reply.order)
        return reply.body

    async def _take(self, group: vk.VkGroup, order: vk.VkOrder) -> None:
        if await self.log.get(order.external_ref) is not None:
            return  # taken before (a retry, or an edit of an order already in a purchase)
        purchase = await self._purchase_for(group.shop_id, order)
        if purchase is None:
            log.info("vk order matches no collecting purchase", ref=order.external_ref)
            return
        currency = order.currency if order.currency in purchase.currencies else purchase.currencies[0]
        system = Caller(group.shop_id, self.service.events.system_actor)
        try:
            _, participant_id = await self.service.add_participant(
                system,
                purchase.purchase_id,
                NewParticipant(
                    name=order.name,
                    contact=order.contact,
                    currency=currency,
                    lines=order.lines,
                    external_ref=order.external_ref,
                ),
            )
        except GroupBuyError as exc:  # stopped meanwhile, full: VK gets its "ok", the organiser sees the log
            log.info("vk order not taken", ref=order.external_ref, why=str(exc))
            return
        await self.log.put(IntakeRecord(order.external_ref, group.shop_id, purchase.purchase_id, participant_id))

    async def _purchase_for(self, shop_id: str, order: vk.VkOrder) -> JointPurchase | None:
        first_sku = order.lines[0][0]
        for purchase in await self.purchases.collecting_with(shop_id, first_sku, CANDIDATES):
            if all(purchase.offer(sku) is not None for sku, _ in order.lines):
                return purchase
        return None

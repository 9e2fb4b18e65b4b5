"""The sandbox provider's own record of charges, in MongoDB, with its index."""

from __future__ import annotations

from oms_runtime.mongo import Document, IndexSpec, insert_new
from pymongo.asynchronous.database import AsyncDatabase

SANDBOX_CHARGES = "sandbox_charges"

SANDBOX_INDEXES: list[IndexSpec] = [
    # The sandbox charges each attempt of a checkout at most once (_id is "<payment id>:<attempt>");
    # this serves support look-ups.
    IndexSpec(SANDBOX_CHARGES, [("shop_id", 1), ("charged_at", -1)]),
]


class MongoSandboxCharges:
    """The sandbox provider's own record: one charge per attempt of a checkout, never the card number.

    `attempt` is the payment's attempt number the charge is made for (its `attempts` + 1 when the
    form was posted; `_id` "<payment id>:<issue>:<attempt>" once staff reissued the link): a double
    submit of one attempt is refused, and the next attempt opens only
    once the payment has recorded this one's decline. An approved charge is never followed by
    another, since only its webhook moves the payment on (to captured: the checkout closes).
    """

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db[SANDBOX_CHARGES]

    async def record_once(
        self, payment_id: str, shop_id: str, attempt: int, charge: Document, *, issue: int = 0
    ) -> bool:
        # After a reissued link the attempts start again: the link's issue keeps their ids apart.
        key = f"{payment_id}:{attempt}" if issue == 0 else f"{payment_id}:{issue}:{attempt}"
        doc = {"_id": key, "shop_id": shop_id, "payment_id": payment_id, "attempt": attempt, "issue": issue}
        return await insert_new(self.collection, {**doc, **charge})

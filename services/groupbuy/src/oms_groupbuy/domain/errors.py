"""What can go wrong with a joint purchase, in words the HTTP edge maps to problem answers.

Every error names the field (or part of the purchase) at fault: they are `FieldError`s, so the
problem answer carries `errors[0].field`; the status per class is in the service's problems map.
"""

from __future__ import annotations

from oms_runtime.errors import FieldError


class GroupBuyError(FieldError):
    def __init__(self, message: str, field: str = "purchase") -> None:
        super().__init__(field, message)


class InvalidInput(GroupBuyError):
    """A value breaks a rule of the purchase (422)."""


class WrongState(GroupBuyError):
    """The purchase is not in a state that allows this (409)."""


class NotFound(GroupBuyError):
    """No such purchase, participant or item — for this caller (404)."""


class MinimumNotReached(GroupBuyError):
    """The purchase's minimum total is not reached in some currency (409)."""


class NotAllPaid(GroupBuyError):
    """Somebody still owes money, so the purchase cannot be ordered from the supplier yet (409)."""


class LimitReached(GroupBuyError):
    """A purchase holds at most so many participants, items or news (422)."""

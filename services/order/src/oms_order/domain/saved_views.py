"""A staff member's saved views of the order list (the console's "Saved views"): a name and the list's
query string (its filters, sort and grouping, as the console's URL holds them). Pure.

A view's id follows from its owner and its folded name, so one person cannot hold two views of the
same name, and saving a name again after deleting it brings the id back with the new query.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime

from oms_runtime.errors import FieldError

from oms_order.domain.order_list import fold

MAX_VIEWS_PER_PERSON = 50
MAX_NAME = 80
MAX_QUERY = 2000


class InvalidView(FieldError):
    """A name or query a saved view cannot have."""


class ViewNameTaken(FieldError):
    """The person already has a view of that name."""


class TooManyViews(Exception):
    """The person holds MAX_VIEWS_PER_PERSON views already."""


@dataclass(frozen=True)
class SavedView:
    view_id: str
    shop_id: str
    owner_id: str
    name: str
    query: str
    created_at: datetime
    deleted: bool = False

    @property
    def name_key(self) -> str:
        return fold(self.name)

    def saved_again(self, name: str, query: str, at: datetime) -> SavedView:
        """A deleted view saved again under its name: the new query, as if new."""
        if not self.deleted:
            raise ViewNameTaken("name", f"you have a view named {self.name!r} already")
        return replace(self, name=name, query=query, created_at=at, deleted=False)

    def removed(self) -> SavedView:
        return replace(self, deleted=True)


def view_id_for(owner_id: str, name: str) -> str:
    digest = hashlib.sha256(f"{owner_id}\x00{fold(name)}".encode()).hexdigest()
    return f"view-{digest[:32]}"


def checked(name: str, query: str) -> tuple[str, str]:
    """The name trimmed (1..MAX_NAME characters) and the query (a URL query string without `?`, at most
    MAX_QUERY characters, printable); InvalidView naming the field otherwise."""
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise InvalidView("name", f"1 to {MAX_NAME} characters")
    query = query.strip().removeprefix("?")
    if len(query) > MAX_QUERY:
        raise InvalidView("query", f"at most {MAX_QUERY} characters")
    if any(not c.isprintable() or c.isspace() for c in query):
        raise InvalidView("query", "a URL query string (no spaces or control characters)")
    return name, query


def new_view(shop_id: str, owner_id: str, name: str, query: str, at: datetime) -> SavedView:
    return SavedView(
        view_id=view_id_for(owner_id, name), shop_id=shop_id, owner_id=owner_id, name=name, query=query, created_at=at
    )

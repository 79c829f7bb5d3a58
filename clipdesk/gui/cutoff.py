"""How many results to show before they become clearly irrelevant.

CLIP's cosine scores sit in a narrow band whose position depends on the model and the
query (a good text match may score 0.3, a near-duplicate photo 0.95), so no fixed
threshold works. Instead the cut is relative: results are shown while their score stays
within a share of the spread between the best result and the bulk of the fetched ones
(their lower quartile, which a few very weak results cannot drag down), and the list is
also cut at a pronounced gap (a cliff) in the scores. Everything below stays one click
away ("show more").
"""

from __future__ import annotations

from collections.abc import Sequence

# A result is kept while best - score <= KEEP_SHARE * (best - lower quartile).
KEEP_SHARE = 0.4
# A drop between neighbours larger than this share of the spread is a cliff.
CLIFF_SHARE = 0.3
# Scores this close to 1 are the query image itself (or an exact copy); they would make
# every other result look irrelevant, so the spread is measured from the next one.
SELF_MATCH = 0.995
MIN_SHOWN = 6


def adaptive_cutoff(
    scores: Sequence[float],
    *,
    keep_share: float = KEEP_SHARE,
    cliff_share: float = CLIFF_SHARE,
    min_shown: int = MIN_SHOWN,
) -> int:
    """The number of leading results (scores sorted best first) worth showing."""
    n = len(scores)
    if n <= min_shown:
        return n
    start = 0
    while start < n - 1 and scores[start] >= SELF_MATCH:
        start += 1
    rest = sorted(scores[start:])
    best, baseline = scores[start], rest[len(rest) // 4]
    spread = best - baseline
    if spread <= 1e-6:
        return n
    threshold = best - keep_share * spread
    shown = start
    for i in range(start, n):
        if scores[i] < threshold:
            break
        if i > start and scores[i - 1] - scores[i] > cliff_share * spread and i >= min_shown:
            break
        shown = i + 1
    return max(min(min_shown, n), shown)


def next_step(shown: int, available: int) -> int:
    """How many results "show more" reveals: double, at least a screenful."""
    return min(available, max(shown * 2, shown + 24))

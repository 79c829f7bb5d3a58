"""The tag tables: automatic tags never overwrite the user's, counts, the vocabulary."""

from __future__ import annotations

import numpy as np
import pytest

from clipdesk.core.catalog import Catalog, DecodedFacts, StatEntry
from clipdesk.core.tags.store import TagModel, TagStore
from clipdesk.core.tags.vocabulary import TagDef


@pytest.fixture
def store(tmp_path):
    catalog = Catalog.open(tmp_path / "catalog.db")
    root = catalog.add_root(b"/photos")
    entries = [StatEntry(f"/photos/{i}.jpg".encode(), 1, 1, i) for i in range(4)]
    catalog.apply_scan(root.id, added=entries)
    files = [catalog.file_by_path(e.path) for e in entries]
    # Photos 2 and 3 are copies (same content, same fingerprint).
    fps = ["a", "b", "c", "c"]
    vectors = {fp: np.full(4, i, dtype=np.float32) for i, fp in enumerate(["a", "c", "orphan"])}
    catalog.record_results(
        "m",
        decoded=[(f.id, DecodedFacts(fp, 10, 10)) for f, fp in zip(files, fps, strict=True)],
        new_vectors=vectors,
    )
    yield TagStore(catalog.engine)
    catalog.close()


def test_automatic_tags_never_replace_the_users(store):
    dog = store.add_tag(TagDef("dog"))
    store.decide(dog.id, ["a"], positive=False)
    store.decide(dog.id, ["b"], positive=True)
    rows = [("a", "zero-shot", 0.3, 0.9), ("c", "zero-shot", 0.28, 0.7)]
    store.replace_automatic(dog.id, rows, "m", model=TagModel("zero-shot", 0.01, None, {}))
    by_fp = {a.fingerprint: a for a in store.assignments_for("a") + store.assignments_for("b")}
    assert by_fp["a"].source == "manual" and by_fp["a"].rejected
    assert by_fp["b"].source == "manual" and by_fp["b"].confidence == 1.0
    assert store.counts()[dog.id] == {"manual": 1, "zero-shot": 2}  # c has two files
    assert store.decisions(dog.id) == (["b"], ["a"])
    store.replace_automatic(dog.id, [], "m")
    assert store.counts()[dog.id] == {"manual": 1}
    assert store.model(dog.id, "m").threshold == 0.01


def test_several_tags_swap_their_automatic_rows_at_once(store):
    dog, cat, owl = (store.add_tag(TagDef(name)) for name in ("dog", "cat", "owl"))
    store.decide(dog.id, ["a"], positive=True)
    store.decide(cat.id, ["c"], positive=False)
    store.replace_automatic(owl.id, [("b", "zero-shot", 0.3, 0.9)], "m")
    assert store.decisions_of([dog.id, cat.id, owl.id]) == {
        dog.id: (["a"], []),
        cat.id: ([], ["c"]),
        owl.id: ([], []),
    }
    store.replace_automatic_of(
        [
            (dog.id, [("a", "zero-shot", 0.3, 0.9), ("b", "zero-shot", 0.29, 0.6)], None),
            (cat.id, [("c", "zero-shot", 0.4, 0.8)], TagModel("zero-shot", 0.02, None, {})),
        ],
        "m",
    )
    counts = store.counts()
    assert counts[dog.id] == {"manual": 1, "zero-shot": 1}  # a stays the user's
    assert cat.id not in counts  # c stays rejected: no photo carries the tag
    assert counts[owl.id] == {"zero-shot": 1}  # a tag not in the call keeps its rows
    assert store.model(cat.id, "m").threshold == 0.02
    store.replace_automatic_of([(dog.id, [], None)], "m")
    assert store.counts()[dog.id] == {"manual": 1}


def test_a_decision_keeps_the_models_score(store):
    cat = store.add_tag(TagDef("cat"))
    store.replace_automatic(cat.id, [("a", "zero-shot", 0.31, 0.8)], "m")
    store.decide(cat.id, ["a"], positive=True)
    (assignment,) = store.assignments_for("a")
    assert (assignment.source, assignment.score, assignment.confidence) == ("manual", 0.31, 1.0)
    assert store.forget_decision(cat.id, "a")
    assert store.assignments_for("a") == []


def test_names_ignore_case_and_renames_keep_photos(store):
    tag = store.add_tag(TagDef("Beach", "a sandy beach"))
    assert store.tag("beach") == tag
    store.decide(tag.id, ["a"], positive=True)
    store.update_tag(tag.id, name="Seaside")
    assert store.tag("seaside").prompt == "a sandy beach"
    assert store.fingerprints_with_tag(tag.id) == ["a"]
    store.update_tag(tag.id, prompt=None)
    assert store.tag("seaside").prompt is None


def test_replacing_the_vocabulary_keeps_custom_tags_and_kept_tags_photos(store):
    dog = store.add_tag(TagDef("dog"))
    rex = store.add_tag(TagDef("Rex"), origin="custom")
    store.decide(dog.id, ["a"], positive=True)
    added, removed = store.replace_vocabulary([TagDef("DOG", "a dog"), TagDef("cat")])
    assert (added, removed) == (1, 0)
    assert [t.name for t in store.tags()] == ["DOG", "Rex", "cat"]
    assert store.tag("dog").prompt == "a dog" and store.fingerprints_with_tag(dog.id) == ["a"]
    store.replace_vocabulary([TagDef("cat")])
    assert [t.name for t in store.tags()] == ["Rex", "cat"]
    assert store.tag("rex").id == rex.id


def test_library_vectors_are_those_of_readable_photos(store):
    fps, vectors = store.library_vectors("m")
    assert fps == ["a", "c"]  # b has no embedding, "orphan" no file; c's copies count once
    assert vectors.tolist() == [[0.0] * 4, [1.0] * 4]
    assert set(store.vectors_for(["c", "b"], "m")) == {"c"}
    assert store.library_vectors("other model")[0] == []

"""XMP sidecars: keywords other programs read, other content kept, originals untouched."""

from __future__ import annotations

import hashlib

import image_samples
import pytest

from clipdesk.core.catalog import Catalog, DecodedFacts, StatEntry
from clipdesk.core.progress import run_to_end as run
from clipdesk.core.tags.store import TagStore
from clipdesk.core.tags.vocabulary import TagDef
from clipdesk.core.tags.xmp import export_sidecars, read_keywords, sidecar_path

DARKTABLE_SIDECAR = """<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:darktable="http://darktable.sf.net/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
   xmp:Rating="3"
   darktable:xmp_version="5">
   <darktable:history>
    <rdf:Seq>
     <rdf:li darktable:operation="exposure" darktable:enabled="1"/>
    </rdf:Seq>
   </darktable:history>
   <dc:subject><rdf:Bag><rdf:li>holiday 2024</rdf:li></rdf:Bag></dc:subject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


@pytest.fixture
def tagged(tmp_path):
    """A catalog with three photos on disk; two carry tags."""
    photos = tmp_path / "photos"
    photos.mkdir()
    paths = []
    for i in range(3):
        path = photos / f"p{i}.jpg"
        path.write_bytes(image_samples.jpeg_bytes(image_samples.photo(seed=i)))
        paths.append(path)
    catalog = Catalog.open(tmp_path / "catalog.db")
    root = catalog.add_root(photos)
    catalog.apply_scan(root.id, added=[StatEntry(bytes(p), 1, 1, i) for i, p in enumerate(paths)])
    files = [catalog.file_by_path(p) for p in paths]
    catalog.record_results(
        "m", decoded=[(f.id, DecodedFacts(f"fp{i}", 320, 240)) for i, f in enumerate(files)]
    )
    store = TagStore(catalog.engine)
    dog, beach = store.add_tag(TagDef("dog")), store.add_tag(TagDef("beach"))
    store.replace_automatic(dog.id, [("fp0", "zero-shot", 0.3, 0.9)], "m")
    store.decide(beach.id, ["fp0", "fp1"], positive=True)
    store.decide(dog.id, ["fp1"], positive=False)
    yield store, paths
    catalog.close()


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sidecars_carry_the_tags_and_originals_stay_untouched(tagged):
    store, paths = tagged
    before = [digest(p) for p in paths]
    report = run(export_sidecars(store, None))
    assert sorted(report.written) == sorted(str(sidecar_path(p)) for p in paths[:2])
    assert sidecar_path(paths[0]).name == "p0.jpg.xmp"
    assert sorted(read_keywords(sidecar_path(paths[0]))) == ["beach", "dog"]
    assert read_keywords(sidecar_path(paths[1])) == ["beach"]  # the rejected dog is not there
    assert not sidecar_path(paths[2]).exists()
    assert [digest(p) for p in paths] == before
    text = sidecar_path(paths[0]).read_text(encoding="utf-8")
    assert text.startswith("<?xpacket begin=") and "<dc:subject>" in text and "<rdf:Bag>" in text
    again = run(export_sidecars(store, None))
    assert again.written == [] and again.unchanged == 2


def test_an_existing_sidecar_keeps_its_content_and_the_users_keywords(tagged):
    store, paths = tagged
    sidecar = sidecar_path(paths[0])
    sidecar.write_text(DARKTABLE_SIDECAR, encoding="utf-8")
    run(export_sidecars(store, ["fp0"]))
    assert read_keywords(sidecar) == ["holiday 2024", "beach", "dog"]
    text = sidecar.read_text(encoding="utf-8")
    assert 'darktable:operation="exposure"' in text and 'xmp:Rating="3"' in text
    # A tag clipdesk wrote and the user then rejected goes; the user's own keyword stays.
    dog = store.tag("dog")
    store.decide(dog.id, ["fp0"], positive=False)
    run(export_sidecars(store, ["fp0"]))
    assert read_keywords(sidecar) == ["holiday 2024", "beach"]


def test_sources_filter_and_dry_run(tagged):
    store, paths = tagged
    report = run(export_sidecars(store, None, sources=("zero-shot",), dry_run=True))
    assert report.written == [str(sidecar_path(paths[0]))]
    assert not sidecar_path(paths[0]).exists()


def test_a_broken_sidecar_is_reported_and_left_alone(tagged):
    store, paths = tagged
    sidecar = sidecar_path(paths[1])
    sidecar.write_text("<x:xmpmeta><unclosed>", encoding="utf-8")
    report = run(export_sidecars(store, ["fp1"]))
    assert [path for path, _ in report.failed] == [str(sidecar)]
    assert sidecar.read_text(encoding="utf-8") == "<x:xmpmeta><unclosed>"

"""Tags out to XMP sidecar files, for digiKam, darktable, Lightroom and friends.

Naming: the sidecar of ``photo.jpg`` is ``photo.jpg.xmp``, the convention of darktable
and digiKam's default (Lightroom names sidecars ``photo.xmp``, but only for raw files;
for JPEGs it reads keywords from the file itself, which clipdesk never writes).

Keywords go into ``dc:subject`` (an ``rdf:Bag``), which all of them read. An existing
sidecar (darktable keeps its edit history there) is updated in place: every other
element stays, keywords the user typed elsewhere stay, and only the keywords clipdesk
wrote last time, remembered in its own ``clipdesk:subjects`` bag, may be taken away.
Files are replaced atomically; a sidecar that is not valid XML is left untouched.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from clipdesk.core.files import atomic_write
from clipdesk.core.progress import CancelToken, Progress
from clipdesk.core.tags.store import TagStore

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "clipdesk": "http://ns.clipdesk.app/xmp/1.0/",
}
SIDECAR_SUFFIX = ".xmp"
_PACKET_HEAD = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
_PACKET_TAIL = '\n<?xpacket end="w"?>\n'
_EMPTY = (
    f'<x:xmpmeta xmlns:x="{NS["x"]}" x:xmptk="clipdesk">'
    f'<rdf:RDF xmlns:rdf="{NS["rdf"]}"><rdf:Description rdf:about=""/></rdf:RDF></x:xmpmeta>'
)


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


@dataclass
class XmpReport:
    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    cancelled: bool = False


def sidecar_path(photo: str | os.PathLike[str]) -> Path:
    return Path(os.fspath(photo) + SIDECAR_SUFFIX)


def _register_prefixes(text: str) -> None:
    """Keep the document's own prefixes (darktable:, exif:, ...) when writing it back."""
    for prefix, uri in re.findall(r'xmlns:([A-Za-z_][\w.-]*)="([^"]*)"', text):
        if prefix not in ("xml",):
            ET.register_namespace(prefix, uri)


for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)


def _bag(parent: ET.Element, tag: str) -> list[str]:
    element = parent.find(tag)
    if element is None:
        return []
    return [li.text or "" for li in element.iter(_q("rdf", "li"))]


def _set_bag(parent: ET.Element, tag: str, items: Sequence[str]) -> None:
    for old in parent.findall(tag):
        parent.remove(old)
    if not items:
        return
    bag = ET.SubElement(ET.SubElement(parent, tag), _q("rdf", "Bag"))
    for item in items:
        ET.SubElement(bag, _q("rdf", "li")).text = item


def _xml_body(text: str) -> str:
    """The XML element inside an XMP packet (the ``<?xpacket?>`` wrapper removed)."""
    body = re.sub(r"<\?xpacket[^>]*\?>", "", text)
    return body.strip().lstrip("\ufeff")


def update_sidecar_text(existing: str | None, keywords: Sequence[str]) -> str:
    """The sidecar text with clipdesk's keywords set to ``keywords``, all else kept."""
    text = existing if existing and existing.strip() else _EMPTY
    _register_prefixes(text)
    root = ET.fromstring(_xml_body(text))
    rdf = root if root.tag == _q("rdf", "RDF") else root.find(_q("rdf", "RDF"))
    if rdf is None:
        raise ValueError("no rdf:RDF element")
    descriptions = rdf.findall(_q("rdf", "Description"))
    if not descriptions:
        descriptions = [ET.SubElement(rdf, _q("rdf", "Description"), {_q("rdf", "about"): ""})]
    target = next((d for d in descriptions if d.find(_q("dc", "subject")) is not None), None)
    target = target if target is not None else descriptions[0]
    ours_before = set(_bag(target, _q("clipdesk", "subjects")))
    current = [k for k in _bag(target, _q("dc", "subject")) if k not in ours_before]
    subjects = list(dict.fromkeys([*current, *keywords]))
    _set_bag(target, _q("dc", "subject"), subjects)
    _set_bag(target, _q("clipdesk", "subjects"), list(dict.fromkeys(keywords)))
    ET.indent(root, space=" ")
    return _PACKET_HEAD + ET.tostring(root, encoding="unicode") + _PACKET_TAIL


def read_keywords(path: Path) -> list[str]:
    """The ``dc:subject`` keywords of a sidecar, as another program would read them."""
    root = ET.fromstring(_xml_body(path.read_text(encoding="utf-8")))
    return [
        li.text or ""
        for subject in root.iter(_q("dc", "subject"))
        for li in subject.iter(_q("rdf", "li"))
    ]


def export_sidecars(
    store: TagStore,
    fingerprints: Sequence[str] | None,
    *,
    sources: Sequence[str] = ("manual", "learned", "zero-shot"),
    dry_run: bool = False,
    cancel: CancelToken | None = None,
) -> Generator[Progress, None, XmpReport]:
    """Write each photo's tags to its sidecar; photos without tags or sidecar are skipped."""
    cancel = cancel or CancelToken()
    report = XmpReport()
    keywords = store.keywords_by_fingerprint(fingerprints, sources)
    files = store.paths_for(keywords)
    todo = [(record.fspath, keywords[fp]) for fp, records in files.items() for record in records]
    yield Progress("xmp", 0, len(todo))
    for done, (photo, words) in enumerate(todo, 1):
        sidecar = sidecar_path(photo)
        try:
            existing = sidecar.read_text(encoding="utf-8") if sidecar.exists() else None
            if existing is None and not words:
                report.unchanged += 1
            else:
                text = update_sidecar_text(existing, sorted(words, key=str.casefold))
                if text == existing:
                    report.unchanged += 1
                else:
                    if not dry_run:
                        atomic_write(sidecar, text)
                    report.written.append(os.fspath(sidecar))
        except (OSError, ET.ParseError, ValueError, UnicodeDecodeError) as exc:
            report.failed.append((os.fspath(sidecar), str(exc) or type(exc).__name__))
        if done % 50 == 0 or done == len(todo):
            yield Progress("xmp", done, len(todo))
        if cancel.cancelled:
            report.cancelled = True
            break
    return report

"""The tagging job: score every photo against every tag and store the tags that apply.

A generator yielding :class:`Progress`, like indexing. Tags are done in chunks; each tag
is replaced in one transaction, so a job stopped at any yield leaves every tag either as
it was or fully re-tagged. Tags the user taught (two or more confirmed photos) use their
linear probe; the others use calibrated zero-shot scores; custom tags with too few
examples carry only the user's own decisions. The user's decisions are never touched.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field

import numpy as np

from clipdesk.core.progress import CancelToken, Progress
from clipdesk.core.tags.calibration import MIN_SAMPLES, Calibration, calibrate, calibrate_pooled
from clipdesk.core.tags.learn import (
    decide,
    examples_digest,
    fit_tag_probe,
    prior_from,
)
from clipdesk.core.tags.probe import MIN_EACH, Probe
from clipdesk.core.tags.prompts import PromptSet
from clipdesk.core.tags.refine import RefinedTags, Refiner
from clipdesk.core.tags.store import TagModel, TagRecord, TagStore
from clipdesk.core.tags.vocabulary import TagDef
from clipdesk.core.tags.zeroshot import LabelFeatureCache, zero_shot_scores

CHUNK = 64  # tags scored and refined together: larger products run faster per tag
MIN_REFERENCE_TAGS = 8  # fewer vocabulary tags than this: measure against neutral captions
CALIBRATION_PHOTOS = 20000  # photos whose margins set the thresholds (a sample if more)
# A photo shows a few of a vocabulary's tags: a split that gives half or more of every
# (photo, tag) pair to "has the tag" is a split of the photos, not a reference to use.
MAX_TAG_SHARE = 0.5


@dataclass
class TagReport:
    """What one tagging run did."""

    photos: int = 0
    tags: int = 0
    tagged: dict[str, int] = field(default_factory=dict)  # tag -> photos (fingerprints)
    learned: list[str] = field(default_factory=list)
    cancelled: bool = False
    elapsed_s: float = 0.0
    captions_embedded: int = 0  # tag captions this run had to embed (0: all were cached)


def run_tagging(
    store: TagStore,
    model_key: str,
    encode_texts: Callable[[list[str]], np.ndarray],
    prompts: PromptSet,
    cache: LabelFeatureCache,
    *,
    only: Sequence[TagRecord] | None = None,
    cancel: CancelToken | None = None,
) -> Generator[Progress, None, TagReport]:
    """(Re)tag the library's photos with ``only`` these tags, or all of them."""
    cancel = cancel or CancelToken()
    started = time.monotonic()
    report = TagReport()
    vocabulary = store.tags()
    records = list(only) if only is not None else vocabulary
    photo_set = store.photo_set(model_key)
    fps, images = store.library_vectors(model_key)
    owners = store.scene_owners(fps)  # a video's scenes are rows; their tags go on it
    report.photos, report.tags = len({owners.get(fp, fp) for fp in fps}), len(records)
    yield Progress("tag", 0, len(records), "reading embeddings")
    if not fps or not records:
        if only is None:
            store.set_tagged_photo_set(model_key, photo_set)
        report.elapsed_s = time.monotonic() - started
        return report
    # Thresholds come from the whole vocabulary over the library, even when only a few
    # tags are redone, so a tag decides the same whichever run placed it.
    known = [r for r in vocabulary if r.origin != "custom"]
    embedding = yield from _embed_new_captions(
        cache, model_key, encode_texts, [r.definition for r in [*known, *records]], prompts, cancel
    )
    report.captions_embedded = embedding
    if cancel.cancelled:
        report.cancelled = True
        report.elapsed_s = time.monotonic() - started
        return report
    vectors: list[np.ndarray] = []
    neutral = np.zeros(images.shape[1], dtype=np.float32)
    for start in range(0, len(known), CHUNK):
        features = cache.features(
            model_key, encode_texts, [r.definition for r in known[start : start + CHUNK]], prompts
        )
        vectors.append(features.vectors)
        neutral = features.neutral
    if not known:  # only custom tags: the neutral captions still give the reference
        neutral = cache.features(model_key, encode_texts, [records[0].definition], prompts).neutral
    known_vectors = np.concatenate(vectors) if vectors else np.zeros((0, images.shape[1]))
    sample = _calibration_sample(len(images))
    reference, pooled = choose_reference(known_vectors, neutral, images[sample])
    baseline = images @ reference
    calibrations = {r.name: c for r, c in zip(known, pooled, strict=True)}
    refiner = Refiner(images[sample]) if len(sample) >= MIN_SAMPLES else None
    for start in range(0, len(records), CHUNK):
        chunk = records[start : start + CHUNK]
        features = cache.features(model_key, encode_texts, [r.definition for r in chunk], prompts)
        scores, _ = zero_shot_scores(images, features)
        chosen = [calibrations.get(r.name) or calibrate(scores[:, j], baseline)
                  for j, r in enumerate(chunk)]  # fmt: skip
        margins = scores - baseline[:, None]
        refined = _refine(refiner, chunk, chosen, margins[sample], features.vectors, reference)
        # Edits run between the job's steps: a tag removed meanwhile is not put back.
        alive = {r.id for r in store.tags()}
        decided = store.decisions_of([r.id for r in chunk if r.id in alive])
        tagged = []
        for j, record in enumerate(chunk):
            if record.id not in alive:
                continue
            zero_shot = ZeroShot(scores[:, j], margins[:, j], chosen[j], refined.get(j))
            tagged.append(
                _tag_one(store, record, model_key, (fps, owners), images, zero_shot,
                         features.vectors[j], reference, decided[record.id], report)
            )  # fmt: skip
        store.replace_automatic_of(tagged, model_key)
        yield Progress("tag", start + len(chunk), len(records), chunk[-1].name)
        if cancel.cancelled:
            report.cancelled = True
            break
    if only is None and not report.cancelled:
        store.set_tagged_photo_set(model_key, photo_set)
    report.elapsed_s = time.monotonic() - started
    return report


def _embed_new_captions(
    cache: LabelFeatureCache,
    model_key: str,
    encode_texts: Callable[[list[str]], np.ndarray],
    tags: Sequence[TagDef],
    prompts: PromptSet,
    cancel: CancelToken,
) -> Generator[Progress, None, int]:
    """Embed the captions no cache holds yet, in large batches, saying so: with a model
    that shipped its vocabulary's features this is only the user's own tags; with one
    that did not, the first run embeds every tag's prompts once (minutes on a big model),
    and the progress line shows it. Returns the number of captions embedded."""
    groups = cache.missing(model_key, tags, prompts)
    total = sum(len(g) for g in groups)
    if not total:
        return 0
    message = f"embedding {total:,} tag prompts for this model (once; they are then cached)"
    yield Progress("tag-prompts", 0, total, message)
    done = 0
    for done, _ in cache.fill(model_key, encode_texts, groups):
        yield Progress("tag-prompts", done, total, message)
        if cancel.cancelled:
            break
    return done


def reference_vector(tag_vectors: np.ndarray, neutral: np.ndarray) -> np.ndarray:
    """What a photo is measured against before a tag: the vocabulary's average caption.

    How much more a photo resembles "a dog" than it resembles the vocabulary as a whole
    removes what is peculiar to the photo (its style, its light, how much it looks like
    any caption at all) and keeps what the tag adds. With too few tags for an average,
    the neutral captions ("a photo of something") stand in.
    """
    if len(tag_vectors) < MIN_REFERENCE_TAGS:
        return np.asarray(neutral, dtype=np.float32)
    return np.asarray(tag_vectors, dtype=np.float32).mean(axis=0)


def choose_reference(
    tag_vectors: np.ndarray, neutral: np.ndarray, images: np.ndarray
) -> tuple[np.ndarray, list[Calibration]]:
    """The reference the library's margins split best against, and its calibrations.

    Measuring a photo against a reference caption removes what is peculiar to the photo,
    but also some of what it shows: a photo of three things resembles the vocabulary's
    average caption more than a photo of one does, so each of its tags stands out less.
    Which matters more depends on the model. So each candidate (the vocabulary's average
    caption, the neutral captions, none: the raw similarity) is calibrated, and the one
    whose "has the tag" and "has not" stand furthest apart (Ashman's D) is used; ties go
    to the earlier. On the tiny-shapes sample libraries this picked the best of the three
    for four of five models trained (see BENCHMARKS.md).
    """
    best: tuple[float, np.ndarray, list[Calibration]] | None = None
    for _, reference in reference_candidates(tag_vectors, neutral):
        pooled = calibrate_pooled(images @ (tag_vectors - reference).T)
        separation = min((c.separation for c in pooled), default=0.0)
        if pooled and pooled[0].tag_share >= MAX_TAG_SHARE:
            separation = 0.0  # the margins split the photos (bright, dark), not the tags
        if best is None or separation > best[0]:
            best = (separation, reference, pooled)
    assert best is not None
    return best[1], best[2]


def reference_candidates(
    tag_vectors: np.ndarray, neutral: np.ndarray
) -> list[tuple[str, np.ndarray]]:
    """``(name, vector)`` of each reference :func:`choose_reference` tries, in its order."""
    neutral = np.asarray(neutral, dtype=np.float32)
    candidates = [("vocabulary average", reference_vector(tag_vectors, neutral))]
    if len(tag_vectors) >= MIN_REFERENCE_TAGS:
        candidates.append(("neutral captions", neutral))
    candidates.append(("none (raw cosine)", np.zeros_like(neutral)))
    return candidates


def _calibration_sample(photos: int) -> np.ndarray:
    """The rows of the photos whose margins set the thresholds and on which zero-shot
    decisions are refined: all, or a fixed sample of a big library."""
    if photos <= CALIBRATION_PHOTOS:
        return np.arange(photos)
    return np.sort(np.random.default_rng(0).choice(photos, CALIBRATION_PHOTOS, replace=False))


@dataclass(frozen=True)
class ZeroShot:
    """One tag's zero-shot view of the library: what a photo gets when nobody taught it."""

    scores: np.ndarray  # cosine similarity to the tag's captions, per photo
    margins: np.ndarray  # scores minus the reference
    calibration: Calibration
    refined: RefinedTags | None  # the decision refined on the library's photos, if it was

    def confidences(self, images: np.ndarray) -> np.ndarray:
        """Every photo's 0-1 confidence that it shows the tag, 0.5 at the decision."""
        if self.refined is None:
            return self.calibration.confidence(self.margins)
        return self.refined.probabilities(images)[:, 0]


def _has_groups(record: TagRecord, calibration: Calibration) -> bool:
    """Whether a tag's zero-shot decisions are worth keeping to and learning from: a
    vocabulary tag whose scores split the library into groups (a custom tag's name
    means nothing to the model; an outlier rule has no groups to learn from)."""
    return record.origin != "custom" and calibration.method == "mixture"


def _refine(
    refiner: Refiner | None,
    chunk: Sequence[TagRecord],
    calibrations: Sequence[Calibration],
    sample_margins: np.ndarray,
    tag_vectors: np.ndarray,
    reference: np.ndarray,
) -> dict[int, RefinedTags]:
    """The refined zero-shot model of each tag of ``chunk`` that has groups, by position."""
    pairs = zip(chunk, calibrations, strict=True)
    which = [j for j, (record, calibration) in enumerate(pairs) if _has_groups(record, calibration)]
    if refiner is None or not which:
        return {}
    confidences = np.stack([calibrations[j].confidence(sample_margins[:, j]) for j in which], 1)
    priors = [prior_from(calibrations[j], tag_vectors[j], reference) for j in which]
    models = refiner.refine(confidences, priors)
    return {j: models.select(i) for i, j in enumerate(which)}


def on_files(
    rows: Sequence[tuple[str, str, float, float]], owners: dict[str, str]
) -> list[tuple[str, str, float, float]]:
    """Rows ``(fingerprint, source, score, confidence)`` with each scene's moved to its
    video: a video has a tag when one of its scenes has it, as its best scene has it."""
    best: dict[str, tuple[str, str, float, float]] = {}
    for fp, source, score, confidence in rows:
        owner = owners.get(fp, fp)
        if owner not in best or confidence > best[owner][3]:
            best[owner] = (owner, source, score, confidence)
    return list(best.values())


def _tag_one(
    store: TagStore,
    record: TagRecord,
    model_key: str,
    rows_of: tuple[list[str], dict[str, str]],
    images: np.ndarray,
    zero_shot: ZeroShot,
    tag_vector: np.ndarray,
    reference: np.ndarray,
    decisions: tuple[list[str], list[str]],
    report: TagReport,
) -> tuple[int, list[tuple[str, str, float, float]], TagModel]:
    """The tag's automatic rows and model, for the chunk's one write."""
    fps, owners = rows_of
    calibration = zero_shot.calibration
    info: dict[str, object] = {
        "calibration": calibration.to_json(),
        "refined": zero_shot.refined is not None,
    }
    yes, no = decisions
    digest = examples_digest(yes, no)
    probe = _probe_for(
        store, record, model_key, fps, images, (yes, no, digest), zero_shot, tag_vector,
        reference,
    )  # fmt: skip
    rows: list[tuple[str, str, float, float]]
    if probe is not None:
        probs = probe.probabilities(images)
        chosen = decide(probs)
        rows = [(fps[i], "learned", float(probs[i]), float(probs[i])) for i in chosen]
        info.update(probe=_probe_info(probe), examples_digest=digest)
        model = TagModel("learned", 0.5, probe.to_bytes(), info)
        report.learned.append(record.name)
    elif record.origin == "custom":
        rows = []  # a name the model cannot know: only the user's own tags count
        model = TagModel("manual", None, None, info)
    else:
        confidence = zero_shot.confidences(images)
        rows = [
            (fps[i], "zero-shot", float(zero_shot.scores[i]), float(confidence[i]))
            for i in decide(confidence)
        ]
        model = TagModel("zero-shot", calibration.threshold, None, info)
    rows = on_files(rows, owners)
    report.tagged[record.name] = len(rows)
    return record.id, rows, model


def _probe_for(
    store: TagStore,
    record: TagRecord,
    model_key: str,
    fps: list[str],
    images: np.ndarray,
    decisions: tuple[list[str], list[str], str],
    zero_shot: ZeroShot,
    tag_vector: np.ndarray,
    reference: np.ndarray,
) -> Probe | None:
    """The tag's probe: reused if its examples did not change, else trained again."""
    yes, no, digest = decisions
    if len(yes) < MIN_EACH:
        return None
    saved = store.model(record.id, model_key)
    if saved is not None and saved.probe and saved.info.get("examples_digest") == digest:
        return Probe.from_bytes(saved.probe)
    vectors = store.vectors_for(yes + no, model_key)
    # The probe starts from the zero-shot decision (refined on the library when it was)
    # and, where nobody judged, keeps to it when it is worth keeping to (``_has_groups``).
    if zero_shot.refined is not None:
        prior = zero_shot.refined.as_prior()
    else:
        prior = prior_from(zero_shot.calibration, tag_vector, reference)
    meaningful = _has_groups(record, zero_shot.calibration)
    return fit_tag_probe(
        images,
        fps,
        {fp: vectors[fp] for fp in yes if fp in vectors},
        {fp: vectors[fp] for fp in no if fp in vectors},
        prior=prior,
        zero_shot=zero_shot.confidences(images) if meaningful else None,
        seed=record.id,
    )


def _probe_info(probe: Probe) -> dict[str, object]:
    return {
        "lambda": probe.lam,
        "zero_shot_start": probe.prior,
        "loo_loss": round(probe.loo_loss, 6),
        "positives": probe.positives,
        "negatives": probe.negatives,
    }

"""The real-footage evaluation (``vidsr evaluate --footage`` / ``--lfw``): real faces shrunk
into a larger frame, run through the whole pipeline, and judged against the originals.

For each source (a talking-face video, or a test person's LFW photo with a real voice):

1. **The clip.** The source is shrunk so that its face (the detector's box on the source at
   full resolution) is ``face_px`` wide, laid on a grey ``frame`` (640x360) and encoded as
   H.264 by ffmpeg with its sound: a video's own, or for a photo a few seconds of a real voice
   of the person's gender (speechocean762 test speakers). A photo drifts and zooms slightly
   (:func:`vidsr.media.synth.drift`), so the detector and the tracker work as on video. Where
   every source pixel went is known for every frame.
2. **The pipeline.** :func:`vidsr.pipeline.enhance_video` runs on the clip three times, as
   ``vidsr enhance`` would: with the clip's own sound, with no sound (E_l only) and with a
   voice of the other gender (``audio=``). Its ``on_face`` hook hands over every face: the
   crop box, the 8x8 input x_l and the output. (The detector's answers are remembered per
   frame picture, so the second and third runs do not pay for detection again; the tracks
   are the same.)
3. **The judges.** On every ``every``-th frame of each track, the original face at that
   moment is cut out of the source at full resolution with the same crop box (mapped back
   through the known placement), and the three outputs, bicubic from the same 8x8 input,
   bicubic from the face's own pixels (the same crop box at the face's own size, as the
   pipeline cuts it: :func:`vidsr.pipeline.tracks.own_side`) and the original are judged
   by pretrained judges the model never saw
   (:mod:`vidsr.eval.judges`): dlib's gender CNN and the distance between dlib face
   descriptors of each face and of the original (< 0.6: the same person).
4. **Who it is** (LFW people): each judged face is looked up in a gallery of every LFW test
   person by a photo no clip shows (:func:`lfw_gallery`): rank-1 is right when the nearest
   descriptor is the same person's, found by a different photo of them.

The judges always see the faces framed as the training faces are (1.2x the detector's box):
with a looser ``crop_scale`` the centre of every tile is judged, so framings compare like
with like. :mod:`vidsr.eval.footage_report` turns the judged frames into the tables and strips.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vidsr.errors import VidsrError
from vidsr.pipeline.drawing import DEFAULT, Drawing

GENDERS = {"male": 0, "m": 0, "female": 1, "f": 1}
GENDER_NAMES = ("male", "female")
CONDITIONS = ("original", "bicubic", "native", "none", "own", "other")
"""What is judged on every frame: the original face, bicubic from the pipeline's 8x8 crop,
bicubic from the face's own pixels (its crop at its own size), and the pipeline's output with
no voice, the clip's own voice, a voice of the other gender."""
PIPELINE_RUNS = ("none", "own", "other")
FPS = 25.0  # of the clips made from photos
SEED = 0
GRID_CREDIT = "GRID corpus, Cooke et al. 2006, CC BY 4.0"
LFW_CREDIT = "LFW (Huang et al. 2007), deep-funneled"
VOICE_CREDIT = "speechocean762 (Zhang et al. 2021)"


@dataclass
class Source:
    """One face to evaluate: a talking-face video (its own sound is its voice) or a still
    photo (``voice``: the real voice that is its sound)."""

    name: str
    path: Path
    gender: int  # 0 male, 1 female, -1 unknown
    group: str  # "footage" (videos) or "lfw" (photos)
    photo: bool
    credit: str = ""
    voice: Path | None = None  # a photo's own voice (a WAV cut for it)
    voice_label: str = ""
    person: str = ""  # an LFW person's name (their identity)


@dataclass
class Clip:
    """A source made into a clip: where its pixels went in every frame, and its originals."""

    source: Source
    video: Path
    face_box: np.ndarray  # the face in the source (xyxy, source pixels)
    scales: list[float]  # frame i: frame point = scales[i] * source point + offsets[i]
    offsets: list[tuple[float, float]]
    originals: dict[int, np.ndarray] = field(default_factory=dict)  # frame index -> source picture (judged frames)
    other_voice: Path | None = None
    other_label: str = ""
    own_label: str = "its own sound"

    def source_box(self, frame: int, box: np.ndarray) -> np.ndarray:
        """A box in the clip's frame ``frame`` (xyxy) in the source's pixels."""
        s, (ox, oy) = self.scales[frame], self.offsets[frame]
        return (np.asarray(box, np.float64)[:4] - [ox, oy, ox, oy]) / s


def parse_footage(items: list[str]) -> list[Source]:
    """``PATH`` or ``PATH:male`` / ``PATH:female`` (the speaker's gender; without it the
    clip counts for identity only) -> Sources."""
    sources = []
    for item in items:
        path, gender = item, -1
        head, sep, tail = item.rpartition(":")
        if sep and tail.lower() in GENDERS:
            path, gender = head, GENDERS[tail.lower()]
        p = Path(path)
        if not p.is_file():
            raise VidsrError(f"footage clip not found: {p} (give PATH or PATH:male / PATH:female)")
        credit = GRID_CREDIT if p.parent.name == "grid" else ""
        sources.append(Source(p.stem, p, gender, "footage", photo=False, credit=credit))
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise VidsrError(f"footage clips need distinct file names, got {', '.join(names)}")
    return sources


def _lfw_test_photos(folder: Path) -> dict[str, tuple[int, list[str]]]:
    """Test people (:func:`vidsr.data.splits.is_test_identity` on the person's name) of an
    LFW folder with a known gender: person -> (gender, their photos in name order)."""
    from vidsr.data.splits import is_test_identity

    labels = Path(folder) / "labels.csv"
    if not labels.is_file():
        raise VidsrError(f"no labels.csv in '{folder}' (an LFW folder: PERSON/PERSON_NNNN.jpg and labels.csv)")
    people: dict[str, tuple[int, list[str]]] = {}
    with open(labels, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            person, gender = row.get("person", ""), (row.get("gender") or "").strip().lower()
            if person and gender in GENDERS and is_test_identity(person):
                people.setdefault(person, (GENDERS[gender], []))[1].append(row["image"])
    return {p: (g, sorted(photos)) for p, (g, photos) in people.items()}


def lfw_test_people(folder: Path, limit: int | None, skip: int = 0) -> list[Source]:
    """LFW test people (:func:`_lfw_test_photos`), one photo each (their first), alternating
    the genders (LFW is 78 % male) up to ``limit`` after the first ``skip`` of that order; within
    a gender those with another photo come first (it lets :func:`lfw_gallery` ask who they are),
    each group in name order. ``skip``: people held out from those a model was chosen on."""
    people = _lfw_test_photos(folder)
    by_gender = [sorted((p for p in people if people[p][0] == g), key=lambda p: (len(people[p][1]) < 2, p))
                 for g in (0, 1)]
    order = [p for pair in zip(*by_gender) for p in pair]
    longer = max(by_gender, key=len)
    order += longer[len(order) // 2:]
    order = order[skip:] if limit is None else order[skip:skip + limit]
    return [Source(f"lfw-{p}", Path(folder) / people[p][1][0], people[p][0], "lfw", photo=True, credit=LFW_CREDIT,
                   person=p) for p in order]


def lfw_gallery(folder: Path, shown: list[Source]) -> list[tuple[str, Path]]:
    """The identity gallery: every LFW test person by one photo that no clip shows (their
    first other photo); people whose only photo is shown are left out. A clip's person is
    found in it only by a different photo of them; the others are distractors."""
    used = {s.path.name for s in shown}
    gallery = []
    for person, (_, photos) in sorted(_lfw_test_photos(folder).items()):
        unseen = [p for p in photos if Path(p).name not in used]
        if unseen:
            gallery.append((person, Path(folder) / unseen[0]))
    return gallery


def embed_gallery(gallery: list[tuple[str, Path]], detector, embedder, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(names, descriptors) of the gallery photos where a face is found: the biggest face at
    full resolution, framed as the judges see every face (:func:`vidsr.faces.training_crop_box`)."""
    import torch

    from vidsr.faces import crop_face, training_crop_box
    from vidsr.imaging import from_uint8, read_rgb

    names, tiles = [], []
    for person, path in gallery:
        photo = read_rgb(path)
        box = _biggest_face(detector, photo) if photo is not None else None
        if box is not None:
            names.append(person)
            tiles.append(from_uint8(crop_face(photo, training_crop_box(box), size)))
    if not tiles:
        return np.array([], dtype=object), np.zeros((0, 128))
    return np.array(names, dtype=object), embedder.embed(torch.stack(tiles))


def rank1(descriptors: np.ndarray, gallery: tuple[np.ndarray, np.ndarray], person: str) -> list[bool]:
    """For each descriptor [N, D]: does its nearest descriptor in ``gallery`` (names,
    descriptors [G, D]) belong to ``person``?"""
    from vidsr.eval.judges import nearest_identity

    names, known = gallery
    return [bool(found == person) for found in nearest_identity(descriptors, known, names)]


class VoicePool:
    """Real voices of speechocean762's test speakers (same split rule on the speaker id),
    adults only (the faces are adults): stretches of a few seconds of speech, seeded."""

    def __init__(self, folder: Path):
        from vidsr.data.splits import is_test_identity

        self.folder = Path(folder)
        table = self.folder / "speakers.csv"
        if not table.is_file():
            raise VidsrError(f"no speakers.csv in '{folder}' (a speechocean762 folder: SPEAKER.opus and speakers.csv)")
        self.speakers: dict[int, list[str]] = {0: [], 1: []}
        with open(table, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                gender = GENDERS.get((row.get("gender") or "").lower())
                try:
                    adult = float(row.get("age") or 0) >= 18
                except ValueError:
                    adult = False
                if gender is not None and adult and is_test_identity(row["speaker"]) \
                        and (self.folder / f"{row['speaker']}.opus").is_file():
                    self.speakers[gender].append(row["speaker"])
        self._waves: dict[str, np.ndarray] = {}

    def describe(self) -> dict:
        return {GENDER_NAMES[g]: list(s) for g, s in self.speakers.items()}

    def _wave(self, speaker: str) -> np.ndarray:
        from vidsr.media import load_audio

        if speaker not in self._waves:
            self._waves[speaker] = load_audio(self.folder / f"{speaker}.opus")
        return self._waves[speaker]

    def excerpt(self, gender: int, seconds: float, rng: np.random.Generator, path: Path) -> str | None:
        """Write ``seconds`` of speech of a random test speaker of ``gender`` to ``path``
        (WAV); returns a label, or None when there is no such speaker."""
        from vidsr.media import SAMPLE_RATE, save_wav

        if gender not in self.speakers or not self.speakers[gender]:
            return None
        speaker = self.speakers[gender][rng.integers(len(self.speakers[gender]))]
        wave = self._wave(speaker)
        n = int(round(seconds * SAMPLE_RATE))
        start = _speech_start(wave, n, rng)
        save_wav(path, wave[start:start + n])
        return f"speechocean762 {speaker} ({GENDER_NAMES[gender]}) from {start / SAMPLE_RATE:.1f} s"


def _speech_start(wave: np.ndarray, n: int, rng: np.random.Generator, tries: int = 12) -> int:
    """The start of the ``n`` samples, among a few random ones, with the most speech in
    them (20 ms frames louder than a tenth of the file's loud level)."""
    if len(wave) <= n:
        return 0
    hop = 320
    frames = len(wave) // hop
    rms = np.sqrt(np.mean(wave[:frames * hop].reshape(frames, hop) ** 2, axis=1))
    active = rms > 0.1 * np.percentile(rms, 95)
    starts = rng.integers(0, len(wave) - n, size=tries)
    return int(max(starts, key=lambda s: active[s // hop:(s + n) // hop].mean()))


def _biggest_face(detector, image: np.ndarray) -> np.ndarray | None:
    found = detector.detect(image)
    if not found:
        return None
    return max((d.box for d in found), key=lambda b: b[2] - b[0]).astype(np.float64)


def make_clip(source: Source, folder: Path, detector, *, face_px: float, frame: tuple[int, int], seconds: float,
              every: int) -> Clip:
    """Shrink ``source`` into a clip in ``folder`` (see the module's step 1). VidsrError when
    no face is found in the source."""
    from vidsr.imaging import read_rgb
    from vidsr.media import VideoReader, VideoWriter, probe
    from vidsr.media.synth import drift, place_image

    width, height = frame
    target = folder / f"{source.name}.mp4"
    if source.photo:
        photo = read_rgb(source.path)
        if photo is None:
            raise VidsrError(f"cannot read the photo '{source.path}'")
        box = _biggest_face(detector, photo)
        fps, count, audio = FPS, max(1, int(round(seconds * FPS))), source.voice
        pictures = (photo for _ in range(count))
    else:
        info = probe(source.path)
        fps, count = info.fps, max(1, int(round(seconds * info.fps)))
        audio = source.path if info.has_audio else None
        reader = VideoReader(source.path)
        box = None
        for f in reader:
            box = _biggest_face(detector, f.image)
            break
        pictures = (f.image for f in reader)
    if box is None:
        raise VidsrError(f"no face found in '{source.path}' at full resolution")
    base = face_px / float(box[2] - box[0])
    centre = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
    phase = (int(hashlib.sha1(source.name.encode()).hexdigest()[:8], 16) % 628) / 100
    clip = Clip(source, target, box, [], [])
    with VideoWriter(target, width, height, fps, audio_from=audio) as writer:
        for i, picture in enumerate(pictures):
            if i >= count:
                break
            zoom, dx, dy = drift(i / fps, seconds, phase) if source.photo else (1.0, 0.0, 0.0)
            s = base * zoom
            ox, oy = width / 2 + dx * face_px - s * centre[0], height / 2 + dy * face_px - s * centre[1]
            clip.scales.append(s)
            clip.offsets.append((ox, oy))
            if i % every == 0:
                clip.originals[i] = picture
            writer.write(place_image(picture, frame, s, (ox, oy)))
    if not source.photo:
        reader.close()
    return clip


class RememberingDetector:
    """A detector that remembers its answer for each frame picture it has seen (the three
    pipeline runs of one clip decode the same frames); :meth:`forget` between clips."""

    def __init__(self, detector):
        self.detector = detector
        self.memo: dict[bytes, list] = {}

    def detect(self, image: np.ndarray):
        key = hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=16).digest()
        if key not in self.memo:
            self.memo[key] = self.detector.detect(image)
        return self.memo[key]

    def forget(self) -> None:
        self.memo.clear()


def centre_view(images: np.ndarray, fraction: float) -> np.ndarray:
    """The centre ``fraction`` of square tiles [B, R, R, 3], resized back to R (the judges'
    framing of a looser crop); the tiles themselves for a fraction >= 1."""
    from vidsr.faces import crop_face

    if fraction >= 1:
        return images
    r = images.shape[1]
    half = r * fraction / 2
    box = np.array([r / 2 - half, r / 2 - half, r / 2 + half, r / 2 + half])
    return np.stack([crop_face(im, box, r) for im in images])


def run_clip(clip: Clip, model, detector: RememberingDetector, work: Path, *, every: int, crop_scale: float,
             judges: tuple, drawing: Drawing = DEFAULT, gallery: tuple | None = None,
             progress=None) -> dict:
    """The pipeline's three runs on ``clip`` and the judged frames (module steps 2 and 3);
    with ``gallery`` (:func:`embed_gallery`) and a person in it, each frame's rank-1 too."""
    import torch

    from vidsr.models.lapsrn import bicubic
    from vidsr.faces import crop_face
    from vidsr.faces.crop import TRAINING_CROP_SCALE
    from vidsr.imaging import from_uint8, to_uint8
    from vidsr.pipeline import enhance_video

    gender_judge, embedder = judges
    r = model.preset.resolution
    judged_scale = min(crop_scale, TRAINING_CROP_SCALE)
    faces: dict[str, dict[tuple[int, int], tuple]] = {c: {} for c in PIPELINE_RUNS}
    warnings: list[str] = []
    runs = {"none": {"use_audio": False}, "own": {}, "other": {"audio": clip.other_voice}}
    reports = {}
    for cond in PIPELINE_RUNS:
        if cond == "other" and clip.other_voice is None:
            continue

        def on_face(face, store=faces[cond]):
            if face.frame % every == 0:
                store[(face.track, face.frame)] = (face.crop.copy(), np.asarray(face.box, np.float64), face.image.copy(),
                                                   face.own.copy())

        stage = (lambda s, d, t, c=cond: progress(f"{clip.source.name}: {c} voice, {s}", d, t)) if progress else None
        reports[cond] = enhance_video(
            clip.video, work / cond, model=model, detector=detector, mode="tracks", face_range=(1.0, math.inf),
            crop_scale=crop_scale, drawing=drawing, on_face=on_face, progress=stage,
            warn=lambda m, c=cond: warnings.append(f"{c}: {m}"), **runs[cond])
    detector.forget()

    # Which tracks follow the source's face (a detection elsewhere, e.g. in the grey, does not).
    fb = clip.face_box
    centre, face_w = (fb[:2] + fb[2:]) / 2, fb[2] - fb[0]

    def on_source_face(key: tuple[int, int]) -> bool:
        b = clip.source_box(key[1], faces["none"][key][1])
        return bool(np.linalg.norm((b[:2] + b[2:]) / 2 - centre) < 0.75 * face_w)

    tracks = {}
    for t in reports["none"]["tracks"]:
        keys = [k for k in faces["none"] if k[0] == t["id"]]
        ok = bool(keys) and all(on_source_face(k) for k in keys)
        tracks[t["id"]] = {"id": t["id"], "frames": t["frames"], "size_px": t["size_px"], "on_face": ok}
    keys = sorted(k for k in faces["none"] if tracks.get(k[0], {}).get("on_face")
                  and all(k in faces[c] for c in faces if c in reports))

    images = {c: [] for c in CONDITIONS}
    inputs = []
    for track, f in keys:
        crop, box, _, own = faces["none"][(track, f)]
        inputs.append(crop)
        # The original: the same crop box, mapped back into the source at full resolution.
        images["original"].append(crop_face(clip.originals[f], clip.source_box(f, box), r))
        images["bicubic"].append(to_uint8(bicubic(from_uint8(crop)[None], r))[0])
        images["native"].append(to_uint8(bicubic(from_uint8(own)[None], r))[0])
        for cond in PIPELINE_RUNS:
            if cond in reports:
                images[cond].append(faces[cond][(track, f)][2])
    images = {c: np.stack(v) for c, v in images.items() if v}
    judged_frames = []
    if keys:
        fraction = judged_scale / crop_scale
        judged, descriptors = {}, {}
        for cond, tiles in images.items():
            view = torch.stack([from_uint8(t) for t in centre_view(tiles, fraction)])
            judged[cond] = gender_judge.predict(view) if gender_judge is not None else np.full(len(keys), -1)
            descriptors[cond] = embedder.embed(view)
        for i, (track, f) in enumerate(keys):
            judged_frames.append({
                "clip": clip.source.name, "group": clip.source.group, "gender": clip.source.gender,
                "track": track, "frame": f,
                "judged": {c: int(judged[c][i]) for c in judged},
                "distance": {c: round(float(np.linalg.norm(descriptors[c][i] - descriptors["original"][i])), 4)
                             for c in descriptors if c != "original"},
            })
    sizes = [tracks[t]["size_px"] for t in tracks if tracks[t]["on_face"]]
    row = {
        "clip": clip.source.name, "group": clip.source.group, "source": str(clip.source.path),
        "gender": GENDER_NAMES[clip.source.gender] if clip.source.gender >= 0 else None,
        "credit": clip.source.credit, "own_voice": clip.own_label, "other_voice": clip.other_label or None,
        "source_face_px": round(float(fb[2] - fb[0]), 1),
        "face_px": round(float(np.median(sizes)), 1) if sizes else None,
        "frames": len(clip.scales), "tracks": list(tracks.values()),
        "frames_judged": len(judged_frames), "warnings": warnings,
        "seconds_pipeline": {c: rep["timings_s"]["total"] for c, rep in reports.items()},
    }
    if keys and gallery is not None and clip.source.person in set(gallery[0]):
        for cond, found in descriptors.items():
            for frame, right in zip(judged_frames, rank1(found, gallery, clip.source.person)):
                frame.setdefault("rank1", {})[cond] = right
    return {"row": row, "frames": judged_frames, "keys": keys, "inputs": inputs, "images": images}


def _no_progress(task: str, done: int, total: int | None = None, note: str = "") -> None:
    pass


def _check_options(face_px: float, every: int, seconds: float, limit: int | None, skip: int, frame: tuple[int, int],
                   crop_scale: float | None) -> float:
    """VidsrError for an option :func:`evaluate_footage` cannot use; the crop scale to use."""
    from vidsr.faces.crop import TRAINING_CROP_SCALE

    if face_px < 4:
        raise VidsrError(f"--face-px must be at least 4, got {face_px:g}")
    if every < 1:
        raise VidsrError(f"--every must be at least 1, got {every}")
    if seconds <= 0:
        raise VidsrError(f"--seconds must be positive, got {seconds:g}")
    if limit is not None and limit < 0:
        raise VidsrError(f"--limit must be at least 0, got {limit}")
    if skip < 0:
        raise VidsrError(f"--lfw-skip must be at least 0, got {skip}")
    if min(frame) < 16:
        raise VidsrError(f"the frame is too small: {frame[0]}x{frame[1]}")
    crop_scale = TRAINING_CROP_SCALE if crop_scale is None else float(crop_scale)
    if not crop_scale > 0:
        raise VidsrError(f"--crop-scale must be positive, got {crop_scale:g}")
    return crop_scale


def _other_voice(clip, source, sources: list, pool, seconds: float, rng: np.random.Generator, folder: Path) -> None:
    """A voice of the other gender for ``clip`` (none for a source of unknown gender): an
    excerpt of a test speaker from ``pool``, or else the sound of a footage clip of that gender."""
    if source.gender < 0:
        return
    other = 1 - source.gender
    if pool is not None:
        clip.other_voice = folder / "other-voice.wav"
        clip.other_label = pool.excerpt(other, seconds, rng, clip.other_voice)
        if clip.other_label is None:
            clip.other_voice = None
    else:
        donor = next((s for s in sources if not s.photo and s.gender == other), None)
        if donor is not None:
            clip.other_voice, clip.other_label = donor.path, f"the sound of {donor.name}"


def evaluate_footage(
    out: str | os.PathLike,
    *,
    footage: list[str] = (),
    lfw: str | os.PathLike | None = None,
    voices: str | os.PathLike | None = None,
    weights: str | os.PathLike | None = None,
    face_px: float = 10,
    every: int = 8,
    limit: int | None = 40,
    skip: int = 0,
    seconds: float = 3.0,
    frame: tuple[int, int] = (640, 360),
    crop_scale: float | None = None,
    drawing: Drawing = DEFAULT,
    strips: int = 6,
    device: str = "cpu",
    keep_clips: bool = False,
    progress=None,
) -> dict:
    """The real-footage evaluation of a model (see the module); writes ``out``/report.md,
    report.json and strips/*.png, and returns the report.

    ``footage``: talking-face videos, ``PATH:male`` / ``PATH:female``; ``lfw``: an LFW folder
    (its test people, up to ``limit`` after the first ``skip``, as photo clips) with ``voices``, a speechocean762
    folder (the photos' voices, and every clip's voice of the other gender; without it a
    footage clip gets the sound of a footage clip of the other gender). ``keep_clips``: keep
    the made clips and voices in ``out``/clips. ``drawing``: how the pipeline draws the faces
    (:class:`vidsr.pipeline.drawing.Drawing`), written into the report's settings.
    """
    from vidsr.eval import judges as J
    from vidsr.eval.footage_report import write_footage_report
    from vidsr.faces.crop import TRAINING_CROP_SCALE
    from vidsr.pipeline import load_model, make_detector
    from vidsr.pipeline.model import model_device
    from vidsr.weights import resolve_weights

    started = time.time()
    crop_scale = _check_options(face_px, every, seconds, limit, skip, frame, crop_scale)
    sources = parse_footage(list(footage))
    if lfw is not None:
        if voices is None:
            raise VidsrError("--lfw needs --voices (a speechocean762 folder): the photos' voices")
        sources += lfw_test_people(Path(lfw), limit, skip)
    if not sources:
        raise VidsrError("nothing to evaluate: give --footage clips and/or --lfw with --voices")
    pool = VoicePool(Path(voices)) if voices is not None else None
    if pool is not None and any(s.photo for s in sources):
        lacking = [GENDER_NAMES[g] for g in (0, 1) if not pool.speakers[g]]
        if lacking:
            raise VidsrError(f"no adult test speakers of gender {', '.join(lacking)} in '{voices}'")
    gender_judge, embedder = J.pretrained_gender(), J.face_embedder()
    if isinstance(embedder, str):
        raise VidsrError(f"the real-footage evaluation needs the pretrained face embedder: {embedder}")
    if isinstance(gender_judge, str):
        raise VidsrError(f"the real-footage evaluation needs the pretrained gender judge: {gender_judge}")

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    weights = resolve_weights(weights)
    model = load_model(weights, device)
    base_detector = make_detector(model_device(model), (min(8.0, 0.8 * face_px), math.inf))
    detector = RememberingDetector(base_detector)
    work = Path(tempfile.mkdtemp(prefix=".footage-", dir=out)) if not keep_clips else out / "clips"
    work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    gallery, gallery_people = None, []
    if lfw is not None:
        gallery_people = lfw_gallery(Path(lfw), [s for s in sources if s.photo])
        gallery = embed_gallery(gallery_people, base_detector, embedder, model.preset.resolution)
    rows, judged_frames, failed, strip_data = [], [], [], []
    try:
        report = progress or _no_progress
        report("clips", 0, len(sources))

        def stage(description: str, done: int, total: int) -> None:
            report("clip", done, max(total, 1), description)

        for i, source in enumerate(sources):
            folder = work / source.name
            folder.mkdir(parents=True, exist_ok=True)
            report("clips", i, len(sources), source.name)
            try:
                own_label = "its own sound"
                if source.photo:
                    source.voice = folder / "own-voice.wav"
                    own_label = pool.excerpt(source.gender, seconds, rng, source.voice)
                stage(f"{source.name}: making the clip", 0, 1)
                clip = make_clip(source, folder, base_detector, face_px=face_px, frame=frame, seconds=seconds,
                                 every=every)
                clip.own_label = own_label
                _other_voice(clip, source, sources, pool, seconds, rng, folder)
                result = run_clip(clip, model, detector, folder, every=every, crop_scale=crop_scale,
                                  judges=(gender_judge, embedder), drawing=drawing, gallery=gallery, progress=stage)
            except VidsrError as e:
                failed.append({"clip": source.name, "source": str(source.path), "reason": str(e)})
            else:
                rows.append(result["row"])
                judged_frames += result["frames"]
                if len(strip_data) < strips and result["keys"]:
                    strip_data.append(result)
            finally:
                if not keep_clips:
                    shutil.rmtree(folder, ignore_errors=True)
            report("clips", i + 1, len(sources), source.name)
    finally:
        if not keep_clips:
            shutil.rmtree(work, ignore_errors=True)
    settings = {
        "weights": os.fspath(weights), "preset": model.preset.name, "lowres": model.preset.lr_size,
        "resolution": model.preset.resolution, "face_px": face_px, "frame": list(frame), "seconds": seconds,
        "every": every, "crop_scale": crop_scale, "judged_framing": min(crop_scale, TRAINING_CROP_SCALE),
        **drawing.as_dict(), "footage": list(footage), "lfw": os.fspath(lfw) if lfw else None, "lfw_limit": limit if lfw else None,
        "lfw_skip": skip if lfw else None,
        "voices": os.fspath(voices) if voices else None, "voice_pool": pool.describe() if pool else None,
        "gallery": None if gallery is None else {"people": len(gallery[0]), "photos": len(gallery_people)},
        "device": str(model_device(model)), "pipeline": "vidsr.pipeline.enhance_video (mode tracks)",
        "judges": {"gender": gender_judge.label, "identity": embedder.label, "same_person": embedder.same_person},
    }
    return write_footage_report(out, settings, rows, judged_frames, failed, strip_data, seconds=time.time() - started)

"""``vidsr prepare``: turn photos or talking-face videos into a prepared set (see shards).

Two kinds of source:

- :func:`prepare_photos`: one or more folders of face photos. A UTKFace-style folder holds
  the photos directly, labels in the file names, every photo its own person; an LFW-style
  folder holds person folders and ``labels.csv``, and the person is the identity. Photos
  have no sound, so every person is given a voice of their gender and age group: ``real``
  (a speaker of speechocean762, :mod:`vidsr.data.real_voices`), ``made`` (espeak-ng,
  :mod:`vidsr.data.voices`) or ``mixed`` (each person one or the other, half and half). Each
  photo speaks ``voices_per_person`` clips; each (photo, clip) is one sample.
- :func:`prepare_videos`: talking-face videos, VoxCeleb2-style ``ID/VIDEO/CLIP.mp4`` or a
  plain folder (identity = file stem). Faces are tracked and cropped square, and each kept
  frame is paired with the 4 s of the clip's own sound centred on it.

The splits follow the paper (section 3.3, 4.1): D1 and D2 hold the same people with
different clips, and test people (:func:`vidsr.data.splits.is_test_identity`) are held out
entirely. Both functions return a summary (counts per split, gender, age group, source and
voice, skipped items and why, settings, wall time) and save it as ``summary.md`` and in
``meta.json`` (the CLI prints it as tables).

The modules: :mod:`~vidsr.data.sources` (discovery, labels), :mod:`~vidsr.data.splits`
(the D1 / D2 / test rule), :mod:`~vidsr.data.summary` (the tally and its tables),
:mod:`~vidsr.data.photos` and :mod:`~vidsr.data.videos` (the two drivers, sharing
:mod:`~vidsr.data.driver`), :mod:`~vidsr.data.shards` (the set's format, writer, dataset).
"""

from vidsr.data.photos import VOICE_KINDS, prepare_photos
from vidsr.data.sources import detect_kind, list_clips, list_photos, read_labels
from vidsr.data.splits import assign_splits, photo_sides
from vidsr.data.summary import Tally, summary_lines, summary_markdown, summary_tables
from vidsr.data.videos import prepare_videos

__all__ = [
    "VOICE_KINDS", "Tally", "assign_splits", "detect_kind", "list_clips", "list_photos", "photo_sides", "prepare_photos",
    "prepare_videos", "read_labels", "summary_lines", "summary_markdown", "summary_tables",
]

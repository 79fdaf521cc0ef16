"""The voice of a track (only speech feeds E_a, pooled per track) and whose voice it is
(``--voice-to``): the VAD on made speech with silence, the assignment on two GRID faces
side by side with the sound of one, a clip with a long silence, and ``--voice-to all``
against the per-frame windows computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import GRID, espeak, shared
from vidsr.audio.vad import find_speech
from vidsr.errors import VidsrError
from vidsr.media import SAMPLE_RATE, AudioStream, load_audio, run_ffmpeg, save_wav
from vidsr.media.synth import shrunk_face_clip, side_by_side_clip
from vidsr.pipeline import enhance_video
from vidsr.pipeline.drawing import DEFAULT, Drawing
from vidsr.pipeline.options import check_options, parse_voice_to
from vidsr.pipeline.speakers import split_long
from vidsr.pipeline.voice import speech_windows

MALE, FEMALE = GRID / "bbaf2n.mpg", GRID / "lbbc2a.mpg"
SR = SAMPLE_RATE


def inside(stretch, spans, slack=0.15) -> bool:
    return any(a - slack <= stretch[0] and stretch[1] <= b + slack for a, b in spans)


# --- pure parts ------------------------------------------------------------------------


def test_voice_to_values():
    assert parse_voice_to("auto") == "auto" and parse_voice_to("ALL") == "all" and parse_voice_to("3") == 3
    with pytest.raises(VidsrError, match="--voice-to must be"):
        parse_voice_to("loudest")
    with pytest.raises(VidsrError, match="--voice-to must be"):
        check_options(voice_to="-1")


def test_long_stretches_are_cut_and_windows_hold_only_speech():
    assert split_long([(0.0, 10.0), (20.0, 95.0)], 30.0) == [(0.0, 10.0), (20.0, 45.0), (45.0, 70.0), (70.0, 95.0)]
    short = np.arange(16000, dtype=np.float32)  # 1 s: repeated to fill the 4 s window
    (w,) = speech_windows(short)
    assert len(w) == 64000 and (w[:16000] == short).all() and (w[16000:32000] == short).all()
    long = np.arange(10 * 16000, dtype=np.float32)  # 10 s: 3 windows spread over it, all inside
    ws = speech_windows(long)
    assert ws.shape == (3, 64000) and ws[0, 0] == 0 and ws[-1, -1] == long[-1]


def test_vad_finds_made_speech_and_not_the_silence_or_hum(tmp_path):
    espeak()
    from vidsr.data.voices import VoiceSpec, synthesize

    talk = synthesize(VoiceSpec("en-us+m3", 50, 160), "the quick brown fox jumps over the lazy dog")
    rng = np.random.default_rng(0)
    hum = (0.01 * np.sin(2 * np.pi * 50 * np.arange(2 * SR) / SR) + rng.normal(0, 0.003, 2 * SR)).astype(np.float32)
    parts = [np.zeros(SR // 2, np.float32), talk, np.zeros(5 * SR, np.float32), hum, talk, np.zeros(SR, np.float32)]
    wave = np.concatenate(parts)
    save_wav(tmp_path / "talk.wav", wave)
    starts = np.cumsum([0] + [len(p) for p in parts]) / SR
    loud = np.flatnonzero(np.abs(talk) > 0.02 * np.abs(talk).max())
    spans = [(starts[i] + loud[0] / SR, starts[i] + loud[-1] / SR) for i in (1, 4)]  # the two sentences
    speech = find_speech(AudioStream(tmp_path / "talk.wav"))
    assert speech.stretches and all(inside(s, spans) for s in speech.stretches), speech.stretches
    for a, b in spans:  # each sentence mostly found
        found = sum(max(0.0, min(e, b) - max(s, a)) for s, e in speech.stretches)
        assert found >= 0.8 * (b - a)
    assert len(speech.energy) == len(wave) // 512


# --- through the pipeline ---------------------------------------------------------------


@pytest.fixture(scope="module")
def two_faces(tmp_path_factory):
    """bbaf2n (left) and lbbc2a (right) at about 12 px, with the sound of lbbc2a only."""
    shared("grid")
    path = tmp_path_factory.mktemp("two_faces") / "two.mp4"
    side_by_side_clip([MALE, FEMALE], path, sound_of=1)
    return path


def run(path, out, model, detector, drawing=Drawing(smooth=0), **options):
    return enhance_video(path, out, model=model, detector=detector, mode="tracks", drawing=drawing, detect_every=10,
                         warn=lambda m: None, **options)


def test_the_voice_goes_to_the_face_that_speaks(two_faces, model, detector, tmp_path):
    report = run(two_faces, tmp_path / "auto", model, detector)
    tracks = sorted((t for t in report["tracks"] if t["enhanced"]), key=lambda t: t["box"][0])
    assert len(tracks) == 2
    silent, speaker = tracks  # left: bbaf2n (its sound absent), right: lbbc2a
    assert speaker["voice_frames"] >= 0.9 * speaker["frames"]
    assert silent["voice_frames"] <= 0.1 * silent["frames"]
    assert speaker["speech"] and not silent["speech"]
    assert all(len(t["box"]) == 4 for t in tracks) and speaker["box"][0] > 320 > silent["box"][2]
    assert report["voice"]["codes"] == len(speaker["speech"])  # E_a once per stretch, not per frame
    assert report["settings"]["voice_to"] == "auto"
    # A track id gives it all the speech, whoever speaks.
    forced = run(two_faces, tmp_path / "forced", model, detector, voice_to=silent["id"])
    by_id = {t["id"]: t for t in forced["tracks"]}
    assert by_id[silent["id"]]["voice_frames"] == silent["frames"] and by_id[speaker["id"]]["voice_frames"] == 0
    with pytest.raises(VidsrError, match="no enhanced face track 7"):
        run(two_faces, tmp_path / "missing", model, detector, voice_to=7)


def test_no_voice_code_from_a_long_silence(model, detector, tmp_path):
    """bbaf2n's 3 s, then 6 s of silence under the same face: one stretch, inside the speech."""
    shared("grid")
    picture = tmp_path / "picture.mp4"
    shrunk_face_clip(MALE, picture, seconds=9.0, audio=False)
    talk = load_audio(MALE)
    save_wav(tmp_path / "sound.wav", np.concatenate([talk, np.zeros(6 * SR, np.float32)]))
    clip = tmp_path / "silence.mp4"
    run_ffmpeg(["-i", str(picture), "-i", str(tmp_path / "sound.wav"), "-map", "0:v", "-map", "1:a", "-c:v", "copy",
                "-c:a", "aac", "-y", str(clip)])
    report = run(clip, tmp_path / "out", model, detector)
    stretches = report["voice"]["stretches"]
    assert stretches and all(s["end"] <= len(talk) / SR + 0.1 for s in stretches)
    assert report["voice"]["codes"] == len(stretches)
    assert report["voice"]["speech_s"] < 2.0
    (track,) = [t for t in report["tracks"] if t["enhanced"]]
    assert track["voice_frames"] == track["frames"]  # the only face: its voice, pooled over its speech


def test_voice_to_all_is_the_window_around_every_frame(two_faces, model, detector, tmp_path):
    """--voice-to all: every face fused with E_a of the 4 s around its frame (the earlier
    behaviour), recomputed here face by face (back-projected onto its own pixels as the pipeline
    does with --frames 1)."""
    from vidsr.audio import AudioWindows
    from vidsr.imaging import to_uint8
    from vidsr.pipeline.constants import AUDIO_HOP

    faces = []
    report = run(two_faces, tmp_path / "all", model, detector, voice_to="all", on_face=faces.append,
                 drawing=Drawing(smooth=0, frames=1))
    assert all(t["voice_frames"] == t["frames"] for t in report["tracks"] if t["enhanced"])
    assert report["voice"]["stretches"] is None
    windows = AudioWindows(load_audio(two_faces), hop=AUDIO_HOP)
    sample = faces[::7]
    x_l = torch.from_numpy(np.stack([f.crop for f in sample])).permute(0, 3, 1, 2).float() / 127.5 - 1
    with torch.no_grad():
        z_a = model.encode_audio(windows.spectrograms([f.time for f in sample]))
        fused = model.generate(model.fuse(model.encode_lowres(x_l), z_a))
        own = [torch.from_numpy(np.stack([f.own])).permute(0, 3, 1, 2).float() / 127.5 - 1 for f in sample]
        expected = [to_uint8(model.back_project(fused[i:i + 1], own[i], DEFAULT.back_project, DEFAULT.detail))[0]
                    for i in range(len(sample))]
    for f, image in zip(sample, expected):
        assert np.abs(f.image.astype(int) - np.asarray(image).astype(int)).max() <= 1

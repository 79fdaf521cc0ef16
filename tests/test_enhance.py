"""`vidsr enhance`, `vidsr image`, `vidsr mix` and the pipeline behind them, on real faces.

The test clip is the GRID clip bbaf2n shrunk so the face is about 12 px wide, on a grey
640x360 frame, with its sound (made with ffmpeg in a temporary folder). The model is the
barely trained tiny one of conftest.py (16 px output): the faces it draws are not faces
yet, so these tests check the plumbing (frames, sound, counts, files, messages), not looks.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from conftest import GRID, ffmpeg_retimes, shared
from vidsr.cli import enhance as enhance_cli
from vidsr.cli import image as image_cli
from vidsr.cli import mix as mix_cli
from vidsr.errors import VidsrError
from vidsr.faces.paste import feather_mask, match_colour, paste_face
from vidsr.media import VideoReader, load_audio, probe, run_ffmpeg
from vidsr.media.synth import H264, shrunk_face_clip
from vidsr.pipeline import check_options, default_scale, enhance_video, expand_inputs
from vidsr.pipeline.drawing import Drawing

MALE, FEMALE = GRID / "bbaf2n.mpg", GRID / "lbbc2a.mpg"
def frame_count(path: Path) -> int:
    return sum(1 for _ in VideoReader(path))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cli_app() -> typer.Typer:
    app = typer.Typer()
    app.command("enhance")(enhance_cli.enhance)
    app.command("image")(image_cli.image)
    app.command("mix")(mix_cli.mix)
    return app


# --- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    shared("grid")  # the real faces and voices come from GRID
    folder = tmp_path_factory.mktemp("enhance_clips")
    out = {name: folder / f"{name}.mp4" for name in ("tiny", "silent", "noface")}
    shrunk_face_clip(MALE, out["tiny"])  # bbaf2n: a face about 12 px wide, 3 s, 25 fps
    shrunk_face_clip(MALE, out["silent"], audio=False)
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=1", "-f", "lavfi", "-i",
                "sine=frequency=440:duration=1", *H264, "-c:a", "aac", "-shortest", "-y", str(out["noface"])])
    out["corrupt"] = folder / "corrupt.mp4"
    out["corrupt"].write_text("this is not a video\n")
    out["voice"] = folder / "voice.wav"
    run_ffmpeg(["-i", str(FEMALE), "-vn", "-ac", "1", "-ar", "16000", "-y", str(out["voice"])])
    return out


@pytest.fixture(scope="module")
def main_run(clips, tiny_weights, model, detector, tmp_path_factory) -> tuple[dict, Path, str]:
    """The default run (both outputs, own voice, smoothing on) with --compare and the raw flicker."""
    out = tmp_path_factory.mktemp("enhanced")
    before = sha(clips["tiny"])
    warnings: list[str] = []
    report = enhance_video(clips["tiny"], out, weights=tiny_weights, compare=True, model=model,
                           detector=detector, warn=warnings.append, raw_flicker=True)
    assert warnings == []
    return report, out, before


# --- the video pipeline ---------------------------------------------------------------


def test_overlay_keeps_frames_duration_and_sound(clips, main_run, model):
    report, out, before = main_run
    overlay = out / "tiny.overlay.mp4"
    src, info = probe(clips["tiny"]), probe(overlay)
    assert frame_count(overlay) == frame_count(clips["tiny"]) == report["frames"] == 75
    assert abs(info.duration - src.duration) <= 1 / src.fps + 1e-6
    assert info.has_audio
    assert abs(len(load_audio(overlay)) - len(load_audio(clips["tiny"]))) <= 16000 / src.fps
    # Enlarged so the ~14 px face crop shows the model's 16 px (tiny preset).
    scale = report["settings"]["scale"]
    assert 1.0 < scale < 1.5
    even = [round(640 * scale) // 2 * 2, round(360 * scale) // 2 * 2]
    assert [info.width, info.height] == report["settings"]["output_size"] == even
    assert sha(clips["tiny"]) == before  # the input is never touched


def test_track_video_is_the_face_with_its_sound(main_run, model):
    report, out, _ = main_run
    (track,) = [t for t in report["tracks"] if t["enhanced"]]
    video = out / track["video"]
    info = probe(video)
    r = model.preset.resolution
    assert (info.width, info.height) == (2 * r, r)  # --compare: [low-res nearest | result]
    assert frame_count(video) == track["frames"]
    assert info.has_audio
    assert abs(len(load_audio(video)) / 16000 - track["frames"] / 25) < 0.1
    # The left half is the 8x8 input enlarged by nearest neighbour: blocks of r/8 px.
    frame = next(iter(VideoReader(video))).image[:, :r].astype(int)
    block = r // model.preset.lr_size
    assert np.abs(frame[:block, :block] - frame[0, 0]).mean() < 12


def test_report_counts_and_timings(main_run):
    report, out, _ = main_run
    on_disk = __import__("json").loads((out / "tiny.report.json").read_text())
    assert on_disk["frames"] == report["frames"] == 75
    assert report["status"] == "ok" and report["settings"]["voice"] == "own"
    assert report["tracks_found"] == report["tracks_enhanced"] == 1
    (track,) = report["tracks"]
    assert 10 <= track["size_px"] <= 15
    assert report["faces_enhanced"] == report["frames_enhanced"] == track["frames"]
    assert report["frames_without_faces"] == 75 - track["frames"]
    assert report["faces_outside_range"] == 0
    assert set(report["timings_s"]) == {"decode", "detect", "audio", "model", "paste", "encode", "other", "total"}
    assert all(report["timings_s"][k] > 0 for k in ("decode", "detect", "audio", "model", "paste", "encode"))
    assert set(report["outputs"]) == {"overlay", "track-0"}


def test_smoothing_lowers_flicker(main_run, clips, model, detector, tmp_path):
    report, _, _ = main_run
    flicker = report["flicker"]
    assert report["settings"]["smooth_frames"] == 11  # 0.4 s at 25 fps
    # smoothing acts on G's share of each face (--detail 0.4 of its detail; the input's pixels
    # are the same in both): with the face's own pixels (a 15 px crop, the tiny model's faces
    # are 16 px) little of G is left, so it removes little; onto the 8x8 input, more
    assert flicker["smoothed"] < flicker["raw"]
    lowres = enhance_video(clips["tiny"], tmp_path, model=model, detector=detector, mode="tracks",
                           drawing=Drawing(own_pixels=False), raw_flicker=True)["flicker"]
    assert lowres["smoothed"] < 0.85 * lowres["raw"]


def test_no_audio_and_another_voice(clips, tiny_weights, model, detector, tmp_path):
    """--no-audio: E_l alone; --audio other.wav: that voice is fused, so the faces change."""
    common = dict(weights=tiny_weights, model=model, detector=detector, mode="tracks", drawing=Drawing(smooth=0),
                  detect_every=10, raw_flicker=True)
    alone = enhance_video(clips["tiny"], tmp_path / "alone", use_audio=False, **common)
    other = enhance_video(clips["tiny"], tmp_path / "other", audio=clips["voice"], **common)
    assert alone["settings"]["voice"] is None and other["settings"]["voice"] == str(clips["voice"])
    assert alone["warnings"] == [] and other["warnings"] == []
    assert not (tmp_path / "alone" / "tiny.overlay.mp4").exists()  # mode "tracks"
    assert alone["flicker"]["raw"] == alone["flicker"]["smoothed"]  # smoothing off
    a = np.stack([f.image for f in VideoReader(tmp_path / "alone" / "tiny.track-0.mp4")]).astype(int)
    b = np.stack([f.image for f in VideoReader(tmp_path / "other" / "tiny.track-0.mp4")]).astype(int)
    assert a.shape == b.shape and np.abs(a - b).mean() > 1.0


def test_a_run_stopped_half_way_leaves_nothing(clips, tiny_weights, model, detector, tmp_path):
    class Stop(Exception):
        pass

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "enhancing" and done == 40:
            raise Stop

    with pytest.raises(Stop):
        enhance_video(clips["tiny"], tmp_path, weights=tiny_weights, model=model, detector=detector,
                      progress=progress, detect_every=10)
    assert list(tmp_path.iterdir()) == []  # no video, no report, no *.partial* temporaries


def test_variable_frame_rate_keeps_every_frame_time(clips, tiny_weights, model, detector, tmp_path):
    """A clip at 25 fps for 40 frames, then 12.5 fps (every other frame dropped, the times
    kept): the overlay shows every frame at its input time (it used to be written at a
    constant rate and drifted 0.7 s from its sound by the end), the track video at its
    time from the track's first frame."""
    ffmpeg_retimes()
    vfr = tmp_path / "vfr.mp4"
    run_ffmpeg(["-i", str(clips["tiny"]), "-vf", "select='lt(n,40)+not(mod(n,2))'", "-fps_mode", "passthrough",
                *H264, "-c:a", "copy", "-y", str(vfr)])
    times = np.array([f.time for f in VideoReader(vfr)])
    assert len(times) == 58 and times[-1] == pytest.approx(2.96, abs=0.01)  # the drift it would have
    report = enhance_video(vfr, tmp_path / "out", weights=tiny_weights, model=model, detector=detector,
                           warn=lambda message: None)
    overlay = np.array([f.time for f in VideoReader(tmp_path / "out" / "vfr.overlay.mp4")])
    assert len(overlay) == len(times)
    np.testing.assert_allclose(overlay, times, atol=1e-3)
    assert probe(tmp_path / "out" / "vfr.overlay.mp4").has_audio
    (track,) = [t for t in report["tracks"] if t["enhanced"]]
    faces = np.array([f.time for f in VideoReader(tmp_path / "out" / track["video"])])
    first, last = track["first_frame"], track["last_frame"]
    np.testing.assert_allclose(faces, times[first:last + 1] - times[first], atol=1e-3)


def test_inset_overlay_is_drawn_in_rgb(clips, tiny_weights, model, detector, tmp_path):
    """--inset keeps the RGB path (boxes, lines and the enlarged face drawn on the frame)."""
    report = enhance_video(clips["tiny"], tmp_path, weights=tiny_weights, model=model, detector=detector,
                           mode="overlay", inset=True, drawing=Drawing(smooth=0), detect_every=10, warn=lambda message: None)
    info = probe(tmp_path / "tiny.overlay.mp4")
    assert [info.width, info.height] == report["settings"]["output_size"]
    assert frame_count(tmp_path / "tiny.overlay.mp4") == 75
    plain = cv2_resize_first_frame(clips["tiny"], (info.width, info.height))
    drawn = next(iter(VideoReader(tmp_path / "tiny.overlay.mp4"))).image.astype(int)
    assert np.abs(drawn - plain).max() > 100  # the inset's outline


def cv2_resize_first_frame(path: Path, size: tuple[int, int]) -> np.ndarray:
    import cv2

    return cv2.resize(next(iter(VideoReader(path))).image, size, interpolation=cv2.INTER_CUBIC).astype(int)


def test_bad_options_are_one_line_errors(clips, tmp_path):
    with pytest.raises(VidsrError, match="mode must be one of"):
        check_options(mode="sideways")
    with pytest.raises(VidsrError, match="face range"):
        check_options(face_range=(20, 10))
    with pytest.raises(VidsrError, match="--face-range"):
        enhance_cli.parse_face_range("8-16")
    assert enhance_cli.parse_face_range("8:") == (8.0, float("inf"))
    with pytest.raises(VidsrError, match="no such file"):
        enhance_video(tmp_path / "missing.mp4", tmp_path / "out")


def test_default_scale_caps_at_full_hd():
    assert default_scale(640, 360, 64, [14.4]) == 3.0  # 4.44 wanted; 1920x1080 at most
    assert default_scale(320, 240, 64, [40.0]) == pytest.approx(1.6)  # within the cap: what the face needs
    assert default_scale(1920, 1080, 64, [10.0]) == 1.0  # Full HD already: never smaller than the input
    assert default_scale(640, 360, 16, [40.0]) == 1.0  # never smaller than the input
    assert default_scale(640, 360, 64, []) == 1.0


def test_expand_inputs(tmp_path):
    for name in ("b.mp4", "a.MKV", "notes.txt", "sub/c.webm"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    assert expand_inputs([tmp_path]) == [tmp_path / "a.MKV", tmp_path / "b.mp4", tmp_path / "sub" / "c.webm"]
    assert expand_inputs([str(tmp_path / "*.mp4"), tmp_path / "b.mp4"]) == [tmp_path / "b.mp4"]
    assert expand_inputs([f"{tmp_path / 'b.mp4'},{tmp_path / 'x.mp4'}"]) == [tmp_path / "b.mp4", tmp_path / "x.mp4"]


# --- a folder of videos through the CLI ---------------------------------------------------


def test_folder_with_good_corrupt_silent_and_faceless_videos(clips, tiny_weights, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("tiny", "corrupt", "silent", "noface"):
        shutil.copy(clips[name], folder / f"{name}.mp4")
    out = folder / "enhanced"  # inside the input folder: its videos must not become inputs
    args = ["enhance", str(folder), "-o", str(out), "--weights", str(tiny_weights), "--device", "cpu", "--detect-every", "10"]
    result = CliRunner().invoke(cli_app(), args)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    errors = [line for line in result.stderr.splitlines() if line.startswith("vidsr: error:")]
    assert len(errors) == 2  # the corrupt file, then the summary line
    assert "corrupt.mp4" in errors[0] and "Invalid data" in errors[0]
    assert "1 of 4 file(s) failed" in errors[1]
    assert "silent.mp4' has no audio track" in result.stderr and "no faces found" in result.stderr

    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == [
        "noface/noface.report.json",
        "silent/silent.overlay.mp4", "silent/silent.report.json", "silent/silent.track-0.mp4",
        "summary.json", "summary.md",
        "tiny/tiny.overlay.mp4", "tiny/tiny.report.json", "tiny/tiny.track-0.mp4",
    ]  # fmt: skip  -- nothing for the corrupt file, no *.partial* or hidden temporaries
    assert not (out / "corrupt").exists()
    assert not probe(out / "silent" / "silent.overlay.mp4").has_audio
    silent = __import__("json").loads((out / "silent" / "silent.report.json").read_text())
    assert silent["settings"]["voice"] is None and silent["faces_enhanced"] > 0
    noface = __import__("json").loads((out / "noface" / "noface.report.json").read_text())
    assert noface["status"] == "no faces" and noface["tracks_found"] == 0 and noface["frames_without_faces"] == 25
    summary = (out / "summary.md").read_text()
    for name, status in (("corrupt", "failed"), ("tiny", "ok"), ("silent", "ok"), ("noface", "no faces")):
        assert any(f"{name}.mp4" in line and f"| {status} |" in line for line in summary.splitlines())

    # A second run resumes: finished files are skipped, the corrupt one fails again.
    stamp = (out / "tiny" / "tiny.report.json").stat().st_mtime_ns
    again = CliRunner().invoke(cli_app(), args)
    assert again.exit_code == 1
    assert (out / "tiny" / "tiny.report.json").stat().st_mtime_ns == stamp
    summary = (out / "summary.md").read_text()
    assert summary.count("| skipped |") == 3 and summary.count(".mp4 |") == 4


# --- pictures ----------------------------------------------------------------------------


def test_image_strip_has_four_tiles(clips, tiny_weights, model, tmp_path):
    from vidsr.imaging import read_rgb, save_png

    face = sorted(shared("utkface").glob("*.jpg"))[0]
    r = model.preset.resolution
    out = tmp_path / "strip.png"
    args = ["image", str(face), "--audio", str(clips["voice"]), "-o", str(out), "--weights", str(tiny_weights), "--device", "cpu"]
    result = CliRunner().invoke(cli_app(), args)
    assert result.exit_code == 0, result.output
    assert read_rgb(out).shape == (r, 4 * r, 3)
    assert (tmp_path / "strip.md").exists()
    # A tiny face (8 px) is simply enhanced: one R x R picture.
    tiny = tmp_path / "tiny_face.png"
    save_png(tiny, read_rgb(face)[::25, ::25][:8, :8])
    result = CliRunner().invoke(cli_app(), ["image", str(tiny), "-o", str(tmp_path / "tiny_out.png"),
                                            "--weights", str(tiny_weights), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert read_rgb(tmp_path / "tiny_out.png").shape == (r, r, 3)


def test_voice_code_hears_the_middle_of_the_track(clips, model):
    """voice_code streams the track and encodes the 4 s around its middle: the same code as
    from the whole track loaded at once."""
    import torch

    from vidsr.audio import log_spectrogram, window_at
    from vidsr.media import SAMPLE_RATE
    from vidsr.pipeline import voice_code

    wave = load_audio(clips["voice"])
    with torch.no_grad():
        expected = model.encode_audio(log_spectrogram(window_at(wave, len(wave) / SAMPLE_RATE / 2))[None])
        torch.testing.assert_close(voice_code(clips["voice"], model), expected)


def test_mix_grid_shape(clips, tiny_weights, model, tmp_path):
    from vidsr.imaging import read_rgb

    faces = sorted(shared("utkface").glob("*.jpg"))[:2]
    voices = [clips["voice"], MALE, clips["tiny"]]
    args = ["mix", "--faces", str(faces[0]), "--faces", str(faces[1])]
    for v in voices:
        args += ["--voices", str(v)]
    for f in sorted(shared("utkface").glob("*.jpg"))[2:5]:
        args += ["--voice-faces", str(f)]
    out = tmp_path / "grid.png"
    result = CliRunner().invoke(cli_app(), [*args, "-o", str(out), "--weights", str(tiny_weights), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    r, pad = model.preset.resolution, 2
    rows, cols = 1 + len(faces), 2 + len(voices)  # top row: the voices' faces
    assert read_rgb(out).shape == (rows * (r + pad) + pad, cols * (r + pad) + pad, 3)
    assert "G(E_l(x_l,i) + F(E_l(x_l,i), E_a(a_j)))" in (tmp_path / "grid.md").read_text()


# --- paste-back ----------------------------------------------------------------------------


def test_feather_mask_and_paste():
    mask = feather_mask(32, 0.25)
    assert mask[16, 16] == 1.0 and mask[0, 0] == 0.0 and mask[16, 0] < 0.1
    frame = np.full((60, 80, 3), 50, np.uint8)
    face = np.full((16, 16, 3), 200, np.uint8)
    pasted = paste_face(frame.copy(), face, np.array([30, 20, 50, 40]), colour=False)
    assert (pasted[25:35, 35:45] == 200).all()  # the middle is the new face
    untouched = np.ones(frame.shape[:2], bool)
    untouched[20:40, 30:50] = False
    assert (pasted[untouched] == 50).all()  # nothing outside the box changes
    edge = paste_face(frame.copy(), face, np.array([-10, -10, 10, 10]), colour=False)  # half outside
    assert edge[0, 0, 0] > 50 and (edge[15:, 15:] == 50).all()


def test_match_colour_takes_the_reference_colour():
    rng = np.random.default_rng(0)
    face = rng.integers(0, 255, (16, 16, 3)).astype(np.uint8)
    reference = np.zeros((30, 30, 3), np.uint8)
    reference[...] = (180, 120, 90)  # skin-like
    out = match_colour(face, reference).reshape(-1, 3).mean(0)
    assert np.abs(out - (180, 120, 90)).max() < 25
    assert match_colour(face, reference).std() > 5  # the face's own detail is kept


def test_enlarged_frame_in_i420_is_the_rgb_overlay():
    """The overlay drawn in I420 planes (EnlargedFrame) shows what enlarging and pasting
    in RGB shows: the same frame, the same faces (also one cut by the frame's edge)."""
    import cv2

    from vidsr.faces.paste import EnlargedFrame

    rng = np.random.default_rng(0)
    frame = cv2.GaussianBlur(rng.integers(0, 256, (90, 160, 3), dtype=np.uint8), (0, 0), 3)
    face = cv2.GaussianBlur(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), (0, 0), 1.5)
    size, boxes = (674, 380), [np.array([300.3, 120.8, 361.6, 182.1]), np.array([-20.0, 340.0, 41.0, 401.0])]
    rgb = cv2.resize(frame, size, interpolation=cv2.INTER_CUBIC)
    for box in boxes:
        paste_face(rgb, face, box)
    canvas = EnlargedFrame(size)
    canvas.draw(frame)
    for box in boxes:
        canvas.paste(face, box)
    assert canvas.data.shape == (570, 674)
    shown = cv2.cvtColor(canvas.data, cv2.COLOR_YUV2RGB_I420).astype(int)
    # Against the RGB overlay through the same conversion (4:2:0 alone loses some colour).
    expected = cv2.cvtColor(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420), cv2.COLOR_YUV2RGB_I420).astype(int)
    assert np.abs(shown - expected).mean() < 1.5
    face_box = np.s_[121:182, 301:361]
    assert np.abs(shown[face_box] - expected[face_box]).mean() < 2.5
    assert np.abs(canvas.y.astype(int) - cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)[:380]).mean() < 0.5
    with pytest.raises(ValueError, match="even size"):
        EnlargedFrame((675, 380))


# --- the paths a GPU takes, exercised on the CPU -----------------------------------------


def test_half_precision_picks_fp16_on_a_gpu_without_bf16(monkeypatch):
    import types
    import warnings

    import torch

    from vidsr.devices import half_autocast

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "CUDA is not available": the context is only inspected
        ctx = half_autocast(types.SimpleNamespace(type="cuda"), True)()
    assert (ctx.device, ctx.fast_dtype) == ("cuda", torch.float16)
    assert half_autocast(torch.device("cpu"), True)().fast_dtype == torch.bfloat16
    assert half_autocast(torch.device("cuda"), False)().__class__.__name__ == "nullcontext"


def test_half_batches_run_in_half_precision_and_give_float_codes_and_uint8_faces(model):
    """--half: E_l, F and G run under autocast (bf16 on the CPU, as fp16/bf16 on a GPU);
    the codes are kept in float32 (smoothing, history) and the faces come out as uint8,
    close to the fp32 ones; a batch with voices for some faces only keeps z_l for the rest."""
    import torch

    from vidsr.devices import half_autocast
    from vidsr.pipeline.batcher import Batcher
    from vidsr.pipeline.timing import Clock
    from vidsr.pipeline.tracks import Face

    class Voice:  # a voice code for even frames only
        def codes_for(self, faces):
            return [torch.zeros(model.preset.num_ws, model.preset.z_dim) if f.frame % 2 == 0 else None for f in faces]

    class Frame:
        def __init__(self, index):
            self.index = index

    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (12, model.preset.lr_size, model.preset.lr_size, 3), dtype=np.uint8)
    dtypes = []
    hook = model.G.register_forward_hook(lambda module, args, out: dtypes.append(out.dtype))
    try:
        results = {}
        for half in (False, True):
            batcher = Batcher(model, Voice(), torch.device("cpu"), half_autocast(torch.device("cpu"), half), Clock(),
                              batch=5, radius=2, max_frames=64, raw=True,
                              drawing=Drawing(back_project=1.0, frames=1, detail=1.0, own_pixels=False))
            ready = []
            for i in range(12):
                face = Face(0, i, i / 25, np.array([0, 0, 8, 8], np.float32), crops[i])
                ready += batcher.add(Frame(i), [face])
            ready += batcher.finish()
            faces = [f for _, fs in ready for f in fs]
            assert [f.frame for f in faces] == list(range(12))
            assert all(f.z.dtype == torch.float32 for f in faces)
            assert all(f.image.dtype == np.uint8 and f.image.shape == (model.preset.resolution,) * 2 + (3,) for f in faces)
            assert batcher.heard[0] == 6
            results[half] = np.stack([f.image for f in faces]).astype(int)
    finally:
        hook.remove()
    assert torch.bfloat16 in dtypes and torch.float32 in dtypes  # G ran in both precisions
    assert np.abs(results[True] - results[False]).mean() < 8


def test_back_projection_puts_the_input_back(model):
    """FaceSR.back_project: strength 0 leaves G's face as it is; strength 1 brings D of the
    face most of the way to x_l (one step: D o up is not the identity), keeping G's detail
    (what D does not see) and staying in [-1, 1]."""
    import torch

    from vidsr.imaging import downsample

    torch.manual_seed(0)
    r, l = model.preset.resolution, model.preset.lr_size
    x = torch.rand(6, 3, r, r) * 1.6 - 0.8
    x_l = torch.rand(6, 3, l, l) * 1.6 - 0.8
    assert torch.equal(model.back_project(x, x_l, 0.0), x)
    before = (downsample(x, l) - x_l).abs().mean()
    half, whole = (model.back_project(x, x_l, s) for s in (0.5, 1.0))
    after = {s: (downsample(y, l) - x_l).abs().mean() for s, y in ((0.5, half), (1.0, whole))}
    assert after[1.0] < 0.5 * before and after[1.0] < after[0.5] < before
    assert whole.min() >= -1 and whole.max() <= 1
    detail = lambda y: y - torch.nn.functional.interpolate(downsample(y, l), size=(r, r), mode="bicubic")
    assert (detail(whole) - detail(x)).abs().mean() < 0.5 * detail(x).abs().mean()


def test_detail_keeps_a_share_of_gs_detail(model):
    """FaceSR.back_project's ``detail``: 1 is the plain back-projection, bit for bit; at strength
    1, 0 gives bicubic from x_l (G's detail all gone) and 0.5 the face halfway between the two."""
    import torch

    from vidsr.imaging import upsample_bicubic

    torch.manual_seed(0)
    r, l = model.preset.resolution, model.preset.lr_size
    x = torch.rand(4, 3, r, r) * 1.2 - 0.6
    x_l = torch.rand(4, 3, l, l) * 1.2 - 0.6
    plain = (x + upsample_bicubic(x_l - model.downsample(x), r)).clamp(-1, 1)
    assert torch.equal(model.back_project(x, x_l, 1.0, detail=1.0), plain)
    assert torch.equal(model.back_project(x, x_l, 0.0, detail=1.0), x)
    bicubic = upsample_bicubic(x_l, r).clamp(-1, 1)
    assert torch.allclose(model.back_project(x, x_l, 1.0, detail=0.0), bicubic, atol=1e-5)
    half = model.back_project(x, x_l, 1.0, detail=0.5)
    inside = (plain.abs() < 1) & (bicubic.abs() < 1)  # where neither is clamped
    assert torch.allclose(half[inside], ((plain + bicubic) / 2)[inside], atol=1e-5)


def test_back_projection_onto_the_faces_own_pixels(model):
    """FaceSR.back_project onto a target larger than l (a face's own pixels): D shrinks G's face
    to the target's size, so at strength 1 detail 0 is bicubic from the target and detail 1
    is G's face plus up(target - D(G's face))."""
    import torch

    from vidsr.imaging import downsample, upsample_bicubic

    torch.manual_seed(0)
    r, l = model.preset.resolution, model.preset.lr_size
    n = l + 3
    x = torch.rand(4, 3, r, r) * 1.2 - 0.6
    own = torch.rand(4, 3, n, n) * 1.2 - 0.6
    assert torch.allclose(model.back_project(x, own, 1.0, detail=0.0), upsample_bicubic(own, r).clamp(-1, 1), atol=1e-5)
    plain = (x + upsample_bicubic(own - downsample(x, n), r)).clamp(-1, 1)
    assert torch.equal(model.back_project(x, own, 1.0), plain)


def test_own_side_is_the_crop_at_the_faces_own_size_between_l_and_r():
    from vidsr.pipeline.tracks import own_side

    class Track:
        def __init__(self, width):
            self.boxes = [np.array([0, 0, width, 1.4 * width])] * 3

    assert own_side(Track(12.0), 1.2, 8, 64) == 14  # round(14.4)
    assert own_side(Track(5.0), 1.2, 8, 64) == 8  # never below E_l's input
    assert own_side(Track(80.0), 1.2, 8, 64) == 64  # nor above G's output


def test_own_pixels_is_an_option_of_enhance_and_in_the_report(main_run, clips, model, detector, tmp_path):
    """--own-pixels (default) back-projects each face onto its crop at its own size (the clip's
    face is about 12 px wide: a 14-15 px crop, beside the tiny model's 8 px input); --lowres-pixels
    onto the 8x8 input: the faces written differ."""
    report, out, _ = main_run
    assert report["settings"]["drawing"]["own_pixels"] is True
    seen = []
    run = enhance_video(clips["tiny"], tmp_path, model=model, detector=detector, mode="tracks",
                        drawing=Drawing(own_pixels=False), on_face=seen.append)
    assert run["settings"]["drawing"]["own_pixels"] is False
    (side,) = {f.own.shape[0] for f in seen}  # one size per track
    assert model.preset.lr_size + 4 <= side <= model.preset.resolution  # about 12 px * 1.2
    first = lambda path: next(iter(VideoReader(path))).image.astype(int)
    (track,) = [t for t in run["tracks"] if t["enhanced"]]
    r = model.preset.resolution
    assert np.abs(first(tmp_path / track["video"]) - first(out / track["video"])[:, r:]).mean() > 1


def test_a_tiny_pictures_own_pixels_are_its_centre_square_at_its_size(model):
    """vidsr image: a 12 px picture is read as an 8x8 x_l and its own 12 px square (the
    back-projection's target); a high-res picture's target is the x_l its demo simulates."""
    from vidsr.pipeline.still import enhance_face, face_inputs

    rng = np.random.default_rng(0)
    tiny = rng.integers(0, 256, (12, 15, 3), dtype=np.uint8)
    high, x_l, own = face_inputs(tiny, model)
    assert high is None and x_l.shape[-1] == model.preset.lr_size and own.shape[-1] == 12
    big = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    high, x_l, own = face_inputs(big, model)
    assert high is not None and own is x_l
    faces = {flag: enhance_face(tiny, model, drawing=Drawing(own_pixels=flag))[0].astype(int) for flag in (True, False)}
    assert np.abs(faces[True] - faces[False]).mean() > 1


def test_refine_brings_d_of_gs_face_toward_the_input(model):
    """FaceSR.refine: 0 steps is G(z); steps of Adam on G's styles bring D(G) nearer x_l (even
    called under inference mode, as the pipeline calls it), leave G's weights as they were, and
    treat each face on its own (the same faces alone or in a larger batch)."""
    import torch

    from vidsr.imaging import downsample

    torch.manual_seed(0)
    l = model.preset.lr_size
    z = torch.randn(6, model.preset.num_ws, model.preset.z_dim)
    x_l = (torch.rand(6, 3, l, l) * 1.6 - 0.8)
    weights = {k: v.clone() for k, v in model.G.state_dict().items()}
    with torch.inference_mode():
        assert torch.equal(model.refine(z, x_l, 0), model.generate(z))
        plain, refined = model.generate(z), model.refine(z, x_l, 5)
        alone = model.refine(z[:2], x_l[:2], 5)
    error = lambda x: (downsample(x, l) - x_l[:len(x)]).pow(2).mean().item()
    assert error(refined) < 0.8 * error(plain)
    assert torch.allclose(alone, refined[:2], atol=1e-4)
    assert all(torch.equal(v, model.G.state_dict()[k]) for k, v in weights.items())
    assert not any(p.requires_grad for p in model.G.parameters())


@pytest.mark.parametrize("option, default, other, bad, changed, message", [
    ("back_project", 1.0, 0.0, 1.5, 1, "back-project"),
    ("refine", 0, 5, -1, 0.5, "refine"),
    ("detail", 0.4, 1.0, 1.5, 1, "detail"),
])
def test_face_steps_are_options_of_enhance_and_in_the_report(main_run, clips, model, detector, tmp_path,
                                                              option, default, other, bad, changed, message):
    """--back-project, --refine and --detail: the default is in the report; another value changes the
    faces written and is reported; a value out of range is refused."""
    report, out, _ = main_run
    assert report["settings"]["drawing"][option] == default == getattr(Drawing(), option)
    run = enhance_video(clips["tiny"], tmp_path, model=model, detector=detector, mode="tracks",
                        drawing=Drawing(**{option: other}))
    assert run["settings"]["drawing"][option] == other
    first = lambda path: next(iter(VideoReader(path))).image.astype(int)
    (track,) = [t for t in run["tracks"] if t["enhanced"]]
    r = model.preset.resolution
    assert np.abs(first(tmp_path / track["video"]) - first(out / track["video"])[:, r:]).mean() > changed
    with pytest.raises(VidsrError, match=message):
        enhance_video(clips["tiny"], tmp_path / "bad", model=model, detector=detector, drawing=Drawing(**{option: bad}))
    assert not (tmp_path / "bad").exists()


def test_frames_back_project_onto_the_mean_of_the_tracks_inputs(model):
    """--frames K: each face is back-projected onto the triangular-weighted mean of its track's
    x_l over the K frames around it (fewer at the track's ends); K = 1 onto its own x_l. The
    codes z_f do not change with K; faces come out in order and the look-ahead holds K // 2."""
    import torch

    from vidsr.pipeline.batcher import Batcher
    from vidsr.pipeline.timing import Clock
    from vidsr.pipeline.tracks import Face
    from vidsr.devices import half_autocast
    from vidsr.imaging import downsample, from_uint8

    class Frame:
        def __init__(self, index):
            self.index = index

    rng = np.random.default_rng(1)
    l = model.preset.lr_size
    base = rng.integers(60, 200, (l, l, 3))
    crops = np.clip(base + rng.normal(0, 25, (9, l, l, 3)), 0, 255).astype(np.uint8)
    outs = {}
    for k in (1, 5):
        batcher = Batcher(model, None, torch.device("cpu"), half_autocast(torch.device("cpu"), False), Clock(),
                          batch=4, radius=1, max_frames=64, raw=False,
                          drawing=Drawing(back_project=1.0, frames=k, detail=1.0, own_pixels=False))
        ready = []
        for i in range(9):
            ready += batcher.add(Frame(i), [Face(0, i, i / 25, np.array([0, 0, 8, 8], np.float32), crops[i])])
        ready += batcher.finish()
        faces = [f for _, fs in ready for f in fs]
        assert [f.frame for f in faces] == list(range(9))
        outs[k] = faces
    for a, b in zip(outs[1], outs[5]):
        assert torch.equal(a.z, b.z)
    x_l = from_uint8(crops).float()
    w = torch.tensor([1.0, 2.0, 3.0, 2.0, 1.0])[:, None, None, None]
    mean = (w * x_l[2:7]).sum(0) / w.sum()  # frame 4's window: frames 2..6
    down = {k: downsample(from_uint8(outs[k][4].image[None]).float(), l)[0] for k in outs}
    assert (down[5] - mean).abs().mean() < (down[1] - mean).abs().mean()
    assert (down[1] - x_l[4]).abs().mean() < (down[5] - x_l[4]).abs().mean()


def test_a_gpu_asked_for_on_a_machine_without_one_is_one_line_error():
    import torch

    from vidsr.devices import pick_device
    from vidsr.pipeline import make_detector

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(VidsrError, match="not available"):
        make_detector(torch.device("cuda"), None)
    with pytest.raises(VidsrError, match="no CUDA GPU"):
        pick_device("cuda")


def test_files_that_call_the_input_size_lowres_still_load(tmp_path):
    """Model files, checkpoints and options.json written before the input size was called
    lr_size name it "lowres" (default models of earlier commits among them): they read the same."""
    import json

    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from vidsr.models.io import read_metadata, read_preset
    from vidsr.models.presets import Preset, get_preset
    from vidsr.weights import shipped_weights_path

    shipped = shipped_weights_path()
    with safe_open(str(shipped), "pt") as f:
        meta = dict(f.metadata())
    preset = json.loads(meta["preset"])
    meta["preset"] = json.dumps({("lowres" if k == "lr_size" else k): v for k, v in preset.items()})
    path = tmp_path / "old.safetensors"
    save_file(load_file(shipped), path, metadata=meta)
    assert "lowres" in read_metadata(path)["preset"] and "lr_size" not in read_metadata(path)["preset"]
    assert read_preset(path) == read_preset(shipped) and read_preset(path).lr_size == 8
    new = get_preset("cpu").to_dict()
    old = {("lowres" if k == "lr_size" else k): v for k, v in new.items()}
    (tmp_path / "options.json").write_text(json.dumps({"stage": "lowres", "preset": old}))
    assert Preset.from_dict(json.loads((tmp_path / "options.json").read_text())["preset"]) == get_preset("cpu")
    assert Preset.from_dict(new) == get_preset("cpu") and "lowres" not in new


def test_drawing_is_one_record_checked_once_when_made():
    """vidsr.pipeline.drawing.Drawing: the defaults in one place, frozen, every bad value refused
    as it is made (one line), the options not given left to the defaults."""
    import dataclasses

    d = Drawing()
    assert d.as_dict() == {"smooth": 0.4, "refine": 0, "back_project": 1.0, "detail": 0.4, "frames": 11, "own_pixels": True}
    assert Drawing.given(detail=None, frames=5) == Drawing(frames=5) and d.replace(detail=1.0).detail == 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.detail = 1.0
    for bad, message in [({"frames": 4}, "odd"), ({"frames": 0}, "odd"), ({"back_project": 1.5}, "back-project"),
                         ({"detail": -0.1}, "detail"), ({"refine": -1}, "refine"), ({"smooth": -1}, "smooth"),
                         ({"own_pixels": "yes"}, "own_pixels")]:
        with pytest.raises(VidsrError, match=message):
            Drawing(**bad)
    assert d.smooth_radius(25) == 5 and Drawing(smooth=0).smooth_radius(25) == 0
    assert Drawing(back_project=0, detail=1).uses_target is False and d.uses_target


def test_enhance_many_checks_its_options_once(tiny_weights, tmp_path, monkeypatch):
    """The options of a run over several files are checked once, not per file and function."""
    import vidsr.pipeline.many as many
    import vidsr.pipeline.video as video

    calls = []
    real = many.check_options
    monkeypatch.setattr(many, "check_options", lambda **o: (calls.append("many"), real(**o)))
    monkeypatch.setattr(video, "check_options", lambda **o: (calls.append("video"), real(**o)))
    results = many.enhance_many([tmp_path / "a.mp4", tmp_path / "b.mp4"], tmp_path / "out", weights=tiny_weights,
                                device="cpu", drawing=Drawing(frames=3))
    assert [r["status"] for r in results] == ["failed", "failed"] and calls == ["many"]
    with pytest.raises(VidsrError, match="Drawing"):
        many.enhance_many([tmp_path / "a.mp4"], tmp_path / "out", weights=tiny_weights, device="cpu", drawing={"frames": 3})

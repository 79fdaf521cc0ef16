"""The pipeline's fixed settings (the face finder's, such as ``DETECT_EVERY``, are in
:mod:`vidsr.faces`; the audio's in :mod:`vidsr.media.audio` and :mod:`vidsr.audio`)."""

from vidsr.media.suffixes import VIDEO_SUFFIXES as VIDEO_EXTENSIONS  # noqa: F401 (the pipeline's name for them)

STAGES = ("decode", "detect", "audio", "model", "paste", "encode")
MODES = ("both", "overlay", "tracks")
AUDIO_HOP = 0.5  # seconds between the 4 s windows' centres (AudioWindows)
# The default --scale keeps the overlay within Full HD: what most screens show (a larger overlay
# is shown shrunk to it) and what 2 CPU cores encode in real time; --scale makes larger ones.
MAX_OUTPUT = (1920, 1080)
MAX_ENCODE = 8192  # the widest / tallest overlay frame --scale may ask for (H.264 levels end at 8192)
BUFFER_BYTES = 256 * 2**20  # frames waiting for their faces' batch: at most about this much
# How each face is drawn (smoothing, refinement, back-projection, detail, frames, own pixels):
# vidsr.pipeline.drawing.Drawing, whose defaults are the pipeline's.
INSET_ENLARGE = 2.0  # review mode: the face is drawn this many times its box's size
VOICE_TO = ("auto", "all")  # --voice-to: these or a track id
MAX_STRETCH = 30.0  # s: longer stretches of speech are cut into pieces this long, each assigned on its own
VOICE_WINDOWS = 3  # at most this many 4 s windows of a stretch go through E_a (their codes averaged)
VISIBLE_SHARE = 0.5  # a track is visible during a stretch when it holds at least this share of its frames
SPEAKER_CONTEXT = 1.0  # s: --voice-to auto correlates mouth and loudness over the stretch widened by this
SPEAKER_SMOOTH = 0.36  # s: the moving average over both signals before they are correlated
SPEAKER_MARGIN = 0.15  # the best-correlated face speaks when it leads the next by this much
BATCH = 64  # faces per model call (--batch)

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
# The strength of the back-projection of each output face onto its own 8x8 input
# (FaceSR.back_project; --back-project): 1 puts the input's low frequencies back whole.
BACK_PROJECT = 1.0
# How much of G's own detail (what D cannot see: G's face less its low frequencies) is kept in
# the face shown (FaceSR.back_project; --detail; 1: all of it, 0: bicubic from the input). The
# fidelity-realism trade of face restorers (CodeFormer's w): G's detail is plausible, not
# always the person's. On the real-footage evaluation (42 clips at 10 px, default model vN),
# 0.4 against 1: own-voice identity distance 0.692 vs 0.710 (bicubic 0.698), LFW rank-1 12.9 vs
# 7.6 %, flicker lower; own-voice gender 84.4 vs 99.8 %, the other voice's gender taken 45.0 vs
# 70.3 %: the lowest share that keeps the voice's targets; docs/detail/README.md.
DETAIL = 0.4
# Back-project each face onto its own pixels: the crop at the face's own size (its track's crop
# box, 8-64 px; tracks.own_side) instead of the l x l input E_l sees (--own-pixels / --lowres-pixels).
# A 14 px face's crop is 17 px: shrunk to 8x8 it loses 3/4 of them. Offline (256 test faces degraded
# as real ones, default model vN, detail 0.4), the identity distance to the original: faces 10 px
# wide 0.647 -> 0.638, 14 px 0.627 -> 0.590 (bicubic from the 8x8 input: 0.673, 0.654; from the
# face's own pixels: 0.645, 0.587); docs/own-pixels/README.md.
OWN_PIXELS = True
# The steps of Adam that move each face's styles until D(G) comes nearer its x~_l, before the
# back-projection (FaceSR.refine; --refine; 0: the encoders' code as it is). Off by default: on
# the real footage at 10 px, 5 steps did not bring the default model's faces nearer the person
# (own voice +0.004 +- 0.007 per clip), lost gender (own voice 99.8 % -> 86.6 %: the refined
# face follows the ambiguous picture, not the voice) and cost 1.6x the time; docs/refine/README.md.
REFINE = 0
# --frames: the inputs x_l of this many frames of a track around each face (triangular
# weights) make the target of its back-projection (1: the face's own x_l). 11 (0.44 s at
# 25 fps, the smoothing's window) halves the flicker that one frame's input brings
# (README, "Faithful to the picture").
FRAMES = 11
DEFAULT_SMOOTH = 0.4  # seconds: the window of the moving average of z_f along a track
INSET_ENLARGE = 2.0  # review mode: the face is drawn this many times its box's size
VOICE_TO = ("auto", "all")  # --voice-to: these or a track id
MAX_STRETCH = 30.0  # s: longer stretches of speech are cut into pieces this long, each assigned on its own
VOICE_WINDOWS = 3  # at most this many 4 s windows of a stretch go through E_a (their codes averaged)
VISIBLE_SHARE = 0.5  # a track is visible during a stretch when it holds at least this share of its frames
SPEAKER_CONTEXT = 1.0  # s: --voice-to auto correlates mouth and loudness over the stretch widened by this
SPEAKER_SMOOTH = 0.36  # s: the moving average over both signals before they are correlated
SPEAKER_MARGIN = 0.15  # the best-correlated face speaks when it leads the next by this much
BATCH = 64  # faces per model call (--batch)

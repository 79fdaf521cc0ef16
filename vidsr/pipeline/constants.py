"""The pipeline's fixed settings, all in one place."""

VIDEO_EXTENSIONS = frozenset({".mp4", ".mkv", ".avi", ".mpg", ".mpeg", ".mov", ".webm", ".m4v"})
STAGES = ("decode", "detect", "audio", "model", "paste", "encode")
MODES = ("both", "overlay", "tracks")
AUDIO_HOP = 0.5  # seconds between the 4 s windows' centres (AudioWindows)
MAX_OUTPUT = (3840, 2160)  # the default --scale keeps the overlay within this
MAX_ENCODE = 8192  # the widest / tallest overlay frame --scale may ask for (H.264 levels end at 8192)
BUFFER_BYTES = 256 * 2**20  # frames waiting for their faces' batch: at most about this much
DEFAULT_SMOOTH = 0.4  # seconds: the window of the moving average of z_f along a track
INSET_ENLARGE = 2.0  # review mode: the face is drawn this many times its box's size

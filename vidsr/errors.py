"""User-facing errors.

Anything a user can cause (a missing file, a corrupt video, wrong weights, a full disk)
is raised as a :class:`VidsrError`. The CLI turns it into one line on stderr and a
non-zero exit code; library callers can catch it like any other exception.
"""


class VidsrError(Exception):
    """An error caused by the input or the environment, reported without a traceback."""

    exit_code = 2


class MediaError(VidsrError):
    """A file ffmpeg cannot read or write, or a stream that is missing."""


class NoAudioError(MediaError):
    """The video has no audio stream."""


class FolderBusyError(VidsrError):
    """Another vidsr run is writing into the same output folder right now."""


class WeightsError(VidsrError):
    """Weights that are missing, corrupt or do not match the model they are loaded into."""

"""Finding and running the ffmpeg executable.

vidsr needs no system ffmpeg and no ffprobe: it uses the static binary that ships with the
``imageio-ffmpeg`` wheel, whatever ffmpeg is on PATH (so every install runs the same,
known-good build). Set ``$VIDSR_FFMPEG`` to a path (or ``ffmpeg`` for the one on PATH) to
use another one.

Commands are always argument lists, never shell strings, so file names with spaces or
quotes are safe.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import os
import re
import shutil
import subprocess
import threading
from typing import Callable, Iterator, TypeVar

from vidsr.errors import MediaError

# Lines ffmpeg prints around an error that only repeat or wrap the real cause.
_NOISE = re.compile(
    r"^(Error opening (input|output) files?\b|Error parsing options|To ignore this"
    r"|Conversion failed|Exiting normally|Nothing was written|Terminating thread"
    r"|Task finished|Failed to set value|Error while filtering|Error sending frames)"
)
# "[in#0 @ 0x55e8969c5cc0] " and similar context prefixes.
_PREFIX = re.compile(r"^(\[[^\]]*\]\s*)+")

DISK_FULL = "No space left on device"

# SIGTERM (vidsr.cli.app) while a child process is being started waits until its Popen
# exists: an interrupt inside Popen() would leave ffmpeg running unattended, writing a
# temporary after the run deleted its temporaries.
_starting = 0
_interrupted = False


@contextlib.contextmanager
def _starting_child() -> Iterator[None]:
    global _starting, _interrupted
    _starting += 1
    try:
        yield
    finally:
        _starting -= 1
        if not _starting and _interrupted:
            _interrupted = False
            raise KeyboardInterrupt


def interrupt() -> None:
    """Stop the run as Ctrl-C does (KeyboardInterrupt), now or, while a child process is
    being started, as soon as it has started (so the run's cleanup can stop it)."""
    global _interrupted
    if _starting:
        _interrupted = True
    else:
        raise KeyboardInterrupt


def ffmpeg_exe() -> str:
    """The ffmpeg executable: ``$VIDSR_FFMPEG`` if set (a path, or a name looked up on
    PATH), else the binary bundled with imageio-ffmpeg. An ffmpeg on PATH is never used
    unless ``$VIDSR_FFMPEG`` names it."""
    exe = os.environ.get("VIDSR_FFMPEG")
    if exe:
        return shutil.which(exe) or exe
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def file_arg(path: str | os.PathLike) -> str:
    """``path`` as an ffmpeg file argument: ``file:`` stops ffmpeg from reading a name
    like ``take 12:30.mp4`` as a protocol (``take 12``) or an option."""
    return "file:" + os.fspath(path)


def error_reason(stderr: str | bytes) -> str:
    """The one line of ffmpeg's stderr that says what went wrong.

    >>> error_reason("Error opening input: Invalid data found when processing input")
    'Invalid data found when processing input'
    """
    if isinstance(stderr, bytes):
        stderr = stderr.decode("utf-8", errors="replace")
    if DISK_FULL in stderr:
        return f"{DISK_FULL} (the disk is full)"
    lines = [_PREFIX.sub("", line).strip() for line in stderr.splitlines()]
    lines = [line for line in lines if line]
    kept = [line for line in lines if not _NOISE.match(line)]
    line = (kept or lines or ["ffmpeg failed without a message"])[-1]
    # "Error opening input: X" -> "X"
    match = re.match(r"^Error [\w ]+?: (.+)$", line)
    return match.group(1) if match else line


def run_ffmpeg(args: list[str], what: str = "ffmpeg failed") -> bytes:
    """Run ``ffmpeg ARGS`` (without the executable) and return its stdout.

    Raises MediaError("WHAT: REASON"), REASON being the last meaningful stderr line,
    if ffmpeg fails.
    """
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", *args]
    proc = None
    try:
        with _starting_child():
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        stdout, stderr = proc.communicate()
    except OSError as e:
        raise MediaError(f"cannot run ffmpeg '{cmd[0]}': {e.strerror or e}") from None
    except BaseException:  # interrupted: ffmpeg must not go on writing
        if proc is not None:
            proc.kill()
            proc.wait()
        raise
    if proc.returncode != 0:
        raise MediaError(f"{what}: {error_reason(stderr)}")
    return stdout


def encoders() -> frozenset[str]:
    """Names of the encoders the ffmpeg binary was built with (e.g. ``libx264``)."""
    return _encoders(ffmpeg_exe())


@functools.lru_cache(maxsize=None)
def _encoders(exe: str) -> frozenset[str]:
    out = subprocess.run(
        [exe, "-hide_banner", "-nostdin", "-encoders"], capture_output=True, text=True
    ).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        # " V....D libx264   libx264 H.264 ..." (the legend lines have "=" as 2nd word)
        if len(parts) >= 2 and re.fullmatch(r"[VAS.][A-Z.]{5}", parts[0]) and parts[1] != "=":
            names.add(parts[1])
    return frozenset(names)


def fps_mode_args() -> tuple[str, ...]:
    """Options that pass every decoded frame through with its own timestamp.

    ``-fps_mode`` exists since ffmpeg 5.1; older binaries only know ``-vsync``.
    """
    return _fps_mode_args(ffmpeg_exe())


@functools.lru_cache(maxsize=None)
def _fps_mode_args(exe: str) -> tuple[str, ...]:
    probe = [
        exe, "-hide_banner", "-nostdin", "-loglevel", "error",
        "-f", "lavfi", "-i", "nullsrc=s=16x16:d=0.04",
        "-fps_mode", "passthrough", "-f", "null", "-",
    ]  # fmt: skip
    ok = subprocess.run(probe, capture_output=True).returncode == 0
    return ("-fps_mode", "passthrough") if ok else ("-vsync", "passthrough")


def can_retime_frames() -> bool:
    """Whether the ffmpeg in use can give each frame its own time as it passes: setpts's
    ``expr`` changed by a command (``T`` in its option flags; ffmpeg 6.0 or newer, not 5.1),
    which :class:`vidsr.media.VideoWriter` needs to keep a variable frame rate's times."""
    return _can_retime_frames(ffmpeg_exe())


@functools.lru_cache(maxsize=None)
def _can_retime_frames(exe: str) -> bool:
    help_text = subprocess.run([exe, "-hide_banner", "-h", "filter=setpts"], capture_output=True, text=True).stdout
    flags = re.search(r"^\s*expr\s+<string>\s+(\S+)", help_text, re.MULTILINE)
    return bool(flags and "T" in flags.group(1))


class FFmpegProcess:
    """A running ffmpeg whose stderr is drained by a thread so the pipes never deadlock.

    The last stderr lines are kept for error messages; ``on_line`` (if given) sees every
    line as it arrives, from the reader thread.
    """

    def __init__(
        self,
        args: list[str],
        *,
        stdin: bool = False,
        stdout: bool = False,
        on_line: Callable[[str], None] | None = None,
    ):
        cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", *args]
        self.proc = None
        try:
            with _starting_child():
                self.proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                    stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
            self._tail: collections.deque[str] = collections.deque(maxlen=50)
            self._on_line = on_line
            self._thread = threading.Thread(target=self._drain, daemon=True)
            self._thread.start()
        except OSError as e:
            raise MediaError(f"cannot run ffmpeg '{cmd[0]}': {e.strerror or e}") from None
        except BaseException:  # interrupted as it started: stop it, nobody else can
            if self.proc is not None:
                self.proc.kill()
                self.proc.wait()
            raise

    def _drain(self) -> None:
        for raw in iter(self.proc.stderr.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            self._tail.append(line)
            if self._on_line is not None:
                self._on_line(line)
        self.proc.stderr.close()

    def stderr_text(self) -> str:
        """The last lines ffmpeg wrote to stderr (complete once the process has ended)."""
        return "\n".join(self._tail)

    def error_reason(self) -> str:
        """The cause of ffmpeg's failure, as one line (see :func:`error_reason`)."""
        return error_reason(self.stderr_text())

    def wait(self) -> int:
        """Wait for ffmpeg to exit and its stderr to be read; return the exit code."""
        code = self.proc.wait()
        self._thread.join()
        self._close_pipes()
        return code

    def kill(self) -> None:
        """Stop ffmpeg now (no-op if it already ended) and release its pipes."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._close_pipes()
        self._thread.join(timeout=5)

    def _close_pipes(self) -> None:
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None and not pipe.closed:
                try:
                    pipe.close()
                except OSError:  # stdin of a dead process: broken pipe on flush
                    pass


_Reader = TypeVar("_Reader", bound="ProcessReader")


class ProcessReader:
    """Something that reads from one running :class:`FFmpegProcess` at a time
    (``_process``, None when nothing runs): :meth:`close`, or leaving a ``with`` block,
    stops it."""

    _process: FFmpegProcess | None = None

    def close(self) -> None:
        """Stop the running decode, if any."""
        if self._process is not None:
            self._process.kill()
            self._process = None

    def __enter__(self: _Reader) -> _Reader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

"""The `vidsr` command: a thin Typer wrapper over the Python API.

Each command lives in its own module under ``vidsr.cli``; this file only assembles them and
turns user-facing errors into one line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import errno
import signal
import sys

import typer

from vidsr import __version__
from vidsr.cli import detect, doctor, enhance, evaluate, export, image, mix, options, prepare, train
from vidsr.errors import VidsrError

try:  # typer 0.2x carries its own copy of click
    from typer._click import exceptions as _click
except ImportError:  # older typer: click itself
    from click import exceptions as _click

app = typer.Typer(
    name="vidsr",
    help="Recover tiny faces (8-16 px) in video by fusing the picture with the voice.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vidsr {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """vidsr: audio-assisted face super-resolution for tiny faces in video."""


app.command("enhance")(enhance.enhance)
app.command("image")(image.image)
app.command("mix")(mix.mix)
app.command("doctor")(doctor.doctor)
app.command("detect")(detect.detect)
app.command("prepare")(prepare.prepare)
app.command("train")(train.train)
app.command("export")(export.export)
app.command("evaluate")(evaluate.evaluate)


def fail(message: str, code: int = 2) -> None:
    """Print one line on stderr and exit with `code`."""
    print(f"vidsr: error: {message}", file=sys.stderr)
    sys.exit(code)


def _usage_error(e: _click.UsageError) -> str:
    """A click usage error (a missing argument, an option value out of range) as one line."""
    command = e.ctx.command_path.replace("python -m ", "") if e.ctx is not None else "vidsr"
    return f"{e.format_message()} (see '{command} --help')"


def main() -> None:
    """Run the command; every error a user can cause ends as one line on stderr, exit code 2
    (bad usage or input); a run over several files exits 1 when some of them failed."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        code = app(args=options.bare_ray(sys.argv[1:]), standalone_mode=False)
    except _click.UsageError as e:
        if not e.format_message().strip():  # `vidsr` alone: the help, as click prints it
            e.show()
            sys.exit(e.exit_code)
        fail(_usage_error(e))
    except typer.Abort:
        fail("interrupted", 130)
    except VidsrError as e:
        fail(str(e), e.exit_code)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except OSError as e:
        if e.errno == errno.ENOSPC:
            fail("no space left on the device (nothing half-written was kept)")
        fail(f"{e.strerror or e}: {e.filename}" if getattr(e, "filename", None) else str(e))
    if code == 130:  # Ctrl-C or SIGTERM: typer turns KeyboardInterrupt into exit code 130
        fail("interrupted", 130)
    sys.exit(code if isinstance(code, int) else 0)


def _terminate(signum, frame) -> None:
    """SIGTERM stops a run as Ctrl-C does: the temporaries it was writing are deleted."""
    from vidsr.media.ffmpeg import interrupt

    interrupt()


if __name__ == "__main__":
    main()

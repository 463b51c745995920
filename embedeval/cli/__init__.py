"""The ``embedeval`` command line: a thin layer over the Python API.

Every user mistake surfaces as an :class:`EmbedevalError` and is printed as one line with exit code 2.
"""

from __future__ import annotations

import errno
import sys
from pathlib import Path

import click

from embedeval import __version__
from embedeval.cli.compare import compare_cmd
from embedeval.cli.console import console, err_console
from embedeval.cli.data import data_group
from embedeval.cli.evaluate import eval_cmd
from embedeval.cli.gguf import gguf_cmd
from embedeval.cli.options import DATA_DIR_OPTION
from embedeval.cli.reproduce import reproduce_cmd
from embedeval.cli.series import series_cmd
from embedeval.cli.track import plot_dynamics_cmd, track_cmd
from embedeval.cli.train_hf_gpt2 import train_hf_gpt2_cmd
from embedeval.cli.train_lm import train_lm_cmd
from embedeval.cli.train_nmt import train_nmt_cmd
from embedeval.cli.train_skipgram import train_skipgram_cmd
from embedeval.errors import EmbedevalError, markup_safe, printable


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="embedeval")
def cli() -> None:
    """Study input and output word embeddings and weight tying.

    \b
    Quick start:
      embedeval compare                    the built-in default: train, track, score, HTML report
      embedeval compare RUN_DIR... FILE... compare runs and embedding files in one report
      embedeval eval                       score the built-in example (SGNS U and V)
      embedeval eval vectors.txt -b simlex999 -b men --json out.json
      embedeval benchmarks                 list every benchmark and where it is
    """


@cli.command("benchmarks")
@DATA_DIR_OPTION
def benchmarks_cmd(data_dir: str | None) -> None:
    """List the known benchmarks: pairs, score scale, and whether each is bundled, found or missing."""
    from rich.table import Table

    from embedeval.data.registry import SPECS, locate

    table = Table(title="Benchmarks (bundled ones need no data directory)", title_justify="left")
    for column in ("name", "title", "pairs", "scale", "status"):
        table.add_column(column, justify="right" if column == "pairs" else "left")
    for spec in SPECS:
        try:
            where = locate(spec, data_dir)
        except EmbedevalError:
            where = None
        if where is None or where.status == "no data dir":
            status = f"[yellow]no data dir[/]: set EMBEDEVAL_DATA to a folder holding {spec.relpath}"
        elif where.status == "bundled":
            status = "[green]bundled[/]"
        elif where.status == "found":
            status = f"[green]found[/] at {where.path}"
        else:
            status = f"[red]missing[/]: put it at {where.path}"
        scale = "—" if spec.kind != "similarity" else f"{spec.scale[0]:g}–{spec.scale[1]:g}"
        pairs = f"{spec.pairs}" + (" q" if spec.kind == "analogy" else "")
        table.add_row(spec.name, spec.title, pairs, scale, status)
    console.print(table)


@cli.group("train")
def train_group() -> None:
    """Train models that export their input, output and tied embeddings into a run directory."""


train_group.add_command(train_lm_cmd)
train_group.add_command(train_nmt_cmd)
train_group.add_command(train_skipgram_cmd)
train_group.add_command(train_hf_gpt2_cmd)
cli.add_command(track_cmd)
cli.add_command(plot_dynamics_cmd)
cli.add_command(eval_cmd)
cli.add_command(compare_cmd)
cli.add_command(gguf_cmd)
cli.add_command(reproduce_cmd)
cli.add_command(series_cmd)
cli.add_command(data_group)


def _from_torchrun_process(message: str) -> bool:
    """In a process of a torchrun that embedeval launched: leave the message for the launcher, which prints each
    distinct one once (instead of once per process)."""
    import os

    from embedeval.cli.train_lm import ERRORS_DIR

    folder, rank = os.environ.get(ERRORS_DIR), os.environ.get("RANK")
    if not folder or rank is None:
        return False
    try:
        Path(folder, f"rank-{int(rank)}.txt").write_text(message, encoding="utf-8")
    except (OSError, ValueError):
        return False
    return True


class _ClosedPipeSafe:
    """Standard output that survives its reader going away (``embedeval eval ... | head -1``): the rest of the
    command still runs (its --json and --csv files are still written) and it exits as it would have, quietly."""

    def __init__(self, stream):
        self._stream = stream

    def _closed(self) -> None:
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)  # what is still printed goes nowhere, flushes included
        os.dup2(devnull, self._stream.fileno())
        os.close(devnull)

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._closed()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._closed()

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def main() -> None:
    if not sys.stdout.isatty() and not isinstance(sys.stdout, _ClosedPipeSafe):
        sys.stdout = _ClosedPipeSafe(sys.stdout)
    try:
        cli.main(standalone_mode=False)
    except EmbedevalError as err:
        if not _from_torchrun_process(str(err)):
            err_console.print(f"[bold red]error[/]: {markup_safe(err)}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except OSError as err:  # a file that vanished, a full disk, a name too long: one line, not a traceback
        where = f"{printable(err.filename)}: " if err.filename else ""
        err_console.print(
            f"[bold red]error[/]: {markup_safe(where)}"
            + ("the disk is full" if err.errno == errno.ENOSPC else markup_safe(err.strerror or err)),
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(2)
    except MemoryError:
        err_console.print("[bold red]error[/]: out of memory; use smaller inputs or settings", highlight=False)
        sys.exit(2)
    except click.exceptions.Abort as err:
        # click turns KeyboardInterrupt into Abort; trainers put "checkpoint saved ..." in the interrupt
        cause = str(err.__context__ or "")
        err_console.print(f"interrupted: {markup_safe(cause)}" if cause else "interrupted", highlight=False)
        sys.exit(130)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except KeyboardInterrupt as err:
        # trainers raise KeyboardInterrupt("SIGTERM: checkpoint saved; continue with --resume")
        err_console.print(f"interrupted: {markup_safe(err)}" if str(err) else "interrupted", highlight=False)
        sys.exit(130)
    except RuntimeError as err:  # after click's Abort, which is a RuntimeError too
        # torch's allocator failing mid-step (CPU: "can't allocate memory"; CUDA: OutOfMemoryError): a trainer keeps
        # its last checkpoint, so say what ran out and how to shrink the step, without a traceback
        if type(err).__name__ != "OutOfMemoryError" and "can't allocate memory" not in str(err):
            raise
        err_console.print(
            "[bold red]error[/]: out of memory in a training or evaluation step; use a smaller --batch-size, "
            "--bptt or model (a run stopped here keeps its last checkpoint)",
            highlight=False,
        )
        sys.exit(2)


if __name__ == "__main__":
    main()

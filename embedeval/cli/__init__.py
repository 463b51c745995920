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
from embedeval.cli.options import BENCHMARK_OPTION, DATA_DIR_OPTION, FORMAT_OPTION, OOV_OPTION
from embedeval.cli.reproduce import reproduce_cmd
from embedeval.cli.track import plot_dynamics_cmd, track_cmd
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


@cli.command("eval")
@click.argument("embeddings", nargs=-1, type=click.Path())
@BENCHMARK_OPTION
@OOV_OPTION
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write results as JSON.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="Write results as CSV.")
@click.option(
    "--pairs-csv",
    type=click.Path(dir_okay=False),
    help="Write every benchmark pair: words, gold, each embedding's cosine, and whether it was scored.",
)
@click.option(
    "--tests-csv", type=click.Path(dir_okay=False), help="Write the pairwise tests (Williams, bootstrap, Holm) as CSV."
)
@FORMAT_OPTION
@click.option("--sum", "add_sum", is_flag=True, help="Also score U+V for sources that hold input and output.")
@click.option(
    "--pieces",
    type=click.Choice(["single", "first", "last", "mean", "average"]),
    default="single",
    show_default=True,
    help="Subword models (pretrained model folders, translation runs): a word is covered when it is one piece "
    "(single), or also when it is several: its first or last piece, or the mean of their rows (mean; 'average' "
    "is the same for translation runs). The policy and its coverage go into the results.",
)
@click.option(
    "--bootstrap",
    "n_bootstrap",
    type=click.IntRange(0, 20_000),
    default=1000,
    show_default=True,
    help="Bootstrap resamples for CIs and paired tests (0: Fisher-z CIs only).",
)
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True, help="Seed of the bootstrap.")
@click.option("--no-intersect", is_flag=True, help="Score each embedding on its own covered pairs (or questions).")
@click.option(
    "--analogy-vocab",
    type=click.IntRange(1, 100_000_000),
    default=300_000,
    show_default=True,
    help="Analogies: search the answer among this many most frequent words (an embedding's first rows), and count "
    "a question only when its four words are among them (gensim's restrict_vocab).",
)
@click.option(
    "--analogy-method",
    type=click.Choice(["add", "mul"]),
    default="add",
    show_default=True,
    help="Analogies: 3CosAdd (add) or 3CosMul (mul, Levy & Goldberg 2014).",
)
@click.option(
    "--geometry",
    "with_geometry",
    is_flag=True,
    help="Also measure each embedding's shape: anisotropy (mean cosine of random pairs), isotropy I(W), effective "
    "rank, first-PC variance share, mean norm, norm vs frequency rank (docs/methods.md).",
)
@click.option("--case-sensitive", is_flag=True, help="Match words exactly instead of case-folded.")
@click.option("--lenient", is_flag=True, help="Skip (and count) malformed benchmark lines instead of stopping.")
@click.option(
    "--cache/--no-cache",
    default=None,
    help="Keep a memory-mappable copy of large text files (default: for files over 64 MB).",
)
@click.option(
    "--export",
    type=click.Choice(["word2vec", "word2vec-binary", "glove", "npz", "safetensors"]),
    default=None,
    help="Also write every evaluated embedding in this format (see --export-dir).",
)
@click.option("--export-dir", type=click.Path(file_okay=False), default="exported", show_default=True)
@DATA_DIR_OPTION
def eval_cmd(
    embeddings,
    benchmarks,
    oov,
    json_path,
    csv_path,
    pairs_csv,
    tests_csv,
    fmt,
    add_sum,
    pieces,
    n_bootstrap,
    seed,
    no_intersect,
    analogy_vocab,
    analogy_method,
    with_geometry,
    case_sensitive,
    lenient,
    cache,
    export,
    export_dir,
    data_dir,
) -> None:
    """Score EMBEDDINGS (files or run directories) on word-similarity benchmarks.

    Prints one row per benchmark and one column per embedding: Spearman's rho with its 95% CI and the
    pairs used out of the total. With several embeddings they are scored on identical pairs, compared
    pairwise (Williams' t and paired bootstrap, Holm-corrected) and correlated with each other (P&W
    Table 3). With no EMBEDDINGS, a built-in example is trained and scored: gensim SGNS input (U) and
    output (V) embeddings on the Lee news corpus that ships with gensim.
    """
    from embedeval.data.registry import choose_benchmarks, load_benchmarks
    from embedeval.embeddings import load
    from embedeval.embeddings.formats import write
    from embedeval.evaluate import evaluate
    from embedeval.evaluate.output import write_csv, write_json, write_pairs_csv, write_tests_csv
    from embedeval.evaluate.table import print_evaluation
    from embedeval.files import check_output_files

    outputs = {"--json": json_path, "--csv": csv_path, "--pairs-csv": pairs_csv, "--tests-csv": tests_csv}
    read = tuple(embeddings) + tuple(b for b in benchmarks if Path(b).exists())
    check_output_files(outputs, read)  # before any work: an output must never replace an input or another output
    if list(outputs.values()).count("-") > 1:
        raise EmbedevalError("only one of --json, --csv, --pairs-csv and --tests-csv can be - (standard output)")
    # with a result on standard output, the table and messages go to stderr so that `--json - | jq .` works
    out = err_console if any(_is_stdout(v) for v in outputs.values()) else console
    names, notes = choose_benchmarks(list(benchmarks) or None, data_dir)
    from embedeval.data.registry import is_analogy, load_analogy_set

    analogy_sets = [load_analogy_set(n, data_dir) for n in names if is_analogy(n)]
    names = [n for n in names if not is_analogy(n)]
    if not names and any((csv_path, pairs_csv, tests_csv)):
        raise EmbedevalError("--csv, --pairs-csv and --tests-csv hold word-pair results: add a similarity benchmark")
    benches = load_benchmarks(names, data_dir, lenient) if names else []
    embs = []
    if not embeddings:
        from embedeval.examples import example_embeddings

        with out.status("training the built-in example (gensim SGNS on the Lee corpus)..."):
            embs = example_embeddings()
        out.print(
            "[dim]built-in example: SGNS U (input) and V (output) trained by gensim on the Lee news "
            "corpus shipped with gensim; real results need PTB or WikiText-2[/]"
        )
    from embedeval.embeddings.pretrained import is_model_dir, load_pretrained

    for path in embeddings:
        with out.status(f"loading {markup_safe(path)}..."):
            if Path(path).is_dir() and is_model_dir(path):
                words = sorted({w for b in benches for w in (*b.words1, *b.words2)})
                words += sorted({w for a in analogy_sets for q in a.questions for w in q} - set(words))
                policy = "mean" if pieces == "average" else pieces
                found = load_pretrained(path, words or None, policy)
                for note in found[0].meta["pretrained"]["notes"]:
                    err_console.print(f"[yellow]warning[/]: {markup_safe(path)}: {markup_safe(note)}", highlight=False)
            else:
                found = load(path, fmt, cache)
        unfinished = _unfinished(path)
        if unfinished:
            err_console.print(f"[yellow]note[/]: {markup_safe(path)}: {markup_safe(unfinished)}", highlight=False)
        for emb in found:
            if "no_output" in emb.meta:
                err_console.print(
                    f"[yellow]note[/]: {markup_safe(path)}: no output embedding ({emb.meta['no_output']})"
                )
        if pieces in ("average", "mean") and Path(path).is_dir() and (Path(path) / "subwords").is_dir():
            from embedeval.embeddings.runs import average_pieces

            words = [w for b in benches for w in (*b.words1, *b.words2)]
            found = [average_pieces(e, words) for e in found]
            for e in found:
                if e.meta.get("averaged"):
                    err_console.print(f"[yellow]note[/]: {markup_safe(e.name)}: {e.meta['averaged']} benchmark words "
                                      "are the mean of several subword pieces (--pieces average)")  # fmt: skip
        embs.extend(found)
    for note in notes:  # after the inputs loaded: a bad file is then one line, not notes and then the error
        err_console.print(f"[yellow]note[/]: {markup_safe(note)}", highlight=False)
    if add_sum:
        embs.extend(_sums(embs))
    ev = aev = None
    if benches:
        with out.status(f"scoring {len(embs)} embedding(s) on {len(benches)} benchmark(s)..."):
            ev = evaluate(
                embs,
                benches,
                oov=oov,
                intersect=not no_intersect,
                n_bootstrap=n_bootstrap,
                seed=seed,
                fold_case=not case_sensitive,
            )
    if analogy_sets:
        from embedeval.evaluate.analogy import evaluate_analogies

        with out.status(f"answering analogies with {len(embs)} embedding(s)..."):
            aev = evaluate_analogies(embs, analogy_sets, analogy_method, analogy_vocab, not case_sensitive,
                                     intersect=not no_intersect)  # fmt: skip
    exports = {}
    if export:
        ext = {
            "word2vec": ".txt",
            "word2vec-binary": ".bin",
            "glove": ".glove.txt",
            "npz": ".npz",
            "safetensors": ".safetensors",
        }[export]
        for emb in embs:
            target = Path(export_dir) / (emb.name.replace(":", "_").replace("/", "_") + ext)
            exports[f"--export of {emb.name}"] = target
        check_output_files({**outputs, **exports}, read)  # export names are known only now: before writing any
    if ev is not None:
        print_evaluation(ev, out)
    if aev is not None:
        from embedeval.evaluate.table import print_analogies

        print_analogies(aev, out)
    shapes = None
    if with_geometry:
        from embedeval.evaluate.geometry import geometry
        from embedeval.evaluate.table import print_geometry

        with out.status("measuring the embeddings' geometry..."):
            shapes = [geometry(e, seed=seed) for e in embs]
        print_geometry(shapes, out)
    for path, writer in (
        (json_path, lambda _, target: write_json(ev, target, aev, shapes, _model_cards(embs))),
        (csv_path, write_csv),
        (pairs_csv, write_pairs_csv),
        (tests_csv, write_tests_csv),
    ):
        if path:
            written = writer(ev, path)
            if str(written) != "-":
                out.print(f"wrote {markup_safe(written)}")
    for emb, target in zip(embs, exports.values()):
        out.print(f"wrote {markup_safe(write(emb, target, export))}")


def _is_stdout(value: str | None) -> bool:
    """``-``, or a path that is standard output itself (``/dev/stdout``, ``/proc/self/fd/1``)."""
    import os

    if value is None:
        return False
    if value == "-":
        return True
    try:
        here, there = os.fstat(sys.stdout.fileno()), os.stat(value)
    except (OSError, ValueError, AttributeError):
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _model_cards(embs: list) -> list[dict] | None:
    """The card of each pretrained model among the inputs (family, vocabulary, tying, pieces policy), or None."""
    cards = {e.source: e.meta["pretrained"] for e in embs if "pretrained" in e.meta}
    return list(cards.values()) or None


def _unfinished(path: str) -> str | None:
    """Why a run folder's embeddings are not those of a finished run, or None (a file, or a finished run)."""
    from embedeval.embeddings.pretrained import is_model_dir
    from embedeval.layout import SUMMARY, TRACK
    from embedeval.rundir import read_run_file

    folder = Path(path)
    if not folder.is_dir() or is_model_dir(folder):
        return None
    if (folder / TRACK).is_file():  # a tracked pair: finished when it wrote its summary
        return None if (folder / SUMMARY).is_file() else "the tracked pair has not finished (no summary.json)"
    summary = read_run_file(folder / SUMMARY) or {}
    status = summary.get("status")
    if status == "complete":
        return None
    why = f" ({summary['error']})" if "error" in summary else ""
    return (
        f"training has not finished (status {status or 'unknown'}{why}): these embeddings are from its last "
        "checkpoint; continue it with 'embedeval train ... --resume'"
    )


def _sums(embs: list) -> list:
    from embedeval.embeddings import input_plus_output

    by_source: dict[str, list] = {}
    for emb in embs:
        # a run directory's U and V come from two files (input.npz, output.npz): group them by run
        by_source.setdefault(emb.run or emb.source, []).append(emb)
    sums = []
    for group in by_source.values():
        first_input = next((e for e in group if e.role == "input"), None)
        if first_input is not None:
            base = Path(first_input.run).name if first_input.run else Path(first_input.source).stem
            total = input_plus_output(group, f"{base}:sum")
            if total is not None:
                sums.append(total)
    return sums


@cli.group("train")
def train_group() -> None:
    """Train models that export their input, output and tied embeddings into a run directory."""


train_group.add_command(train_lm_cmd)
train_group.add_command(train_nmt_cmd)
train_group.add_command(train_skipgram_cmd)
cli.add_command(track_cmd)
cli.add_command(plot_dynamics_cmd)
cli.add_command(compare_cmd)
cli.add_command(reproduce_cmd)


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

"""``embedeval compare``: the command-line face of :mod:`embedeval.report`."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from embedeval.cli.options import (
    BENCHMARK_OPTION,
    DATA_DIR_OPTION,
    FORMAT_OPTION,
    OOV_OPTION,
    PIECES_OPTION,
    REVISION_OPTION,
    TASK_OPTION,
    THREADS_OPTION,
    TOKEN_CORPUS_OPTION,
)
from embedeval.cli.types import number
from embedeval.ranges import Range

MAX_BOOTSTRAP = 20_000  # the resample matrix is (resamples x pairs) floats: 20k x 3k pairs is 0.5 GB


@click.command("compare")
@click.argument("inputs", nargs=-1, type=click.Path(), metavar="[RUN_DIR|TRACK_DIR|EMBEDDING]...")
@BENCHMARK_OPTION
@click.option("--out", type=click.Path(file_okay=False), default="report", show_default=True, help="Report folder.")
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace --out when it is a report folder embedeval wrote (any other folder is refused); the old report is "
    "removed only once the new one is ready (or, for the built-in default, once its training starts).",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Built-in default: keep the pairs already trained in --out/runs, continue an interrupted one from its "
    "checkpoint, then write the report.",
)
@OOV_OPTION
@click.option(
    "--bootstrap",
    "n_bootstrap",
    type=number(Range(int, 0, MAX_BOOTSTRAP)),
    default=1000,
    show_default=True,
    help="Bootstrap resamples for CIs and paired tests (0: Fisher-z CIs, Williams only).",
)
@click.option(
    "--seed", type=number(Range(int, 0, 2**32 - 1)), default=0, show_default=True, help="Seed of the bootstrap."
)
@click.option(
    "--alpha",
    type=number(Range(float, 0, 0.5, low_open=True)),
    default=0.05,
    show_default=True,
    help="Significance level (after Holm).",
)
@click.option("--no-sum", is_flag=True, help="Do not add U+V for sources holding both embeddings.")
@PIECES_OPTION
@click.option(
    "--no-intersect",
    is_flag=True,
    help="Score each embedding on its own covered pairs (default: all on the pairs every one covers, so they are "
    "comparable and tested).",
)
@click.option("--title", default=None, help="Report title.")
@THREADS_OPTION
@click.option("--no-geometry", is_flag=True, help="Leave the geometry task out (it reads each model's whole matrix).")
@TASK_OPTION
@TOKEN_CORPUS_OPTION
@REVISION_OPTION
@FORMAT_OPTION
@DATA_DIR_OPTION
def compare_cmd(
    inputs, out, overwrite, resume, no_sum, no_intersect, title, threads, no_geometry, tasks, token_corpus, **options
) -> None:
    """Score and compare embeddings of runs, tracked pairs and files; write REPORT_DIR/index.html (one
    self-contained page), results.json, results.csv, pairs.csv (every benchmark pair with each embedding's cosine)
    and tests.csv (the pairwise tests), and print the main table.

    \b
    With no inputs, the built-in default runs first (no data needed; its cost: benchmarks/bench_main_job.py):
    SGNS and an LSTM language model, each untied and tied, trained on the Lee corpus that ships
    with gensim, with the dynamics of the tied matrix tracked; their runs land in REPORT_DIR/runs.

    \b
    Examples:
      embedeval compare                                   the built-in default
      embedeval compare runs/ptb-untied runs/ptb-wt --out reports/ptb
      embedeval compare runs/track-ptb vectors.txt -b simlex999 -b men
    """
    from embedeval.cli.console import err_console
    from embedeval.report.html import prepare_report_dir
    from embedeval.threads import use_threads

    threads = use_threads(threads)

    err = err_console
    paths = [Path(p) for p in inputs]
    # refused early, before minutes of training: an --out inside an input, or holding one --overwrite would delete
    if resume:
        from embedeval.errors import EmbedevalError
        from embedeval.files import kind_of

        if paths:
            raise EmbedevalError(
                "--resume continues the built-in default (no inputs); give no inputs, or drop --resume"
            )
        if overwrite:
            raise EmbedevalError("--resume keeps what --out holds and --overwrite replaces it: give one of them")
        if kind_of(out) != "report" or not (Path(out) / "runs").is_dir():
            raise EmbedevalError("nothing to resume: --out is not a built-in default report with runs/ inside", out)
    from embedeval.report.build import CompareSettings

    fmt = options.pop("fmt")
    options["benchmarks"] = list(options["benchmarks"]) or None
    tasks = (*tasks, *(("tokens",) if token_corpus else ()))
    settings = CompareSettings(**options, add_sum=not no_sum, title=title, intersect=not no_intersect,
                               geometry=not no_geometry, tasks=tuple(tasks),
                               task_options={"tokens": {"corpus": token_corpus}} if token_corpus else {})  # fmt: skip
    settings.pipeline()  # every setting checked before any work
    inputs_read = tuple(_located(p, settings.revision) for p in paths)
    inputs_read += tuple(b for b in settings.benchmarks or () if Path(b).exists())
    claim = prepare_report_dir(out, overwrite, inputs=inputs_read, exist_ok=resume)
    with claim:
        _compare(claim, paths, settings, threads, fmt, err, resume)


def _located(path: Path, revision: str | None) -> Path:
    """The path an input is read from (a cached hub model's snapshot folder), so --out can never land in it."""
    from embedeval.embeddings.readers import identify
    from embedeval.errors import EmbedevalError

    try:
        return identify(path, revision).path
    except EmbedevalError:
        return path  # reading it will say what is wrong


def _compare(claim, paths, settings, threads, fmt, err, resume=False):
    from embedeval.cli.console import console
    from embedeval.cli.progress import progress_bar, say
    from embedeval.errors import markup_safe
    from embedeval.evaluate.table import embeddings_table
    from embedeval.pipeline import Inputs, read_inputs, score
    from embedeval.report.build import report_from
    from embedeval.report.html import write_report
    from embedeval.report.summary import glossary

    pipeline = settings.pipeline()
    pipeline.fmt = fmt
    found = read_inputs([], pipeline, need_similarity=True)  # the benchmarks, before any training
    started = time.perf_counter()
    stages = 5 if not paths else 3
    done = [0]
    title_default = None

    def stage(text: str) -> None:  # one line per stage, so a log shows where the time went
        done[0] += 1
        say(f"[{done[0]}/{stages}] {text}  ({time.perf_counter() - started:.0f} s)", err)

    if not paths:
        out_dir = claim.publish()  # the inputs are good and training starts: the new report takes the old one's place
        from embedeval.report.default import run_default

        err.print(
            "[bold]built-in default[/]: SGNS and an LSTM LM, untied and tied, on the Lee corpus (ships with gensim); "
            f"runs -> {out_dir / 'runs'}"
        )
        from embedeval.cli.progress import lm_progress

        bar = progress_bar("step")  # no empty bar before work
        lm_bar = lm_progress(bar, "LSTM pair, epoch")

        seen: set[str] = set()

        def progress(which: str, record: dict) -> None:
            if which not in seen:
                seen.add(which)
                stage(
                    "training and tracking the SGNS pair" if which == "sgns" else "training and tracking the LSTM pair"
                )
            if which == "lm":
                lm_bar(record)
                return
            bar.total, bar.n = 100, int(record["fraction"] * 100)
            bar.set_description(f"SGNS pair, epoch {record['epoch']}/{record['epochs']}")
            bar.refresh()

        paths = run_default(out_dir / "runs", threads=threads, progress=progress, resume=resume)
        bar.close()
        title_default = "embedeval built-in default: SGNS and LSTM LM, untied vs tied, on the Lee corpus"
    stage("reading the inputs")
    with console.status("reading the inputs..."):
        inputs = read_inputs(paths, pipeline, need_similarity=True)
    inputs = Inputs(inputs.sources, found.benchmarks, found.analogy_sets, inputs.notes)  # notes of the real inputs
    settings.benchmarks = [b.name for b in found.benchmarks]  # as chosen (the default set: those found)
    if settings.title is None and title_default is not None:
        settings.title = title_default
    n = len(inputs.sources.embeddings)
    stage(f"scoring {n} embeddings on {len(inputs.benchmarks)} benchmarks: tests, tasks and figures")
    with console.status(f"scoring {n} embeddings on {len(inputs.benchmarks)} benchmarks, tests and figures..."):
        results = score(inputs, pipeline, say=lambda text: say(f"  {text}", err))
        report = report_from(results, settings, " ".join(["embedeval", *sys.argv[1:]]))
    console.print(embeddings_table(report.evaluation))
    for w in report.warnings:
        err.print(f"[yellow]note[/]: {markup_safe(w)}", highlight=False)
    console.print("[bold]Summary[/]")
    for line in report.summary:
        console.print(f"• {markup_safe(line)}", highlight=False)
    for gloss in glossary(report.summary):
        console.print(f"[dim]  {markup_safe(gloss)}[/]", highlight=False)
    stage("writing the report")
    written = write_report(report, claim)
    names = ", ".join(path.name for key, path in written.items() if key != "html")
    console.print(markup_safe(f"wrote {written['html']}, {names}"))

"""``embedeval train skipgram``: the command-line face of :mod:`embedeval.train.skipgram`."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import click

from embedeval.cli.console import err_console
from embedeval.cli.options import DATA_DIR_OPTION
from embedeval.cli.types import number
from embedeval.errors import markup_safe
from embedeval.ranges import Range
from embedeval.train.skipgram_config import SKIPGRAM_RANGES as R
from embedeval.train.skipgram_config import SkipGramConfig

console = err_console


@click.command("skipgram")
@click.option(
    "--corpus",
    required=True,
    metavar="ptb|wikitext-2|builtin|PATH",
    help="Corpus name (from the data directory), 'builtin' (gensim's Lee corpus) or a text file.",
)
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Run directory to write.")
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace --out when it is a run directory embedeval wrote (any other folder is refused); the old run is "
    "removed only once the new one has started.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="torch backend: continue the run in --out from its checkpoint (written every epoch and on SIGINT/SIGTERM).",
)
@click.option("--backend", type=click.Choice(["gensim", "torch"]), default="gensim", show_default=True)
@click.option(
    "--model",
    type=click.Choice(["word2vec", "fasttext"]),
    default="word2vec",
    show_default=True,
    help="fasttext: gensim FastText (input vectors with subwords folded in).",
)
@click.option("--tie", is_flag=True, help="One matrix as both U and V (torch backend).")
@click.option("--dim", type=number(R["dim"]), default=100, show_default=True)
@click.option("--window", type=number(R["window"]), default=5, show_default=True)
@click.option("--negative", type=number(R["negative"]), default=5, show_default=True)
@click.option("--min-count", type=number(R["min_count"]), default=5, show_default=True)
@click.option("--epochs", type=number(R["epochs"]), default=5, show_default=True)
@click.option("--sample", type=number(R["sample"]), default=1e-3, show_default=True, help="Subsampling threshold.")
@click.option("--alpha", type=number(R["alpha"]), default=0.025, show_default=True, help="Initial learning rate.")
@click.option(
    "--min-alpha", type=number(R["min_alpha"]), default=0.0001, show_default=True, help="Final learning rate."
)
@click.option(
    "--seed",
    type=number(R["seed"]),
    default=1,
    show_default=True,
    help="Seed. The torch backend is bit-exact for a seed; gensim is only with --workers 1 (its threads race).",
)
@click.option(
    "--workers",
    type=number(R["workers"]),
    default=2,
    show_default=True,
    help="gensim workers / torch threads (one stream of updates; on several cores the torch backend's --parallel N "
    "was faster in 9 of 11 measured rounds: docs/performance.md).",
)
@click.option(
    "--train-fraction",
    type=number(R["train_fraction"]),
    default=1.0,
    show_default=True,
    help="Train on the first FRACTION of the corpus's training tokens (a contiguous prefix; the vocabulary, with "
    "--min-count, is the prefix's own).",
)
@click.option(
    "--parallel",
    type=number(R["parallel"]),
    default=1,
    show_default=True,
    help="torch backend: threads that each train a slice of every 200,000-token chunk (the first on U and V, the "
    "others on copies of the rows they touch), their updates summed at the chunk's end, while one more thread draws "
    "the next chunk (bit-exact for a seed and this number; other numbers than 1 change the result, and there is no "
    "gradient tap to --track); its speed is measured in docs/performance.md.",
)
@click.option(
    "--batch-size",
    type=number(R["batch_size"]),
    default=SkipGramConfig.batch_size,
    show_default=True,
    help="Center words per update (torch backend): each brings its window's context words and K negatives they "
    "share (HogBatch).",
)
@DATA_DIR_OPTION
@click.option(
    "--track", is_flag=True, help="torch backend: record gradient split, drift and scores into RUN_DIR/dynamics.jsonl."
)
@click.option(
    "--track-every",
    type=number(Range(int, 0)),
    default=0,
    help="Steps between --track records (default: ~40 per run).",
)
def train_skipgram_cmd(corpus, out, overwrite, resume, data_dir, track, track_every, **options) -> None:
    """Train skip-gram with negative sampling and export U (input) and V (output), or the tied S.

    SGNS trains on one machine: gensim's worker threads, or the torch backend on one device (no torchrun).
    """
    from embedeval.data.corpus import resolve_corpus
    from embedeval.errors import EmbedevalError
    from embedeval.train.run import prepared_run
    from embedeval.train.skipgram_config import SkipGramConfig

    cfg = SkipGramConfig(**options)
    cfg.validate()
    if track and cfg.backend != "torch":
        raise EmbedevalError("--track needs --backend torch: gensim does not expose its gradients")
    if track and cfg.parallel > 1:
        raise EmbedevalError("--parallel trains slices of each chunk on copies of U and V, so there is no one stream of "
                             "updates to track; track with --parallel 1")  # fmt: skip
    if resume and cfg.backend != "torch":
        raise EmbedevalError("--resume is for --backend torch: gensim trains in one call (start it again)")
    source = resolve_corpus(corpus, data_dir)
    if resume:
        from embedeval.layout import CHECKPOINT

        if not (Path(out) / CHECKPOINT).is_file():
            from embedeval.files import no_checkpoint_error

            raise no_checkpoint_error(out)
    # a refused resume says only why: the checks come before anything is printed
    with prepared_run(cfg, out, corpus=source, resume=resume, overwrite=overwrite, argv=sys.argv) as run:
        _train(run, cfg, source, out, track, track_every, resume)


def _train(run, cfg, source, out, track, track_every, resume=False) -> None:
    from embedeval.cli.progress import progress_bar
    from embedeval.train.skipgram import train_skipgram

    if resume:
        from embedeval.layout import METRICS
        from embedeval.rundir import read_metrics

        done = len(read_metrics(run.path / METRICS)[0])
        console.print(f"resuming {markup_safe(run.path)} after epoch {done} of {cfg.epochs}")
    console.print(
        f"training SGNS ({cfg.backend}{', tied' if cfg.tie else ''}) on {markup_safe(source.name)} -> "
        f"{markup_safe(out)}"
    )
    bar = progress_bar("%", total=100, bar_format="{l_bar}{bar}| {elapsed}<{remaining}{postfix}")

    def progress(record: dict) -> None:
        bar.n = round(100 * record.get("fraction", record["epoch"] / cfg.epochs), 1)
        bar.set_description(f"epoch {record['epoch']}/{cfg.epochs}")
        bar.set_postfix(words_s=f"{record['words_per_s']:,.0f}")
        bar.refresh()

    try:
        hooks = None
        if track:
            from embedeval.dynamics.tracker import run_tracker

            hooks = run_tracker("skipgram", run, source, cfg, track_every)
        summary = train_skipgram(cfg, source, run, progress=progress, resume=resume, hooks=hooks)
    except KeyboardInterrupt as stop:
        bar.close()
        if cfg.backend == "torch":  # the trainer checkpointed where it stood
            raise
        run.summary("incomplete", interrupted="SIGINT")
        raise KeyboardInterrupt(
            f"{stop or 'SIGINT'}: finished epochs are kept in the run directory, marked incomplete"
        ) from None
    bar.close()
    speed = (
        f"{summary['words_per_s']:,.0f} words/s"
        if summary.get("words_per_s")
        else "nothing left to train: the run had finished all its epochs (give more --epochs to extend it)"
    )
    console.print(
        f"[bold]{summary['words']:,} words, {summary['trained_tokens']:,} tokens trained per epoch, {speed}[/] -> "
        f"{markup_safe(run.path)}  (score it: embedeval eval {markup_safe(run.path)})"
    )


def track_pair(given, tcfg) -> dict:
    """``embedeval track --trainer skipgram``: untied vs tied SGNS (torch backend) in lockstep."""
    from embedeval.cli.options import needs_corpus
    from embedeval.cli.progress import progress_bar
    from embedeval.dynamics.tracker import track

    source = needs_corpus(given, "skipgram")
    cfg = SkipGramConfig(backend="torch", dim=given.dim, min_count=given.min_count, seed=given.seed,
                         workers=given.threads or 2)  # fmt: skip
    if given.epochs:
        cfg.epochs = given.epochs
    cfg.validate()
    bar = progress_bar("step")

    def progress(record: dict) -> None:
        bar.total = 100
        bar.n = int(record["fraction"] * 100)
        bar.set_description(f"epoch {record['epoch']}/{record['epochs']}")
        bar.set_postfix(words_s=f"{record['words_per_s']:,.0f}")
        bar.refresh()

    console.print(
        f"{'resuming the tracking of' if given.resume else 'tracking'} SGNS untied vs tied (torch) on {markup_safe(source.name)} -> {markup_safe(given.out)}"
    )
    untied_cfg, tied_cfg = (dataclasses.replace(cfg, tie=tie) for tie in (False, True))
    summary = track(
        untied_cfg, tied_cfg, source, given.out, tcfg, given.overwrite, given.resume, progress, argv=sys.argv
    )
    bar.close()
    return summary

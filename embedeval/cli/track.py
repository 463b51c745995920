"""``embedeval track`` and ``embedeval plot-dynamics``: the command-line face of :mod:`embedeval.dynamics`."""

from __future__ import annotations

import click

from embedeval import trainers
from embedeval.cli.console import err_console
from embedeval.cli.options import DATA_DIR_OPTION, THREADS_OPTION, arch_help, arch_params, arch_setting_options
from embedeval.cli.types import number
from embedeval.errors import markup_safe
from embedeval.ranges import Range, positive_int
from embedeval.train.lm_config import ARCHS

# each family's `track` starter: "module:function" (the command's options, TrackConfig) -> summary
TRACK_COMMANDS = {
    "lm": "embedeval.cli.train_lm:track_pair",
    "nmt": "embedeval.cli.train_nmt:track_pair",
    "skipgram": "embedeval.cli.train_skipgram:track_pair",
}

console = err_console
# the LM pairs whose two runs start from the same U (re and real drop the output bias, which changes the draws
# that follow it at initialisation, so they have no untied twin to track against)
PAIRS_LM = ["untied/wt", "pr/wt+pr"]


def _options_for() -> dict[str, tuple[str, ...]]:
    """Options that mean something for some trainers only (each family lists its own in the registry): set for
    another, they are refused rather than ignored."""
    found: dict[str, tuple[str, ...]] = {}
    for spec in trainers.specs():
        own = [name for name, option in arch_params() if any(option in a.options for a in trainers.archs(spec.name))]
        for option in (*spec.track_options, *own):
            found[option] = (*found.get(option, ()), spec.name)
    return found


def _refuse_options_for_other_trainers(trainer: str) -> None:
    from embedeval.errors import EmbedevalError

    ctx = click.get_current_context()
    options_for = _options_for()
    for param in ctx.command.params:
        families = options_for.get(param.name or "")
        if (
            families
            and trainer not in families
            and ctx.get_parameter_source(param.name)
            not in (
                click.core.ParameterSource.DEFAULT,
                None,
            )
        ):
            flag = max(param.opts, key=len)
            raise EmbedevalError(f"{flag} is for --trainer {' or '.join(families)}, not {trainer}; leave it out")


@click.command("track")
@click.option(
    "--trainer",
    type=click.Choice(trainers.names()),
    default=trainers.names()[0],
    show_default=True,
    help="nmt: a translation pair, tie none vs tie decoder, on Multi30k (--src/--tgt; config nmt-small by default).",
)
@click.option(
    "--corpus",
    default=None,
    metavar="ptb|wikitext-2|builtin|PATH",
    help="Corpus name or text file/folder (lm, skipgram); nmt reads Multi30k.",
)
@click.option(
    "--src",
    default="de",
    show_default=True,
    help="nmt: source language. The default pair is de->en so the decoder's U, V and S hold English words that the "
    "similarity benchmarks can score.",
)
@click.option("--tgt", default="en", show_default=True, help="nmt: target language.")
@click.option("--arch", type=click.Choice(ARCHS), default=None, help="LM architecture. " + arch_help())
@arch_setting_options
@click.option(
    "--config",
    "config_name",
    default=None,
    help="LM config, by default the architecture's own ("
    + ", ".join(f"{a.name}: {a.default_config}" for a in trainers.archs())
    + "; any of train lm's --config), or for nmt nmt-tiny, nmt-small (default), nmt-base.",
)
@click.option(
    "--pair",
    type=click.Choice(PAIRS_LM),
    default=PAIRS_LM[0],
    show_default=True,
    help="LM variants of the pair, untied/tied: a tied variant and the untied one it is the tied form of, both "
    "starting from the same U.",
)
@click.option(
    "--every",
    type=number(Range(int, 0)),
    default=0,
    help="Steps between records; 0 (the default) picks about 40 records per run.",
)
@click.option(
    "--grad-every",
    type=number(Range(int, 0)),
    default=0,
    help="Measure the gradient split on every n-th step (default: LM 4, SGNS 25).",
)
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Track directory to write.")
@click.option(
    "--overwrite", is_flag=True, help="Replace --out when it is a track directory embedeval wrote (others are refused)."
)
@click.option("--resume", is_flag=True, help="Continue an interrupted pair from its checkpoints.")
@click.option("--epochs", type=number(positive_int(100_000)), default=None, help="Override the number of epochs.")
@click.option(
    "--max-batches", type=number(positive_int()), default=None, help="lm, nmt: cut every epoch after this many batches."
)
@THREADS_OPTION
@click.option("--seed", type=number(Range(int, 0, 2**32 - 1)), default=1, show_default=True)
@click.option(
    "--dim",
    type=number(positive_int(100_000)),
    default=100,
    show_default=True,
    help="skipgram: dimension (as train skipgram).",
)
@click.option(
    "--min-count", type=number(positive_int()), default=5, show_default=True, help="skipgram: vocabulary threshold."
)
@click.option("--no-geometry", is_flag=True, help="Skip CKA and k-NN overlap (faster records).")
@click.option("--plot/--no-plot", default=True, show_default=True, help="Draw the figures at the end.")
@DATA_DIR_OPTION
def track_cmd(
    trainer, corpus, src, tgt, arch, config_name, pair, every, grad_every, out, overwrite, resume, epochs, max_batches, threads,
    seed, dim, min_count, no_geometry, plot, data_dir, **arch_settings,
) -> None:  # fmt: skip
    """Train a tied and an untied run in lockstep (same seed, same initial U, same batches) and record, every
    N steps, how the tied S moves relative to U and V: Table-3 correlation, CKA, 10-NN overlap, the gradient
    split G = G_in + G_out, update alignment cos(dS, dU) / cos(dS, dV), drift and benchmark scores, overall
    and per frequency bucket, into DIR/dynamics.jsonl (figures in DIR/figures)."""
    from types import SimpleNamespace

    from embedeval.dynamics.tracker import TrackConfig
    from embedeval.threads import use_threads

    threads = use_threads(threads)
    _refuse_options_for_other_trainers(trainer)
    tcfg = TrackConfig(every=every, grad_every=grad_every, geometry=not no_geometry)
    given = SimpleNamespace(
        corpus=corpus, src=src, tgt=tgt, arch=arch, config_name=config_name, pair=pair, out=out, overwrite=overwrite,
        resume=resume, epochs=epochs, max_batches=max_batches, threads=threads, seed=seed, dim=dim,
        min_count=min_count, data_dir=data_dir, arch_settings=arch_settings,
    )  # fmt: skip
    # each family starts its pair from these options in its own command module
    summary = trainers.load_function(TRACK_COMMANDS[trainer])(given, tcfg)
    _finish(summary, out, plot)


def _finish(summary: dict, out: str, plot: bool) -> None:
    from embedeval.dynamics.plots import plot_dynamics

    console.print(
        f"[bold]{summary['steps']:,} steps, a record every {summary['every']:,}[/] -> {markup_safe(out)}/dynamics.jsonl"
    )
    _print_digest(out)
    if plot:
        paths = plot_dynamics(out)
        console.print(f"figures: {markup_safe(', '.join(str(p) for p in paths if p.suffix == '.png'))}")


def _print_digest(folder: str) -> None:
    """The digest as terminal tables (the same numbers as ``digest_markdown``)."""
    from rich.table import Table

    from embedeval.dynamics.digest import PAIRS, digest
    from embedeval.dynamics.records import read_dynamics

    d = digest(read_dynamics(folder))
    if not d["records"]:
        return

    def fmt(value: float | None, digits: int = 3) -> str:
        return "—" if value is None else f"{value:.{digits}f}"

    end = Table(title=f"where S ended up (step {d['step']:,})", title_justify="left")
    end.add_column("measure")
    for pair in PAIRS:
        end.add_column(pair, justify="right")
    for key, name in (("corr", "Table-3 correlation"), ("cka", "linear CKA"), ("knn", "mean k-NN overlap")):
        end.add_row(name, *(fmt(d["end"][key][p]) for p in PAIRS))
    console.print(end)
    halves = d["alignment"]
    if any(h["intervals"] for h in halves.values()):
        align = Table(title="update alignment, mean over intervals", title_justify="left")
        for column in ("half", "cos(dS, dU)", "cos(dS, dV)", "dS closer to dV"):
            align.add_column(column, justify="left" if column == "half" else "right")
        for name, h in halves.items():
            align.add_row(
                name.replace("_", " "), fmt(h["dS~dU"]), fmt(h["dS~dV"]), f"{h['closer_to_dV']} of {h['intervals']}"
            )
        console.print(align)
    grad = d["gradient"]
    if grad["share_out"] is not None:
        console.print(
            f"gradient of S (mean over records): {fmt(grad['share_out'], 2)} of |G|² from the softmax side, "
            f"cos(G, G_out) {fmt(grad['cos_g_gout'], 2)}; softmax share by bucket at the end (rare to frequent): "
            + ", ".join(fmt(b, 2) for b in grad["share_out_by_bucket"]),
            highlight=False,
        )


@click.command("plot-dynamics")
@click.argument("source", type=click.Path(exists=True))
@click.option(
    "--out", type=click.Path(file_okay=False), default=None, help="Folder for the figures (default: SOURCE/figures)."
)
@click.option("--title", default=None, help="Figure title prefix (default: the folder name).")
def plot_dynamics_cmd(source: str, out: str | None, title: str | None) -> None:
    """Draw the dynamics figures (PNG and SVG) of a track directory or a tracked run directory, and print where the
    tied matrix ended up against U and V, how its updates aligned with theirs, and how its gradient split."""
    from embedeval.dynamics.plots import plot_dynamics

    for path in plot_dynamics(source, out, title):
        console.print(markup_safe(path))
    _print_digest(source)

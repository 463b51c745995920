"""``embedeval train lm``: the command-line face of :mod:`embedeval.train.lm`."""

from __future__ import annotations

import sys

import click
from rich.console import Console

from embedeval.train.lm_config import CONFIGS, VARIANTS

console = Console(stderr=True)


def lm_progress(bar):
    """A progress callback for LMTrainer.steps that draws on a tqdm bar (epoch, batch, ppl, tokens/s)."""

    def progress(record: dict) -> None:
        bar.total = record["batches"]
        bar.n = record["batch"]
        bar.set_description(f"epoch {record['epoch']}/{record['epochs']}")
        bar.set_postfix(ppl=f"{record['train_ppl']:.1f}", tok_s=f"{record['tokens_per_s']:.0f}")
        bar.refresh()

    return progress


@click.command("lm")
@click.option("--corpus", required=True, metavar="ptb|wikitext-2|builtin|PATH", help="Corpus name or text file/folder.")
@click.option(
    "--config",
    "config_name",
    type=click.Choice(list(CONFIGS)),
    default="pw-small",
    show_default=True,
    help="Zaremba small/medium/large; pw-small = small without dropout (P&W Table 6); tiny for smoke runs.",
)
@click.option(
    "--variant",
    type=click.Choice(list(VARIANTS)),
    default="untied",
    show_default=True,
    help="untied; wt (tied, output bias kept); pr / wt+pr (projection + regularisation); re (tied, no "
    "output bias); al / real (augmented loss).",
)
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Run directory to write.")
@click.option("--overwrite", is_flag=True, help="Replace a non-empty --out.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its checkpoint.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--epochs", type=int, default=None)
@click.option(
    "--max-epoch", type=int, default=None, help="Zaremba's max_epoch: the lr decays from epoch max_epoch + 2 on."
)
@click.option("--lr", type=float, default=None)
@click.option("--lr-decay", type=float, default=None)
@click.option("--clip", type=float, default=None)
@click.option("--hidden", type=int, default=None)
@click.option("--emb-size", type=int, default=None)
@click.option("--layers", type=int, default=None)
@click.option("--bptt", type=int, default=None)
@click.option("--batch-size", type=int, default=None)
@click.option("--init-scale", type=float, default=None)
@click.option("--keep-prob", type=float, default=None)
@click.option("--variational/--no-variational", default=None, help="Locked (variational) dropout.")
@click.option("--pr-lambda", type=float, default=None, help="Projection penalty strength (default 1/6.5).")
@click.option(
    "--pr-bias/--no-pr-bias",
    default=None,
    help="Give the projection a bias, as P&W's TF code does (off by default: it destabilises small PR runs).",
)
@click.option("--al-tau", type=float, default=None, help="Augmented-loss temperature.")
@click.option("--al-gamma", type=float, default=None, help="Augmented-loss weight: alpha = gamma * tau.")
@click.option("--seed", type=int, default=None)
@click.option("--threads", type=int, default=None, help="torch CPU threads.")
@click.option("--max-batches", type=int, default=None, help="Cut every epoch after this many batches.")
@click.option("--dry-run", is_flag=True, help="One epoch of 5 batches: checks the whole path in seconds.")
@click.option("--track", is_flag=True, help="Record the gradient split, drift and scores into RUN_DIR/dynamics.jsonl.")
@click.option("--track-every", type=int, default=0, help="Steps between --track records (default: ~40 per run).")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, envvar="EMBEDEVAL_DATA")
def train_lm_cmd(
    corpus, config_name, variant, out, overwrite, resume, dry_run, track, track_every, data_dir, **overrides
) -> None:
    """Train an LSTM language model and export its input (U), output (V) or tied (S) embedding."""
    from embedeval.data.corpus import resolve_corpus
    from embedeval.errors import EmbedevalError
    from embedeval.train.lm import load_lm_data, train_lm
    from embedeval.train.lm_config import make_config
    from embedeval.train.rundir import RunDir

    if dry_run:
        overrides.update(epochs=1, max_batches=5)
    cfg = make_config(config_name, variant, **overrides)
    if cfg.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise EmbedevalError("--device cuda, but no CUDA device is visible to torch; use --device cpu")
    source = resolve_corpus(corpus, data_dir)
    if resume:
        run = RunDir(out)
        if not (run.path / "checkpoint.pt").is_file():
            raise EmbedevalError("nothing to resume: no checkpoint.pt", out)
        run.check_resume_config(cfg)
        from embedeval.data.corpus import Vocab

        vocab = Vocab.load(run.path / "vocab.tsv")
        data = load_lm_data(source)
        if data.vocab.words != vocab.words:
            raise EmbedevalError(
                f"vocabulary mismatch on --resume: the run has {len(vocab)} words, corpus {source.name} gives "
                f"{len(data.vocab)} (or a different order); resume with the corpus the run was trained on",
                out,
            )
    else:
        run = RunDir.create(out, overwrite)
        data = load_lm_data(source)
        data.vocab.save(run.path / "vocab.tsv")
        run.write_config(cfg, "lm", source.describe(), sys.argv)
    console.print(
        f"training {cfg.variant} on {source.name} ({len(data.vocab)} words, {data.train.numel()} train "
        f"tokens) -> {run.path}"
    )
    from tqdm import tqdm

    bar = tqdm(total=None, unit="batch", dynamic_ncols=True, file=sys.stderr)

    progress = lm_progress(bar)
    hooks = {}
    if track:
        from embedeval.dynamics.tracker import TrackConfig, lm_run_tracker

        model_hook, on_step = lm_run_tracker(run, data, cfg, TrackConfig(every=track_every, geometry=False), resume)
        hooks = {"model_hook": model_hook, "on_step": on_step}
    summary = train_lm(cfg, data, run, resume=resume, progress=progress, **hooks)
    bar.close()
    for record in run.metrics():
        console.print(
            f"epoch {record['epoch']:>2}  lr {record['lr']:.4g}  train ppl {record['train_ppl']:.2f}  "
            f"valid ppl {record['valid_ppl']:.2f}  {record['tokens_per_s']:.0f} tok/s"
        )
    console.print(
        f"[bold]valid ppl {summary['valid_ppl']:.2f}  test ppl {summary['test_ppl']:.2f}[/]  "
        f"parameters {summary['unique_parameters']:,} unique / {summary['state_dict_entries']:,} in the "
        f"state_dict  -> {run.path}"
    )

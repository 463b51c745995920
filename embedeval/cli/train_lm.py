"""``embedeval train lm``: the command-line face of :mod:`embedeval.train.lm`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from embedeval import trainers
from embedeval.cli.console import err_console
from embedeval.cli.options import DATA_DIR_OPTION, THREADS_OPTION, arch_help, arch_setting_options, take_arch_settings
from embedeval.cli.progress import lm_progress
from embedeval.cli.types import number
from embedeval.errors import markup_safe
from embedeval.ranges import Range
from embedeval.train.lm_config import ARCHS, CONFIGS, LM_RANGES, VARIANTS

R = LM_RANGES
DRY_RUN_EVAL_TOKENS = 2_000

console = err_console


@click.command("lm")
@click.option("--corpus", required=True, metavar="ptb|wikitext-2|builtin|PATH", help="Corpus name or text file/folder.")
@click.option("--arch", type=click.Choice(ARCHS), default=None, help=arch_help())
@arch_setting_options
@click.option(
    "--config",
    "config_name",
    type=click.Choice(list(CONFIGS)),
    default=None,
    help="LSTM: Zaremba small/medium/large; pw-small (the default) = small without dropout (P&W Table 6); demo = "
    "the built-in default of 'embedeval compare' (1x64, 6 epochs); tiny for smoke runs. Transformer: tf-tiny "
    "(tests), tf-small (2x256, 4 heads, context 128, dropout 0.2, 6 epochs: about an hour of CPU on PTB), tf-base (a GPU). "
    f"Other architectures: {', '.join(c for a in trainers.archs('lm') for c in a.presets)}. "
    "Every option below left unset takes the config's value (shown for pw-small).",
)
@click.option(
    "--variant",
    type=click.Choice(list(VARIANTS)),
    default="untied",
    show_default=True,
    help="untied; wt (tied, output bias kept); pr / wt+pr (projection + regularisation); re (tied, no "
    "output bias); al / real (augmented loss). The Transformer has untied, wt and re.",
)
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Run directory to write.")
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace --out when it is a run directory embedeval wrote (any other folder is refused); the old run is "
    "removed only once the new one has started.",
)
@click.option("--resume", is_flag=True, help="Continue the run in --out from its checkpoint.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--epochs", type=number(R["epochs"]), default=None, help="Epochs in all [pw-small: 13]")
@click.option(
    "--max-epoch",
    type=number(R["max_epoch"]),
    default=None,
    help="Zaremba's max_epoch: the lr decays from epoch max_epoch + 2 on.",
)
@click.option(
    "--lr", type=number(R["lr"]), default=None, help="Learning rate of the summed-over-bptt cost [pw-small: 1]"
)
@click.option(
    "--lr-decay", type=number(R["lr_decay"]), default=None, help="lr factor per epoch after max_epoch [pw-small: 0.5]"
)
@click.option("--clip", type=number(R["clip"]), default=None, help="Global gradient-norm clip [pw-small: 5]")
@click.option("--hidden", type=number(R["hidden"]), default=None, help="LSTM width [pw-small: 200]")
@click.option(
    "--emb-size",
    type=number(R["emb_size"]),
    default=None,
    help="Embedding size (tied variants need it equal to --hidden) [pw-small: = hidden]",
)
@click.option("--layers", type=number(R["layers"]), default=None, help="LSTM layers [pw-small: 2]")
@click.option(
    "--bptt", type=number(R["bptt"]), default=None, help="Steps of backpropagation through time [pw-small: 20]"
)
@click.option("--batch-size", type=number(R["batch_size"]), default=None, help="Batch size [pw-small: 20]")
@click.option(
    "--init-scale", type=number(R["init_scale"]), default=None, help="Uniform init in [-s, s] [pw-small: 0.1]"
)
@click.option("--keep-prob", type=number(R["keep_prob"]), default=None, help="1 - dropout [pw-small: 1]")
@click.option("--variational/--no-variational", default=None, help="Locked (variational) dropout.")
@click.option(
    "--pr-lambda", type=number(R["pr_lambda"]), default=None, help="Projection penalty strength (default 1/6.5)."
)
@click.option(
    "--pr-bias/--no-pr-bias",
    default=None,
    help="Give the projection P a bias, as Press & Wolf's published code does (default: on). It slows the first "
    "epochs and generalises better at the end (reports/press-wolf/PR-GAP.md); --no-pr-bias is the paper's h' = Ph.",
)
@click.option(
    "--pr-lr-scale",
    type=number(R["pr_lr_scale"]),
    default=None,
    help="The projection's learning rate as a multiple of the others' (SGD; default 1).",
)
@click.option("--al-tau", type=number(R["al_tau"]), default=None, help="Augmented-loss temperature.")
@click.option(
    "--al-gamma",
    type=number(R["al_gamma"]),
    default=None,
    help="Augmented-loss weight: alpha = gamma * tau (default 0.5, Inan et al.'s PTB value; they use 1.0 on WikiText-2).",
)
@click.option(
    "--al-target-grad/--no-al-target-grad",
    default=None,
    help="Let the augmented loss's target distribution (from U) pass gradient into U [off: a fixed target per step].",
)
@click.option("--seed", type=number(R["seed"]), default=None, help="Seed [pw-small: 1]")
@click.option(
    "--plant-tokens",
    "planted_tokens",
    type=number(R["planted_tokens"]),
    default=None,
    help="Add this many tokens that never occur in the text to the vocabulary (<planted-0> ...): ground truth for "
    "the token task's under-trained indicators [0]",
)
@click.option(
    "--train-fraction",
    type=number(R["train_fraction"]),
    default=None,
    help="Train on the first fraction of the training tokens (e.g. 0.1); the vocabulary and valid/test stay the "
    "whole corpus's, so perplexities compare across fractions [1]",
)
@click.option(
    "--vocab-from",
    metavar="RUN|CORPUS",
    default=None,
    help="Use the vocabulary of this run (its vocab.tsv) or corpus (as a run on it builds it); words outside it read "
    "as <unk>, and how many tokens that made is printed and kept in summary.json. E.g. --corpus wikitext-2 "
    "--vocab-from ptb: WikiText-2 mapped onto PTB's words, to pretrain for PTB.",
)
@click.option(
    "--normalise",
    type=click.Choice(["ptb"]),
    default=None,
    help="Read the text as PTB is written: lower case, numbers as N, punctuation dropped (before --vocab-from ptb).",
)
@click.option(
    "--init-from",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="Start from this finished run's final weights (the same architecture, sizes, variant and vocabulary) "
    "instead of a random initialisation: fine-tuning. The optimiser and schedule start afresh.",
)
@click.option(
    "--loss-chunk",
    type=number(R["loss_chunk"]),
    default=None,
    help="Rows per block of the fused output-layer cross-entropy (less memory: the logits of one block at a time); "
    "0: PyTorch's unfused cross-entropy, which the committed tables' runs were trained with (the two agree to "
    "float32 rounding) [1024]",
)
@click.option(
    "--dropout-kernel",
    type=number(R["dropout_kernel"]),
    default=None,
    help="How the Transformer draws its dropout masks: 2, one float32 uniform draw per element (about half the time "
    "of 1); 1, PyTorch's dropout, which the committed tables' Transformer runs were trained with. Another random "
    "stream, so other numbers [2]",
)
@click.option(
    "--optimizer-kernel",
    type=number(R["optimizer_kernel"]),
    default=None,
    help="AdamW's arithmetic: 2, PyTorch's fused one-pass kernel; 1, its loop over the tensors, which the committed "
    "tables' runs were trained with (the two agree to float32 rounding) [2]",
)
@click.option("--heads", type=number(R["heads"]), default=None, help="Transformer attention heads [tf-small: 4]")
@click.option("--ff-mult", type=number(R["ff_mult"]), default=None, help="Transformer MLP width / --hidden [4]")
@click.option(
    "--positions", type=click.Choice(["learned", "sinusoidal"]), default=None, help="Transformer positions [learned]"
)
@click.option(
    "--emb-scale/--no-emb-scale",
    default=None,
    help="Multiply the input embedding by sqrt(width), as Vaswani et al. (changes how a tied matrix is shared) [off]",
)
@click.option("--optimizer", type=click.Choice(["sgd", "adamw"]), default=None, help="[LSTM: sgd; Transformer: adamw]")
@click.option(
    "--weight-decay",
    type=number(R["weight_decay"]),
    default=None,
    help="AdamW weight decay, on weight matrices only (never U, V or S) [tf-small: 0.1]",
)
@click.option("--warmup", type=number(R["warmup"]), default=None, help="Linear warm-up steps [tf-small: 200]")
@click.option(
    "--min-lr-ratio", type=number(R["min_lr_ratio"]), default=None, help="Cosine decay ends at lr x this [0.1]"
)
@click.option("--beta2", type=number(R["beta2"]), default=None, help="AdamW beta2 [0.99]")
@click.option(
    "--schedule",
    type=click.Choice(["zaremba", "cosine"]),
    default=None,
    help="zaremba: lr x lr_decay per epoch after max_epoch; cosine: per-step warm-up and cosine decay",
)
@click.option(
    "--loss",
    type=click.Choice(["sum-over-time", "mean"]),
    default=None,
    help="Cost: cross-entropy summed over bptt and averaged over the batch (Zaremba; lr and clip apply to it) or "
    "the per-token mean [LSTM: sum-over-time; Transformer: mean]",
)
@THREADS_OPTION
@click.option(
    "--nproc",
    type=number(Range(int, 1, 1_024)),
    default=1,
    show_default=True,
    help="Data-parallel processes on this machine: starts torchrun (DistributedDataParallel; Gloo on CPU, NCCL on "
    "GPU). The global batch stays --batch-size, so any --nproc trains the same model. Several machines: run "
    "'torchrun --nnodes ... -m embedeval train lm ...' yourself (see the README).",
)
@click.option(
    "--max-batches", type=number(R["max_batches"]), default=None, help="Cut every epoch after this many batches."
)
@click.option(
    "--max-eval-tokens",
    type=number(R["max_eval_tokens"]),
    default=None,
    help="Measure valid/test perplexity on their first N tokens only (quick checks; default: the whole split).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help=f"One epoch of 5 batches, perplexity on the first {DRY_RUN_EVAL_TOKENS:,} valid/test tokens: checks the whole "
    "path in seconds.",
)
@click.option("--track", is_flag=True, help="Record the gradient split, drift and scores into RUN_DIR/dynamics.jsonl.")
@click.option(
    "--track-every", type=number(Range(int, 0)), default=0, help="Steps between --track records (default: ~40 per run)."
)
@DATA_DIR_OPTION
def train_lm_cmd(
    corpus, config_name, variant, out, overwrite, resume, dry_run, track, track_every, data_dir, nproc, **overrides
) -> None:
    """Train a language model (any --arch: LSTM, Transformer, biLM) and export its input (U), output (V) or tied (S) embedding."""
    from embedeval.data.corpus import resolve_corpus
    from embedeval.errors import EmbedevalError
    from embedeval.layout import CHECKPOINT, VOCAB
    from embedeval.rundir import RunDir
    from embedeval.threads import use_threads
    from embedeval.train.lm import lm_data_for
    from embedeval.train.lm_config import config_for, make_config
    from embedeval.train.run import prepared_run

    overrides["threads"] = use_threads(overrides.get("threads"))  # per process under --nproc
    if dry_run:
        overrides.update(epochs=1, max_batches=5, max_eval_tokens=DRY_RUN_EVAL_TOKENS)
    name = config_for(config_name, overrides.get("arch"))
    settings = take_arch_settings(overrides, overrides.get("arch"), name)
    cfg = make_config(name, variant, arch_options=settings, **overrides)
    if cfg.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise EmbedevalError("--device cuda, but no CUDA device is visible to torch; use --device cpu")
    source = resolve_corpus(corpus, data_dir)
    from embedeval.train import distributed

    if nproc > 1 and not distributed.launched_by_torchrun():
        return _launch_torchrun(nproc, out)
    w = distributed.init_from_env(cfg.device)
    distributed.check_batch_splits(cfg.batch_size, w)  # before any folder is touched
    if not w.main:  # the other processes train their columns and write nothing
        data = lm_data_for(cfg, source)
        from embedeval.dynamics.tracker import run_tracker
        from embedeval.train.lm import train_lm

        # they take part in averaging the recorded gradients; rank 0 records
        hooks = run_tracker("lm", RunDir(out), data, cfg, track_every) if track else None
        train_lm(cfg, data, RunDir(out), resume=resume, hooks=hooks)
        return None
    if resume and not (Path(out) / CHECKPOINT).is_file():
        from embedeval.files import no_checkpoint_error

        raise no_checkpoint_error(out)
    if not resume:
        data = lm_data_for(cfg, source)  # an empty or non-UTF-8 corpus fails here, before any folder is touched
    # a refused resume says only why: the checks come before anything is printed
    with prepared_run(cfg, out, corpus=source, resume=resume, overwrite=overwrite, argv=sys.argv) as run:
        if resume:  # (a new run's trainer writes its vocabulary itself)
            from embedeval.data.corpus import Vocab

            vocab = Vocab.load(run.path / VOCAB)
            data = lm_data_for(cfg, source)
            if data.vocab.words != vocab.words:
                raise EmbedevalError(
                    f"vocabulary mismatch on --resume: the run has {len(vocab)} words, corpus {source.name} gives "
                    f"{len(data.vocab)} (or a different order); resume with the corpus the run was trained on",
                    out,
                )
        _train(run, cfg, data, source, out, resume, track, track_every)


ERRORS_DIR = "EMBEDEVAL_ERRORS_DIR"  # where the processes of a torchrun launched by embedeval leave their errors


def _launch_torchrun(nproc: int, out: str) -> None:
    """Run this very command under torchrun with ``nproc`` processes on this machine.

    torchrun runs in this process, so its ChildFailedError is caught instead of printed as a traceback; the
    processes leave their error messages in a folder (ERRORS_DIR), and each distinct one is printed once here.
    """
    import logging
    import os
    import tempfile

    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    from embedeval.errors import EmbedevalError
    from embedeval.layout import CHECKPOINT

    argv, skip = [], False
    for arg in sys.argv[1:]:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            argv.append(arg)
    for name in ("torch.distributed", "torch.distributed.run", "torch.distributed.elastic"):
        logging.getLogger(name).setLevel(logging.CRITICAL)  # its notices would bury the one message that matters
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # the trainers set their own --threads; this only quiets torchrun
    with tempfile.TemporaryDirectory(prefix="embedeval-ranks-") as errors:
        os.environ[ERRORS_DIR] = errors
        args = parse_args(["--standalone", f"--nproc-per-node={nproc}", "-m", "embedeval", *argv])
        try:
            run(args)
            return
        except ChildFailedError as failed:
            codes = {f.exitcode for f in failed.failures.values()}
        finally:
            os.environ.pop(ERRORS_DIR, None)
        messages = [p.read_text(encoding="utf-8") for p in sorted(Path(errors).glob("rank-*.txt"))]
    shown = list(dict.fromkeys(m.strip() for m in messages if m.strip()))
    if (
        2 in codes and all(c == 2 or c < 0 for c in codes) and shown
    ):  # (< 0: stopped by torchrun after the first)  # an input or usage error, the same in every process: say it once
        raise EmbedevalError(
            shown[0]
            + (
                f" (and {len(shown) - 1} other message(s) from other processes: " + "; ".join(shown[1:]) + ")"
                if len(shown) > 1
                else ""
            )
        )
    resume = (
        " the last checkpoint is intact: continue with --resume (with any --nproc)"
        if (Path(out) / CHECKPOINT).is_file()
        else " no checkpoint was written"
    )
    detail = f": {shown[0]}" if shown else ""
    raise EmbedevalError(
        f"a training process failed (exit code {', '.join(map(str, sorted(codes)))}){detail};{resume}", out
    )


def _train(run, cfg, data, source, out, resume, track, track_every) -> None:
    from embedeval.train.lm import train_lm, training_prefix

    used = training_prefix(data.train, cfg.train_fraction).numel()
    tokens = f"{used:,} train tokens" + (f", the first {cfg.train_fraction:g} of {data.train.numel():,}"
                                          if used < data.train.numel() else "")  # fmt: skip
    verb = "resuming" if resume else "training"
    threads = f", {cfg.threads} thread{'s' if cfg.threads != 1 else ''}" if cfg.threads else ""
    console.print(
        f"{verb} {cfg.variant} on {markup_safe(source.name)} ({len(data.vocab):,} words, {tokens}{threads}) -> "
        f"{markup_safe(out)}"
    )
    if data.mapped:
        m = data.mapped
        console.print(
            f"read with the vocabulary of {markup_safe(m['vocabulary_of'])}: {m['corpus_words_kept']:,} of the corpus's "
            f"{m['corpus_words']:,} words kept; {m['train_tokens_now_unk']:,} of {m['train_tokens']:,} training tokens "
            f"({m['train_tokens_now_unk'] / max(m['train_tokens'], 1):.1%}) are now <unk>"
        )
    if cfg.init_from and not resume:
        console.print(f"starting from the final weights of {markup_safe(cfg.init_from)}")
    from embedeval.cli.progress import progress_bar

    bar = progress_bar("batch")  # no empty bar before work

    progress = lm_progress(bar)
    hooks = None
    if track:
        from embedeval.dynamics.tracker import run_tracker

        hooks = run_tracker("lm", run, data, cfg, track_every)
    summary = train_lm(cfg, data, run, resume=resume, progress=progress, hooks=hooks)
    bar.close()
    for record in run.metrics():
        console.print(
            f"epoch {record['epoch']:>2}  lr {record['lr']:.4g}  train ppl {record['train_ppl']:.2f}  "
            f"valid ppl {record['valid_ppl']:.2f}  {record['tokens_per_s']:.0f} tok/s"
        )
    console.print(
        f"[bold]valid ppl {summary['valid_ppl']:.2f}  test ppl {summary['test_ppl']:.2f}[/]  "
        f"parameters {summary['unique_parameters']:,} unique / {summary['state_dict_entries']:,} in the "
        f"state_dict  -> {markup_safe(run.path)}"
    )
    directions = summary.get("direction_ppl")  # a model that reads in more than one direction (a biLM)
    if directions:
        console.print(
            "perplexity per direction: "
            + "; ".join(
                f"{split} " + ", ".join(f"{name} {value:.2f}" for name, value in values.items())
                for split, values in directions.items()
            )
        )


def track_pair(given, tcfg) -> dict:
    """``embedeval track --trainer lm``: an untied and a tied LM (``--pair``) in lockstep."""
    from embedeval.cli.options import needs_corpus
    from embedeval.cli.progress import progress_bar
    from embedeval.dynamics.tracker import track
    from embedeval.train.lm import load_lm_data
    from embedeval.train.lm_config import config_for, make_config

    source = needs_corpus(given, "lm")
    name = config_for(given.config_name, given.arch)
    overrides = dict(epochs=given.epochs, max_batches=given.max_batches, threads=given.threads, seed=given.seed,
                     arch=given.arch, arch_options=take_arch_settings(given.arch_settings, given.arch, name))  # fmt: skip
    untied_variant, tied_variant = given.pair.split("/")
    untied_cfg, tied_cfg = (make_config(name, v, **overrides) for v in (untied_variant, tied_variant))
    data = load_lm_data(source, planted=untied_cfg.planted_tokens)
    console.print(
        f"{'resuming the tracking of' if given.resume else 'tracking'} {untied_variant} vs {tied_variant} ({name}) on {markup_safe(source.name)} -> {markup_safe(given.out)}"
    )
    bar = progress_bar("step")  # no empty bar before work starts
    summary = track(untied_cfg, tied_cfg, data, given.out, tcfg, given.overwrite, given.resume, lm_progress(bar),
                    source.describe(), sys.argv)  # fmt: skip
    bar.close()
    return summary

"""``embedeval train nmt``: the command-line face of :mod:`embedeval.train.nmt`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from embedeval.cli.console import err_console
from embedeval.cli.options import DATA_DIR_OPTION, THREADS_OPTION
from embedeval.cli.progress import lm_progress
from embedeval.cli.types import number
from embedeval.errors import markup_safe
from embedeval.ranges import Range
from embedeval.train.nmt_config import CONFIGS, NMT_RANGES, TIES, VOCABS

R = NMT_RANGES
DRY_RUN_SENTENCES = 50
console = err_console


@click.command("nmt")
@click.option("--corpus", default="multi30k", show_default=True, metavar="multi30k",
              help="Multi30k from the data directory (parallel/multi30k/); or give --train-files.")  # fmt: skip
@click.option("--src", default="en", show_default=True, help="Source language (Multi30k: en, de, fr).")
@click.option("--tgt", default="de", show_default=True, help="Target language.")
@click.option("--train-files", nargs=2, type=click.Path(dir_okay=False), default=None, metavar="SRC TGT",
              help="Any two aligned text files (plain or .gz, one sentence a line) instead of --corpus.")  # fmt: skip
@click.option("--valid-files", nargs=2, type=click.Path(dir_okay=False), default=None, metavar="SRC TGT",
              help="Validation files (default: the last 5% of the training pairs are held out).")  # fmt: skip
@click.option("--test-files", nargs=2, type=click.Path(dir_okay=False), default=None, metavar="SRC TGT",
              help="Test files (default: the 5% of pairs before the end).")  # fmt: skip
@click.option("--tie", type=click.Choice(TIES), default="none", show_default=True,
              help="none: encoder input E, decoder input U, decoder output V separate; decoder: U = V "
              "(P&W's decoder tying); all: E = U = V over the joint vocabulary (three-way tying).")  # fmt: skip
@click.option("--config", "config_name", type=click.Choice(list(CONFIGS)), default="nmt-small", show_default=True,
              help="nmt-tiny (tests), nmt-small (3+3 layers, width 256: Multi30k on a CPU), nmt-base (6+6, width 512: "
              "a GPU). Every option below left unset takes the config's value (shown for nmt-small).")  # fmt: skip
@click.option("--vocab", type=click.Choice(VOCABS), default=None,
              help="One joint SentencePiece BPE model for both languages, or one per language [joint]")  # fmt: skip
@click.option("--vocab-size", type=number(R["vocab_size"]), default=None, help="Subword pieces [8000]")
@click.option("--d-model", type=number(R["d_model"]), default=None, help="Width [256]")
@click.option("--layers", type=number(R["layers"]), default=None, help="Encoder layers [3]")
@click.option("--decoder-layers", type=number(R["decoder_layers"]), default=None, help="Decoder layers [3]")
@click.option("--heads", type=number(R["heads"]), default=None, help="Attention heads [4]")
@click.option("--ff", type=number(R["ff"]), default=None, help="Feed-forward width [1024]")
@click.option("--dropout", type=number(R["dropout"]), default=None, help="Dropout [0.2]")
@click.option("--label-smoothing", type=number(R["label_smoothing"]), default=None, help="[0.1]")
@click.option("--emb-scale/--no-emb-scale", default=None, help="Scale embeddings by sqrt(width) (Vaswani) [on]")
@click.option("--lr", type=number(R["lr"]), default=None, help="Peak AdamW learning rate [0.001]")
@click.option("--schedule", type=click.Choice(["cosine", "inverse-sqrt"]), default=None,
              help="After the warm-up: cosine decay to lr x --min-lr-ratio, or Vaswani's inverse square root [cosine]")  # fmt: skip
@click.option("--warmup", type=number(R["warmup"]), default=None, help="Linear warm-up steps [400]")
@click.option("--min-lr-ratio", type=number(R["min_lr_ratio"]), default=None, help="[0.05]")
@click.option("--weight-decay", type=number(R["weight_decay"]), default=None,
              help="AdamW decay on weight matrices only (never E, U, V) [0.0001]")  # fmt: skip
@click.option("--beta2", type=number(R["beta2"]), default=None, help="AdamW beta2 [0.98]")
@click.option("--clip", type=number(R["clip"]), default=None, help="Global gradient-norm clip [1]")
@click.option("--batch-tokens", type=number(R["batch_tokens"]), default=None,
              help="Padded source + target pieces per batch [4096]")  # fmt: skip
@click.option("--max-len", type=number(R["max_len"]), default=None,
              help="Longest training pair kept, in pieces; also the decoding limit [128]")  # fmt: skip
@click.option("--epochs", type=number(R["epochs"]), default=None, help="[12]")
@click.option("--beam", type=number(R["beam"]), default=None, help="Beam size of the final test decoding [5]")
@click.option("--len-penalty", type=number(R["len_penalty"]), default=None,
              help="Beam scores are log-probability / length ** this [1]")  # fmt: skip
@click.option("--seed", type=number(R["seed"]), default=None, help="[1]")
@THREADS_OPTION
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option(
    "--max-batches", type=number(R["max_batches"]), default=None, help="Cut every epoch after this many batches."
)
@click.option("--max-eval-sentences", type=number(R["max_eval_sentences"]), default=None,
              help="Decode and score only the first N valid/test sentences (quick checks; default: all).")  # fmt: skip
@click.option("--dry-run", is_flag=True,
              help=f"One epoch of 5 batches, {DRY_RUN_SENTENCES} valid/test sentences: checks the whole path quickly.")  # fmt: skip
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Run directory to write.")
@click.option("--overwrite", is_flag=True,
              help="Replace --out when it is a run directory embedeval wrote; the old run is removed only once the new "
              "one has started.")  # fmt: skip
@click.option("--resume", is_flag=True, help="Continue the run in --out from its checkpoint.")
@click.option(
    "--nproc",
    type=number(Range(int, 1, 1_024)),
    default=1,
    show_default=True,
    help="Data-parallel processes on this machine (torchrun, DistributedDataParallel): each batch's pairs are shared "
    "out, so any --nproc trains the same model. Several machines: 'torchrun ... -m embedeval train nmt ...'.",
)
@click.option("--track", is_flag=True, help="Record the decoder's gradient split, drift and scores (dynamics.jsonl).")
@click.option("--track-every", type=number(Range(int, 0)), default=0, help="Steps between --track records.")
@DATA_DIR_OPTION
def train_nmt_cmd(corpus, src, tgt, train_files, valid_files, test_files, tie, config_name, dry_run, out, overwrite,
                  resume, track, track_every, data_dir, nproc, **overrides) -> None:  # fmt: skip
    """Train a Transformer translation model with decoder or three-way tying; score it with sacreBLEU and chrF and
    export the encoder input (E), decoder input (U) and decoder output (V) embeddings.

    Example: embedeval train nmt --src en --tgt de --tie all --out runs/m30k-all
    """
    from embedeval.data import parallel
    from embedeval.errors import EmbedevalError
    from embedeval.layout import CHECKPOINT
    from embedeval.rundir import RunDir
    from embedeval.threads import use_threads
    from embedeval.train.nmt_config import make_config
    from embedeval.train.run import prepared_run

    overrides["threads"] = use_threads(overrides.get("threads"))

    if dry_run:
        overrides.update(epochs=1, max_batches=5, max_eval_sentences=DRY_RUN_SENTENCES)
    cfg = make_config(config_name, tie, **overrides)
    if cfg.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise EmbedevalError("--device cuda, but no CUDA device is visible to torch; use --device cpu")
    if train_files:
        source = parallel.from_files(src, tgt, train_files, valid_files, test_files)
    elif corpus == parallel.MULTI30K:
        source = parallel.multi30k(src, tgt, data_dir)
    else:
        raise EmbedevalError(f"unknown parallel corpus {corpus!r}: use multi30k, or give --train-files SRC TGT")
    from embedeval.train import distributed, nmt

    if nproc > 1 and not distributed.launched_by_torchrun():
        from embedeval.cli.train_lm import _launch_torchrun

        return _launch_torchrun(nproc, out)
    w = distributed.init_from_env(cfg.device)
    with console.status("reading and checking the parallel text..."):
        text = parallel.load_parallel(source)  # misaligned, empty or non-UTF-8 lines fail here, before any folder
    store = source.name != parallel.MULTI30K
    if not w.main:  # the other processes train their share and write nothing
        from embedeval.train.nmt import train_nmt

        # SentencePiece learns the same model from the same text in every process (one thread: deterministic)
        src_sp, tgt_sp = nmt.load_subwords(out) if resume else nmt.build_subwords(text, cfg)
        data = nmt.encode_data(text, src_sp, tgt_sp, src, tgt, store)
        from embedeval.dynamics.tracker import run_tracker

        # they take part in averaging the recorded gradients; rank 0 records
        hooks = run_tracker("nmt", RunDir(out), data, cfg, track_every) if track else None
        train_nmt(cfg, data, RunDir(out), resume=resume, hooks=hooks)
        return None
    if resume and not (Path(out) / CHECKPOINT).is_file():
        from embedeval.files import no_checkpoint_error

        raise no_checkpoint_error(out)
    if not resume:  # learned before any folder is touched: a text SentencePiece refuses leaves nothing behind
        with console.status(f"learning the {cfg.vocab} subword vocabulary ({cfg.vocab_size:,} pieces)..."):
            src_sp, tgt_sp = nmt.build_subwords(text, cfg)
    # a refused resume says only why: the checks come before anything is printed
    with prepared_run(cfg, out, corpus=source, resume=resume, overwrite=overwrite, argv=sys.argv) as run:
        if resume:
            src_sp, tgt_sp = nmt.load_subwords(run.path)
        data = nmt.encode_data(text, src_sp, tgt_sp, src, tgt, store_references=store)  # the trainer saves subwords
        _train(run, cfg, data, source, out, resume, track, track_every)


def _train(run, cfg, data, source, out, resume, track, track_every) -> None:
    from embedeval.cli.progress import progress_bar
    from embedeval.train.nmt import train_nmt

    pairs = len(data.src["train"])
    console.print(
        f"training tie={cfg.tie} on {markup_safe(source.name)} {data.src_lang}->{data.tgt_lang} ({pairs:,} pairs, "
        f"{len(data.src_sp):,}{'' if data.joint else ' + ' + format(len(data.tgt_sp), ',')} pieces) -> {markup_safe(out)}"
    )
    bar = progress_bar("batch")
    hooks = None
    if track:
        from embedeval.dynamics.tracker import run_tracker

        hooks = run_tracker("nmt", run, data, cfg, track_every)
    summary = train_nmt(cfg, data, run, resume=resume, progress=lm_progress(bar), hooks=hooks)
    bar.close()
    for r in run.metrics():
        console.print(
            f"epoch {r['epoch']:>2}  lr {r['lr']:.3g}  train ppl {r['train_ppl']:.2f}  valid ppl {r['valid_ppl']:.2f}  "
            f"valid BLEU (greedy) {r.get('valid_bleu', float('nan')):.2f}  {r['tokens_per_s']:.0f} tok/s"
        )
    console.print(
        f"[bold]test BLEU {summary['test_bleu']:.2f}  chrF {summary['test_chrf']:.2f}[/] ({summary['decoding']}; "
        f"{markup_safe(summary['bleu_signature'])})  parameters {summary['unique_parameters']:,} unique, of which "
        f"embeddings {summary['embedding_parameters']:,}  -> {markup_safe(run.path)}"
    )


def track_pair(given, tcfg) -> dict:
    """``embedeval track --trainer nmt``: tie none vs tie decoder on Multi30k, in lockstep."""
    from embedeval.cli.progress import progress_bar
    from embedeval.data import parallel
    from embedeval.dynamics.tracker import track
    from embedeval.train import nmt
    from embedeval.train.nmt_config import make_config

    overrides = dict(epochs=given.epochs, max_batches=given.max_batches, threads=given.threads, seed=given.seed)
    name = given.config_name or "nmt-small"
    untied_cfg, tied_cfg = make_config(name, "none", **overrides), make_config(name, "decoder", **overrides)
    source = parallel.multi30k(given.src, given.tgt, given.data_dir)
    text = parallel.load_parallel(source)
    if given.resume:
        src_sp, tgt_sp = nmt.load_subwords(Path(given.out) / "tied")
    else:
        src_sp, tgt_sp = nmt.build_subwords(text, untied_cfg)
    data = nmt.encode_data(text, src_sp, tgt_sp, given.src, given.tgt)
    console.print(
        f"{'resuming the tracking of' if given.resume else 'tracking'} tie none vs decoder ({name}) on Multi30k {given.src}->{given.tgt} -> {markup_safe(given.out)}"
    )
    bar = progress_bar("step")
    summary = track(untied_cfg, tied_cfg, data, given.out, tcfg, given.overwrite, given.resume, lm_progress(bar),
                    source.describe(), sys.argv)  # fmt: skip
    bar.close()
    return summary

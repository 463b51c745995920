"""``embedeval train hf-gpt2``: the command-line face of :mod:`embedeval.train.hf_gpt2`."""

from __future__ import annotations

import sys
from dataclasses import fields

import click

from embedeval.cli.console import err_console
from embedeval.cli.options import DATA_DIR_OPTION, THREADS_OPTION
from embedeval.cli.types import number
from embedeval.errors import markup_safe
from embedeval.train.hf_gpt2 import RANGES, VARIANTS, GPT2Config

R = RANGES
D = {f.name: f.default for f in fields(GPT2Config)}


@click.command("hf-gpt2")
@click.option("--corpus", default="ptb", show_default=True, metavar="ptb|wikitext-2|builtin|PATH",
              help="Training text (train/valid/test splits; a file: its own valid/test split as for train lm).")  # fmt: skip
@click.option("--variant", type=click.Choice(VARIANTS), default=D["variant"], show_default=True,
              help="tied: tie_word_embeddings (one matrix S); untied: wte (U) and lm_head (V) apart.")  # fmt: skip
@click.option("--vocab-size", type=number(R["vocab_size"]), default=D["vocab_size"], show_default=True,
              help="Byte-level BPE vocabulary learnt from the training text.")  # fmt: skip
@click.option("--n-embd", type=number(R["n_embd"]), default=D["n_embd"], show_default=True, help="Width.")
@click.option("--n-layer", type=number(R["n_layer"]), default=D["n_layer"], show_default=True, help="Blocks.")
@click.option("--n-head", type=number(R["n_head"]), default=D["n_head"], show_default=True, help="Attention heads.")
@click.option("--context", type=number(R["context"]), default=D["context"], show_default=True,
              help="Tokens per training block.")  # fmt: skip
@click.option("--batch-size", type=number(R["batch_size"]), default=D["batch_size"], show_default=True)
@click.option("--epochs", type=number(R["epochs"]), default=D["epochs"], show_default=True)
@click.option("--lr", type=number(R["lr"]), default=D["lr"], show_default=True,
              help="AdamW peak learning rate (linear decay, the Trainer's default).")  # fmt: skip
@click.option("--weight-decay", type=number(R["weight_decay"]), default=D["weight_decay"], show_default=True)
@click.option("--warmup-steps", type=number(R["warmup_steps"]), default=D["warmup_steps"], show_default=True)
@click.option("--save-steps", type=number(R["save_steps"]), default=D["save_steps"], show_default=True,
              help="Write checkpoints/checkpoint-N/ every this many steps (weights only; for embedeval series); "
              "0: only the final model.")  # fmt: skip
@click.option("--plant-tokens", "planted_tokens", type=number(R["planted_tokens"]), default=0, show_default=True,
              help="Add this many tokens the text never holds (<planted-0> ...): ground truth for --task tokens.")  # fmt: skip
@click.option("--train-fraction", type=number(R["train_fraction"]), default=1.0, show_default=True,
              help="Train on the first fraction of the training text's words (whole lines).")  # fmt: skip
@click.option("--seed", type=number(R["seed"]), default=D["seed"], show_default=True)
@THREADS_OPTION
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Run directory to write.")
@click.option("--overwrite", is_flag=True, help="Replace --out when it is a run directory of embedeval's.")
@DATA_DIR_OPTION
def train_hf_gpt2_cmd(corpus, out, overwrite, data_dir, threads, **settings) -> None:
    """Train a small Hugging Face GPT-2 (transformers' Trainer, a byte-level BPE learnt from the text) and save it
    as a model folder (RUN/model) with its checkpoints (RUN/checkpoints/checkpoint-N)."""
    from embedeval.data.corpus import resolve_corpus
    from embedeval.errors import EmbedevalError
    from embedeval.rundir import RunDir
    from embedeval.threads import use_threads
    from embedeval.train.hf_gpt2 import MODEL, train_gpt2

    try:
        import accelerate  # noqa: F401 - the Trainer needs it
        import transformers  # noqa: F401
    except ImportError:
        raise EmbedevalError("train hf-gpt2 needs transformers and accelerate: pip install 'embedeval[hf]'") from None
    cfg = GPT2Config(**settings, threads=use_threads(threads))
    cfg.check()  # every range before the corpus is read or a folder touched
    source = resolve_corpus(corpus, data_dir)
    with RunDir.create(out, overwrite=overwrite, inputs=source.paths()) as run:
        run.write_config(cfg, "hf-gpt2", source.describe(), sys.argv)
        err_console.print(f"training GPT-2 ({cfg.variant}) on {markup_safe(source.name)}, {cfg.threads} thread(s) "
                          f"-> {markup_safe(out)}", highlight=False)  # fmt: skip
        try:
            values = train_gpt2(cfg, source, run)
        except EmbedevalError as err:
            run.summary("failed", error=err.message)
            raise
        run.summary("complete", **values)
    err_console.print(f"valid ppl {values['valid_ppl']:.2f}  test ppl {values['test_ppl']:.2f} (per BPE token)  "
                      f"{values['parameters']:,} parameters -> {markup_safe(out)}/{MODEL}", highlight=False)  # fmt: skip

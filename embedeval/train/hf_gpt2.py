"""A small Hugging Face GPT-2 trained with transformers' own ``Trainer``: the kind of model (and the
``checkpoint-N/`` folders) people hold, trained where embedeval can plant ground truth in it.

The tokenizer is a byte-level BPE learnt from the training text (as GPT-2's was from WebText), plus
``--plant-tokens K`` tokens (``<planted-0>`` ...) that the text never holds: rows the input side never trains. The
model is ``GPT2LMHeadModel`` with ``tie_word_embeddings`` set by ``--variant`` (tied: one matrix S; untied: U = wte,
V = lm_head). The run folder holds ``model/`` (``save_pretrained`` and the tokenizer: what ``embedeval eval`` and
``--task tokens`` read), ``checkpoints/checkpoint-N/`` as the Trainer writes them (``embedeval series`` reads
them), and embedeval's ``config.json``, ``metrics.jsonl`` and ``summary.json`` (so ``reproduce`` can track it).

Perplexities here are per BPE token, not per word: they compare GPT-2 runs with each other, not with the LSTM's.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from embedeval.errors import EmbedevalError
from embedeval.layout import HF_CHECKPOINTS, HF_MODEL
from embedeval.ranges import Range, check_ranges

EOS = "<|endoftext|>"
PLANTED = "<planted-{}>"
MODEL, CHECKPOINTS = HF_MODEL, HF_CHECKPOINTS  # the final model's folder; the Trainer's output_dir (checkpoint-N/)

VARIANTS = ("tied", "untied")

RANGES = {
    "vocab_size": Range(int, 300, 1_000_000),
    "n_embd": Range(int, 8, 65_536),
    "n_layer": Range(int, 1, 256),
    "n_head": Range(int, 1, 1_024),
    "context": Range(int, 8, 65_536),
    "batch_size": Range(int, 1, 65_536),
    "epochs": Range(float, 0.01, 10_000),
    "lr": Range(float, 1e-8, 10),
    "weight_decay": Range(float, 0, 10),
    "warmup_steps": Range(int, 0, 10_000_000),
    "save_steps": Range(int, 0, 10_000_000),
    "planted_tokens": Range(int, 0, 100_000),
    "train_fraction": Range(float, 1e-6, 1, low_open=True),
    "seed": Range(int, 0, 2**32 - 1),
}


@dataclass
class GPT2Config:
    variant: str = "tied"  # tied: tie_word_embeddings=True (S); untied: separate wte (U) and lm_head (V)
    vocab_size: int = 8_000  # BPE vocabulary learnt from the training text (before the planted tokens)
    n_embd: int = 128
    n_layer: int = 2
    n_head: int = 4
    context: int = 128  # tokens per training block (and n_positions)
    batch_size: int = 16
    epochs: float = 2.0
    lr: float = 1e-3  # AdamW, linear decay after the warm-up (the Trainer's default schedule)
    weight_decay: float = 0.0  # the Trainer's default
    warmup_steps: int = 100
    save_steps: int = 0  # a checkpoint-N/ every this many steps (model weights only); 0: none but the final model
    planted_tokens: int = 0
    train_fraction: float = 1.0  # the first fraction of the training text's words (whole lines)
    seed: int = 1
    threads: int = 1

    def check(self) -> None:
        if self.variant not in VARIANTS:
            raise EmbedevalError(f"--variant {self.variant!r}: use one of {', '.join(VARIANTS)}")
        check_ranges(self, RANGES)
        if self.n_embd % self.n_head:
            raise EmbedevalError(f"--n-embd {self.n_embd} is not a multiple of --n-head {self.n_head}")


def corpus_text(corpus: Any) -> tuple[dict[str, list[str]], str | None]:
    """Each split's lines as text (words joined by spaces); a corpus of one file gets its valid and test lines held
    out as ``train lm`` holds them out (the note says how)."""
    from embedeval.train.lm import split_lines

    sources, note = split_lines(corpus)
    return {split: [" ".join(words) for words in lines()] for split, lines in sources.items()}, note


def training_lines(lines: list[str], fraction: float) -> list[str]:
    """The first ``fraction`` of the words, in whole lines (the LM runs' --train-fraction cuts the same text)."""
    if fraction >= 1:
        return lines
    total = sum(len(line.split()) for line in lines)
    wanted, kept, seen = fraction * total, [], 0
    for line in lines:
        if seen >= wanted:
            break
        kept.append(line)
        seen += len(line.split())
    return kept


def build_tokenizer(lines: list[str], cfg: GPT2Config) -> Any:
    """A byte-level BPE learnt from ``lines`` (GPT-2's scheme), with EOS special and the planted tokens added as
    ordinary tokens (reachable: the text simply never holds them)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=cfg.vocab_size,
        special_tokens=[EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # all 256 bytes, seen in the text or not
        show_progress=False,
    )
    tok.train_from_iterator(lines, trainer=trainer)
    if cfg.planted_tokens:
        tok.add_tokens([PLANTED.format(i) for i in range(cfg.planted_tokens)])
    return tok


def _blocks(tok: Any, lines: list[str], context: int) -> Any:
    import torch

    eos = tok.token_to_id(EOS)
    ids: list[int] = []
    for enc in tok.encode_batch(lines, add_special_tokens=False):
        ids.extend(enc.ids)
        ids.append(eos)
    n = len(ids) // context
    if n == 0:
        raise EmbedevalError(f"the text holds {len(ids)} tokens, fewer than one block of --context {context}")
    return torch.tensor(ids[: n * context], dtype=torch.long).view(n, context)


class _Blocks:
    def __init__(self, blocks: Any):
        self.blocks = blocks

    def __len__(self) -> int:
        return self.blocks.size(0)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {"input_ids": self.blocks[i], "labels": self.blocks[i]}


def _perplexity(model: Any, blocks: Any, batch: int) -> float:
    import torch

    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, blocks.size(0), batch):
            x = blocks[start : start + batch]
            loss = model(input_ids=x, labels=x).loss  # mean over the (context - 1) predicted tokens of each block
            n = x.size(0) * (x.size(1) - 1)
            total += float(loss) * n
            count += n
    return math.exp(total / count)


def train_gpt2(cfg: GPT2Config, corpus: Any, run: Any, progress: bool = True) -> dict[str, Any]:
    """Train on ``corpus`` (train/valid/test splits) into the claimed run folder ``run``; the summary's values."""
    import torch
    from transformers import GPT2Config as HFConfig
    from transformers import (
        GPT2LMHeadModel,
        PreTrainedTokenizerFast,
        Trainer,
        TrainingArguments,
        default_data_collator,
        set_seed,
    )

    cfg.check()
    text, held_out = corpus_text(corpus)
    train = training_lines(text["train"], cfg.train_fraction)
    tok = build_tokenizer(train, cfg)
    blocks = {"train": _blocks(tok, train, cfg.context), "valid": _blocks(tok, text["valid"], cfg.context),
              "test": _blocks(tok, text["test"], cfg.context)}  # fmt: skip
    set_seed(cfg.seed)
    hf = HFConfig(vocab_size=tok.get_vocab_size(with_added_tokens=True), n_positions=cfg.context, n_embd=cfg.n_embd,
                  n_layer=cfg.n_layer, n_head=cfg.n_head, bos_token_id=tok.token_to_id(EOS),
                  eos_token_id=tok.token_to_id(EOS), tie_word_embeddings=cfg.variant == "tied")  # fmt: skip
    model = GPT2LMHeadModel(hf)
    run.publish()  # the inputs are read: from here the folder is the run's own (and its path final, for the Trainer)
    args = TrainingArguments(
        output_dir=str(run.path / CHECKPOINTS),
        per_device_train_batch_size=cfg.batch_size,
        num_train_epochs=cfg.epochs,
        learning_rate=cfg.lr,
        weight_decay=cfg.weight_decay,
        warmup_steps=cfg.warmup_steps,
        save_strategy="steps" if cfg.save_steps else "no",
        save_steps=cfg.save_steps or 500,
        save_only_model=True,  # the weights a series reads; no optimizer state
        logging_steps=50,
        report_to=[],
        seed=cfg.seed,
        data_seed=cfg.seed,
        use_cpu=True,
        dataloader_num_workers=0,
        disable_tqdm=not progress,
    )
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, bos_token=EOS)
    # the tokenizer goes into every checkpoint-N/ (as a Trainer given one writes it), so a series names its rows
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=_Blocks(blocks["train"]),
        processing_class=fast,
        data_collator=default_data_collator,
    )  # fixed-size blocks: stacked, never padded
    result = trainer.train()
    loss = float(result.training_loss)
    if not math.isfinite(loss):
        raise EmbedevalError(f"the training loss is {loss}: the run stopped (lower --lr)", run.path)
    model.save_pretrained(run.path / MODEL)
    fast.save_pretrained(run.path / MODEL)
    for entry in trainer.state.log_history:
        if "loss" in entry:
            run.log({"step": entry.get("step"), "epoch_fraction": entry.get("epoch"), "train_loss": entry["loss"]})
    with torch.no_grad():
        valid, test = (_perplexity(model, blocks[s], cfg.batch_size) for s in ("valid", "test"))
    return {
        "valid_ppl": valid,
        "test_ppl": test,
        "ppl_unit": "BPE token",
        "held_out": held_out,
        "train_loss": loss,
        "steps": int(trainer.state.global_step),
        "train_blocks": int(blocks["train"].size(0)),
        "vocabulary": int(hf.vocab_size),
        "planted": [PLANTED.format(i) for i in range(cfg.planted_tokens)],
        "parameters": int(sum(p.numel() for p in model.parameters())),  # tied: S once
        "config": asdict(cfg),
    }

"""Translation-model configurations: a pre-LayerNorm Transformer encoder-decoder (Vaswani et al. 2017) with the
three tying modes of Press & Wolf Section 5.

``tie``: ``none`` (encoder input E, decoder input U, decoder output V all separate), ``decoder`` (U = V, as
fairseq's ``--share-decoder-input-output-embed``), ``all`` (E = U = V over one joint subword vocabulary, as
``--share-all-embeddings``: P&W's three-way tying).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from embedeval.errors import EmbedevalError
from embedeval.ranges import Range, check_ranges, positive_int

NMT_RANGES = {
    "vocab_size": Range(int, 16, 1_000_000),
    "d_model": positive_int(100_000),
    "layers": positive_int(64),
    "decoder_layers": positive_int(64),
    "heads": positive_int(1_024),
    "ff": positive_int(1_000_000),
    "dropout": Range(float, 0, 1, high_open=True),
    "label_smoothing": Range(float, 0, 1, high_open=True),
    "lr": Range(float, 0, 10, low_open=True),
    "warmup": Range(int, 0, 10_000_000),
    "min_lr_ratio": Range(float, 0, 1),
    "weight_decay": Range(float, 0, 10),
    "beta2": Range(float, 0, 1, low_open=True, high_open=True),
    "clip": Range(float, 0, 1e6, low_open=True),
    "batch_tokens": positive_int(10_000_000),
    "max_len": positive_int(100_000),
    "epochs": positive_int(100_000),
    "beam": positive_int(100),
    "len_penalty": Range(float, 0, 10),
    "seed": Range(int, 0, 2**63 - 1),
    "threads": Range(int, 0, 1_024),
    "max_batches": positive_int(),
    "max_eval_sentences": positive_int(),
}
TIES = ("none", "decoder", "all")
VOCABS = ("joint", "separate")


@dataclass
class NMTConfig:
    tie: str = "none"
    vocab: str = "joint"  # one subword model for both languages (needed by tie=all), or one per language
    vocab_size: int = 8000  # subword pieces (per model when separate)
    d_model: int = 256
    layers: int = 3  # encoder layers
    decoder_layers: int = 3
    heads: int = 4
    ff: int = 1024
    dropout: float = 0.2
    label_smoothing: float = 0.1
    emb_scale: bool = True  # multiply embeddings by sqrt(d_model) (Vaswani et al.; fairseq's default)
    lr: float = 1e-3
    schedule: str = "cosine"  # cosine (warm-up, then cosine to lr x min_lr_ratio) | inverse-sqrt (Vaswani)
    warmup: int = 800
    min_lr_ratio: float = 0.05
    weight_decay: float = 1e-4  # AdamW, weight matrices only: never an embedding (tied or not), bias or norm
    beta2: float = 0.98
    clip: float = 1.0
    batch_tokens: int = 4096  # source + target subword tokens per batch (before padding)
    max_len: int = 128  # training pairs longer than this (in pieces, either side) are skipped; decoding stops here
    epochs: int = 12
    beam: int = 5  # the final test; validation during training is greedy
    len_penalty: float = 1.0  # beam scores are log-probability / length ** len_penalty
    seed: int = 1
    device: str = "cpu"
    threads: int = 0
    max_batches: int | None = None  # cut every epoch (smoke tests, --dry-run)
    max_eval_sentences: int | None = None  # decode only the first sentences of valid/test (--dry-run)

    @property
    def tied(self) -> bool:
        """The decoder's U and V are one matrix (tie decoder or all)."""
        return self.tie != "none"

    @property
    def output_bias(self) -> bool:
        return False  # as fairseq and Vaswani et al.: the softmax layer has no bias, tied or not


CONFIGS = {
    # smoke tests: seconds on a CPU
    "nmt-tiny": dict(vocab_size=120, d_model=32, layers=1, decoder_layers=1, heads=2, ff=64, dropout=0.0,
                     lr=3e-3, warmup=5, batch_tokens=512, epochs=2, beam=2, max_len=64),
    # Multi30k on a CPU: 3+3 layers, width 256
    "nmt-small": dict(warmup=400),
    # for a GPU: Transformer-base-like width and depth
    "nmt-base": dict(vocab_size=10_000, d_model=512, layers=6, decoder_layers=6, heads=8, ff=2048, dropout=0.3,
                     lr=5e-4, warmup=2000, batch_tokens=8192, epochs=40),
}  # fmt: skip


def make_config(name: str = "nmt-small", tie: str = "none", **overrides: object) -> NMTConfig:
    if name not in CONFIGS:
        raise EmbedevalError(f"unknown config {name!r}; valid configs: {', '.join(CONFIGS)}")
    known = {f.name for f in dataclasses.fields(NMTConfig)}
    values = dict(CONFIGS[name], tie=tie)
    for key, value in overrides.items():
        if value is None:
            continue
        if key not in known:
            raise EmbedevalError(f"unknown NMT config field {key!r}")
        values[key] = value
    cfg = NMTConfig(**values)
    validate(cfg)
    return cfg


def validate(cfg: NMTConfig) -> None:
    check_ranges(cfg, NMT_RANGES)
    for name, allowed in (("tie", TIES), ("vocab", VOCABS), ("schedule", ("cosine", "inverse-sqrt")),
                          ("device", ("cpu", "cuda"))):  # fmt: skip
        if getattr(cfg, name) not in allowed:
            raise EmbedevalError(f"--{name} {getattr(cfg, name)!r}: must be one of {', '.join(allowed)}")
    if cfg.tie == "all" and cfg.vocab != "joint":
        raise EmbedevalError(
            "--tie all shares one matrix between the encoder and the decoder, which needs one joint subword "
            "vocabulary: drop --vocab separate"
        )
    if cfg.d_model % cfg.heads:
        raise EmbedevalError(f"--d-model {cfg.d_model} is not divisible by --heads {cfg.heads}: change either")

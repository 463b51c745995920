"""LSTM language-model configurations (Zaremba et al. 2014; Press & Wolf 2017; Inan et al. 2017).

Loss scale follows Zaremba: the cost is the cross-entropy summed over the bptt steps and averaged over
the batch, and lr / clip apply to that cost (docs/methods.md section 7). With a per-token mean the same training
would need lr x bptt and clip / bptt.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from embedeval.errors import EmbedevalError
from embedeval.ranges import Range, check_ranges, positive_int

LM_RANGES = {
    "init_scale": Range(float, 0, 10, low_open=True),
    "lr": Range(float, 0, 1e4, low_open=True),
    "clip": Range(float, 0, 1e6, low_open=True),
    "layers": positive_int(64),
    "bptt": positive_int(100_000),
    "hidden": positive_int(100_000),
    "emb_size": positive_int(100_000),
    "max_epoch": Range(int, 0, 100_000),
    "epochs": positive_int(100_000),
    "keep_prob": Range(float, 0, 1, low_open=True),
    "lr_decay": Range(float, 0, 1, low_open=True),
    "batch_size": positive_int(1_000_000),
    "pr_lambda": Range(float, 0, 1e6),
    "al_tau": Range(float, 0, 1e6, low_open=True),
    "al_gamma": Range(float, 0, 1e6),
    "seed": Range(int, 0, 2**63 - 1),
    "threads": Range(int, 0, 1_024),
    "max_batches": positive_int(),
    "eval_batch_size": positive_int(1_000_000),
    "max_eval_tokens": positive_int(),
}


@dataclass
class LMConfig:
    init_scale: float = 0.1
    lr: float = 1.0
    clip: float = 5.0
    layers: int = 2
    bptt: int = 20
    hidden: int = 200
    emb_size: int | None = None  # None: same as hidden
    max_epoch: int = 4  # Zaremba's name: the lr decays after epoch max_epoch + 1 (see learning_rate)
    epochs: int = 13
    keep_prob: float = 1.0
    lr_decay: float = 0.5
    batch_size: int = 20
    variant: str = "untied"
    variational: bool = False  # locked dropout: one mask per sequence, shared across time
    pr_lambda: float = 1.0 / 6.5  # projection regularisation strength (P&W code: 1/6.5)
    # P&W's TF code gives P a bias; with it our small PR runs collapse to a unigram model in the first
    # epoch (b_P moves every logit through V at lr 1). Off by default, as in the paper's h' = P h.
    pr_bias: bool = False
    al_tau: float = 20.0  # augmented loss temperature (Inan et al.)
    al_gamma: float = 1.0  # alpha = gamma * tau
    seed: int = 1
    device: str = "cpu"
    threads: int = 0  # torch threads; 0: leave torch's default
    max_batches: int | None = None  # stop each epoch early (smoke tests, --dry-run)
    eval_batch_size: int = 1  # valid/test carry the state over the whole split
    max_eval_tokens: int | None = None  # evaluate on the first tokens of valid/test only (--dry-run)

    @property
    def embedding_size(self) -> int:
        return self.emb_size or self.hidden

    @property
    def tied(self) -> bool:
        return self.variant in ("wt", "wt+pr", "re", "real")

    @property
    def projection(self) -> bool:
        return self.variant in ("pr", "wt+pr")

    @property
    def output_bias(self) -> bool:
        return self.variant not in ("re", "real")  # Inan's reuse drops the bias; P&W's WT keeps it

    @property
    def augmented_loss(self) -> bool:
        return self.variant in ("al", "real")


# name: (init_scale, lr, clip, layers, bptt, hidden, epochs at full lr, total epochs, keep_prob, decay, batch)
_ZAREMBA = {
    "small": (0.1, 1.0, 5.0, 2, 20, 200, 4, 13, 1.0, 0.5, 20),
    "medium": (0.05, 1.0, 5.0, 2, 35, 650, 6, 39, 0.5, 0.8, 20),
    "large": (0.04, 1.0, 10.0, 2, 35, 1500, 14, 55, 0.35, 1 / 1.15, 20),
}
_FIELDS = (
    "init_scale",
    "lr",
    "clip",
    "layers",
    "bptt",
    "hidden",
    "max_epoch",
    "epochs",
    "keep_prob",
    "lr_decay",
    "batch_size",
)
CONFIGS = {name: dict(zip(_FIELDS, values)) for name, values in _ZAREMBA.items()}
CONFIGS["pw-small"] = dict(CONFIGS["small"], keep_prob=1.0)  # P&W Table 6: small, no dropout
# the built-in default of `embedeval compare`: a minute or so on 2 cores on the ~60k-token Lee corpus
CONFIGS["demo"] = dict(CONFIGS["small"], hidden=64, layers=1, bptt=20, epochs=6, max_epoch=2, batch_size=20)
CONFIGS["tiny"] = dict(CONFIGS["small"], hidden=32, layers=1, bptt=10, epochs=2, max_epoch=1, batch_size=8)
VARIANTS = ("untied", "wt", "pr", "wt+pr", "re", "al", "real")


def make_config(name: str, variant: str = "untied", **overrides: object) -> LMConfig:
    if name not in CONFIGS:
        raise EmbedevalError(f"unknown config {name!r}; valid configs: {', '.join(CONFIGS)}")
    if variant not in VARIANTS:
        raise EmbedevalError(f"unknown variant {variant!r}; valid variants: {', '.join(VARIANTS)}")
    values = dict(CONFIGS[name], variant=variant)
    known = {f.name for f in dataclasses.fields(LMConfig)}
    for key, value in overrides.items():
        if value is None:
            continue
        if key not in known:
            raise EmbedevalError(f"unknown LM config field {key!r}")
        values[key] = value
    cfg = LMConfig(**values)
    validate(cfg)
    return cfg


def validate(cfg: LMConfig) -> None:
    check_ranges(cfg, LM_RANGES)
    if cfg.device not in ("cpu", "cuda"):
        raise EmbedevalError(f"--device {cfg.device!r}: must be cpu or cuda")
    if cfg.tied and not cfg.projection and cfg.embedding_size != cfg.hidden:
        raise EmbedevalError(
            f"variant {cfg.variant} ties U and V, which needs the embedding size ({cfg.embedding_size}) to equal "
            f"the hidden size ({cfg.hidden}): drop --emb-size, or use --variant wt+pr (projection before V)"
        )
    if not 0 < cfg.keep_prob <= 1:
        raise EmbedevalError(f"keep_prob must be in (0, 1], got {cfg.keep_prob}")

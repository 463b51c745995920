"""Language-model configurations: the LSTM (Zaremba et al. 2014; Press & Wolf 2017; Inan et al. 2017) and a
decoder-only Transformer (``arch="transformer"``, the ``tf-*`` configs).

Loss scale follows Zaremba: the cost is the cross-entropy summed over the bptt steps and averaged over
the batch, and lr / clip apply to that cost (docs/methods.md section 7). With a per-token mean the same training
would need lr x bptt and clip / bptt.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from embedeval import trainers
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
    "pr_lr_scale": Range(float, 0, 10),
    "al_tau": Range(float, 0, 1e6, low_open=True),
    "al_gamma": Range(float, 0, 1e6),
    "seed": Range(int, 0, 2**63 - 1),
    "threads": Range(int, 0, 1_024),
    "max_batches": positive_int(),
    "eval_batch_size": positive_int(1_000_000),
    "max_eval_tokens": positive_int(),
    "heads": positive_int(1_024),
    "ff_mult": positive_int(64),
    "weight_decay": Range(float, 0, 10),
    "warmup": Range(int, 0, 10_000_000),
    "min_lr_ratio": Range(float, 0, 1),
    "beta2": Range(float, 0, 1, low_open=True, high_open=True),
    "train_fraction": Range(float, 0, 1, low_open=True),
    "planted_tokens": Range(int, 0, 100_000),
    "loss_chunk": Range(int, 0, 1_000_000),
    "loss_kernel": Range(int, 1, 2),
    "dropout_kernel": Range(int, 1, 2),
    "optimizer_kernel": Range(int, 1, 2),
}

ARCHS = tuple(a.name for a in trainers.archs("lm"))  # registered in embedeval.trainers (when this was imported)


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
    # P&W's published TF code gives P a bias (b_P), and so does this default. With it the first epochs train slowly
    # (training perplexity ~2,500 over the first 400 batches against ~1,000 without) but the run generalises better
    # at the end: wt+pr seed 1 validates at 106 with it and 115 without (reports/press-wolf/PR-GAP.md). A regulariser
    # is judged at the end of training, not on its first batches.
    pr_bias: bool = True
    # P's learning rate as a multiple of the rest's (the paper states none). At 1, P's own updates slow the first
    # epoch of pr / wt+pr (reports/press-wolf/PR-GAP.md: train ppl over 400 batches 1,034 at 1, 817 at 0.1)
    pr_lr_scale: float = 1.0
    al_tau: float = 20.0  # augmented loss temperature (Inan et al.)
    # alpha = gamma * tau. Inan et al. use gamma 0.5 on PTB and 1.0 on WikiText-2 (docs/methods.md section 7)
    al_gamma: float = 0.5
    # whether the augmented loss's target y~ = softmax(U[target] U^T / tau) passes gradient into U (off: y~ is a
    # fixed target at each step, as a label would be)
    al_target_grad: bool = False
    seed: int = 1
    device: str = "cpu"
    threads: int = 0  # torch threads; 0: leave torch's default
    max_batches: int | None = None  # stop each epoch early (smoke tests, --dry-run)
    eval_batch_size: int = 1  # valid/test carry the state over the whole split
    max_eval_tokens: int | None = None  # evaluate on the first tokens of valid/test only (--dry-run)
    # --- architecture and optimiser (the LSTM keeps Zaremba's SGD; the Transformer uses AdamW + cosine)
    arch: str = "lstm"  # an architecture registered in embedeval.trainers (lstm, transformer, bilstm)
    heads: int = 4  # Transformer attention heads
    ff_mult: int = 4  # Transformer MLP width = ff_mult * hidden
    positions: str = "learned"  # learned | sinusoidal (Transformer)
    emb_scale: bool = False  # multiply the input embedding by sqrt(hidden) (Vaswani et al.)
    optimizer: str = "sgd"  # sgd | adamw
    weight_decay: float = 0.0  # AdamW: on weight matrices only; never on embeddings (tied or not), biases, norms
    warmup: int = 0  # linear warm-up steps (cosine schedule)
    min_lr_ratio: float = 0.1  # cosine schedule: decays to lr * min_lr_ratio at the last step
    beta2: float = 0.99  # AdamW
    schedule: str = "zaremba"  # zaremba (per epoch, lr_decay after max_epoch) | cosine (per step, after warmup)
    loss: str = "sum-over-time"  # Zaremba's cost (summed over bptt, averaged over the batch) | mean (per token)
    # train on the first fraction of the training tokens (a contiguous prefix); the vocabulary and the valid/test
    # splits stay those of the whole corpus, so perplexities compare across fractions (the little-data claim)
    train_fraction: float = 1.0
    # tokens added to the vocabulary that never occur in the text (<planted-0> ...): rows only the softmax trains,
    # ground truth for the under-trained-token indicators (docs/methods.md, section 13)
    planted_tokens: int = 0
    # rows per block of the fused output-layer cross-entropy (embedeval.train.fused_loss: less memory, same speed);
    # 0: the unfused F.cross_entropy(F.linear(...)), as runs trained before it was added (their config.json has no
    # loss_chunk, and a resumed one keeps 0). The two agree to float32 rounding, not bit for bit
    loss_chunk: int = 1024
    # how the fused loss forms a block's softmax (embedeval.train.fused_loss): 2 for new runs; a run that resumes
    # without it in its config.json was started with kernel 1 and keeps it (they agree to float32 rounding)
    loss_kernel: int = 2
    # how the Transformer draws its dropout masks (embedeval.train.transformer_model): 1, PyTorch's dropout (a
    # bernoulli_ draw of a double per element); 2 for new runs, a float32 uniform draw per element compared with the
    # keep probability (about half the time). Another random stream, so other numbers: a run that resumes without it
    # in its config.json was started with kernel 1 and keeps it, and the committed tables' runs pin 1
    dropout_kernel: int = 2
    # AdamW's arithmetic: 1, PyTorch's loop over the tensors; 2 for new runs, PyTorch's fused one-pass kernel (equal to
    # float32 rounding, not bit for bit). A run that resumes without it keeps 1, and the committed tables' runs pin 1
    optimizer_kernel: int = 2
    # transfer (docs/methods.md 10.1): train on this corpus with another run's vocabulary (words outside it read as
    # <unk>), and start from another run's final weights instead of a random initialisation. Paths to run folders
    vocab_from: str | None = None
    init_from: str | None = None
    # read the text as PTB is written (lower case, numbers as N, tokens without a letter or digit dropped): "ptb"
    normalise: str | None = None
    # settings only the architecture has (its ArchSpec.options, e.g. the biLM's softmax), every one stated
    arch_options: dict[str, str] = field(default_factory=dict)

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

    def unused_fields(self) -> tuple[str, ...]:
        """Fields this variant never reads: a resume may differ in them (a default changed since the run began)."""
        unused = () if self.augmented_loss else ("al_tau", "al_gamma", "al_target_grad")
        unused += () if self.projection else ("pr_lambda", "pr_bias", "pr_lr_scale")
        unused += () if self.optimizer == "adamw" else ("optimizer_kernel",)
        return unused + (() if self.arch == "transformer" else ("dropout_kernel",))  # the LSTMs' dropout is PyTorch's


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
# Transformers (arch transformer): bptt is the context length; keep_prob 0.9 = dropout 0.1
_TF = dict(
    arch="transformer", optimizer="adamw", schedule="cosine", loss="mean", lr_decay=1.0, max_epoch=0, init_scale=0.02,
    weight_decay=0.1, clip=1.0, positions="learned",
)  # fmt: skip
CONFIGS_TF = {
    "tf-tiny": dict(_TF, hidden=32, layers=2, heads=2, bptt=16, batch_size=8, epochs=2, lr=3e-3, warmup=10, keep_prob=1.0),
    # sized for about an hour of two CPU cores on PTB
    "tf-small": dict(_TF, hidden=256, layers=2, heads=4, bptt=128, batch_size=16, epochs=6, lr=1e-3, warmup=200, keep_prob=0.8),
    # for a GPU: GPT-2-small-like width, 6 layers
    "tf-base": dict(_TF, hidden=512, layers=6, heads=8, bptt=256, batch_size=32, epochs=20, lr=6e-4, warmup=1000, keep_prob=0.7),
}  # fmt: skip
# the built-in default of `embedeval compare`: a minute or so on 2 cores on the ~60k-token Lee corpus
CONFIGS["demo"] = dict(CONFIGS["small"], hidden=64, layers=1, bptt=20, epochs=6, max_epoch=2, batch_size=20)
CONFIGS["tiny"] = dict(CONFIGS["small"], hidden=32, layers=1, bptt=10, epochs=2, max_epoch=1, batch_size=8)
CONFIGS.update(CONFIGS_TF)
VARIANTS = ("untied", "wt", "pr", "wt+pr", "re", "al", "real")


def config_for(name: str | None, arch: str | None) -> str:
    """The config to use: the one named, else the default of the architecture (pw-small, tf-small ...)."""
    if name is not None:
        return name
    return trainers.arch(arch or "lstm").default_config


def arch_of(name: str) -> str:
    """The architecture a preset trains (lstm for a name that is not a preset: make_config refuses it later)."""
    return _presets().get(name, {}).get("arch", "lstm")


def configs_of(arch: str) -> list[str]:
    return [name for name, values in _presets().items() if values.get("arch", "lstm") == arch]


def _either(names: list[str]) -> str:
    return " or ".join(names) if len(names) < 3 else f"{', '.join(names[:-1])} or {names[-1]}"


def _presets() -> dict[str, dict]:
    """CONFIGS with the presets the registered architectures bring (also one registered at run time, as in a test)."""
    found = dict(CONFIGS)
    for spec in trainers.archs("lm"):
        for name, (base, changes) in spec.presets.items():
            found.setdefault(name, dict(found[base], arch=spec.name, **changes))
    return found


CONFIGS.update(_presets())  # the presets known at import, for --config's choices


def make_config(name: str, variant: str = "untied", **overrides: object) -> LMConfig:
    presets = _presets()
    if name not in presets:
        raise EmbedevalError(f"unknown config {name!r}; valid configs: {', '.join(presets)}")
    if variant not in VARIANTS:
        raise EmbedevalError(f"unknown variant {variant!r}; valid variants: {', '.join(VARIANTS)}")
    values = dict(presets[name], variant=variant)
    archs = [a.name for a in trainers.archs("lm")]
    arch = overrides.get("arch")
    if arch is not None and arch != values.get("arch", "lstm"):
        if arch not in archs:
            raise EmbedevalError(f"--arch {arch!r}: must be one of {', '.join(archs)}")
        raise EmbedevalError(
            f"config {name} is not an --arch {arch} config; for --arch {arch} use --config {_either(configs_of(arch))}"
        )
    known = {f.name for f in dataclasses.fields(LMConfig)}
    for key, value in overrides.items():
        if value is None:
            continue
        if key not in known:
            raise EmbedevalError(f"unknown LM config field {key!r}")
        values[key] = value
    # every setting of the architecture stated in the config, defaults included
    spec = trainers.arch(values.get("arch", "lstm"))
    values["arch_options"] = {**spec.option_defaults(), **(values.get("arch_options") or {})}
    cfg = LMConfig(**values)
    validate(cfg)
    return cfg


def validate(cfg: LMConfig) -> None:
    check_ranges(cfg, LM_RANGES)
    if cfg.device not in ("cpu", "cuda"):
        raise EmbedevalError(f"--device {cfg.device!r}: must be cpu or cuda")
    archs = tuple(a.name for a in trainers.archs("lm"))
    for name, allowed in (("arch", archs), ("positions", ("learned", "sinusoidal")), ("optimizer", ("sgd", "adamw")),
                          ("schedule", ("zaremba", "cosine")), ("loss", ("sum-over-time", "mean")),
                          ("normalise", (None, "ptb"))):  # fmt: skip
        if getattr(cfg, name) not in allowed:
            raise EmbedevalError(f"--{name} {getattr(cfg, name)!r}: must be one of {', '.join(allowed)}")
    spec = trainers.arch(cfg.arch)
    if spec.variants is not None and cfg.variant not in spec.variants:
        raise EmbedevalError(f"variant {cfg.variant} is not for --arch {cfg.arch}; it has {', '.join(spec.variants)}")
    options = {o.key: o for o in spec.options}
    for key, value in cfg.arch_options.items():
        if key not in options:
            known = f"it has {', '.join(options)}" if options else "it has none"
            raise EmbedevalError(f"--arch {cfg.arch} has no setting {key!r} ({known})")
        if value not in options[key].choices:
            raise EmbedevalError(f"{options[key].flag} {value!r}: must be one of {', '.join(options[key].choices)}")
    spec.check_config(cfg)
    if cfg.tied and not cfg.projection and cfg.embedding_size != cfg.hidden:
        raise EmbedevalError(
            f"variant {cfg.variant} ties U and V, which needs the embedding size ({cfg.embedding_size}) to equal "
            f"the hidden size ({cfg.hidden}): drop --emb-size, or use --variant wt+pr (projection before V)"
        )
    if cfg.pr_lr_scale != 1 and not (cfg.projection and cfg.optimizer == "sgd"):
        raise EmbedevalError(
            f"--pr-lr-scale {cfg.pr_lr_scale} scales the projection's SGD learning rate: use it with --variant pr or "
            "wt+pr (and the SGD optimizer)"
        )
    if not 0 < cfg.keep_prob <= 1:
        raise EmbedevalError(f"keep_prob must be in (0, 1], got {cfg.keep_prob}")

"""The registry of model families and their architectures: the one place that knows each trainer.

A family registers one :class:`TrainerSpec`: its name in ``config.json``, where its trainer and config classes live
(imported on first use, so this module stays light and sits at the bottom layer), how its runs name their model,
how its configs say tying and which untied run a tied one pairs with, whether it is a language model (perplexity,
P&W's LM claims), the ``embedeval track`` options that apply to it and how that command starts its pair, and its tiny
test setup, which enrols it in the check suite (:mod:`embedeval.testing`). An architecture of a family (the LM's
LSTM, Transformer, biLM) registers one :class:`ArchSpec`: its model class, presets, the variants it trains, its own
settings and its config check; a new one is a model module plus one :func:`register_arch`. The tracker, the run
folder, the report and the CLI ask this registry; none of them names a family or an architecture.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from embedeval.errors import EmbedevalError


@dataclass(frozen=True)
class TrainerSpec:
    name: str  # config.json "trainer"
    trainer: str  # "module:Class": the step-wise trainer (the contract of embedeval.train.base)
    config: str  # "module:Class": its config dataclass
    model_name: Callable[[dict[str, Any]], str]  # a config (as stored) -> the model's name in exports and reports
    driver: str  # "module:function" (cfg, data, run, resume=, progress=, hooks=) -> summary: trains a prepared run
    tie_fields: tuple[str, ...]  # the config fields that say how the run ties
    untied_partner: Callable[[dict[str, Any]], dict[str, Any] | None]  # a tied config -> its partner's tie fields
    # the check suite's setups: (label, "module:function"), the function (toy corpus, folder) -> ({False: untied
    # config, True: tied config}, data); one per architecture the family trains
    tiny: tuple[tuple[str, str], ...]
    language_model: bool = False  # perplexity, and P&W's language-model claims apply
    translation: bool = False  # BLEU, and the translation section of a report
    output_vs_input: str = ""  # what P&W found for V against U in this family (the report's comparison)
    track_options: tuple[str, ...] = ()  # `embedeval track` options that mean something for this family
    model_prefixes: tuple[str, ...] = field(default=())  # model names this family writes start with one of these
    # "module:function" (config name, toy corpus) -> ({False: untied, True: tied}, data): the setup of each
    # architecture registered under this family (ArchSpec.tiny_config), which enrols it in the check suite
    tiny_pair: str = ""
    # "module:function" (run folder, config, weights) -> (model, vocabulary, source vocabulary): ee.load_model
    rebuild: str = ""
    check_config: str = ""  # "module:function" (config) -> None: raises EmbedevalError on a setting out of range

    def trainer_class(self) -> type:
        return _load(self.trainer)

    def config_class(self) -> type:
        return _load(self.config)

    def driver_function(self) -> Callable[..., dict[str, Any]]:
        return _load(self.driver)

    def tiny_setups(self) -> list[tuple[str, Callable[[Any, Any], tuple[dict[bool, Any], Any]]]]:
        """The family's own setups, then one per architecture registered under it (its tiny config)."""
        own = [(label, _load(path)) for label, path in self.tiny]
        if not self.tiny_pair:
            return own
        pair = _load(self.tiny_pair)
        return own + [(a.name, _bind(pair, a.tiny_config)) for a in archs(self.name)]

    def tiny_labels(self) -> list[str]:
        return [label for label, _ in self.tiny] + ([a.name for a in archs(self.name)] if self.tiny_pair else [])

    def writes_model(self, model: str) -> bool:
        """Whether a model named ``model`` comes from this family (by the name's first part)."""
        return model.startswith((*self.model_prefixes, *(a.name for a in archs(self.name))))


@dataclass(frozen=True)
class ArchOption:
    """A setting only one architecture has, stored in the config's ``arch_options`` under ``key``."""

    key: str
    flag: str  # the command-line option of `train lm` and `track`
    choices: tuple[str, ...]
    default: str
    help: str
    in_name: bool = True  # part of the model's name and the report's variant label (it changes what is tied)


@dataclass(frozen=True)
class ArchSpec:
    """One model architecture of a family (the LM family's lstm, transformer, bilstm): a new architecture is one
    model module plus one of these."""

    name: str  # the config's ``arch``
    family: str  # the TrainerSpec it trains under
    model: str  # "module:Class", built as Class(vocab_size, config)
    about: str  # one line for --help
    default_config: str  # the config used when none is named
    tiny_config: str  # the check suite's config
    presets: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)  # name -> (base preset, changes)
    variants: tuple[str, ...] | None = None  # the family's variants it trains (None: all)
    options: tuple[ArchOption, ...] = ()
    check: str = ""  # "module:function" (config) -> None: raises EmbedevalError on settings it cannot train

    def model_class(self) -> type:
        return _load(self.model)

    def check_config(self, config: Any) -> None:
        if self.check:
            _load(self.check)(config)

    def option_defaults(self) -> dict[str, str]:
        return {o.key: o.default for o in self.options}


_ARCHS: dict[str, ArchSpec] = {}


def register_arch(spec: ArchSpec) -> ArchSpec:
    if spec.name in _ARCHS and _ARCHS[spec.name] != spec:
        raise ValueError(f"an architecture named {spec.name!r} is registered already")
    _ARCHS[spec.name] = spec
    return spec


def archs(family: str | None = None) -> list[ArchSpec]:
    _load_plugins()
    return [a for a in _ARCHS.values() if family is None or a.family == family]


def _load_plugins() -> None:
    """Architectures an installed package registers (entry point group ``embedeval.architectures``)."""
    from embedeval.plugins import load_group

    load_group("embedeval.architectures", register_arch, ArchSpec)


@contextlib.contextmanager
def registered_arch(spec: ArchSpec) -> Iterator[ArchSpec]:
    """An architecture registered for the ``with`` block only (tests)."""
    register_arch(spec)
    try:
        yield spec
    finally:
        _ARCHS.pop(spec.name, None)


def arch(name: str | None) -> ArchSpec:
    _load_plugins()
    if name not in _ARCHS:
        raise EmbedevalError(f"unknown architecture {name!r}; known: {', '.join(_ARCHS)}")
    return _ARCHS[name]


def arch_label(config: dict[str, Any]) -> str:
    """The part of a model's name its architecture's own settings add (``shared-`` for a biLM with one softmax)."""
    spec = _ARCHS.get(config.get("arch", ""))
    if spec is None:
        return ""
    stored = config.get("arch_options") if isinstance(config.get("arch_options"), dict) else {}
    return "".join(f"{stored.get(o.key, o.default)}-" for o in spec.options if o.in_name)


def _bind(function: Callable[..., Any], first: Any) -> Callable[..., Any]:
    return lambda *args: function(first, *args)


def load_function(path: str) -> Any:
    """The object a registry entry names as "module:name" (imported now)."""
    return _load(path)


def _load(path: str) -> Any:
    from embedeval.plugins import resolve

    return resolve(path)


_REGISTRY: dict[str, TrainerSpec] = {}


def register(spec: TrainerSpec) -> TrainerSpec:
    if spec.name in _REGISTRY and _REGISTRY[spec.name] != spec:
        raise ValueError(f"a trainer named {spec.name!r} is registered already")
    _REGISTRY[spec.name] = spec
    return spec


def get(name: str | None) -> TrainerSpec:
    if name not in _REGISTRY:
        raise EmbedevalError(f"unknown trainer {name!r}; known: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def find(name: str | None) -> TrainerSpec | None:
    """The family registered as ``name``, or None (a run of a trainer this version does not know)."""
    return _REGISTRY.get(name) if name is not None else None


def names() -> list[str]:
    return list(_REGISTRY)


def specs() -> list[TrainerSpec]:
    return list(_REGISTRY.values())


def for_model(model: str | None) -> TrainerSpec | None:
    """The family whose runs write models named ``model`` (``lstm-wt`` -> lm), or None (a file, a pretrained
    model)."""
    for spec in _REGISTRY.values():
        if model and spec.writes_model(model):
            return spec
    return None


def for_config(config: Any) -> TrainerSpec:
    """The family a config object belongs to (by its class, without importing any trainer)."""
    where = f"{type(config).__module__}:{type(config).__qualname__}"
    for spec in _REGISTRY.values():
        if spec.config == where:
            return spec
    raise EmbedevalError(f"{type(config).__name__} is the config of no registered trainer ({', '.join(_REGISTRY)})")


def model_name(trainer: str | None, config: dict[str, Any]) -> str:
    """The one name of a run's model, from its trainer and config (``lstm-wt``, ``transformer-untied``,
    ``sgns-gensim``, ``sgns-torch-tied`` ...): written into every exported embedding and shown in reports."""
    return _REGISTRY[trainer].model_name(config) if trainer in _REGISTRY else "unknown"


def is_untied_partner(trainer: str | None, tied: dict[str, Any], untied: dict[str, Any]) -> bool:
    """Whether ``untied`` holds the tie settings of the untied run that ``tied`` is the tied form of."""
    if trainer not in _REGISTRY:
        return False
    partner = _REGISTRY[trainer].untied_partner(tied)
    return partner is not None and all(untied.get(k) == v for k, v in partner.items())


# --- the families -------------------------------------------------------------------------------------------------

# a tied LM variant -> the untied variant it is the tied form of (P&W: wt, wt+pr; Inan: re, real)
LM_TIED_PARTNER = {"wt": "untied", "re": "untied", "wt+pr": "pr", "real": "al"}


def _lm_name(config: dict[str, Any]) -> str:
    return f"{config.get('arch', 'lstm')}-{arch_label(config)}{config.get('variant', '?')}"


def _sgns_name(config: dict[str, Any]) -> str:
    name = f"sgns-{config.get('backend', '?')}"
    if config.get("model") == "fasttext":
        name += "-fasttext"
    return name + ("-tied" if config.get("tie") else "")


register(
    TrainerSpec(
        name="lm",
        trainer="embedeval.train.lm:LMTrainer",
        config="embedeval.train.lm_config:LMConfig",
        driver="embedeval.train.lm:train_lm",
        rebuild="embedeval.train.load:rebuild_lm",
        check_config="embedeval.train.lm_config:validate",
        model_name=_lm_name,
        tie_fields=("variant", "pr_bias"),
        untied_partner=lambda c: (
            {"variant": LM_TIED_PARTNER[c["variant"]]} if c.get("variant") in LM_TIED_PARTNER else None
        ),
        tiny=(),
        tiny_pair="embedeval.train.lm:tiny_pair",
        language_model=True,
        output_vs_input="P&W find the output embedding better in (LSTM) language models",
        track_options=("corpus", "arch", "config_name", "pair", "max_batches"),
    )
)
# the LM family's architectures (configs: embedeval.train.lm_config, presets of later ones below)
register_arch(
    ArchSpec(
        name="lstm",
        family="lm",
        model="embedeval.train.lm_model:RNNLM",
        about="the LSTM LM of Zaremba et al., Press & Wolf and Inan et al. (every variant; default config pw-small)",
        default_config="pw-small",
        tiny_config="tiny",
        options=(
            ArchOption(
                key="bias",
                flag="--lstm-bias",
                choices=("torch", "tf"),
                default="torch",
                help="lstm: the LSTM's gate biases. torch: PyTorch's two bias vectors per layer, initialised like "
                "every weight (the default); tf: one bias vector per layer initialised to 0 with forget bias 0, as "
                "TensorFlow's BasicLSTMCell in Zaremba's and Press & Wolf's code.",
                in_name=False,
            ),
        ),
    )
)
register_arch(
    ArchSpec(
        name="transformer",
        family="lm",
        model="embedeval.train.transformer_model:TransformerLM",
        about="decoder-only, pre-LayerNorm, AdamW + cosine (default config tf-small)",
        default_config="tf-small",
        tiny_config="tf-tiny",
        variants=("untied", "wt", "re"),
        check="embedeval.train.transformer_model:check_config",
    )
)
register_arch(
    ArchSpec(
        name="bilstm",
        family="lm",
        model="embedeval.train.bilm_model:BiLSTMLM",
        about="an ELMo-style biLM: forward and backward LSTMs over one input embedding (default config bilm-small)",
        default_config="bilm-small",
        tiny_config="bilm-tiny",
        presets={"bilm-small": ("pw-small", {}), "bilm-tiny": ("tiny", {})},  # P&W's small size, no dropout
        variants=("untied", "wt"),  # wt: the one shared softmax is the input embedding too
        options=(
            ArchOption(
                key="softmax",
                flag="--bilm-softmax",
                choices=("shared", "separate"),
                default="shared",
                help="bilstm: one softmax for both directions (ELMo; the default) or one per direction. With "
                "--variant wt the shared softmax is the input embedding too.",
            ),
        ),
        check="embedeval.train.bilm_model:check_config",
    )
)
register(
    TrainerSpec(
        name="nmt",
        trainer="embedeval.train.nmt:NMTTrainer",
        config="embedeval.train.nmt_config:NMTConfig",
        driver="embedeval.train.nmt:train_nmt",
        rebuild="embedeval.train.load:rebuild_nmt",
        check_config="embedeval.train.nmt_config:validate",
        model_name=lambda c: f"nmt-{c.get('tie', '?')}",
        tie_fields=("tie",),
        untied_partner=lambda c: {"tie": "none"} if c.get("tie") in ("decoder", "all") else None,
        tiny=(("nmt", "embedeval.train.nmt:tiny_setup"),),
        translation=True,
        track_options=("src", "tgt", "config_name", "max_batches"),
        model_prefixes=("nmt",),
    )
)
register(
    TrainerSpec(
        name="skipgram",
        trainer="embedeval.train.skipgram:TorchSGNS",
        config="embedeval.train.skipgram_config:SkipGramConfig",
        driver="embedeval.train.skipgram:train_skipgram",
        rebuild="embedeval.train.load:rebuild_skipgram",
        check_config="embedeval.train.skipgram_config:validate",
        model_name=_sgns_name,
        tie_fields=("tie",),
        untied_partner=lambda c: {"tie": False} if c.get("tie") else None,
        tiny=(("skipgram", "embedeval.train.skipgram:tiny_setup"),),
        output_vs_input="P&W find the output embedding slightly worse than the input in skip-gram",
        track_options=("corpus", "dim", "min_count"),
        model_prefixes=("sgns",),
    )
)

__all__ = ["LM_TIED_PARTNER", "ArchOption", "ArchSpec", "TrainerSpec", "arch", "arch_label", "archs", "find", "for_config", "for_model", "get", "load_function", "is_untied_partner", "model_name", "names",
           "register", "register_arch", "registered_arch", "specs"]  # fmt: skip

"""The registry of model families: the one place that knows each trainer.

A family registers one :class:`TrainerSpec`: its name in ``config.json``, where its trainer and config classes live
(imported on first use, so this module stays light and sits at the bottom layer), how its runs name their model,
how its configs say tying and which untied run a tied one pairs with, whether it is a language model (perplexity,
P&W's LM claims), the ``embedeval track`` options that apply to it, and its tiny test setup, which enrols it in the
check suite (:mod:`embedeval.testing`). The tracker, the run folder, the report and the CLI ask this registry; none of
them names a family.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
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
    tracker: str  # "module:function" (untied cfg, tied cfg, data, out, **options) -> summary: a pair in lockstep
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

    def trainer_class(self) -> type:
        return _load(self.trainer)

    def config_class(self) -> type:
        return _load(self.config)

    def driver_function(self) -> Callable[..., dict[str, Any]]:
        return _load(self.driver)

    def tiny_setups(self) -> list[tuple[str, Callable[[Any, Any], tuple[dict[bool, Any], Any]]]]:
        return [(label, _load(path)) for label, path in self.tiny]


def load_function(path: str) -> Any:
    """The object a registry entry names as "module:name" (imported now)."""
    return _load(path)


def _load(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


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
        if model and model.startswith(spec.model_prefixes):
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
    arch = config.get("arch", "lstm")
    softmax = f"{config.get('bilm_softmax', 'shared')}-" if arch == "bilstm" else ""  # the biLM names its softmax
    return f"{arch}-{softmax}{config.get('variant', '?')}"


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
        tracker="embedeval.dynamics.tracker:track_lm",
        model_name=_lm_name,
        tie_fields=("variant", "pr_bias"),
        untied_partner=lambda c: (
            {"variant": LM_TIED_PARTNER[c["variant"]]} if c.get("variant") in LM_TIED_PARTNER else None
        ),
        tiny=(
            ("lstm", "embedeval.train.lm:tiny_setup"),
            ("transformer", "embedeval.train.lm:tiny_transformer_setup"),
            ("bilstm", "embedeval.train.lm:tiny_bilm_setup"),
        ),
        language_model=True,
        output_vs_input="P&W find the output embedding better in (LSTM) language models",
        track_options=("corpus", "arch", "config_name", "pair", "max_batches"),
        model_prefixes=("lstm", "transformer", "bilstm"),
    )
)
register(
    TrainerSpec(
        name="nmt",
        trainer="embedeval.train.nmt:NMTTrainer",
        config="embedeval.train.nmt_config:NMTConfig",
        driver="embedeval.train.nmt:train_nmt",
        tracker="embedeval.dynamics.tracker:track_nmt",
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
        tracker="embedeval.dynamics.tracker:track_skipgram_pair",
        model_name=_sgns_name,
        tie_fields=("tie",),
        untied_partner=lambda c: {"tie": False} if c.get("tie") else None,
        tiny=(("skipgram", "embedeval.train.skipgram:tiny_setup"),),
        output_vs_input="P&W find the output embedding slightly worse than the input in skip-gram",
        track_options=("corpus", "dim", "min_count"),
        model_prefixes=("sgns",),
    )
)

__all__ = ["LM_TIED_PARTNER", "TrainerSpec", "find", "for_config", "for_model", "get", "load_function", "is_untied_partner", "model_name", "names",
           "register", "specs"]  # fmt: skip

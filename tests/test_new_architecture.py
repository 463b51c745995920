"""A new language-model architecture is one module (here, this test file) and one registration: the check suite
enrols it, configs and the model name come from its registration, it trains into a run folder like any LM, and its
own setting is stated in config.json and refused for other architectures."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from embedeval import testing, trainers
from embedeval.errors import EmbedevalError
from embedeval.train.lm_model import EmbeddingLM


class NeuralBigramLM(EmbeddingLM):
    """The smallest neural LM with U and V: the next word from the current one through one layer (no state)."""

    def __init__(self, vocab_size: int, cfg) -> None:
        super().__init__()
        h = cfg.hidden
        self.encoder = nn.Embedding(vocab_size, h)
        self.mix = nn.Linear(h, h)
        self.decoder = nn.Linear(h, vocab_size)
        self.squash = torch.tanh if cfg.arch_options.get("squash") == "tanh" else torch.relu
        for param in self.parameters():
            nn.init.uniform_(param, -cfg.init_scale, cfg.init_scale)
        if cfg.tied:
            self.decoder.weight = self.encoder.weight

    def init_hidden(self, batch_size: int) -> list:
        return []

    def features(self, tokens: torch.Tensor, hidden: list) -> tuple[torch.Tensor, list]:
        return self.squash(self.mix(F.embedding(tokens, self._split_weight("input")))), hidden


def refuse_relu_when_tied(cfg) -> None:
    if cfg.tied and cfg.arch_options["squash"] == "relu":
        raise EmbedevalError("the tied bigram LM needs --bigram-squash tanh")


BIGRAM = trainers.ArchSpec(
    name="bigram",
    family="lm",
    model=f"{__name__}:NeuralBigramLM",
    about="a neural bigram LM (a test of the registry)",
    default_config="bigram-tiny",
    tiny_config="bigram-tiny",
    presets={"bigram-tiny": ("tiny", {})},
    variants=("untied", "wt"),
    options=(trainers.ArchOption("squash", "--bigram-squash", ("tanh", "relu"), "tanh", "the nonlinearity"),),
    check=f"{__name__}:refuse_relu_when_tied",
)


@pytest.fixture
def bigram(monkeypatch):
    monkeypatch.setitem(trainers._ARCHS, "bigram", BIGRAM)
    return BIGRAM


def test_a_registered_architecture_is_enrolled_in_the_check_suite_and_passes_it(bigram, toy_corpus, tmp_path):
    assert "bigram" in testing.labels()
    setup = testing.setup("bigram", toy_corpus, tmp_path)
    for check in testing.CHECKS:
        check(setup)


def test_its_registration_gives_its_configs_name_variants_and_settings(bigram):
    from embedeval.train.lm_config import config_for, make_config

    cfg = make_config(config_for(None, "bigram"), "wt")
    assert cfg.arch == "bigram" and cfg.arch_options == {"squash": "tanh"}  # the default is stated
    assert trainers.model_name("lm", json.loads(json.dumps(vars(cfg)))) == "bigram-tanh-wt"
    assert trainers.for_model("bigram-tanh-wt").name == "lm"
    with pytest.raises(EmbedevalError, match="not for --arch bigram"):
        make_config("bigram-tiny", "pr")
    with pytest.raises(EmbedevalError, match="needs --bigram-squash tanh"):
        make_config("bigram-tiny", "wt", arch_options={"squash": "relu"})
    with pytest.raises(EmbedevalError, match="--bigram-squash 'sigmoid': must be one of tanh, relu"):
        make_config("bigram-tiny", "untied", arch_options={"squash": "sigmoid"})
    with pytest.raises(EmbedevalError, match="--arch lstm has no setting 'squash'"):
        make_config("tiny", "untied", arch_options={"squash": "tanh"})


def test_it_trains_into_a_run_folder_and_comes_back(bigram, toy_corpus, tmp_path):
    import embedeval as ee
    from embedeval.train.lm_config import make_config

    cfg = make_config("bigram-tiny", "untied", threads=1, arch_options={"squash": "relu"})
    ee.train(cfg, ee.load_lm_data(toy_corpus), tmp_path / "run", corpus=toy_corpus)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["status"] == "complete" and "direction_ppl" not in summary  # one direction
    stored = json.loads((tmp_path / "run" / "config.json").read_text())["config"]
    assert stored["arch"] == "bigram" and stored["arch_options"] == {"squash": "relu"}
    loaded = ee.load_model(tmp_path / "run")
    assert isinstance(loaded.model, NeuralBigramLM) and loaded.model.squash is torch.relu


def test_a_setting_of_one_architecture_is_refused_for_another(toy_corpus, tmp_path):
    from tests.conftest import run_cli

    code, _, err = run_cli("train", "lm", "--arch", "lstm", "--bilm-softmax", "separate", "--corpus",
                           str(toy_corpus.path().parent), "--out", str(tmp_path / "x"))  # fmt: skip
    assert code == 2 and "--bilm-softmax is for --arch bilstm, not lstm" in err
    assert not (tmp_path / "x").exists()

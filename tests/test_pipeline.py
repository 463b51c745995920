"""One pipeline: the same inputs and settings give the same results file from the command line and from Python
(`eval --json` against `ee.score(...).to_dict()`, `compare`'s results.json against `ee.compare`'s), for an embedding
file, a run, a translation run and a pretrained folder, with `--pieces mean` and `--data-dir`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import embedeval as ee
from tests.conftest import run_cli

VOLATILE = {"created", "command", "versions", "title"}  # when and how it ran, not what it found


def _stable(data: dict) -> dict:
    return {k: v for k, v in data.items() if k not in VOLATILE}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    from embedeval.data.corpus import resolve_corpus
    from embedeval.rundir import RunDir
    from embedeval.train import nmt
    from embedeval.train.lm import load_lm_data, train_lm
    from embedeval.train.lm_config import make_config
    from embedeval.train.nmt_config import make_config as nmt_config
    from tests.test_nmt import DE, EN, prepared
    from tests.test_pretrained import make, tokenizer

    root = tmp_path_factory.mktemp("pipeline")
    rng = np.random.default_rng(0)
    words = ["tiger", "cat", "dog", "car", "automobile", "money", "cash", "bank", "river", "water", "love", "sex"]
    ee.write(ee.Embedding(words, rng.normal(size=(len(words), 6))), root / "vectors.txt", "word2vec")
    with RunDir.create(root / "lm") as run:
        train_lm(make_config("tiny", "untied", epochs=1, max_batches=5, threads=1), load_lm_data(resolve_corpus("builtin")),
                 run)  # fmt: skip
    src, tgt = root / "train.en", root / "train.de"
    src.write_text("".join(s + "\n" for s in EN * 30), encoding="utf-8")
    tgt.write_text("".join(s + "\n" for s in DE * 30), encoding="utf-8")
    cfg = nmt_config("nmt-tiny", "all", threads=1, vocab_size=60, epochs=1, max_batches=3, max_eval_sentences=4)
    data = prepared((src, tgt), cfg)
    with RunDir.create(root / "nmt") as run:
        nmt.save_subwords(data, run)
        nmt.train_nmt(cfg, data, run)
    pytest.importorskip("transformers")
    make(root / "gpt2", "gpt2", {"bpe": tokenizer("bpe")})
    return {"file": root / "vectors.txt", "run": root / "lm", "translation": root / "nmt", "pretrained": root / "gpt2"}


@pytest.mark.parametrize("kind", ["file", "run", "translation", "pretrained"])
def test_eval_and_ee_score_write_the_same_results(kind, inputs, tmp_path, data_dir):
    path = inputs[kind]
    out = tmp_path / "cli.json"
    code, _, err = run_cli("eval", str(path), "-b", "ws353", "-b", "men", "--pieces", "mean", "--data-dir",
                           str(data_dir), "--bootstrap", "50", "--task", "geometry", "--json", str(out))  # fmt: skip
    assert code == 0, err
    from_python = ee.score([path], ["ws353", "men"], pieces="mean", data_dir=str(data_dir), n_bootstrap=50,
                           tasks=("geometry",))  # fmt: skip
    assert json.loads(out.read_text()) == json.loads(json.dumps(from_python.to_dict()))
    from embedeval.errors import EmbedevalError

    with pytest.raises(EmbedevalError, match="ee.score"):  # ee.evaluate takes loaded embeddings and says so
        ee.evaluate([path], ee.load_benchmarks(["ws353"], data_dir))


@pytest.mark.parametrize("kind", ["file", "pretrained", "translation"])
def test_compare_and_ee_compare_write_the_same_results(kind, inputs, tmp_path, data_dir):
    paths = [inputs[kind], inputs["run"]]
    code, _, err = run_cli("compare", *map(str, paths), "-b", "simverb3500", "--pieces", "mean", "--data-dir",
                           str(data_dir), "--bootstrap", "50", "--out", str(tmp_path / "cli"))  # fmt: skip
    assert code == 0, err
    ee.compare(paths, ["simverb3500"], out=tmp_path / "py", pieces="mean", data_dir=str(data_dir), n_bootstrap=50)
    cli = json.loads((tmp_path / "cli" / "results.json").read_text())
    py = json.loads((tmp_path / "py" / "results.json").read_text())
    assert _stable(cli) == _stable(py)
    assert cli["settings"]["pieces"] == "mean"

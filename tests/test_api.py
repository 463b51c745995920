"""The flat public API: every name resolves, and the one-call helpers do what the commands do."""

from __future__ import annotations

import embedeval as ee


def test_every_public_name_resolves():
    for name in ee.__all__:
        assert getattr(ee, name) is not None, name


def test_compare_from_python_is_the_compare_command(tmp_path):
    from embedeval.embeddings import write
    from tests.test_analogy import structured

    good, noisy = structured(), structured(noise=1.2)
    write(good, tmp_path / "good.txt", "word2vec")
    write(noisy, tmp_path / "noisy.txt", "word2vec")
    report = ee.compare([tmp_path / "good.txt", tmp_path / "noisy.txt"], ["rg65", "google-analogy"],
                        out=tmp_path / "rep", n_bootstrap=0)  # fmt: skip
    assert report.names == ["good.txt", "noisy.txt"]
    assert report.analogies["analogies"][0]["correct"] > report.analogies["analogies"][1]["correct"]
    assert (tmp_path / "rep" / "index.html").is_file()


def test_evaluate_is_callable_though_a_subpackage_shares_its_name():
    import numpy as np

    import embedeval.evaluate  # noqa: F401 - the import that makes ee.evaluate name the subpackage

    emb = ee.Embedding(["cat", "dog", "car"], np.eye(3), name="e")
    ev = ee.evaluate(emb, ee.load_benchmarks(["rg65"]), n_bootstrap=0)
    assert ev.result("e", "rg65").pairs_total == 65


def test_load_model_rebuilds_a_trained_language_model_from_its_folder(tmp_path, toy_corpus):
    import torch

    data = ee.load_lm_data(toy_corpus)
    for variant in ("untied", "wt"):
        with ee.RunDir.create(tmp_path / variant) as run:
            ee.train_lm(ee.lm_config("tiny", variant, epochs=1), data, run)
    untied, tied = ee.load_model(tmp_path / "untied"), ee.load_model(tmp_path / "wt")
    assert untied.trainer == "lm" and untied.epoch == 1 and untied.vocab == data.vocab.words
    assert tied.tied and tied.model.input_embedding() is tied.model.output_embedding()  # one tensor, as in training
    assert untied.model.input_embedding() is not untied.model.output_embedding()
    exported = ee.load_one(tmp_path / "wt", role="tied")
    assert exported.words == tied.vocab
    torch.testing.assert_close(tied.model.input_embedding().detach(), torch.from_numpy(exported.vectors))
    tokens = torch.tensor([[data.vocab.index[w]] for w in ("w1", "w2", "w3")])  # (time, batch)
    with torch.no_grad():
        logits, _ = tied.model(tokens, tied.model.init_hidden(1))
    assert logits.shape[-1] == len(tied.vocab) and torch.isfinite(logits).all()


def test_load_model_gives_the_skipgram_matrices_and_refuses_what_it_cannot_rebuild(tmp_path):
    import pytest
    import torch

    from embedeval.errors import EmbedevalError
    from tests.test_skipgram import small

    corpus = ee.resolve_corpus("builtin")
    with ee.RunDir.create(tmp_path / "sg") as run:
        ee.train_skipgram(small(backend="torch", tie=True), corpus, run)
    loaded = ee.load_model(tmp_path / "sg")
    assert loaded.trainer == "skipgram" and loaded.tied
    assert loaded.model.input_embedding() is loaded.model.output_embedding()
    exported = ee.load_one(tmp_path / "sg", role="tied")
    torch.testing.assert_close(loaded.model.input_embedding().detach(), torch.from_numpy(exported.vectors))
    with ee.RunDir.create(tmp_path / "gensim") as run:
        ee.train_skipgram(small(), corpus, run)
    with pytest.raises(EmbedevalError, match="gensim skip-gram run keeps no torch model"):
        ee.load_model(tmp_path / "gensim")
    (tmp_path / "empty").mkdir()
    with pytest.raises(EmbedevalError, match="no config.json"):
        ee.load_model(tmp_path / "empty")


def test_a_run_started_from_python_has_the_folder_of_one_from_the_cli(tmp_path, toy_corpus):
    import json

    import torch

    from tests.conftest import run_cli

    folder = str(toy_corpus.path().parent)
    code, _, err = run_cli("train", "lm", "--config", "tiny", "--variant", "wt", "--corpus", folder, "--out",
                           str(tmp_path / "cli"), "--threads", "1")  # fmt: skip
    assert code == 0, err
    cfg = ee.lm_config("tiny", "wt", threads=1)
    summary = ee.train(cfg, ee.load_lm_data(toy_corpus), tmp_path / "py", corpus=toy_corpus)
    cli, py = tmp_path / "cli", tmp_path / "py"
    assert sorted(p.relative_to(cli).as_posix() for p in cli.rglob("*")) == sorted(
        p.relative_to(py).as_posix() for p in py.rglob("*")
    )
    a, b = (json.loads((d / "config.json").read_text()) for d in (cli, py))
    assert a["trainer"] == b["trainer"] == "lm" and a["config"] == b["config"] and a["corpus"] == b["corpus"]
    assert (cli / "vocab.tsv").read_text() == (py / "vocab.tsv").read_text()
    x = torch.load(cli / "checkpoint.pt", weights_only=True)["model"]
    y = torch.load(py / "checkpoint.pt", weights_only=True)["model"]
    assert all(torch.equal(x[k], y[k]) for k in x)  # same seed, same numbers
    assert summary["test_ppl"] == json.loads((cli / "summary.json").read_text())["test_ppl"]
    resumed = ee.train(cfg, ee.load_lm_data(toy_corpus), py, corpus=toy_corpus, resume=True)  # finished: nothing left
    assert resumed["test_ppl"] == summary["test_ppl"]


def test_track_pairs_any_family_through_the_registry(tmp_path, toy_corpus):
    import pytest

    from embedeval.errors import EmbedevalError
    from tests.test_skipgram import small

    sg = [small(backend="torch", tie=t, dim=8, min_count=1) for t in (False, True)]
    summary = ee.track(*sg, toy_corpus, tmp_path / "sg", tcfg=ee.TrackConfig(every=1, geometry=False))
    assert summary["steps"] > 0 and ee.read_dynamics(tmp_path / "sg")[-1]["step"] == summary["steps"]
    with pytest.raises(EmbedevalError, match="different model families"):
        ee.track(sg[0], ee.lm_config("tiny", "wt"), toy_corpus, tmp_path / "mixed")
    with pytest.raises(EmbedevalError, match="differ in 'dim'"):
        ee.track(sg[0], small(backend="torch", tie=True, dim=16, min_count=1), toy_corpus, tmp_path / "bad")


def test_train_from_python_refuses_a_resume_with_other_settings_or_text(tmp_path, toy_corpus):
    import pytest

    from embedeval.errors import EmbedevalError

    data = ee.load_lm_data(toy_corpus)
    cfg = ee.lm_config("tiny", "untied", threads=1, epochs=1)
    ee.train(cfg, data, tmp_path / "run", corpus=toy_corpus)
    with pytest.raises(EmbedevalError, match="lr"):
        ee.train(ee.lm_config("tiny", "untied", threads=1, epochs=2, lr=0.5), data, tmp_path / "run",
                 corpus=toy_corpus, resume=True)  # fmt: skip
    other = tmp_path / "other"
    other.mkdir()
    for split in ("train", "valid", "test"):
        (other / f"{split}.txt").write_text("a b c d e f g\n" * 50)
    with pytest.raises(EmbedevalError, match="--resume"):
        ee.train(cfg, data, tmp_path / "run", corpus=ee.resolve_corpus(other), resume=True)
    with pytest.raises(EmbedevalError):  # a new run never replaces an existing one without overwrite
        ee.train(cfg, data, tmp_path / "run", corpus=toy_corpus)


def test_one_path_one_benchmark_one_task_given_as_strings_are_not_read_letter_by_letter(tmp_path, monkeypatch):
    import embedeval as ee

    monkeypatch.chdir(tmp_path)
    (tmp_path / "e.txt").write_text("cat 1 0 0\ndog 0.9 0.1 0\ntiger 0.5 0.5 0\ncar 0 0 1\n")
    (tmp_path / "b.txt").write_text("cat dog 8\ncat tiger 6\ndog tiger 5\ncat car 1\n")
    results = ee.score("e.txt", "b.txt", tasks="geometry", n_bootstrap=0)
    assert [r.benchmark for r in results.similarity.results] == ["b"] and "geometry" in results.tasks
    report = ee.compare("e.txt", "b.txt", tasks="geometry", n_bootstrap=0)
    assert report.benchmarks and report.evaluation.results[0].pairs_used == 4

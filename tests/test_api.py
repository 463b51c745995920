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
    assert report.analogies.results[0].correct > report.analogies.results[1].correct
    assert (tmp_path / "rep" / "index.html").is_file()


def test_evaluate_is_callable_though_a_subpackage_shares_its_name():
    import numpy as np

    import embedeval.evaluate  # noqa: F401 - the import that makes ee.evaluate name the subpackage

    emb = ee.Embedding(["cat", "dog", "car"], np.eye(3), name="e")
    ev = ee.evaluate(emb, ee.load_benchmarks(["rg65"]), n_bootstrap=0)
    assert ev.result("e", "rg65").pairs_total == 65

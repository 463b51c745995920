"""Analogies: the same answers as gensim on identical vectors, vocabulary and questions; the statistics."""

from __future__ import annotations

import numpy as np
import pytest

from embedeval.data.analogies import parse_analogies
from embedeval.data.benchmarks import bundled_dir
from embedeval.embeddings import Embedding
from embedeval.evaluate.analogy import evaluate_analogies, mcnemar_exact, wilson

GOOGLE = bundled_dir() / "questions-words.txt"


def structured(seed: int = 0, noise: float = 0.35) -> Embedding:
    """The Google set's words with its relations built in: each section adds one offset, so 3CosAdd answers most
    questions, and noise and words shared by several sections make it miss some. Distractor words, and a second,
    lower-case spelling of some words (gensim's case rule: the first spelling wins), sit in between."""
    rng = np.random.default_rng(seed)
    aset = parse_analogies(GOOGLE)
    vectors: dict[str, np.ndarray] = {}
    dim = 50
    for s, _ in enumerate(aset.sections):
        offset = rng.normal(size=dim)
        for q, sec in zip(aset.questions, aset.section_of):
            if sec != s:
                continue
            for x, y in ((q[0], q[1]), (q[2], q[3])):
                vectors.setdefault(x, rng.normal(size=dim))
                vectors[y] = vectors[x] + offset + noise * rng.normal(size=dim)
    words = list(vectors)
    rng.shuffle(words)
    extra = [f"filler{i}" for i in range(300)]
    lower = [w.lower() for w in words[:200] if w.lower() != w]
    order = words[:1000] + extra + lower + words[1000:]
    table = {**vectors, **{w: rng.normal(size=dim) for w in extra}, **{w: rng.normal(size=dim) for w in lower}}
    return Embedding(order, np.array([table[w] for w in order], dtype=np.float32), name="structured")


@pytest.mark.parametrize("restrict", [300_000, 1500])
def test_correct_answers_equal_gensims_evaluate_word_analogies(restrict):
    from gensim.models import KeyedVectors

    emb = structured()
    kv = KeyedVectors(emb.dim)
    kv.add_vectors(emb.words, emb.vectors)
    _, sections = kv.evaluate_word_analogies(str(GOOGLE), restrict_vocab=restrict, case_insensitive=True)
    gensim = {s["section"]: (len(s["correct"]), len(s["correct"]) + len(s["incorrect"])) for s in sections}
    ours = evaluate_analogies(emb, [parse_analogies(GOOGLE)], restrict_vocab=restrict).results[0]
    assert ours.correct == gensim["Total accuracy"][0] and ours.questions_covered == gensim["Total accuracy"][1]
    assert 0 < ours.correct < ours.questions_covered  # the test has right and wrong answers to agree on
    for sec in ours.sections:
        assert (sec["correct"], sec["questions"]) == gensim[sec["section"]], sec["section"]


def test_3cosmul_agrees_with_gensims_most_similar_cosmul():
    from gensim.models import KeyedVectors

    emb = structured(noise=0.8)
    kv = KeyedVectors(emb.dim)
    kv.add_vectors(emb.words, emb.vectors)
    aset = parse_analogies(GOOGLE)
    rng = np.random.default_rng(3)
    picked = [aset.questions[i] for i in rng.choice(len(aset), 60, replace=False)]
    small = type(aset)("sample", picked, [0] * len(picked), ["all"])
    ours = evaluate_analogies(emb, [small], method="mul", fold_case=False).correct["sample"]["structured"]
    for q, right in zip(picked, ours):
        best = next(w for w, _ in kv.most_similar_cosmul(positive=[q[1], q[2]], negative=[q[0]], topn=10)
                    if w not in q[:3])  # fmt: skip
        assert right == (best == q[3]), q


def test_several_embeddings_share_questions_and_get_a_mcnemar_test():
    good, noisy = structured(noise=0.2), structured(noise=1.5)
    narrow = Embedding(noisy.words[:900], noisy.vectors[:900], name="noisy")  # a smaller vocabulary
    ev = evaluate_analogies([good, narrow], [parse_analogies(GOOGLE)])
    a, b = ev.results
    assert a.questions_used == b.questions_used < a.questions_covered  # the narrower vocabulary sets the questions
    overall = next(c for c in ev.comparisons if c.section == "all")
    assert overall.a_only > overall.b_only and overall.p < 1e-6
    assert all(c.p_holm is not None and c.p_holm >= c.p for c in ev.comparisons)


def test_wilson_and_mcnemar_known_values():
    low, high = wilson(8, 10)  # Wilson (1927): 0.490 to 0.943
    assert low == pytest.approx(0.4902, abs=1e-3) and high == pytest.approx(0.9433, abs=1e-3)
    assert wilson(0, 0) == (None, None)
    a = np.array([True] * 10 + [False] * 5 + [True] * 2)
    b = np.array([False] * 10 + [False] * 5 + [True] * 2)
    only_a, only_b, p = mcnemar_exact(a, b)
    assert (only_a, only_b) == (10, 0) and p == pytest.approx(2 * 0.5**10)


def test_the_msr_csv_layout_reads_its_sections(tmp_path):
    (tmp_path / "msr.csv").write_text(",type,word1,word2,word3,target\n0,JJ_JJR,good,better,rough,rougher\n"
                                      "1,NN_NNS,cat,cats,dog,dogs\n")  # fmt: skip
    aset = parse_analogies(tmp_path / "msr.csv")
    assert aset.sections == ["JJ_JJR", "NN_NNS"] and aset.questions[1] == ("cat", "cats", "dog", "dogs")
    assert all(aset.syntactic(s) for s in aset.sections)


def test_eval_and_compare_score_analogies_and_geometry(tmp_path, monkeypatch, capsys):
    import json

    from embedeval.embeddings import write
    from tests.test_hostile import run_main

    write(structured(), tmp_path / "good.txt", "word2vec")
    noisy = structured(noise=1.2)
    write(noisy, tmp_path / "noisy.txt", "word2vec")
    files = [str(tmp_path / "good.txt"), str(tmp_path / "noisy.txt")]
    code, _, err = run_main(["eval", *files, "-b", "google-analogy", "--geometry", "--json", str(tmp_path / "r.json")],
                            monkeypatch, capsys)  # fmt: skip
    assert code == 0, err
    data = json.loads((tmp_path / "r.json").read_text())
    assert [r["embedding"] for r in data["analogies"]] == ["good.txt", "noisy.txt"]
    assert data["analogies"][0]["correct"] > data["analogies"][1]["correct"]
    assert {g["embedding"] for g in data["geometry"]} == {"good.txt", "noisy.txt"}
    code, out, err = run_main(["compare", *files, "-b", "rg65", "-b", "google-analogy", "--out", str(tmp_path / "rep"),
                               "--bootstrap", "0"], monkeypatch, capsys)  # fmt: skip
    assert code == 0, err
    page = (tmp_path / "rep" / "index.html").read_text()
    assert 'id="analogies"' in page and 'id="geometry"' in page and "McNemar" in page
    results = json.loads((tmp_path / "rep" / "results.json").read_text())
    assert results["analogy_comparisons"] and len(results["geometry"]) == 2
    rows = (tmp_path / "rep" / "analogies.csv").read_text().splitlines()
    assert rows[0].startswith("embedding,analogy,method") and any(",syntactic," in r for r in rows)
    assert (tmp_path / "rep" / "geometry.csv").read_text().splitlines()[0].startswith("embedding,rows,dim")


def test_analogies_are_a_registered_task_that_the_benchmarks_call_for():
    from embedeval.cli.options import _task_names
    from embedeval.pipeline import Inputs, Settings, score
    from embedeval.report.sources import Sources
    from embedeval.tasks import get_task, to_run

    task = get_task("analogies")
    assert task.wanted and "analogies" not in _task_names()  # chosen by -b, not by --task
    aset = parse_analogies(GOOGLE)
    assert [t.name for t in to_run(("geometry",), Inputs(Sources(), [], [aset], []))] == ["analogies", "geometry"]
    assert [t.name for t in to_run((), Inputs(Sources(), [], [], []))] == []
    sources = Sources()
    sources.embeddings.append(structured())
    results = score(Inputs(sources, [], [aset], []), Settings())
    data = results.to_dict()
    assert data["analogies"] == results.analogies["analogies"] and data["analogies"][0]["correct"] > 0
    assert "analogy_comparisons" in data and "tasks" not in data
    rows = task.call("csv_rows", results.analogies)
    assert {r["part"] for r in rows} >= {"all", "semantic", "syntactic"}

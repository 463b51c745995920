"""Token analysis: the indicators against values computed by hand on small matrices, the AUROC against
scikit-learn's, and the task end to end on a model folder, a GGUF file and a run, with planted untrained rows."""

from __future__ import annotations

import json

import numpy as np
import pytest

from embedeval.embeddings.matrix import ArrayMatrix
from embedeval.evaluate.tokens import auroc, candidates, first_pc_removed, init_box, reference_cosine, row_norms


def test_row_norms_and_candidates_by_hand():
    x = np.array([[3.0, 4.0], [0.0, 0.1], [1.0, 0.0], [6.0, 8.0]], dtype=np.float32)
    assert np.allclose(row_norms(ArrayMatrix(x), block_rows=3), [5.0, 0.1, 1.0, 10.0])
    score = -row_norms(ArrayMatrix(x))
    ids, threshold, rule = candidates(score, reference=np.array([1, 2]))  # references: median of -0.1 and -1.0
    assert threshold == pytest.approx(-0.55) and list(ids) == [1] and "reference" in rule


def test_candidates_without_references_use_a_robust_z_score():
    score = np.array([0.0, 0.1, -0.1, 0.05, -0.05, 5.0])
    ids, threshold, rule = candidates(score, reference=np.array([], dtype=int))
    median = np.median(score)
    mad = np.median(np.abs(score - median)) * 1.4826
    assert threshold == pytest.approx(median + 3 * mad) and list(ids) == [5] and "robust" in rule


def test_reference_cosine_is_the_cosine_to_the_reference_mean_after_the_first_pc():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 6)).astype(np.float32)
    x[:, 0] *= 10  # a dominant first direction
    reference = np.array([3, 7, 11])
    got = reference_cosine(ArrayMatrix(x), reference, block_rows=64)
    # by hand: centre, remove the first principal direction, cosine to the mean reference row
    c = x.astype(np.float64) - x.mean(axis=0)
    pc = np.linalg.svd(c, full_matrices=False)[2][0]
    t = c - np.outer(c @ pc, pc)
    target = t[reference].mean(axis=0)
    want = t @ target / (np.linalg.norm(t, axis=1) * np.linalg.norm(target))
    assert np.allclose(got, want, atol=1e-9)
    mean, direction = first_pc_removed(ArrayMatrix(x))
    assert np.allclose(mean, x.mean(axis=0), atol=1e-6) and abs(abs(direction @ pc) - 1) < 1e-9


def test_auroc_matches_scikit_learn():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(1)
    score = np.round(rng.normal(size=300), 1)  # ties too
    positive = rng.choice(300, size=20, replace=False)
    labels = np.zeros(300, dtype=bool)
    labels[positive] = True
    assert auroc(score, positive) == pytest.approx(roc_auc_score(labels, score))


transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A GPT-NeoX (untied) folder whose U and V rows of 12 ordinary tokens were set as if never trained: U rows
    tiny (as at a small initialisation), V rows at the mean of the special and unreachable tokens' rows."""
    import torch

    from tests.test_pretrained import tokenizer

    toks = tokenizer("bpe")
    size = toks.get_vocab_size(with_added_tokens=True)
    t = transformers
    torch.manual_seed(0)
    model = t.GPTNeoXForCausalLM(t.GPTNeoXConfig(vocab_size=size, hidden_size=32, num_hidden_layers=1,
                                                num_attention_heads=2, intermediate_size=32,
                                                tie_word_embeddings=False))  # fmt: skip
    rng = np.random.default_rng(0)
    rows = rng.choice(np.arange(300, size), size=12, replace=False)
    with torch.no_grad():
        model.gpt_neox.embed_in.weight[rows] *= 0.01
    folder = tmp_path_factory.mktemp("planted")
    model.save_pretrained(folder)
    toks.save(str(folder / "tokenizer.json"))
    return folder, rows


def test_the_token_task_finds_planted_rows_in_a_model_folder(planted, tmp_path):
    from embedeval.pipeline import Settings, score

    folder, rows = planted
    results = score([folder], Settings(benchmarks=["rg65"], tasks=("tokens",), n_bootstrap=0))
    (row,) = results.tasks["tokens"]
    assert row["tied"] is False and row["tokens"] > 1000
    norm = next(i for i in row["indicators"] if i["indicator"] == "input_norm")
    found = {t["id"] for t in norm["top"]}
    assert set(int(r) for r in rows) <= found  # every planted row is a candidate
    assert all(t["token"].startswith(("'", '"')) for t in norm["top"])  # shown as literals
    json.dumps(results.to_dict())  # plain data


def test_the_token_task_runs_on_gguf_and_from_the_command_line(planted, tmp_path):
    from embedeval.cli import main
    from tests.test_gguf import _to_gguf

    folder, rows = planted
    gguf = _to_gguf(folder, tmp_path / "m.gguf", "Q8_0")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the government said on Tuesday that the plan was good\n" * 50, encoding="utf-8")
    import sys

    argv = sys.argv
    sys.argv = [
        "embedeval",
        "eval",
        str(gguf),
        "-b",
        "rg65",
        "--corpus",
        str(corpus),
        "--json",
        str(tmp_path / "r.json"),
    ]
    try:
        with pytest.raises(SystemExit) as done:
            main()
            raise SystemExit(0)
    finally:
        sys.argv = argv
    assert done.value.code in (0, None)
    (row,) = json.loads((tmp_path / "r.json").read_text())["tokens"]
    assert {f["matrix"] for f in row["frequency"]} == {"U", "V"}
    assert row["corpus"].startswith("corpus.txt")


def test_where_no_token_passes_the_threshold_the_head_of_the_ranking_is_still_shown():
    """Untrained rows need not be outliers: here the three shortest rows of U sit inside the spread of the rest, so
    the 3-robust-sd threshold lists nothing, and the table and tokens.csv give the ranking's head instead, said as
    such."""
    from embedeval.tasks.tokens import _cells, analyse_model, csv_rows

    rng = np.random.default_rng(0)
    u = rng.normal(size=(200, 8)).astype(np.float32)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    u *= rng.uniform(1.0, 2.0, size=(200, 1)).astype(np.float32)  # norms spread evenly over [1, 2]
    u[[5, 6, 7]] *= 0.95 / np.linalg.norm(u[[5, 6, 7]], axis=1, keepdims=True)  # just below the rest

    class Model:
        input, output, tied_by_weights = ArrayMatrix(u), ArrayMatrix(u.copy()), False

    row = analyse_model("m", Model, None, None, None, None, seed=0)
    (norm,) = [i for i in row["indicators"] if i["indicator"] == "input_norm"]
    assert norm["candidates"] == 0 and norm["top"] == []
    assert sorted(t["id"] for t in norm["ranked"][:3]) == [5, 6, 7]
    assert not any(t["candidate"] for t in norm["ranked"])
    cell = _cells(row)[0][-1]
    assert cell.startswith("none passes; ranked first: 5 (5), ")
    ranked = [r for r in csv_rows([row]) if r["kind"] == "ranked"]
    assert [r["rank"] for r in ranked[:3]] == [1, 2, 3] and ranked[0]["candidate"] is False


def test_the_token_task_writes_its_candidates_and_frequency_to_tokens_csv(planted):
    import csv
    import io

    from embedeval.pipeline import Settings, score
    from embedeval.tasks.tokens import csv_rows

    folder, rows = planted
    results = score([folder], Settings(benchmarks=["rg65"], tasks=("tokens",), n_bootstrap=0))
    frequency = {"model": "m", "tied": False, "tokens": 3, "categories": {}, "indicators": [],
                 "frequency": [{"matrix": "U", "spearman_norm": 0.5, "probe_r2": 0.2, "probe_r2_ci": [0.1, 0.3]}]}  # fmt: skip
    flat = csv_rows([*results.tasks["tokens"], frequency])
    assert len({tuple(r) for r in flat}) == 1  # one header for every line
    candidates = [r for r in flat if r["kind"] == "candidate"]
    assert {int(r["id"]) for r in candidates if r["indicator"] == "input_norm"} >= {int(x) for x in rows}
    assert flat[-1]["kind"] == "frequency" and flat[-1]["probe_r2_ci_high"] == 0.3
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(flat[0]))
    writer.writeheader()
    writer.writerows(flat)


def test_init_box_by_hand():
    rows = np.array([[0.05, -0.09], [0.11, 0.0], [-0.1, 0.02], [0.0, 0.3]], dtype=np.float32)
    score, ids, threshold, rule = init_box(ArrayMatrix(rows), 0.1)
    np.testing.assert_allclose(score, [-0.09, -0.11, -0.1, -0.3], rtol=1e-6)
    # rows 0 and 2 are inside [-0.1, 0.1] (row 2 on its edge, float32's 0.1), most suspicious first
    assert ids.tolist() == [0, 2] and threshold == -float(np.float32(0.1)) and "[-0.1, 0.1]" in rule


def test_the_token_task_lists_exactly_the_rows_no_update_reached_when_the_initialisation_is_known():
    from embedeval.tasks.tokens import analyse_model

    rng = np.random.default_rng(0)
    u = rng.uniform(-0.1, 0.1, size=(300, 16)).astype(np.float32)
    untouched = np.array([3, 50, 299])
    trained = np.setdiff1d(np.arange(300), untouched)
    u[trained] += rng.normal(0, 0.2, size=(len(trained), 16)).astype(np.float32)  # updates leave the box

    class Model:
        input, output, tied_by_weights = ArrayMatrix(u), ArrayMatrix(u.copy()), False

    with_box = analyse_model("m", Model, None, None, None, None, seed=0, init_bound=0.1)
    box = {i["matrix"]: i for i in with_box["indicators"] if i["indicator"] == "init_box"}
    assert set(box) == {"U", "V"}
    assert sorted(t["id"] for t in box["U"]["top"]) == untouched.tolist() and box["U"]["candidates"] == 3
    without = analyse_model("m", Model, None, None, None, None, seed=0)
    assert all(i["indicator"] != "init_box" for i in without["indicators"])


def test_the_initialisation_is_read_from_an_embedeval_runs_config(tmp_path):
    from embedeval.tasks.tokens import uniform_init_bound

    def run(name, trainer="lm", **cfg):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text(json.dumps({"trainer": trainer, "config": cfg}))
        return tmp_path / name

    assert uniform_init_bound(run("lstm", init_scale=0.05)) == 0.05
    assert uniform_init_bound(run("old", init_scale=0.1)) == 0.1  # runs from before the arch field: LSTMs
    assert uniform_init_bound(run("bilm", arch="bilstm", init_scale=0.1)) == 0.1
    assert uniform_init_bound(run("tf", arch="transformer", init_scale=0.02)) is None  # normal initialisation
    assert uniform_init_bound(run("fine", init_scale=0.1, init_from="elsewhere")) is None  # rows from another run
    assert uniform_init_bound(run("sgns", trainer="skipgram", init_scale=0.1)) is None
    assert uniform_init_bound(tmp_path / "absent") is None

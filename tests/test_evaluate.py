import json
import math

import numpy as np
import pytest

from embedeval.data.benchmarks import bundled_dir, parse_pairs
from embedeval.data.registry import REGISTRY, load_benchmark, load_benchmarks
from embedeval.embeddings import Embedding, load_one, write
from embedeval.errors import EmbedevalError
from embedeval.evaluate import evaluate
from embedeval.evaluate.geometry import compare_geometry, knn_indices, linear_cka
from embedeval.evaluate.output import write_csv, write_json


def random_embedding_over(benches, keep=0.8, seed=0, dim=20):
    """Random vectors for most benchmark words, with some upper-case variants that collide."""
    rng = np.random.default_rng(seed)
    words = sorted({w for b in benches for w in b.words1 + b.words2})
    kept = [w for w in words if rng.random() < keep]
    kept = list(dict.fromkeys(kept + [w.upper() for w in kept[:40]]))
    rng.shuffle(kept)
    return Embedding(kept, rng.normal(size=(len(kept), dim)), name="rand")


def test_drop_policy_equals_gensim_evaluate_word_pairs(tmp_path):
    from gensim.models import KeyedVectors

    benches = load_benchmarks()
    path = write(random_embedding_over(benches), tmp_path / "rand.txt", "word2vec")
    kv = KeyedVectors.load_word2vec_format(str(path))
    ev = evaluate(load_one(path), benches, n_bootstrap=0)
    for bench in benches:
        spec = REGISTRY[bench.name]
        pearson, spearman, oov_ratio = kv.evaluate_word_pairs(
            str(bundled_dir() / spec.relpath), restrict_vocab=len(kv), case_insensitive=True, delimiter=spec.sep or " "
        )
        ours = ev.result("rand", bench.name)
        assert abs(ours.spearman - spearman.statistic) < 1e-9, bench.name
        assert abs(ours.pearson - pearson.statistic) < 1e-6  # gensim's cosines are float32
        assert math.isclose(100 * ours.oov_pairs / ours.pairs_total, oov_ratio)
        assert ours.pairs_used == ours.pairs_total - ours.oov_pairs


def test_several_embeddings_are_scored_on_identical_pairs():
    bench = load_benchmark("men")
    a = random_embedding_over([bench], keep=0.7, seed=1)
    b = random_embedding_over([bench], keep=0.7, seed=2).derive(name="other")
    ev = evaluate([a, b], [bench], n_bootstrap=50)
    ra, rb = ev.result("rand", "men"), ev.result("other", "men")
    assert ra.pairs_used == rb.pairs_used < min(ra.pairs_covered, rb.pairs_covered)
    assert ra.intersected and rb.intersected
    alone = evaluate([a], [bench], n_bootstrap=0).result("rand", "men")
    assert alone.pairs_used == ra.pairs_covered


def test_oov_policies_zero_and_mean_use_every_pair():
    bench = load_benchmark("simlex999")
    emb = random_embedding_over([bench], keep=0.6)
    for policy in ("zero", "mean"):
        r = evaluate(emb, [bench], oov=policy, n_bootstrap=0).results[0]
        assert r.pairs_used == 999 and r.oov_policy == policy and r.oov_pairs > 0


def test_case_collisions_keep_the_first_variant_and_are_counted(tmp_path):
    bench = pairs_file(tmp_path, ["tiger\tcat\t7", "dog\tcat\t6", "car\ttiger\t1", "dog\tcar\t2"])
    words = ["tiger", "cat", "dog", "car", "Tiger"]
    vectors = np.random.default_rng(0).normal(size=(5, 4))
    r = evaluate(Embedding(words, vectors), [bench], n_bootstrap=0).results[0]
    assert r.case_collisions == 1 and r.pairs_used == 4
    flipped = evaluate(Embedding(words[::-1], vectors[::-1]), [bench], n_bootstrap=0).results[0]
    assert flipped.spearman != r.spearman  # now "Tiger" comes first and wins


def pairs_file(tmp_path, lines):
    path = tmp_path / "pairs.txt"
    path.write_text("\n".join(lines) + "\n")
    return parse_pairs(path)


def test_fewer_than_three_pairs_gives_undefined_rho_with_a_reason(tmp_path, small_embedding):
    bench = pairs_file(tmp_path, ["tiger\tcat\t7", "money\tcash\t9", "zebra\tunicorn\t3"])
    r = evaluate(small_embedding, [bench]).results[0]
    assert r.spearman is None and "only 2 covered pair" in r.undefined_reason


def test_zero_vector_is_an_error_naming_file_and_line(tmp_path):
    path = tmp_path / "z.txt"
    path.write_text("3 2\ntiger 1 2\ncat 0 0\ndog 1 1\n")
    bench = pairs_file(tmp_path, ["tiger\tcat\t7", "dog\tcat\t6", "tiger\tdog\t1"])
    with pytest.raises(EmbedevalError, match=r"z.txt:3: vector for 'cat' is all zeros"):
        evaluate(load_one(path), [bench])


def test_same_seed_same_numbers():
    benches = load_benchmarks(["simlex999", "ws353"])
    emb = random_embedding_over(benches)
    first = evaluate([emb, emb.derive(name="twin", vectors=emb.vectors * 2 + 0.1)], benches, seed=5).to_dict()
    second = evaluate([emb, emb.derive(name="twin", vectors=emb.vectors * 2 + 0.1)], benches, seed=5).to_dict()
    assert first == second


def test_json_and_csv_hold_the_documented_fields(tmp_path):
    benches = load_benchmarks(["ws353", "rg65"])
    emb = random_embedding_over(benches)
    ev = evaluate([emb, emb.derive(name="b", vectors=emb.vectors[:, ::-1].copy())], benches, n_bootstrap=100)
    data = json.loads(write_json(ev, tmp_path / "r.json").read_text())
    required = {
        "embedding",
        "benchmark",
        "spearman",
        "ci_low",
        "ci_high",
        "pearson",
        "pairs_total",
        "pairs_used",
        "oov_pairs",
        "oov_policy",
        "benchmark_sha256",
        "version",
    }
    assert required <= set(data["results"][0])
    assert len(data["results"]) == 4 and len(data["comparisons"]) == 2
    assert {c["benchmark"] for c in data["correlations"]} == {"ws353", "rg65", "all"}
    csv_text = write_csv(ev, tmp_path / "r.csv").read_text().splitlines()
    assert len(csv_text) == 5 and "spearman" in csv_text[0]


def test_holm_is_applied_across_benchmarks():
    benches = load_benchmarks(["ws353", "men", "simlex999"])
    emb = random_embedding_over(benches)
    other = emb.derive(name="noisy", vectors=emb.vectors + np.random.default_rng(3).normal(size=emb.vectors.shape))
    ev = evaluate([emb, other], benches, n_bootstrap=200)
    from embedeval.evaluate import stats

    raw = [c.williams_p for c in ev.comparisons]
    assert len(raw) == 3  # one pair of embeddings on three benchmarks: a family of three tests
    np.testing.assert_allclose([c.williams_p_holm for c in ev.comparisons], stats.holm(raw))
    assert max(c.williams_p_holm for c in ev.comparisons) > max(raw) or max(raw) == 1.0  # Holm moved something


def test_table3_correlation_of_an_embedding_with_itself_is_one():
    benches = load_benchmarks(["men"])
    emb = random_embedding_over(benches)
    ev = evaluate([emb, emb.derive(name="copy")], benches, n_bootstrap=0)
    assert all(math.isclose(c.spearman, 1.0) for c in ev.correlations)


def test_cka_and_knn_overlap():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 16))
    q, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    assert math.isclose(linear_cka(x, x @ q * 3.0), 1.0)  # invariant to rotation and scale
    a = Embedding([f"w{i}" for i in range(300)], x)
    same = compare_geometry(a, a.derive(vectors=(x @ q).astype(np.float32)))
    assert same["knn_overlap"] == 1.0
    noise = compare_geometry(a, a.derive(vectors=rng.normal(size=(300, 16))))
    assert noise["knn_overlap"] < 0.2 and noise["cka"] < 0.3


def test_knn_finds_the_neighbours_scikit_learn_finds():
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 12)).astype(np.float32)
    x[7] = 0.0  # a zero row: similarity 0 to everything, as scikit-learn's cosine has it
    x[9] = x[8] * 2.0  # a duplicate direction: each is the other's nearest, never its own
    rows = np.array([0, 7, 8, 9, 123, 499])
    ours = knn_indices(x, 5, rows, block=4)  # blocks that do not divide the queries
    _, found = NearestNeighbors(n_neighbors=6, metric="cosine", algorithm="brute").fit(x).kneighbors(x[rows])
    theirs = [[j for j in f if j != r][:5] for r, f in zip(rows, found)]
    assert ours[2][0] == 9 and ours[3][0] == 8
    for r, a, b in zip(rows, ours, theirs):
        assert r not in a
        if r != 7:  # the zero row's neighbours are all ties; only the others have one right answer
            assert list(a) == b

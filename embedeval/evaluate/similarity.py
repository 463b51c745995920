"""Scoring embeddings on word-similarity benchmarks with coverage, CIs and significance (docs/methods.md).

With the ``drop`` policy and one embedding, rho and the pair count equal gensim's
``KeyedVectors.evaluate_word_pairs(case_insensitive=True)`` over the whole vocabulary. Words are
looked up case-folded; when several vocabulary entries fold to the same key the first (most frequent)
wins, as in gensim, and such words are counted as case collisions.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from embedeval.data.benchmarks import Benchmark
from embedeval.embeddings.embedding import Embedding
from embedeval.errors import EmbedevalError
from embedeval.evaluate import stats
from embedeval.layout import SCHEMA
from embedeval.version import __version__

OOV_POLICIES = ("drop", "zero", "mean")


@dataclass
class WordLookup:
    """Rows of the benchmark words in one embedding (case-folded), with collision counts."""

    rows: dict[str, int]
    collisions: set[str]


def fold(word: str, fold_case: bool = True) -> str:
    """The lookup key of a word: Unicode NFC (so "café" typed either way is one word), then lower case."""
    word = unicodedata.normalize("NFC", word)
    return word.lower() if fold_case else word


def lookup(emb: Embedding, words: set[str], fold_case: bool = True) -> WordLookup:
    """Find ``words`` (already folded) in ``emb``; one pass over the vocabulary, no full dict."""
    folded = emb.folded_words if fold_case else emb.nfc_words
    rows: dict[str, int] = {}
    collisions: set[str] = set()
    # the membership test runs in C (map + compress); Python only sees the few matching rows
    for i in itertools.compress(itertools.count(), map(words.__contains__, folded)):
        word = folded[i]
        if word in rows:
            collisions.add(word)
        else:
            rows[word] = i
    return WordLookup(rows, collisions)


@dataclass
class PairScores:
    """Cosine similarity of every benchmark pair in one embedding (NaN where not covered)."""

    cosines: np.ndarray
    covered: np.ndarray
    oov_words: list[str]
    case_collisions: int


def benchmark_words(benches: Sequence[Benchmark], fold_case: bool = True) -> set[str]:
    return {fold(w, fold_case) for b in benches for w in (*b.words1, *b.words2)}


def pair_cosines(
    emb: Embedding, bench: Benchmark, oov: str = "drop", fold_case: bool = True, found: WordLookup | None = None
) -> PairScores:
    """``found``: a lookup already made for a superset of the words (one vocabulary pass for many benchmarks)."""
    if oov not in OOV_POLICIES:
        raise EmbedevalError(f"unknown OOV policy {oov!r}; valid policies: {', '.join(OOV_POLICIES)}")
    w1 = [fold(w, fold_case) for w in bench.words1]
    w2 = [fold(w, fold_case) for w in bench.words2]
    if found is None:
        found = lookup(emb, set(w1) | set(w2), fold_case)
    rows1 = np.array([found.rows.get(w, -1) for w in w1])
    rows2 = np.array([found.rows.get(w, -1) for w in w2])
    covered = (rows1 >= 0) & (rows2 >= 0)
    oov_words = sorted({w for w in w1 + w2 if w not in found.rows})
    used = np.unique(np.r_[rows1[covered], rows2[covered]])
    vectors = emb.vectors[used].astype(np.float64)
    norms = np.linalg.norm(vectors, axis=1)
    bad = np.flatnonzero((norms == 0) | ~np.isfinite(norms))
    if bad.size:
        row = int(used[bad[0]])
        what = "all zeros" if norms[bad[0]] == 0 else "NaN or inf"
        raise EmbedevalError(
            f"vector for {emb.words[row]!r} is {what}: cosine similarity is undefined",
            emb.source or emb.name,
            emb.line_of(row),
        )
    position = {int(r): i for i, r in enumerate(used)}
    unit = vectors / norms[:, None]
    cosines = np.full(len(bench), np.nan)
    if covered.any():
        a = unit[[position[int(r)] for r in rows1[covered]]]
        b = unit[[position[int(r)] for r in rows2[covered]]]
        cosines[covered] = np.einsum("ij,ij->i", a, b)
    if oov == "zero":
        cosines[~covered] = 0.0
    elif oov == "mean" and (~covered).any():
        mean = np.asarray(emb.vectors, dtype=np.float64).mean(axis=0)
        for i in np.flatnonzero(~covered):
            va = _vector_or(emb, rows1[i], mean)
            vb = _vector_or(emb, rows2[i], mean)
            denom = np.linalg.norm(va) * np.linalg.norm(vb)
            cosines[i] = float(va @ vb / denom) if denom > 0 else 0.0
    collisions = len(found.collisions.intersection(w1).union(found.collisions.intersection(w2)))
    return PairScores(cosines, covered, oov_words, collisions)


def _vector_or(emb: Embedding, row: int, default: np.ndarray) -> np.ndarray:
    return default if row < 0 else np.asarray(emb.vectors[row], dtype=np.float64)


@dataclass
class SimilarityResult:
    """One (embedding, benchmark) score with its setup: a row of results.json / results.csv."""

    embedding: str
    role: str | None
    benchmark: str
    spearman: float | None
    ci_low: float | None
    ci_high: float | None
    ci_method: str
    pearson: float | None
    fisher_low: float | None
    fisher_high: float | None
    bootstrap_low: float | None
    bootstrap_high: float | None
    pairs_total: int
    pairs_covered: int
    pairs_used: int
    oov_pairs: int
    oov_words: int
    duplicate_pairs: int
    case_collisions: int
    skipped_lines: int
    oov_policy: str
    intersected: bool
    n_bootstrap: int
    confidence: float
    seed: int
    benchmark_sha256: str
    benchmark_path: str
    embedding_source: str
    model: str | None
    step: int | None
    undefined_reason: str | None
    version: str = __version__


@dataclass
class Comparison:
    """Embedding a vs b on one benchmark, on identical pairs (Williams' t and paired bootstrap, Holm)."""

    benchmark: str
    embedding_a: str
    embedding_b: str
    n: int
    rho_a: float | None
    rho_b: float | None
    rho_ab: float | None
    delta: float | None
    delta_low: float | None
    delta_high: float | None
    williams_t: float | None
    williams_p: float | None
    williams_p_holm: float | None
    bootstrap_p: float | None
    bootstrap_p_holm: float | None


@dataclass
class Correlation:
    """P&W Table 3: Spearman between two embeddings' cosines over the benchmark pairs both cover."""

    embedding_a: str
    embedding_b: str
    benchmark: str  # a benchmark name, or "all" for the pooled unique pairs
    n: int
    spearman: float | None


@dataclass
class PairTable:
    """Every pair of one benchmark: the words, the gold score, each embedding's cosine (NaN where a word is
    unknown) and whether the pair entered the scores (``used``: the intersection, or the covered pairs)."""

    words1: list[str]
    words2: list[str]
    gold: np.ndarray
    cosines: dict[str, np.ndarray]
    used: np.ndarray


@dataclass
class Evaluation:
    results: list[SimilarityResult]
    comparisons: list[Comparison] = field(default_factory=list)
    correlations: list[Correlation] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    oov_words: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # embedding -> benchmark -> words
    pairs: dict[str, PairTable] = field(default_factory=dict)  # benchmark -> its pairs (written as pairs.csv)

    def to_dict(self) -> dict[str, Any]:
        return {
            "results": [asdict(r) for r in self.results],
            "comparisons": [asdict(c) for c in self.comparisons],
            "correlations": [asdict(c) for c in self.correlations],
            "oov_words": self.oov_words,
            "settings": self.settings,
            "version": __version__,
            "schema": SCHEMA,
        }

    def result(self, embedding: str, benchmark: str) -> SimilarityResult:
        for r in self.results:
            if r.embedding == embedding and r.benchmark == benchmark:
                return r
        names = list(dict.fromkeys(r.embedding for r in self.results))
        benches = list(dict.fromkeys(r.benchmark for r in self.results))
        raise ResultNotFound(
            f"no result for embedding {embedding!r} on {benchmark!r}; embeddings: {', '.join(names)}; benchmarks: "
            f"{', '.join(benches)}"
        )


class ResultNotFound(KeyError):
    """A KeyError whose message lists what is there (KeyError would print only the missing key)."""

    def __str__(self) -> str:
        return str(self.args[0])


def _finite(value: float) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


def _unique_names(embeddings: Sequence[Embedding]) -> list[str]:
    names: list[str] = []
    for emb in embeddings:
        name, k = emb.name, 2
        while name in names:
            name, k = f"{emb.name}#{k}", k + 1
        names.append(name)
    return names


def evaluate(
    embeddings: Embedding | Sequence[Embedding],
    benchmarks: Benchmark | Sequence[Benchmark],
    oov: str = "drop",
    intersect: bool = True,
    n_bootstrap: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    fold_case: bool = True,
    compare: bool = True,
) -> Evaluation:
    """Score every embedding on every benchmark.

    With several embeddings and ``intersect`` (the default), each benchmark is scored on the pairs that
    every embedding covers, so U, V and tied are compared on identical pairs; ``pairs_covered`` keeps
    each embedding's own coverage. With ``compare``, every pair of embeddings gets Williams' t and a
    paired bootstrap per benchmark (Holm-corrected across benchmarks) and the Table-3 correlation.
    """
    embs = [embeddings] if isinstance(embeddings, Embedding) else list(embeddings)
    benches = [benchmarks] if isinstance(benchmarks, Benchmark) else list(benchmarks)
    if not embs:
        raise EmbedevalError("no embeddings to evaluate")
    names = _unique_names(embs)
    results: list[SimilarityResult] = []
    # benchmark -> (gold, cosines per embedding, shared-pair mask, bootstrap counts for the shared pairs)
    per_bench: dict[str, tuple[np.ndarray, list[np.ndarray], np.ndarray | None, np.ndarray | None]] = {}
    oov_words: dict[str, dict[str, list[str]]] = {}
    pairs: dict[str, PairTable] = {}
    wanted = benchmark_words(benches, fold_case)
    lookups = [lookup(e, wanted, fold_case) for e in embs]  # one vocabulary pass per embedding
    for bench in benches:
        scored = [pair_cosines(e, bench, oov, fold_case, found) for e, found in zip(embs, lookups)]
        if oov == "drop" and intersect and len(embs) > 1:
            use = np.logical_and.reduce([s.covered for s in scored])
        else:
            use = None
        counts = None
        shared_n = int(use.sum()) if use is not None else None
        if n_bootstrap > 0 and shared_n is not None and shared_n >= 3:
            counts = stats.resample_counts(shared_n, n_bootstrap, stats.resample_seed(seed, bench.name))
        for emb, name, s in zip(embs, names, scored):
            mask = use if use is not None else (s.covered if oov == "drop" else np.ones(len(bench), bool))
            gold, pred = bench.scores[mask], s.cosines[mask]
            n = int(mask.sum())
            own_counts = counts
            if own_counts is None and n_bootstrap > 0 and n >= 3:
                own_counts = stats.resample_counts(n, n_bootstrap, stats.resample_seed(seed, bench.name))
            results.append(
                _score(
                    emb, name, bench, s, gold, pred, n, own_counts, oov, use is not None, n_bootstrap, confidence, seed
                )
            )
        per_bench[bench.name] = (bench.scores, [s.cosines for s in scored], use, counts)
        for name, s in zip(names, scored):
            oov_words.setdefault(name, {})[bench.name] = s.oov_words
        if use is not None:
            used = use
        elif oov != "drop":  # zero / mean score every pair
            used = np.ones(len(bench), dtype=bool)
        else:
            used = np.logical_and.reduce([s.covered for s in scored])
        pairs[bench.name] = PairTable(
            list(bench.words1), list(bench.words2), bench.scores, {n: s.cosines for n, s in zip(names, scored)}, used
        )
    evaluation = Evaluation(
        results,
        settings={
            "oov_policy": oov,
            "intersect": intersect,
            "n_bootstrap": n_bootstrap,
            "seed": seed,
            "confidence": confidence,
            "fold_case": fold_case,
        },
        oov_words=oov_words,
        pairs=pairs,
    )
    if compare and len(embs) > 1 and oov == "drop":
        evaluation.comparisons = _comparisons(names, benches, per_bench, n_bootstrap, seed, confidence)
        evaluation.correlations = _correlations(names, benches, per_bench)
    return evaluation


def _score(
    emb: Embedding,
    name: str,
    bench: Benchmark,
    s: PairScores,
    gold: np.ndarray,
    pred: np.ndarray,
    n: int,
    counts: np.ndarray | None,
    oov: str,
    intersected: bool,
    n_bootstrap: int,
    confidence: float,
    seed: int,
) -> SimilarityResult:
    reason = None
    rho = pear = float("nan")
    f_low = f_high = b_low = b_high = float("nan")
    if n < 3:
        reason = f"only {n} covered pair(s); at least 3 are needed"
    elif np.ptp(pred) == 0:
        reason = "every covered pair has the same cosine similarity"
    elif np.ptp(gold) == 0:
        reason = "every covered pair has the same gold score"
    else:
        rho, pear = stats.spearman(gold, pred), stats.pearson(gold, pred)
        f_low, f_high = stats.fisher_ci(rho, n, confidence)
        if counts is not None:
            b_low, b_high = stats.percentile_ci(stats.bootstrap_spearman(gold, pred, counts), confidence)
    use_boot = counts is not None and reason is None
    return SimilarityResult(
        embedding=name,
        role=emb.role,
        benchmark=bench.name,
        spearman=_finite(rho),
        ci_low=_finite(b_low if use_boot else f_low),
        ci_high=_finite(b_high if use_boot else f_high),
        ci_method="bootstrap" if use_boot else "fisher-z",
        pearson=_finite(pear),
        fisher_low=_finite(f_low),
        fisher_high=_finite(f_high),
        bootstrap_low=_finite(b_low),
        bootstrap_high=_finite(b_high),
        pairs_total=len(bench),
        pairs_covered=int(s.covered.sum()),
        pairs_used=n,
        oov_pairs=int((~s.covered).sum()),
        oov_words=len(s.oov_words),
        duplicate_pairs=bench.duplicate_pairs,
        case_collisions=s.case_collisions,
        skipped_lines=bench.skipped_lines,
        oov_policy=oov,
        intersected=intersected,
        n_bootstrap=n_bootstrap,
        confidence=confidence,
        seed=seed,
        benchmark_sha256=bench.sha256,
        benchmark_path=bench.path,
        embedding_source=emb.source,
        model=emb.model,
        step=emb.step,
        undefined_reason=reason,
    )


def _comparisons(
    names: list[str], benches: list[Benchmark], per_bench: dict, n_bootstrap: int, seed: int, confidence: float
) -> list[Comparison]:
    found: list[Comparison] = []
    for ia, ib in itertools.combinations(range(len(names)), 2):
        family: list[Comparison] = []
        for bench in benches:
            gold, cosines, use, shared_counts = per_bench[bench.name]
            mask = use if use is not None else np.isfinite(cosines[ia]) & np.isfinite(cosines[ib])
            n = int(mask.sum())
            if n < 4:
                family.append(Comparison(bench.name, names[ia], names[ib], n, *([None] * 11)))
                continue
            counts = shared_counts
            if counts is None and n_bootstrap > 0:
                counts = stats.resample_counts(n, n_bootstrap, stats.resample_seed(seed, bench.name))
            test = stats.compare_dependent(gold[mask], cosines[ia][mask], cosines[ib][mask], counts, confidence)
            family.append(
                Comparison(
                    bench.name,
                    names[ia],
                    names[ib],
                    n,
                    _finite(test.rho_a),
                    _finite(test.rho_b),
                    _finite(test.rho_ab),
                    _finite(test.delta),
                    _finite(test.delta_low),
                    _finite(test.delta_high),
                    _finite(test.williams_t),
                    _finite(test.williams_p),
                    None,
                    _finite(test.bootstrap_p),
                    None,
                )
            )
        w_holm = stats.holm([c.williams_p if c.williams_p is not None else np.nan for c in family])
        b_holm = stats.holm([c.bootstrap_p if c.bootstrap_p is not None else np.nan for c in family])
        for c, w, b in zip(family, w_holm, b_holm):
            c.williams_p_holm, c.bootstrap_p_holm = _finite(w), _finite(b)
        found.extend(family)
    return found


def _correlations(names: list[str], benches: list[Benchmark], per_bench: dict) -> list[Correlation]:
    found: list[Correlation] = []
    for ia, ib in itertools.combinations(range(len(names)), 2):
        pooled: dict[tuple[str, str], tuple[float, float]] = {}
        for bench in benches:
            _, cosines, _, _ = per_bench[bench.name]
            both = np.isfinite(cosines[ia]) & np.isfinite(cosines[ib])
            n = int(both.sum())
            rho = stats.spearman(cosines[ia][both], cosines[ib][both]) if n >= 3 else float("nan")
            found.append(Correlation(names[ia], names[ib], bench.name, n, _finite(rho)))
            for i in np.flatnonzero(both):
                key = tuple(sorted((bench.words1[i].lower(), bench.words2[i].lower())))
                pooled.setdefault(key, (cosines[ia][i], cosines[ib][i]))
        values = np.array(list(pooled.values())) if pooled else np.zeros((0, 2))
        rho = stats.spearman(values[:, 0], values[:, 1]) if len(values) >= 3 else float("nan")
        found.append(Correlation(names[ia], names[ib], "all", len(values), _finite(rho)))
    return found

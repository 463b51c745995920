"""Word analogies ("a is to b as c is to ?"): 3CosAdd and 3CosMul over batched matrix products.

The rules are gensim's ``evaluate_word_analogies`` (docs/methods.md, section 11): the search runs over the
``restrict_vocab`` most frequent words (an embedding's first rows), a question counts only when its four words are
among them, the three question words are never an answer, and words are matched case-folded, the first (most
frequent) spelling winning. 3CosAdd ranks every candidate x by cos(x, b) - cos(x, a) + cos(x, c); 3CosMul (Levy &
Goldberg 2014) by cos'(x, b) cos'(x, c) / (cos'(x, a) + 1e-6) with cos' = (cos + 1) / 2, as gensim's
``most_similar_cosmul``. Several embeddings are compared on the questions all of them cover, with an exact McNemar
test per section (Holm across the sections) and over all questions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from embedeval.data.analogies import AnalogySet
from embedeval.embeddings.embedding import Embedding
from embedeval.errors import EmbedevalError
from embedeval.evaluate.stats import holm

METHODS = ("add", "mul")
DEFAULT_RESTRICT = 300_000  # gensim's restrict_vocab default
_BATCH = 256  # questions per matrix product: 256 x 300k float32 scores is 300 MB
_EPS = 1e-6  # gensim's most_similar_cosmul


def wilson(correct: int, n: int, confidence: float = 0.95) -> tuple[float | None, float | None]:
    """Wilson score interval of a proportion (Wilson 1927)."""
    if n == 0:
        return None, None
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def mcnemar_exact(a_right: np.ndarray, b_right: np.ndarray) -> tuple[int, int, float]:
    """Exact McNemar test on paired correctness: (A right and B wrong, A wrong and B right, two-sided p)."""
    only_a = int(np.sum(a_right & ~b_right))
    only_b = int(np.sum(~a_right & b_right))
    n = only_a + only_b
    p = 1.0 if n == 0 else min(1.0, float(2 * stats.binom.cdf(min(only_a, only_b), n, 0.5)))
    return only_a, only_b, p


@dataclass
class _Search:
    """One embedding's restricted vocabulary: unit rows, a case-folded word -> row map (the first spelling wins),
    each row's word as that first spelling's row (``canon``), and the other spellings of a word."""

    unit: np.ndarray
    rows: dict[str, int]
    canon: np.ndarray
    spellings: dict[int, list[int]]

    @classmethod
    def of(cls, emb: Embedding, restrict: int, fold_case: bool) -> _Search:
        n = min(restrict, len(emb.words))
        vectors = np.asarray(emb.vectors[:n], dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        unit = vectors / np.where(norms > 0, norms, 1.0)
        rows: dict[str, int] = {}
        canon = np.empty(n, dtype=np.int64)
        spellings: dict[int, list[int]] = {}
        for i, word in enumerate(emb.words[:n]):
            first = rows.setdefault(word.casefold() if fold_case else word, i)
            canon[i] = first
            if first != i:
                spellings.setdefault(first, []).append(i)
        return cls(unit, rows, canon, spellings)


def _answers(search: _Search, abc: np.ndarray, method: str) -> np.ndarray:
    """The answer to each question (rows of a, b, c as an (n, 3) array) as the row of its word's first spelling;
    a, b and c, in any spelling, are never the answer."""
    unit = search.unit
    out = np.empty(len(abc), dtype=np.int64)
    for start in range(0, len(abc), _BATCH):
        q = abc[start : start + _BATCH]
        if method == "add":
            target = unit[q[:, 1]] - unit[q[:, 0]] + unit[q[:, 2]]
            scores = target @ unit.T
        else:

            def cos01(rows: np.ndarray) -> np.ndarray:
                return (unit[rows] @ unit.T + 1.0) / 2.0

            scores = cos01(q[:, 1]) * cos01(q[:, 2]) / (cos01(q[:, 0]) + _EPS)
        batch = np.arange(len(q))[:, None]
        scores[batch, q] = -np.inf  # the question words are never the answer
        if search.spellings:
            for i, row in enumerate(q):
                for word in row:
                    scores[i, search.spellings.get(int(word), [])] = -np.inf
        out[start : start + len(q)] = search.canon[np.argmax(scores, axis=1)]
    return out


@dataclass
class AnalogyResult:
    embedding: str
    analogy: str
    method: str
    restrict_vocab: int
    questions_total: int
    questions_covered: int  # all four words inside this embedding's restricted vocabulary
    questions_used: int  # scored: with several embeddings and intersect, those every embedding covers
    correct: int
    accuracy: float | None
    ci_low: float | None
    ci_high: float | None
    sections: list[dict[str, Any]] = field(default_factory=list)
    semantic: dict[str, Any] = field(default_factory=dict)
    syntactic: dict[str, Any] = field(default_factory=dict)


@dataclass
class AnalogyComparison:
    analogy: str
    embedding_a: str
    embedding_b: str
    section: str  # a section's name, or "all"
    questions: int
    a_only: int  # right in A, wrong in B
    b_only: int
    p: float
    p_holm: float | None  # across the sections of this pair ("all" is its own test)


@dataclass
class AnalogyEvaluation:
    results: list[AnalogyResult]
    comparisons: list[AnalogyComparison]
    correct: dict[str, dict[str, list[bool | None]]]  # analogy -> embedding -> per question (None: not scored)

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {"analogies": [asdict(r) for r in self.results],
                "analogy_comparisons": [asdict(c) for c in self.comparisons]}  # fmt: skip


def _tally(right: np.ndarray, used: np.ndarray, mask: np.ndarray) -> dict[str, Any]:
    n = int(np.sum(used & mask))
    k = int(np.sum(right & used & mask))
    low, high = wilson(k, n)
    return {"questions": n, "correct": k, "accuracy": k / n if n else None, "ci_low": low, "ci_high": high}


def evaluate_analogies(
    embs: Embedding | Sequence[Embedding],
    sets: Sequence[AnalogySet],
    method: str = "add",
    restrict_vocab: int = DEFAULT_RESTRICT,
    fold_case: bool = True,
    intersect: bool = True,
) -> AnalogyEvaluation:
    """Score every embedding on every analogy set; with several embeddings and ``intersect``, all on the questions
    every one covers, and compare them pairwise (exact McNemar, Holm across sections)."""
    if method not in METHODS:
        raise EmbedevalError(f"unknown analogy method {method!r}; use add (3CosAdd) or mul (3CosMul)")
    if restrict_vocab < 1:
        raise EmbedevalError("--analogy-vocab must be at least 1")
    embs = [embs] if isinstance(embs, Embedding) else list(embs)
    names = _names(embs)
    searches = [_Search.of(e, restrict_vocab, fold_case) for e in embs]
    results, comparisons, correct = [], [], {}
    for aset in sets:
        folded = [tuple(w.casefold() if fold_case else w for w in q) for q in aset.questions]
        section = np.asarray(aset.section_of)
        covered = [np.array([all(w in s.rows for w in q) for q in folded], dtype=bool) for s in searches]
        used_all = np.logical_and.reduce(covered) if intersect and len(embs) > 1 else None
        right_of = []
        correct[aset.name] = {}
        for name, search, cov in zip(names, searches, covered):
            used = used_all if used_all is not None else cov
            right = np.zeros(len(folded), dtype=bool)
            idx = np.flatnonzero(used)
            if idx.size:
                abcd = np.array([[search.rows[w] for w in folded[i]] for i in idx], dtype=np.int64)
                right[idx] = _answers(search, abcd[:, :3], method) == abcd[:, 3]
            right_of.append(right)
            correct[aset.name][name] = [bool(r) if u else None for r, u in zip(right, used)]
            every = np.ones(len(folded), dtype=bool)
            total = _tally(right, used, every)
            syn = np.array([aset.syntactic(aset.sections[s]) for s in section], dtype=bool)
            results.append(AnalogyResult(
                name, aset.name, method, restrict_vocab, len(aset), int(cov.sum()), total["questions"],
                total["correct"], total["accuracy"], total["ci_low"], total["ci_high"],
                sections=[{"section": sec, "total": int(np.sum(section == i)), **_tally(right, used, section == i)}
                          for i, sec in enumerate(aset.sections)],
                semantic=_tally(right, used, ~syn), syntactic=_tally(right, used, syn),
            ))  # fmt: skip
        if used_all is not None:
            comparisons.extend(_compare(aset, names, right_of, used_all, section))
    return AnalogyEvaluation(results, comparisons, correct)


def _compare(aset: AnalogySet, names: list[str], right_of: list[np.ndarray], used: np.ndarray,
             section: np.ndarray) -> list[AnalogyComparison]:  # fmt: skip
    out = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            per_section = []
            for s, sec in enumerate(aset.sections):
                mask = used & (section == s)
                a_only, b_only, p = mcnemar_exact(right_of[i][mask], right_of[j][mask])
                per_section.append(AnalogyComparison(aset.name, names[i], names[j], sec, int(mask.sum()), a_only,
                                                     b_only, p, None))  # fmt: skip
            for c, adjusted in zip(per_section, holm([c.p for c in per_section])):
                c.p_holm = float(adjusted)
            a_only, b_only, p = mcnemar_exact(right_of[i][used], right_of[j][used])
            out.extend(per_section)
            out.append(AnalogyComparison(aset.name, names[i], names[j], "all", int(used.sum()), a_only, b_only, p, p))
    return out


def _names(embs: list[Embedding]) -> list[str]:
    names: list[str] = []
    for i, e in enumerate(embs):
        base = e.name or f"embedding {i + 1}"
        name, k = base, 2
        while name in names:
            name, k = f"{base} ({k})", k + 1
        names.append(name)
    return names

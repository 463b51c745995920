"""Token-level analysis of a model's U and V (docs/methods.md, section 13): which tokens look untrained, and how
frequency shapes each matrix.

Indicators of under-trained ("glitch") tokens, after Land & Bartolo (2024), chosen from the weights' own tie:

- ``input_norm`` (untied models): the row norm of U. A token never seen as input keeps its initial row (or is
  decayed towards 0 by weight decay), while trained rows grow or move: a low norm is suspicious.
- ``reference_cosine`` (V of an untied model, S of a tied one): remove the first principal component (it is shared by
  all rows and carries frequency), then the cosine of each row to the mean of the reference rows, tokens the
  tokenizer cannot produce from text (unreachable ones, and those never produced for a sample of ordinary text):
  a row like theirs is a row that training left alone.

- ``init_box`` (runs whose rows were initialised uniformly in [-a, a]: embedeval's LSTMs; methods.md 13.2): minus a
  row's largest absolute coordinate. A row no update reached is still inside the box, and its candidates are exactly
  the rows inside it.

Each is a score per token, higher = more suspicious, and a candidate list (a token whose score is beyond the
threshold of methods.md: more suspicious than the median reference token, or, without references, more than 3
robust standard deviations from the median). An indicator ranks candidates; prompting the model decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from embedeval.errors import EmbedevalError

REFERENCE_Z = 3.0  # without reference tokens: robust z-score (median / 1.4826 MAD) beyond which a token is a candidate


PC_SAMPLE = 20_000  # rows that estimate the first principal direction (the mean uses every row)


SAMPLE_TEXT_LINES = 2_000  # lines of the bundled Lee corpus encoded to find tokens ordinary text never produces


def token_categories(tok: Any, n: int, types: list[int] | None) -> dict[str, np.ndarray]:
    """Masks over the token ids: special, byte, undecodable, unreachable (encoding its decoded text gives other ids),
    unused (a GGUF file's own type)."""
    ids = list(range(n))
    special = np.zeros(n, dtype=bool)
    special[[i for i in tok.special if i < n]] = True
    texts = tok.decode_one(ids)
    undecodable = np.array(["\ufffd" in t or t == "" for t in texts])
    byte = np.array([len(t) == 6 and t.startswith("<0x") and t.endswith(">") for t in texts])
    byte[[i for i in getattr(tok, "byte_tokens", set)() if i < n]] = True  # a byte-level BPE's 256 base tokens
    if types is not None:
        byte |= np.array([t == 6 for t in types[:n]])
    encoded = tok.encode([t for t in texts])
    unreachable = np.array([e != [i] for i, e in enumerate(encoded)]) & ~special & ~undecodable
    out = {"special": special, "byte": byte, "undecodable": undecodable & ~special, "unreachable": unreachable}
    if types is not None:
        out["unused"] = np.array([t == 5 for t in types[:n]])
    return out


def seen_in_text(tok: Any, n: int) -> np.ndarray:
    """Tokens the tokenizer produces for a sample of ordinary English text (the Lee corpus shipped with gensim)."""
    from embedeval.data.builtin import builtin_corpus_path

    lines = builtin_corpus_path().read_text(encoding="utf-8").splitlines()[:SAMPLE_TEXT_LINES]
    seen = np.zeros(n, dtype=bool)
    for ids in tok.encode(lines):
        seen[[i for i in ids if i < n]] = True
    return seen


def reference_tokens(cats: dict[str, np.ndarray], tok: Any, n: int) -> np.ndarray:
    """The ids of the tokens known to be under-trained from the tokenizer alone: unreachable ones, a GGUF file's
    unused ones, and byte and special tokens the tokenizer never produces for a sample of ordinary text."""
    if not cats:
        return np.zeros(0, dtype=np.int64)
    never = ~seen_in_text(tok, n)
    mask = cats["unreachable"] | ((cats["byte"] | cats["special"]) & never) | cats.get("unused", False)
    return np.flatnonzero(mask)


def indicator_scores(role: str, matrix: Any, reference: np.ndarray) -> tuple[str, np.ndarray] | None:
    """The indicator methods.md section 13 prescribes for a matrix (higher = more suspicious): the row norm's
    opposite for an untied U, the reference cosine for V and a tied S (None when it has no reference tokens)."""
    if role == "U":
        return "input_norm", -row_norms(matrix)
    if len(reference):
        return "reference_cosine", reference_cosine(matrix, reference)
    return None


def first_pc_removed(matrix: Any, block_rows: int | None = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(mean row over every row, first principal direction from a seeded sample of at most 20,000 rows): the
    direction of largest variance is estimated to well within what the indicator needs from that many rows, and
    the d x d covariance of a 128k-row matrix would cost as much as the rest of the analysis."""
    n, d = matrix.shape
    total = np.zeros(d)
    for _, block in matrix.blocks(block_rows):
        total += block.sum(axis=0, dtype=np.float64)
    mean = total / n
    rows = np.sort(np.random.default_rng(seed).choice(n, size=min(n, PC_SAMPLE), replace=False))
    x = matrix.rows(rows).astype(np.float64) - mean
    from scipy.sparse.linalg import svds

    _, _, vt = svds(x, k=1, random_state=seed)  # the top singular vector only (ARPACK), not all d of them
    return mean, vt[0]


def reference_cosine(matrix: Any, reference: np.ndarray, block_rows: int | None = None) -> np.ndarray:
    """Cosine of each row (centred, first principal component removed) to the mean of the reference rows (the same
    treatment): higher is more like the reference tokens."""
    if len(reference) == 0:
        raise EmbedevalError("no reference tokens: the reference-cosine indicator needs some")
    mean, pc = first_pc_removed(matrix, block_rows)

    def treat(x: np.ndarray) -> np.ndarray:
        x = x.astype(np.float64) - mean
        return x - np.outer(x @ pc, pc)

    target = treat(matrix.rows(np.asarray(reference, dtype=np.int64))).mean(axis=0)
    target_norm = np.linalg.norm(target)
    out = np.empty(matrix.shape[0])
    for start, block in matrix.blocks(block_rows):
        x = treat(block)
        norms = np.linalg.norm(x, axis=1) * target_norm
        out[start : start + len(x)] = np.where(norms > 0, (x @ target) / np.where(norms > 0, norms, 1), 0.0)
    return out


def init_box(matrix: Any, bound: float, block_rows: int | None = None) -> tuple[np.ndarray, np.ndarray, float, str]:
    """``init_box`` for rows initialised uniformly in [-bound, bound]: (scores, candidate ids most suspicious first,
    threshold, rule). The score is minus the row's largest absolute coordinate; a candidate is a row still inside the
    box. The box's edge is the float32 value of ``bound`` (the rows were drawn, and are stored, in float32)."""
    score = np.empty(matrix.shape[0])
    for start, block in matrix.blocks(block_rows):
        score[start : start + len(block)] = -np.abs(block.astype(np.float64)).max(axis=1)
    threshold = -float(np.float32(bound))
    ids = np.flatnonzero(score >= threshold)
    rule = f"still inside its initial box [-{bound:g}, {bound:g}] (uniform initialisation)"
    return score, ids[np.argsort(-score[ids], kind="stable")], threshold, rule


def row_norms(matrix: Any, block_rows: int | None = None) -> np.ndarray:
    out = np.empty(matrix.shape[0])
    for start, block in matrix.blocks(block_rows):
        out[start : start + len(block)] = np.linalg.norm(block.astype(np.float64), axis=1)
    return out


def candidates(
    score: np.ndarray, reference: np.ndarray, exclude: np.ndarray | None = None
) -> tuple[np.ndarray, float, str]:
    """Token ids whose score (higher = more suspicious) passes the threshold, most suspicious first; the threshold
    and how it was set. With reference tokens: their median score; without: median + 3 robust sd of all tokens."""
    if len(reference):
        threshold = float(np.median(score[reference]))
        rule = f"at least the reference tokens' median ({threshold:.4g})"
    else:
        median = float(np.median(score))
        mad = float(np.median(np.abs(score - median))) * 1.4826
        threshold = median + REFERENCE_Z * mad
        rule = f"median + {REFERENCE_Z:g} robust sd of all tokens ({threshold:.4g}); no reference tokens"
    keep = score >= threshold
    if exclude is not None:
        keep &= ~exclude
    ids = np.flatnonzero(keep)
    return ids[np.argsort(-score[ids], kind="stable")], threshold, rule


def auroc(score: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve of ``score`` for the ``positive`` ids against every other token (ties count half):
    the chance that a positive token scores above a negative one."""
    from scipy.stats import rankdata

    labels = np.zeros(len(score), dtype=bool)
    labels[np.asarray(positive, dtype=np.int64)] = True
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if not n_pos or not n_neg:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


@dataclass
class FrequencyResult:
    """How token frequency shows in one matrix."""

    matrix: str
    tokens: int  # tokens with a count (those seen in the corpus)
    spearman_norm: float | None  # Spearman of log frequency with row norm (all tokens, count + 1)
    probe_r2: float | None  # linear probe of log frequency from the rows: cross-validated R^2 ...
    probe_r2_ci: list[float] | None  # ... with a 95% interval over the folds
    bands: list[dict[str, Any]] = field(default_factory=list)  # per frequency band: tokens, mean cosine, eff. rank


FREQUENCY_BANDS = ((0, 0), (1, 9), (10, 99), (100, 999), (1_000, 9_999), (10_000, None))


def frequency_effects(
    matrix: Any, name: str, counts: np.ndarray, folds: int = 5, seed: int = 0, probe_rows: int = 50_000
) -> FrequencyResult:
    """Spearman of log(count + 1) with row norm, a ridge probe's cross-validated R^2 of log(count + 1) from the rows
    (at most ``probe_rows`` rows, a seeded sample), and the geometry of each frequency band."""
    from scipy import stats
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import KFold, cross_val_score

    from embedeval.evaluate.geometry import effective_rank

    n = matrix.shape[0]
    counts = np.asarray(counts[:n], dtype=np.float64)
    target = np.log1p(counts)
    norms = row_norms(matrix)
    rho = stats.spearmanr(target, norms).statistic if np.ptp(target) and np.ptp(norms) else None
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n, size=min(n, probe_rows), replace=False))
    x = matrix.rows(rows)
    r2 = ci = None
    if np.ptp(target[rows]) and len(rows) >= 2 * folds:
        scores = cross_val_score(RidgeCV(alphas=np.logspace(-3, 3, 7)), x, target[rows], scoring="r2",
                                 cv=KFold(folds, shuffle=True, random_state=seed))  # fmt: skip
        r2 = float(scores.mean())
        half = float(stats.t.ppf(0.975, folds - 1) * scores.std(ddof=1) / np.sqrt(folds))
        ci = [r2 - half, r2 + half]
    bands = []
    for low, high in FREQUENCY_BANDS:
        mask = (counts >= low) & (counts <= (high if high is not None else np.inf))
        ids = np.flatnonzero(mask)
        label = f"{low:,}+" if high is None else (f"{low:,}" if low == high else f"{low:,}-{high:,}")
        if len(ids) < 2:
            continue
        pick = np.sort(rng.choice(ids, size=min(len(ids), 5_000), replace=False))
        vectors = matrix.rows(pick).astype(np.float64)
        unit = vectors / np.where((nn := np.linalg.norm(vectors, axis=1, keepdims=True)) > 0, nn, 1)
        s = unit.sum(axis=0)
        m = len(unit)
        bands.append({"band": label, "tokens": int(len(ids)), "measured": int(m),
                      "mean_cosine": float((s @ s - m) / (m * (m - 1))), "effective_rank": effective_rank(vectors),
                      "mean_norm": float(norms[ids].mean())})  # fmt: skip
    return FrequencyResult(name, int((counts > 0).sum()), None if rho is None else float(rho), r2, ci, bands)

"""Word-similarity evaluation: scores, coverage, CIs, significance, embedding-vs-embedding measures."""

from embedeval.evaluate.similarity import (
    OOV_POLICIES,
    Comparison,
    Correlation,
    Evaluation,
    SimilarityResult,
    evaluate,
    pair_cosines,
)

__all__ = [
    "OOV_POLICIES",
    "Comparison",
    "Correlation",
    "Evaluation",
    "SimilarityResult",
    "evaluate",
    "pair_cosines",
]

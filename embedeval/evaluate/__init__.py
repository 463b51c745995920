"""Word-similarity evaluation: scores, coverage, CIs, significance, embedding-vs-embedding measures."""

import sys
import types

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


class _CallableModule(types.ModuleType):
    """``ee.evaluate(...)``: the package ``embedeval.evaluate`` shares its name with the function, and once imported
    the subpackage is what ``embedeval.evaluate`` names; calling it calls the function."""

    def __call__(self, *args: object, **kwargs: object) -> Evaluation:
        from pathlib import Path

        first = args[0] if args else kwargs.get("embeddings")
        items = [first] if isinstance(first, (str, Path)) else (list(first) if isinstance(first, (list, tuple)) else [])
        if any(isinstance(i, (str, Path)) for i in items):
            from embedeval.errors import EmbedevalError

            raise EmbedevalError(
                "ee.evaluate scores Embedding objects already loaded; for paths or model ids use ee.score(paths, "
                "benchmarks, ...), the pipeline of `embedeval eval` (or ee.load(path) first)"
            )
        return evaluate(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

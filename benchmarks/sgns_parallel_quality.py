"""Does --parallel change what SGNS learns? The torch backend on WikiText-2 with --parallel 1 and 2 (same seed,
settings otherwise the same), U and V scored on identical pairs with their intervals and the paired tests.

    python benchmarks/sgns_parallel_quality.py [--epochs 1] [--dim 200] [--corpus wikitext-2]

Needs the data directory (EMBEDEVAL_DATA) for WikiText-2 and the benchmarks.
"""

from __future__ import annotations

import argparse
import datetime
import os
import tempfile
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="wikitext-2")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--dim", type=int, default=200)
    args = parser.parse_args()
    import embedeval as ee
    from embedeval.data.corpus import resolve_corpus
    from embedeval.rundir import RunDir
    from embedeval.train.skipgram import SkipGramConfig, train_skipgram

    corpus = resolve_corpus(args.corpus)
    folders = {}
    root = Path(tempfile.mkdtemp(prefix="sgns-parallel-"))
    for parallel in (1, 2):
        run = RunDir.create(root / f"parallel-{parallel}")
        cfg = SkipGramConfig(backend="torch", dim=args.dim, epochs=args.epochs, workers=1, parallel=parallel, seed=1)
        summary = train_skipgram(cfg, corpus, run)
        print(f"--parallel {parallel}: {summary['words_per_s']:,.0f} words/s, {summary['steps']:,} steps")
        folders[parallel] = str(run.path)
    results = ee.score([folders[1], folders[2]], ["simlex999", "ws353", "men", "rw", "mturk771"], n_bootstrap=1000)
    print(f"[{datetime.date.today()}, load average {os.getloadavg()[0]:.1f}] {corpus.name}, {args.epochs} epoch(s), "
          f"dim {args.dim}, seed 1; rho [95% Fisher CI] (pairs)")  # fmt: skip
    for r in results.similarity.results:
        print(f"  {r.embedding:20s} {r.benchmark:10s} {r.spearman:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}] "
              f"({r.pairs_used})")  # fmt: skip
    for c in results.similarity.comparisons:
        same_role = c.embedding_a.split(":")[-1] == c.embedding_b.split(":")[-1]
        if same_role and c.embedding_a.split(":")[0] != c.embedding_b.split(":")[0]:
            print(
                f"  {c.embedding_a} vs {c.embedding_b} on {c.benchmark}: delta {c.delta:+.3f} "
                f"[{c.delta_low:+.3f}, {c.delta_high:+.3f}], Holm p (Williams) {c.williams_p_holm:.3f}"
            )


if __name__ == "__main__":
    main()

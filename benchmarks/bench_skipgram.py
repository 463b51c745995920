"""SGNS throughput: plain gensim Word2Vec vs embedeval's gensim and torch backends, same script, same settings.

    python benchmarks/bench_skipgram.py [--corpus wikitext-2] [--epochs 1] [--workers 2] [--batch-size 128]

Targets: the gensim backend at most 5% slower than plain gensim; the torch backend (HogBatch updates) at least
1.0x gensim's words/s at the same number of workers/threads. With --workers N > 1 the torch backend is measured
twice: one stream of updates on N threads, and --parallel N (N slices of each chunk, one thread each). Words/s counts raw corpus words for all three. Measure
on idle cores: a loaded core makes the two-thread numbers meaningless. Needs the data directory for wikitext-2
(EMBEDEVAL_DATA); --corpus builtin runs anywhere.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="wikitext-2")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--dim", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=None, help="torch backend: center words per update")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (each: plain, gensim backend, torch, plain)")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    from gensim.models import Word2Vec

    from embedeval.data.corpus import resolve_corpus
    from embedeval.rundir import RunDir
    from embedeval.train.skipgram import SkipGramConfig, _Lines, train_skipgram

    corpus = resolve_corpus(args.corpus)
    settings = dict(dim=args.dim, window=5, negative=5, min_count=5, epochs=args.epochs, workers=args.workers)

    def plain() -> float:
        lines = _Lines(corpus)
        start = time.perf_counter()
        model = Word2Vec(
            vector_size=args.dim, window=5, negative=5, hs=0, sg=1, min_count=5, seed=1, workers=args.workers
        )
        model.build_vocab(lines)
        build = time.perf_counter() - start
        start = time.perf_counter()
        model.train(lines, total_examples=model.corpus_count, epochs=args.epochs)
        return model.corpus_total_words * args.epochs / (time.perf_counter() - start), build

    def ours(backend: str, parallel: int = 1) -> float:
        run = RunDir.create(tempfile.mkdtemp(prefix="bench-sg-"), overwrite=True)
        extra = {"batch_size": args.batch_size} if backend == "torch" and args.batch_size else {}
        cfg = SkipGramConfig(backend=backend, **settings, **extra, parallel=parallel)
        return train_skipgram(cfg, corpus, run)["words_per_s"]

    import os
    import statistics

    # rounds alternate the three so that machine noise hits them alike; each ratio is taken within its round
    # with several workers, the torch backend is measured twice: one stream of updates on N intra-op threads, and
    # --parallel N (N slices of each chunk, one thread each)
    names = ["gensim", "torch", *(["torch-parallel"] if args.workers > 1 else [])]
    ratios: dict[str, list[float]] = {name: [] for name in names}
    speeds: dict[str, list[float]] = {name: [] for name in ["plain", *names]}
    for _ in range(args.repeat):
        g, _ = plain()
        found = {"gensim": ours("gensim"), "torch": ours("torch")}
        if args.workers > 1:
            found["torch-parallel"] = ours("torch", parallel=args.workers)
        g2, _ = plain()
        g = (g + g2) / 2
        speeds["plain"].append(g)
        for name in names:
            speeds[name].append(found[name])
            ratios[name].append(found[name] / g)

    def spread(values: list[float]) -> str:
        return f"median {statistics.median(values):.3f}, range [{min(values):.3f}, {max(values):.3f}]"

    print(f"[{datetime.date.today()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end] "
          f"{corpus.name}, {args.epochs} epoch(s), dim {args.dim}, {args.workers} workers/threads, {args.repeat} rounds")  # fmt: skip
    for name in speeds:
        print(f"  {name:14s} words/s: " + ", ".join(f"{x:,.0f}" for x in speeds[name]))
    print(f"embedeval --backend gensim / plain gensim: {spread(ratios['gensim'])} (target >= 0.95)")
    print(f"embedeval --backend torch / plain gensim:  {spread(ratios['torch'])} (target >= 1.0 on 2, >= 1.2 on 1)")
    if "torch-parallel" in ratios:
        print(
            f"embedeval --backend torch --parallel {args.workers} / plain gensim: {spread(ratios['torch-parallel'])} "
            "(target >= 1.0 on 2)"
        )


if __name__ == "__main__":
    main()

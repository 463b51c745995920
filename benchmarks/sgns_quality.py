"""SGNS quality check: the torch backend's U against gensim's U, mean of several seeds.

    EMBEDEVAL_DATA=../shared/data python benchmarks/sgns_quality.py [--seeds 1 2 3] [--tied]

Trains (or reuses, when a complete run is already there) one run per backend and seed under
``--runs`` (default ``runs/sgns-wikitext-2``) with the issue's settings: WikiText-2, dim 200, window 5,
negative 5, min_count 5, 5 epochs. Scores every run's input embedding on SimLex-999, WS-353 and MEN,
all runs on identical pairs, and prints mean rho per backend and the gap (target: |torch - gensim| <= 0.03).
``--tied`` adds the torch backend with one tied matrix (for the Press & Wolf reproduction).
Writes the per-run scores to ``--json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

BENCHMARKS = ("simlex999", "ws353", "men")


def train_once(kind: str, seed: int, args: argparse.Namespace) -> Path:
    from embedeval.data.corpus import resolve_corpus
    from embedeval.rundir import RunDir
    from embedeval.train.skipgram import SkipGramConfig, train_skipgram

    out = Path(args.runs) / f"{kind}-s{seed}"
    summary = out / "summary.json"
    if summary.exists() and json.loads(summary.read_text()).get("status") == "complete":
        print(f"reusing {out}")
        return out
    backend = "gensim" if kind == "gensim" else "torch"
    cfg = SkipGramConfig(
        backend=backend, tie=kind == "torch-tied", dim=200, window=5, negative=5, min_count=5, epochs=args.epochs,
        seed=seed, workers=args.workers,
    )  # fmt: skip
    corpus = resolve_corpus(args.corpus)
    run = RunDir.create(out, overwrite=True)
    run.write_config(cfg, "skipgram", corpus.describe(), ["benchmarks/sgns_quality.py", kind, f"seed={seed}"])
    start = time.perf_counter()
    result = train_skipgram(cfg, corpus, run)
    print(f"trained {out} in {time.perf_counter() - start:.0f} s ({result['words_per_s']:,.0f} words/s)")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="wikitext-2")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tied", action="store_true", help="also train the tied torch backend")
    parser.add_argument("--runs", default="runs/sgns-wikitext-2")
    parser.add_argument("--json", default="reports/skipgram/quality.json")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    import numpy as np

    from embedeval.data.registry import load_benchmarks
    from embedeval.embeddings.runs import load_run_embeddings
    from embedeval.evaluate.similarity import evaluate

    kinds = ["gensim", "torch"] + (["torch-tied"] if args.tied else [])
    runs = {(kind, seed): train_once(kind, seed, args) for seed in args.seeds for kind in kinds}
    embeddings = []
    for (kind, seed), path in runs.items():
        for emb in load_run_embeddings(path):
            if emb.role in ("input", "tied"):
                embeddings.append(emb.derive(name=f"{kind}-s{seed}:{emb.role}"))
    benches = load_benchmarks(list(BENCHMARKS))
    ev = evaluate(embeddings, benches, n_bootstrap=0, compare=False)
    scores = {(r.embedding, r.benchmark): r for r in ev.results}
    print(f"\n{'benchmark':12s} " + " ".join(f"{k:>12s}" for k in kinds) + "   torch-gensim  pairs")
    summary: dict[str, dict[str, float]] = {}
    for bench in BENCHMARKS:
        means = {}
        for kind in kinds:
            role = "tied" if kind == "torch-tied" else "input"
            means[kind] = float(np.mean([scores[(f"{kind}-s{s}:{role}", bench)].spearman for s in args.seeds]))
        gap = means["torch"] - means["gensim"]
        pairs = scores[(f"gensim-s{args.seeds[0]}:input", bench)].pairs_used
        summary[bench] = {**means, "torch_minus_gensim": gap, "pairs_used": pairs}
        ok = "ok" if abs(gap) <= 0.03 else "MISS"
        print(f"{bench:12s} " + " ".join(f"{means[k]:12.3f}" for k in kinds) + f"   {gap:+.3f} {ok}   {pairs}")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "settings": {
                    "corpus": args.corpus,
                    "dim": 200,
                    "window": 5,
                    "negative": 5,
                    "min_count": 5,
                    "epochs": args.epochs,
                    "seeds": args.seeds,
                    "workers": args.workers,
                },
                "mean_rho": summary,
                "per_run": [r.__dict__ for r in ev.results],
            },
            indent=1,
        )  # fmt: skip
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

"""What a larger vocabulary costs the LM trainer: tokens/s at PTB's vocabulary (10,000 words) against
WikiText-2's (33,278), the same config and trainer, in one script.

    python benchmarks/bench_vocab_cost.py [--config tf-small] [--variant wt] [--batches 20] [--rounds 2]

Rounds alternate the two vocabularies so machine noise hits both alike. The output is the ratio of tokens/s
(> 1: the small vocabulary is faster) and what it means for one full run of the config on each corpus: epochs x
training tokens / tokens/s, evaluation not counted. This is how we know a WikiText-2 `tf-small` run does not fit a
session on the 2-core machine (reports/transformer/RESULTS.md).
"""

from __future__ import annotations

import datetime
import statistics
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import lm_benchmark_setup, trainer_tokens_per_s  # noqa: E402

from embedeval.train.lm_config import make_config  # noqa: E402

# (vocabulary, training tokens with the end-of-sentence markers) as embedeval reads each corpus
CORPORA = {"ptb": (10000, 929589), "wikitext-2": (33278, 2046135)}


def main() -> None:
    args, cfg, _ = lm_benchmark_setup(__doc__, "tf-small", "wt", 20)
    size = cfg.batch_size * cfg.bptt * (args.batches + 2)
    speeds: dict[str, list[float]] = {name: [] for name in CORPORA}
    for _ in range(args.rounds):
        for name, (vocab, _) in CORPORA.items():
            ids = torch.from_numpy(np.random.default_rng(0).integers(0, vocab, size=size))
            speeds[name].append(trainer_tokens_per_s(ids, cfg, vocab))
    median = {name: statistics.median(s) for name, s in speeds.items()}
    print(f"{datetime.date.today()}  config {args.config}, variant {args.variant}, {args.threads} thread(s), "
          f"{args.batches} batches x {args.rounds} rounds")  # fmt: skip
    epochs = make_config(args.config, args.variant).epochs  # the full run's, not the benchmark's one
    for name, (vocab, tokens) in CORPORA.items():
        hours = epochs * tokens / median[name] / 3600
        print(f"  {name:<11} vocabulary {vocab:>6,}: {median[name]:8,.0f} tokens/s -> {epochs} epochs of "
              f"{tokens:,} tokens ~ {hours:.1f} h")  # fmt: skip
    print(f"  ratio ptb / wikitext-2 tokens/s: {median['ptb'] / median['wikitext-2']:.2f}x")


if __name__ == "__main__":
    main()

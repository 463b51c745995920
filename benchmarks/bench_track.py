"""Cost of tracking: a tracked LM pair against the same pair trained in lockstep without tracking.

    EMBEDEVAL_DATA=../shared/data python benchmarks/bench_track.py [--corpus ptb] [--steps 300] [--every 150]

Both sides run the same two models (untied and wt, pw-small, one thread) over the same batches, one
after the other in one process. The tracked side records every ``--every`` steps (the default interval
of a full 13-epoch pw-small run is about 750 steps, so ``--every 150`` records five times as often) and
samples the gradient split every 4 steps. Prints the wall-time ratio and, from the measured per-record
cost, the overhead at the default interval of the full run. Target: at most 1.10.
"""

from __future__ import annotations

import argparse
import datetime
import json
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="ptb")
    parser.add_argument("--config", default="pw-small")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--every", type=int, default=150)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    import torch

    from embedeval.data.corpus import resolve_corpus
    from embedeval.dynamics.tracker import TrackConfig, track
    from embedeval.rundir import RunDir
    from embedeval.train.lm import LMData, LMTrainer, load_lm_data
    from embedeval.train.lm_config import make_config

    torch.set_num_threads(args.threads)
    full = load_lm_data(resolve_corpus(args.corpus))
    # a short validation/test split: the epoch-end perplexity pass is the same with and without tracking
    data = LMData(full.vocab, full.train, full.valid[:2000], full.test[:2000])
    over = dict(epochs=1, max_batches=args.steps, threads=args.threads)
    untied_cfg, tied_cfg = make_config(args.config, "untied", **over), make_config(args.config, "wt", **over)

    def plain() -> float:
        root = Path(tempfile.mkdtemp(prefix="bench-track-"))
        trainers = [LMTrainer(c, data, RunDir.create(root / c.variant)) for c in (untied_cfg, tied_cfg)]
        start = time.perf_counter()
        gens = [t.steps() for t in trainers]
        while any([next(g, None) is not None for g in gens]):
            pass
        return time.perf_counter() - start

    def tracked() -> tuple[float, list[float]]:
        out = Path(tempfile.mkdtemp(prefix="bench-track-")) / "pair"
        start = time.perf_counter()
        track(untied_cfg, tied_cfg, data, out, TrackConfig(every=args.every))
        seconds = time.perf_counter() - start
        records = [json.loads(line) for line in (out / "dynamics.jsonl").read_text().splitlines()]
        return seconds, [r["record_seconds"] for r in records]

    p1 = plain()
    t1, rec1 = tracked()
    p2 = plain()
    t2, rec2 = tracked()
    p, t = (p1 + p2) / 2, (t1 + t2) / 2
    record_cost = sum(rec1 + rec2) / len(rec1 + rec2)
    full_steps = 13 * ((data.train.numel() // 20 - 1) // 20)
    default_every = max(1, full_steps // 40)
    step_cost = p / args.steps
    sampling_overhead = (t - p - record_cost * len(rec1)) / p
    at_default = sampling_overhead + record_cost / (default_every * step_cost)
    print(f"{args.corpus}, {args.config} untied + wt in lockstep, {args.steps} steps, {args.threads} thread(s)")
    print(f"untracked pair:            {p:8.2f} s")
    print(f"tracked, every {args.every:<5d}:     {t:8.2f} s   ratio {t / p:.3f}  ({len(rec1)} records)")
    print(f"one record:                {record_cost:8.2f} s   (the pair's step: {step_cost * 1000:.0f} ms)")
    print(
        f"at the default interval of a full run (every {default_every} steps): ratio {1 + at_default:.3f} "
        f"(target <= 1.10)  [{datetime.date.today()}]"
    )


if __name__ == "__main__":
    main()

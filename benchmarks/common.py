"""Helpers shared by the speed benchmarks: a synthetic large embedding that covers the benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from embedeval.data.registry import load_benchmarks


def synthetic_vocabulary(size: int, seed: int = 0) -> list[str]:
    """Every bundled benchmark word (some upper-cased, as real vocabularies have) plus filler words."""
    words = sorted({w for b in load_benchmarks() for w in b.words1 + b.words2})
    rng = np.random.default_rng(seed)
    words += [w.capitalize() for w in words if rng.random() < 0.2]
    words = list(dict.fromkeys(words))
    words += [f"w{i:07d}" for i in range(size - len(words))]
    order = rng.permutation(len(words))
    return [words[i] for i in order][:size]


def synthetic_matrix(rows: int, dim: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)


def write_word2vec_text(path: Path, words: list[str], vectors: np.ndarray, chunk: int = 20000) -> None:
    """Fast writer for the benchmark file (6 decimals, like the C tool)."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(f"{len(words)} {vectors.shape[1]}\n")
        for start in range(0, len(words), chunk):
            block = vectors[start : start + chunk]
            lines = [w + " " + " ".join(f"{x:.6f}" for x in row) for w, row in zip(words[start : start + chunk], block)]
            handle.write("\n".join(lines) + "\n")


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def trainer_tokens_per_s(ids, cfg, vocab_size: int) -> float:
    """tokens/s of embedeval's LM trainer over one epoch of ``cfg.max_batches`` batches (evaluation excluded)."""
    import tempfile

    from embedeval.data.corpus import Vocab
    from embedeval.rundir import RunDir
    from embedeval.train.lm import LMData, train_lm

    vocab = Vocab([f"w{i}" for i in range(vocab_size)], np.ones(vocab_size, dtype=np.int64))
    data = LMData(vocab, ids, ids[:2000], ids[:2000])
    speeds: list[float] = []
    with RunDir.create(tempfile.mkdtemp(prefix="bench-lm-")) as run:
        train_lm(cfg, data, run, progress=lambda r: speeds.append(r["tokens_per_s"]))
    return speeds[-1]  # the loop's own tokens/s over the epoch's batches


def lm_benchmark_setup(doc: str, config: str, variant: str, batches: int, vocab_size: int = 10000):
    """(args, config, token ids) for an LM throughput benchmark: the shared command line, the config cut to
    ``--batches`` batches of one epoch, and a random stream long enough for them."""
    import argparse

    import torch

    from embedeval.train.lm_config import make_config

    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=config)
    parser.add_argument("--variant", default=variant)
    parser.add_argument("--batches", type=int, default=batches)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--profile", action="store_true", help="also: where the trainer's CPU time goes (matmuls vs the rest)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = make_config(args.config, args.variant, epochs=1, max_batches=args.batches, threads=args.threads)
    size = cfg.batch_size * cfg.bptt * (args.batches + 2)
    ids = torch.from_numpy(np.random.default_rng(0).integers(0, vocab_size, size=size))
    return args, cfg, ids


def sgemm_flops(n: int = 1024, repeats: int = 20, tries: int = 5) -> float:
    """The machine's matmul bound at the current thread count: FLOP/s of a float32 n x n x n product, the best of
    ``tries`` timings of ``repeats`` products. A bound is a peak: a brief stall elsewhere on the machine can only
    lower one timing (single timings here have read 97 against 191 GFLOP/s), so the best is taken."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = 0.0
    for _ in range(tries):
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        best = max(best, 2 * n**3 * repeats / (time.perf_counter() - start))
    return best


# the kernels whose FLOPs the bound counts: matmuls, and the LSTM's fused cells (oneDNN's, gates' matmuls inside)
MATMULS = ("aten::mm", "aten::addmm", "aten::addmm_", "aten::bmm", "aten::baddbmm", "aten::_addmm_activation",
           "aten::mkldnn_rnn_layer", "aten::mkldnn_rnn_layer_backward")  # fmt: skip


def time_shares(ids, cfg, vocab_size: int, top: int = 6) -> tuple[float, list[tuple[str, float]]]:
    """The trainer's tokens/s under the profiler and its CPU time by operator (self time, torch.profiler), as shares
    of the total: the matmul kernels the FLOP bound counts, summed as one line, then the largest others. Says what
    holds a run below the bound. The evaluation at the epoch's end is cut to a few tokens so that it is not counted."""
    import dataclasses

    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        speed = trainer_tokens_per_s(ids, dataclasses.replace(cfg, max_eval_tokens=10), vocab_size)
    times = {e.key: e.self_cpu_time_total for e in prof.key_averages()}
    total = sum(times.values()) or 1.0
    matmul = sum(t for k, t in times.items() if k in MATMULS)
    others = sorted(((k, t) for k, t in times.items() if k not in MATMULS), key=lambda kv: -kv[1])[:top]
    return speed, [("matmuls (" + ", ".join(m.removeprefix("aten::") for m in MATMULS) + ")", matmul / total)] + [
        (k, t / total) for k, t in others
    ]


def print_time_shares(args, cfg, ids, vocab_size: int, flops: float, bound: float) -> None:
    """With --profile: the operator shares, and the ceiling they imply: the share of the bound the run would reach
    if everything but its matmul kernels took no time (its matmuls' own efficiency against the 1024^3 sgemm)."""
    if args.profile:
        speed, shares = time_shares(ids, cfg, vocab_size)
        print("trainer CPU time by operator (self time):")
        for name, share in shares:
            print(f"  {share:6.1%}  {name}")
        reached = speed * flops / bound
        print(f"under the profiler: {reached:.0%} of the bound with {shares[0][1]:.0%} of the time in matmul kernels; "
              f"if the rest took no time: {reached / shares[0][1]:.0%} of the bound (the matmuls' own ceiling)")  # fmt: skip


def report_lm_throughput(args, cfg, ids, vocab_size: int, plain: Callable[[], float], flops: float) -> None:
    """Rounds of (sgemm bound, the plain loop, the trainer with its fused cross-entropy, the trainer with PyTorch's
    unfused one), each alternating so that machine noise hits all alike; the medians, each round's numbers and the
    share of the bound, then (--profile) where the trainer's time goes."""
    import dataclasses
    import datetime
    import os
    import statistics

    from embedeval.train.memory import keep_freed_memory

    # the trainer sets glibc's malloc to keep freed memory, for the whole process: set it before the first round so
    # that the plain loop runs with it in every round, not only after the trainer's first run
    kept = keep_freed_memory()
    unfused_cfg = dataclasses.replace(cfg, loss_chunk=0)
    rows: dict[str, list[float]] = {"bound": [], "plain": [], "fused": [], "unfused": []}
    for _ in range(args.rounds):
        rows["bound"].append(sgemm_flops())
        rows["plain"].append(plain())
        rows["fused"].append(trainer_tokens_per_s(ids, cfg, vocab_size))
        rows["unfused"].append(trainer_tokens_per_s(ids, unfused_cfg, vocab_size))
    bound = statistics.median(rows["bound"])

    def line(name: str, label: str) -> str:
        values = rows[name]
        shares = ", ".join(f"{v * flops / b:.0%}" for v, b in zip(values, rows["bound"]))
        return (f"{label}: {statistics.median(values):,.0f} tokens/s median ({', '.join(f'{v:,.0f}' for v in values)}); "
                f"of each round's bound: {shares}")  # fmt: skip

    print(f"[{datetime.date.today()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end] config "
          f"{args.config} ({args.variant}), {args.batches} batches x {args.rounds} rounds, {args.threads} threads; "
          f"malloc keeps freed memory (every loop): {'yes' if kept else 'no (not glibc)'}")  # fmt: skip
    print(
        f"sgemm bound: median {bound / 1e9:,.1f} GFLOP/s ({', '.join(f'{b / 1e9:.1f}' for b in rows['bound'])}); "
        f"training FLOPs per token: {flops / 1e6:,.1f} M"
    )
    print(line("plain", "plain PyTorch loop"))
    print(line("fused", f"embedeval train lm (fused cross-entropy, --loss-chunk {cfg.loss_chunk})"))
    print(line("unfused", "embedeval train lm (--loss-chunk 0, PyTorch's cross-entropy)"))
    fused, plain_median = statistics.median(rows["fused"]), statistics.median(rows["plain"])
    # each round against its own bound: this machine's sgemm rate moves by a third between rounds (docs/performance.md)
    shares = [v * flops / b for v, b in zip(rows["fused"], rows["bound"])]
    print(
        f"share of the bound, median of the rounds: {statistics.median(shares):.0%} [{min(shares):.0%}, "
        f"{max(shares):.0%}] (target >= 70%); embedeval / plain = {fused / plain_median:.2f}x; fused / unfused = "
        f"{fused / statistics.median(rows['unfused']):.2f}x"
    )
    print_time_shares(args, cfg, ids, vocab_size, flops, bound)

"""Is the GIL what keeps the torch SGNS backend's two slices from doubling on two cores?

Two loops of HogBatch steps over separate halves of the same windows, each on its own copy of U and V (what
``train skipgram --parallel 2`` does within a chunk), run three ways: one after the other on one thread (the
anchor), in two threads of one process (they share the GIL between the kernels), and in two processes (no
shared GIL; the matrices in shared memory, both loops released at one barrier). If the GIL were the limit, the
processes would come out well ahead of the threads.

    python benchmarks/sgns_process_probe.py [--steps 1000] [--rounds 3] [--profile]

Synthetic Zipf-distributed ids with WikiText-2's shapes (33,000 x 200, 128 windows of 10 contexts, 5 negatives).
Measure on idle cores.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
import torch.multiprocessing as mp

from embedeval.train.skipgram import _sgns_step

N_WORDS, DIM, WINDOWS, CONTEXTS, OUTPUTS = 33_000, 200, 128, 10, 6


def windows(seed: int, steps: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, N_WORDS + 1)
    p /= p.sum()
    contexts = torch.from_numpy(rng.choice(N_WORDS, size=(steps * WINDOWS, CONTEXTS), p=p))
    outputs = torch.from_numpy(rng.choice(N_WORDS, size=(steps * WINDOWS, OUTPUTS), p=p))
    return contexts, outputs, torch.ones(steps * WINDOWS, CONTEXTS, OUTPUTS)


def loop(u, v, contexts, outputs, weights) -> float:
    """Seconds for every step over these windows, on this thread alone."""
    torch.set_num_threads(1)
    began = time.perf_counter()
    for s in range(0, len(contexts), WINDOWS):
        part = slice(s, s + WINDOWS)
        _sgns_step(u, v, contexts[part], outputs[part], weights[part], 0.025, None, 1)
    return time.perf_counter() - began


def worker(jobs, results, barrier) -> None:
    torch.set_num_threads(1)
    while True:
        job = jobs.get()
        if job is None:
            return
        barrier.wait()
        results.put(loop(*job))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=1000, help="steps per half")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="also: where one thread's loop spends its time")
    args = parser.parse_args()
    torch.set_num_threads(1)
    halves = [windows(seed, args.steps) for seed in (1, 2)]
    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        u, v = torch.rand(N_WORDS, DIM) / DIM, torch.zeros(N_WORDS, DIM)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            loop(u, v, *halves[0])
        print("one thread's loop, self CPU time by operator:")
        for event in sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:6]:
            share = event.self_cpu_time_total / sum(e.self_cpu_time_total for e in prof.key_averages())
            print(f"  {share:6.1%}  {event.key}")
    start = (torch.rand(N_WORDS, DIM, generator=torch.Generator().manual_seed(0)) - 0.5) / DIM

    def copies() -> list[tuple[torch.Tensor, ...]]:
        return [(start.clone(), torch.zeros(N_WORDS, DIM), *half) for half in halves]

    spawn = mp.get_context("spawn")
    jobs, results, barrier = spawn.Queue(), spawn.Queue(), spawn.Barrier(2)
    # the pair lives for the whole probe: its start-up (an interpreter, torch's import) is not timed
    workers = [spawn.Process(target=worker, args=(jobs, results, barrier)) for _ in range(2)]
    for w in workers:
        w.start()
    times: dict[str, list[float]] = {"one thread, both halves": [], "two processes": [], "two threads": []}
    for _ in range(args.rounds):
        pair = [tuple(t.share_memory_() for t in job) for job in copies()]
        for job in pair:
            jobs.put(job)
        times["two processes"].append(max(results.get() for _ in pair))  # each timed from the barrier
        with ThreadPoolExecutor(2) as pool:
            pair = copies()
            began = time.perf_counter()
            list(pool.map(lambda job: loop(*job), pair))
            times["two threads"].append(time.perf_counter() - began)
        times["one thread, both halves"].append(sum(loop(*job) for job in copies()))
    for _ in workers:
        jobs.put(None)
    for w in workers:
        w.join()
    print(
        f"[{datetime.date.today()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end] "
        f"2 x {args.steps} steps of {WINDOWS} windows, {N_WORDS:,} x {DIM}, {args.rounds} rounds"
    )
    anchor = times["one thread, both halves"]
    for name, values in times.items():
        speedups = [a / t for a, t in zip(anchor, values)]
        print(
            f"{name:24s} "
            + ", ".join(f"{t:.2f} s" for t in values)
            + f"; speed-up over one thread: median {statistics.median(speedups):.2f}x "
            + f"({', '.join(f'{s:.2f}' for s in speedups)})"
        )


if __name__ == "__main__":
    main()

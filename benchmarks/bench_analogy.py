"""Analogy speed: embedeval's batched 3CosAdd against gensim's `evaluate_word_analogies` (one `most_similar` per
question), on the same vectors, vocabulary and questions, side by side in this script.

    python benchmarks/bench_analogy.py                      # 100k x 300, the 19,544 Google questions
    python benchmarks/bench_analogy.py --questions 4000     # the first 4,000 questions (quicker)

The embedding is random apart from the Google set's words, which come first (so every question is covered); the
two must agree on every answer, and the script checks that they do.
"""

from __future__ import annotations

import argparse
import datetime
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--words", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--questions", type=int, default=None, help="the first N questions (default: all)")
    args = parser.parse_args()

    from gensim.models import KeyedVectors

    from embedeval.data.analogies import parse_analogies
    from embedeval.data.benchmarks import bundled_dir
    from embedeval.embeddings import Embedding
    from embedeval.evaluate.analogy import evaluate_analogies

    google = parse_analogies(bundled_dir() / "questions-words.txt")
    keep = args.questions or len(google)
    lines, n = [], 0
    for line in (bundled_dir() / "questions-words.txt").read_text().splitlines():
        if not line.startswith(":"):
            n += 1
            if n > keep:
                continue
        lines.append(line)
    folder = Path(tempfile.mkdtemp(prefix="bench-analogy-"))
    (folder / "q.txt").write_text("\n".join(lines) + "\n")
    aset = parse_analogies(folder / "q.txt")
    words = list(dict.fromkeys(w for q in aset.questions for w in q))
    words += [f"w{i}" for i in range(args.words - len(words))]
    vectors = np.random.default_rng(0).normal(size=(len(words), args.dim)).astype(np.float32)
    emb = Embedding(words, vectors, name="random")
    kv = KeyedVectors(args.dim)
    kv.add_vectors(words, vectors)

    started = time.perf_counter()
    ours = evaluate_analogies(emb, [aset]).results[0]
    t_ours = time.perf_counter() - started
    started = time.perf_counter()
    _, sections = kv.evaluate_word_analogies(str(folder / "q.txt"), case_insensitive=True)
    t_gensim = time.perf_counter() - started
    total = sections[-1]
    assert ours.correct == len(total["correct"]) and ours.questions_covered == len(total["correct"]) + len(
        total["incorrect"]
    ), "the two disagree"
    print(f"[{datetime.date.today()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}]")
    print(f"{len(words):,} x {args.dim}, {len(aset):,} questions ({ours.correct} right in both)")
    print(f"gensim evaluate_word_analogies: {t_gensim:.1f} s; embedeval: {t_ours:.1f} s; "
          f"ratio {t_gensim / t_ours:.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()

"""Loading a 400k x 300 word2vec text file: embedeval vs gensim's load_word2vec_format, side by side.

    python benchmarks/bench_load.py [--rows 400000] [--dim 300] [--file PATH]

Prints both times, the ratio (target: embedeval at least 2x faster), and the time to reopen the cached
binary form memory-mapped (target: under a second).
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import synthetic_matrix, synthetic_vocabulary, timed, write_word2vec_text  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=400_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--file", type=Path, default=None, help="reuse or create this file")
    args = parser.parse_args()
    path = args.file or Path(tempfile.gettempdir()) / f"embedeval-bench-{args.rows}x{args.dim}.txt"
    if not path.exists():
        print(f"writing {path} ...", flush=True)
        write_word2vec_text(path, synthetic_vocabulary(args.rows), synthetic_matrix(args.rows, args.dim))
    size_mb = path.stat().st_size / 1e6
    print(f"file: {path} ({size_mb:.0f} MB, {args.rows} x {args.dim})", flush=True)

    from gensim.models import KeyedVectors

    from embedeval.embeddings import load_one
    from embedeval.embeddings.cache import open_cached

    cache = Path(tempfile.mkdtemp(prefix="embedeval-cache-"))
    os.environ["EMBEDEVAL_CACHE"] = str(cache)
    t_gensim, kv = timed(lambda: KeyedVectors.load_word2vec_format(str(path)))
    print(f"gensim load_word2vec_format: {t_gensim:.2f} s", flush=True)
    t_ours, emb = timed(lambda: load_one(path, cache=False))
    print(f"embedeval load:              {t_ours:.2f} s", flush=True)
    assert emb.words == list(kv.index_to_key)
    assert abs(emb.vectors[-1] - kv.vectors[-1]).max() == 0
    load_one(path, cache=True)  # writes the cache
    t_cached, cached = timed(lambda: open_cached(path))
    print(f"embedeval cached reopen:     {t_cached:.3f} s (memory-mapped: {type(cached.vectors).__name__})")
    print(f"ratio gensim / embedeval = {t_gensim / t_ours:.2f}x  (target >= 2x)  [{datetime.date.today()}]")
    shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()

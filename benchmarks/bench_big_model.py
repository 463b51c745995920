"""A pretrained model at a real size: a Llama-3-8B-shaped folder (128,256 x 4,096, bf16, untied: 2.1 GB of U+V) built
here from random numbers, then, each in its own process so that its peak memory is its own:

- the anchor: both tensors loaded with safetensors and widened to float32 (what a script would do), then scored;
- ``embedeval eval FOLDER -b simlex999 -b men -b ws353``: peak RSS and time, and its scores against the anchor's;
- ``embedeval eval FOLDER -b ... --task geometry``: the shape of the whole token matrix (both matrices, all rows);
- ``embedeval eval FOLDER -b ... --task tokens``: token analysis without a corpus.

    python benchmarks/bench_big_model.py                      # Llama-3-8B shape (needs ~2.2 GB of disk)
    python benchmarks/bench_big_model.py --rows 50304 --width 2048 --tied   # a Pythia-1.4b-sized tied one
    python benchmarks/bench_big_model.py --only eval           # one measurement

Targets (issue: real sizes): eval at peak RSS <= 1.5x the bf16 bytes of U+V; geometry of a 128,256 x 4,096 matrix in
<= 60 s with <= 1.5x its bf16 bytes of extra memory; token analysis in <= 30 s. The machine's load is printed: the
times are only comparable on an idle machine.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BENCHMARKS = ("simlex999", "men", "ws353")


def build(folder: Path, rows: int, width: int, tied: bool, seed: int = 0) -> None:
    """config.json, a word-level tokenizer.json of ``rows`` tokens (the benchmark words first, then fillers) and a
    model.safetensors of random bf16 N(0, 0.02) rows, written block by block."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    from embedeval.data.registry import load_benchmarks

    folder.mkdir(parents=True, exist_ok=True)
    words = sorted({w for b in load_benchmarks(list(BENCHMARKS)) for w in (*b.words1, *b.words2)})
    tokens = ["<unk>", *words]
    tokens += [f"tok{i}" for i in range(rows - len(tokens))]
    tok = Tokenizer(models.WordLevel(vocab={t: i for i, t in enumerate(tokens)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.save(str(folder / "tokenizer.json"))
    config = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": rows, "hidden_size": width,
              "tie_word_embeddings": tied, "torch_dtype": "bfloat16"}  # fmt: skip
    (folder / "config.json").write_text(json.dumps(config))
    names = ["model.embed_tokens.weight"] + ([] if tied else ["lm_head.weight"])
    size = rows * width * 2
    header = {name: {"dtype": "BF16", "shape": [rows, width], "data_offsets": [i * size, (i + 1) * size]}
              for i, name in enumerate(names)}  # fmt: skip
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    rng = np.random.default_rng(seed)
    with open(folder / "model.safetensors", "wb") as handle:
        handle.write(len(raw).to_bytes(8, "little"))
        handle.write(raw)
        for _ in names:
            for start in range(0, rows, 8192):
                n = min(8192, rows - start)
                block = (rng.standard_normal((n, width), dtype=np.float32) * 0.02).view(np.uint32)
                handle.write((block >> 16).astype(np.uint16).tobytes())


ANCHOR = """
import json, sys, time
import numpy as np
from safetensors import safe_open
from embedeval.data.registry import load_benchmarks
from embedeval.embeddings.embedding import Embedding
from embedeval.evaluate import evaluate
from tokenizers import Tokenizer
folder = sys.argv[1]
started = time.perf_counter()
with safe_open(folder + "/model.safetensors", framework="pt") as f:
    mats = {n: f.get_tensor(n).float().numpy() for n in f.keys()}
tok = Tokenizer.from_file(folder + "/tokenizer.json")
vocab = sorted(tok.get_vocab().items(), key=lambda kv: kv[1])
words = [w for w, _ in vocab]
embs = [Embedding(words, m, name=("input" if "embed" in n else "output")) for n, m in mats.items()]
loaded = time.perf_counter() - started
ev = evaluate(embs, load_benchmarks(sys.argv[2].split(",")), n_bootstrap=0)
print(json.dumps({"seconds": time.perf_counter() - started, "load_seconds": loaded,
                  "scores": {f"{r.embedding}|{r.benchmark}": r.spearman for r in ev.results}}))
"""


def child(args: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS GB, stdout) of one child process: its own peak (``wait4``), not the largest child's."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(args, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            sys.exit(f"failed: {' '.join(args)}\n{err.read()[-3000:]}")
        return wall, usage.ru_maxrss / 2**20, out.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=128_256)
    parser.add_argument("--width", type=int, default=4_096)
    parser.add_argument("--tied", action="store_true")
    parser.add_argument("--folder", type=Path, default=None, help="where to build (or reuse) the model folder")
    parser.add_argument("--only", choices=["anchor", "eval", "geometry", "tokens"], action="append")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="eval --threads (default: every core)")
    args = parser.parse_args()
    folder = (
        args.folder
        or Path(tempfile.gettempdir()) / f"embedeval-big-{args.rows}x{args.width}{'-tied' if args.tied else ''}"
    )
    if not (folder / "model.safetensors").is_file():
        t = time.perf_counter()
        build(folder, args.rows, args.width, args.tied)
        print(f"built {folder} in {time.perf_counter() - t:.0f} s")
    bf16 = (folder / "model.safetensors").stat().st_size / 2**30
    print(f"[{datetime.date.today()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start, eval --threads {args.threads}] "
          f"{args.rows:,} x {args.width:,} bf16, {'tied' if args.tied else 'untied'}: U+V {bf16:.2f} GB on disk")  # fmt: skip
    wanted = args.only or ["anchor", "eval", "geometry", "tokens"]
    anchor_scores = None
    if "anchor" in wanted:
        wall, peak, out = child([sys.executable, "-c", ANCHOR, str(folder), ",".join(BENCHMARKS)])
        anchor_scores = json.loads(out)["scores"]
        print(f"anchor (safetensors -> float32, then scored): {wall:.1f} s wall, peak RSS {peak:.2f} GB "
              f"({peak / bf16:.2f}x the bf16 bytes)")  # fmt: skip
    bench_args = [a for b in BENCHMARKS for a in ("-b", b)]
    base = [
        sys.executable,
        "-m",
        "embedeval",
        "eval",
        str(folder),
        *bench_args,
        "--bootstrap",
        "0",
        "--threads",
        str(args.threads),
    ]
    eval_wall = None
    if "eval" in wanted:
        with tempfile.TemporaryDirectory() as tmp:
            wall, peak, _ = child([*base, "--json", f"{tmp}/r.json"])
            eval_wall = wall
            ours = json.loads(Path(f"{tmp}/r.json").read_text())["results"]
        print(f"embedeval eval, 3 benchmarks: {wall:.1f} s wall, peak RSS {peak:.2f} GB ({peak / bf16:.2f}x the bf16 "
              "bytes; target <= 1.5x)")  # fmt: skip
        if anchor_scores is not None:
            diff = max(abs(r["spearman"] - anchor_scores[f"{r['embedding'].split(':')[-1]}|{r['benchmark']}"])
                       for r in ours)  # fmt: skip
            print(f"  largest difference from the anchor's Spearman: {diff:.2e} (target <= 1e-6)")
    for task, target in (("geometry", "<= 60 s"), ("tokens", "<= 30 s")):
        if task not in wanted:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            wall, peak, _ = child([*base, "--task", task, "--json", f"{tmp}/r.json"])
            rows = json.loads(Path(f"{tmp}/r.json").read_text()).get(task, [])
        print(f"embedeval eval --task {task}: {wall:.1f} s wall (the eval alone above included; target {target} for "
              f"the task), peak RSS {peak:.2f} GB ({peak / bf16:.2f}x the bf16 bytes)")  # fmt: skip
        if task == "geometry" and eval_wall is not None:
            matrices = len({r["embedding"] for r in rows})
            print(f"  {matrices} matrices measured ({', '.join(r['embedding'] for r in rows)}): "
                  f"{(wall - eval_wall) / max(1, matrices):.1f} s per matrix beyond the eval (target <= 60 s)")  # fmt: skip


if __name__ == "__main__":
    main()

"""Reading a pretrained model's U and V: embedeval's reader against `AutoModelForCausalLM.from_pretrained` plus the
two accessors, each in a child process of its own (wall time, and peak memory from the child's maximum RSS).

    python benchmarks/bench_pretrained.py            # a Llama-shaped model: U + V 16 MB, the other weights ~12x more

The model is random, saved with `save_pretrained` (safetensors) in a temporary folder; both sides must return
bit-equal matrices, and the script checks that they do.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

# each child imports its library first, then times the load alone (and the accessors), and saves the matrices
CHILD = {
    "embedeval": (
        "import sys, time, numpy as np, torch; from embedeval.embeddings.pretrained import read_pretrained; "
        "t = time.perf_counter(); m = read_pretrained(sys.argv[1]); u, v = m.input, m.output; "
        "print(time.perf_counter() - t); np.save(sys.argv[2], np.stack([u, v]))"
    ),
    "transformers": (
        "import sys, time, numpy as np, torch; from transformers import AutoModelForCausalLM; "
        "t = time.perf_counter(); m = AutoModelForCausalLM.from_pretrained(sys.argv[1]); "
        "u, v = m.get_input_embeddings().weight.detach().numpy(), m.get_output_embeddings().weight.detach().numpy(); "
        "print(time.perf_counter() - t); np.save(sys.argv[2], np.stack([u, v]))"
    ),
}
MEASURE = (
    "import resource, subprocess, sys; out = subprocess.run(sys.argv[1:], check=True, capture_output=True, "
    "text=True).stdout.split()[-1]; print(out, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vocab", type=int, default=4000)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import numpy as np
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    folder = Path(tempfile.mkdtemp(prefix="bench-pretrained-"))
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=args.vocab, hidden_size=args.hidden, num_hidden_layers=args.layers,
                         num_attention_heads=8, intermediate_size=4 * args.hidden, tie_word_embeddings=False)  # fmt: skip
    model = LlamaForCausalLM(config)
    model.save_pretrained(folder / "model")
    embed = 2 * args.vocab * args.hidden * 4
    total = sum(p.numel() for p in model.parameters()) * 4
    del model
    results = {}
    for _ in range(args.rounds):
        for side, code in CHILD.items():  # alternating, so a busy moment hits both sides alike
            out = folder / f"{side}.npy"
            cmd = [sys.executable, "-c", MEASURE, sys.executable, "-c", code, str(folder / "model"), str(out)]
            seconds, peak_kb = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()
            results.setdefault(side, []).append((float(seconds), int(peak_kb) / 1024))
    same = np.array_equal(np.load(folder / "embedeval.npy"), np.load(folder / "transformers.npy"))
    assert same, "the matrices differ"
    best = {side: min(r[0] for r in rows) for side, rows in results.items()}
    peak = {side: max(r[1] for r in rows) for side, rows in results.items()}
    baseline = float(subprocess.run([sys.executable, "-c", MEASURE, sys.executable, "-c",
                                     "import numpy, torch, safetensors; print(0)"],
                                    capture_output=True, text=True).stdout.split()[1]) / 1024  # fmt: skip
    print(f"[{datetime.date.today()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}]")
    print(f"model: U + V {embed / 2**20:.0f} MB, all weights {total / 2**20:.0f} MB (the rest {(total - embed) / embed:.1f}x"
          f" U + V); matrices bit-equal: {same}")  # fmt: skip
    print(f"load time (best of {args.rounds}, the load call and the accessors, libraries already imported): embedeval {best['embedeval']:.2f} s, "
          f"transformers {best['transformers']:.2f} s: embedeval takes {best['embedeval'] / best['transformers']:.2f}"
          " of the time")  # fmt: skip
    print(f"peak memory: embedeval {peak['embedeval']:.0f} MB, transformers {peak['transformers']:.0f} MB; a child "
          f"that only imports numpy, torch and safetensors {baseline:.0f} MB, so embedeval adds {peak['embedeval'] - baseline:.0f}"
          f" MB for U + V of {embed / 2**20:.0f} MB")  # fmt: skip
    print(json.dumps({"best_s": best, "peak_mb": peak, "baseline_mb": baseline}))


if __name__ == "__main__":
    main()

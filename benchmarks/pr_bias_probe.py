"""Why the projection has no bias by default: the first batches of pw-small on PTB with and without it.

P&W's TF code gives the projection P a bias b_P. With it, our pr and wt+pr runs collapse towards a unigram
model in the first epoch (valid perplexity 693 after epoch 1 for pr, vs 181 untied). This probe trains each
variant for a few hundred batches (training data only; nothing here looks at valid or test) and prints the
training perplexity over those batches.

    EMBEDEVAL_DATA=../shared/data python benchmarks/pr_bias_probe.py --batches 200 \
        --json reports/press-wolf/pr_bias_probe.json
"""

from __future__ import annotations

import argparse
import json
import tempfile

import torch

from embedeval.data.corpus import resolve_corpus
from embedeval.rundir import RunDir
from embedeval.train.lm import LMTrainer, load_lm_data
from embedeval.train.lm_config import make_config


def _zero_lstm_biases(model) -> None:
    for rnn in model.rnns:
        for name, param in rnn.named_parameters():
            if "bias" in name:
                torch.nn.init.zeros_(param)


def probe(data, variant: str, pr_bias: bool, batches: int, zero_lstm_bias: bool = False) -> float:
    cfg = make_config("pw-small", variant, pr_bias=pr_bias, epochs=1, max_batches=batches, threads=1)
    last = {}
    with tempfile.TemporaryDirectory() as tmp:
        hook = _zero_lstm_biases if zero_lstm_bias else None
        trainer = LMTrainer(cfg, data, RunDir.create(f"{tmp}/run"), model_hook=hook)
        for _ in trainer.steps(progress=last.update):
            if trainer.batch >= batches:
                break
    return last["train_ppl"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--json", help="Also write the numbers here.")
    args = parser.parse_args()
    data = load_lm_data(resolve_corpus("ptb"))
    print(f"training perplexity over the first {args.batches} batches (pw-small, seed 1, 1 thread)")
    rows = []
    for variant, bias in (
        ("untied", False),
        ("wt", False),
        ("pr", True),
        ("pr", False),
        ("wt+pr", True),
        ("wt+pr", False),
    ):
        label = variant + (" with b_P" if bias else " without b_P" if "pr" in variant else "")
        ppl = probe(data, variant, bias, args.batches)
        rows.append({"variant": variant, "pr_bias": bias, "label": label, "train_ppl": ppl})
        print(f"{label:22} {ppl:8.1f}", flush=True)
    # TF's BasicLSTMCell starts its biases at 0 (ours: uniform like every weight); does that matter for PR?
    ppl = probe(data, "pr", False, args.batches, zero_lstm_bias=True)
    rows.append({"variant": "pr", "pr_bias": False, "label": "pr without b_P, LSTM biases 0", "train_ppl": ppl})
    print(f"{rows[-1]['label']:22} {ppl:8.1f}", flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"batches": args.batches, "rows": rows}, handle, indent=1)


if __name__ == "__main__":
    main()

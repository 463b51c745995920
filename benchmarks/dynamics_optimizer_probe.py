"""Does the optimiser decide whether the tied matrix's updates follow U or V?

In the full Transformer pair (AdamW) each interval's update of the tied S points along the untied U's update
(cos(dS, dU) about 0.19) and hardly along V's (0.02), all through training, while in the LSTM pair (SGD) both
cosines are near 0. Architecture and optimiser change together between those pairs. This probe separates
them: a short tracked pair (untied vs wt, same seed, same batches) for each of LSTM / Transformer x SGD /
AdamW on the first batches of PTB's training split, and prints the mean update alignment over the intervals.
Training data only; nothing here looks at valid or test.

    EMBEDEVAL_DATA=../shared/data python benchmarks/dynamics_optimizer_probe.py --batches 400 \
        --json reports/dynamics/optimizer_probe.json
"""

from __future__ import annotations

import argparse
import math
import tempfile

from embedeval.data.corpus import resolve_corpus
from embedeval.dynamics.records import read_dynamics
from embedeval.dynamics.tracker import TrackConfig, track
from embedeval.files import atomic_write_json
from embedeval.train.lm import load_lm_data
from embedeval.train.lm_config import make_config

# The LSTM is P&W's small model as in Table 6. "transformer" is tf-small at half width and context so four pairs
# fit in minutes; "transformer-full" is tf-small itself, the model of the full tracked pair. min_lr_ratio=1 holds
# the cosine decay off after warm-up: cut to a few hundred steps, the schedule would otherwise decay to its floor
# within them, while over the full six epochs it is within 2% of its peak for the first 400 steps.
ARCHS = {
    "lstm": ("pw-small", {}),
    "transformer": ("tf-small", dict(hidden=128, bptt=64, warmup=50, min_lr_ratio=1.0)),
    "transformer-full": ("tf-small", dict(min_lr_ratio=1.0)),
    # tf-small with one of the half-width model's changes at a time
    "transformer-width128": ("tf-small", dict(hidden=128, min_lr_ratio=1.0)),
    "transformer-context64": ("tf-small", dict(bptt=64, min_lr_ratio=1.0)),
}
DEFAULT_ARCHS = ("lstm", "transformer")
# The rate each optimiser is normally run with for that model: Zaremba's SGD lr 1 for both (the Transformer
# keeps its clip of 1 and cosine schedule), AdamW 1e-3.
OPTIMIZERS = {
    "sgd": dict(optimizer="sgd", lr=1.0, weight_decay=0.0),
    "adamw": dict(optimizer="adamw", lr=1e-3),
}


def _mean(values: list[float]) -> float | None:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return sum(finite) / len(finite) if finite else None


def probe(data, arch: str, optimizer: str, batches: int, every: int) -> dict:
    name, sizes = ARCHS[arch]
    overrides = dict(sizes, **OPTIMIZERS[optimizer], epochs=1, max_batches=batches, threads=1, seed=1)
    if arch == "lstm" and optimizer == "adamw":
        overrides["loss"] = "mean"  # Zaremba's summed cost is 20x the per-token one; AdamW is scale-free anyway
    untied = make_config(name, "untied", **overrides)
    tied = make_config(name, "wt", **overrides)
    with tempfile.TemporaryDirectory() as tmp:
        track(untied, tied, data, f"{tmp}/pair", TrackConfig(every=every, geometry=False))
        records = read_dynamics(f"{tmp}/pair")
    aligned = [r for r in records if r.get("align")]
    last = records[-1]
    return {
        "arch": arch,
        "optimizer": optimizer,
        "lr": overrides["lr"],
        "steps": last["step"],
        "intervals": len(aligned),
        "cos_dS_dU": _mean([r["align"]["dS~dU"] for r in aligned]),
        "cos_dS_dV": _mean([r["align"]["dS~dV"] for r in aligned]),
        "closer_to_dV": sum(1 for r in aligned if r["align"]["dS~dV"] > r["align"]["dS~dU"]),
        "corr_S_U": last["corr"]["S~U"],
        "corr_S_V": last["corr"]["S~V"],
        "share_out": _mean([r["grad"]["S"]["share_out"] for r in records if r.get("grad", {}).get("S")]),
    }


def settings() -> dict:
    """What each pair was, next to its numbers: base config, overrides, optimiser."""
    return {
        "archs": {arch: {"config": name, "overrides": sizes} for arch, (name, sizes) in ARCHS.items()},
        "optimizers": OPTIMIZERS,
        "lstm_adamw_loss": "mean",
        "variants": ["untied", "wt"],
        "seed": 1,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=400)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--arch", action="append", choices=list(ARCHS), help=f"repeatable; default {DEFAULT_ARCHS}")
    parser.add_argument("--optimizer", action="append", choices=list(OPTIMIZERS), help="repeatable; default both")
    parser.add_argument("--json", help="Also write the numbers here.")
    args = parser.parse_args()
    if args.batches < 2 * args.every or args.every < 1:
        parser.error("--batches must hold at least two intervals of --every steps")
    data = load_lm_data(resolve_corpus("ptb"))
    print(f"update alignment over the first {args.batches} PTB batches, a record every {args.every} steps")
    print(f"{'arch':16} {'optimizer':9} {'cos(dS,dU)':>10} {'cos(dS,dV)':>10} {'dV closer':>9} {'S~U':>6} {'S~V':>6}")
    rows = []
    for arch in args.arch or DEFAULT_ARCHS:
        for optimizer in args.optimizer or OPTIMIZERS:
            row = probe(data, arch, optimizer, args.batches, args.every)
            rows.append(row)
            print(
                f"{arch:16} {optimizer:9} {row['cos_dS_dU']:10.3f} {row['cos_dS_dV']:10.3f} "
                f"{row['closer_to_dV']:>4} of {row['intervals']:<2} {row['corr_S_U']:6.3f} {row['corr_S_V']:6.3f}",
                flush=True,
            )
    if args.json:
        result = {"batches": args.batches, "every": args.every, "settings": settings(), "rows": rows}
        atomic_write_json(args.json, result, indent=1)


if __name__ == "__main__":
    main()

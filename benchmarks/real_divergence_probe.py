"""Why does REAL (Inan et al.'s tied model plus augmented loss) come apart in Press & Wolf's small setting?

`embedeval train lm --config pw-small --variant real` trains well for four epochs and then, still at the full SGD
rate of 1, its training perplexity climbs (epoch 5) until the trainer stops it as diverging. `re` is the same
model without the augmented loss (tied, no output bias) and trains to the end. This probe trains the two in
lockstep from the same seed, hence the same initial weights and batches, so the augmented loss is the one
difference, and every ``--every`` steps it records, on the batch about to be trained:

- the tied matrix's row norms (mean, 99th percentile, max) and the mean norm of the 100 most frequent words;
- the LSTM output's norm and the largest logit;
- the augmented-loss target y~ = softmax(U[y] U^T / tau): its entropy and the mass it puts on the target word;
- the cross-entropy and the KL per token (the KL computed for `re` too, though it does not train on it);
- the gradient norm before clipping (clip 5) and whether the step was clipped.

Every statistic is measured on training data; the trainers still compute their end-of-epoch validation
perplexity, which the probe does not use. With the same seed, the `real` half repeats the trainer's own run step
for step.

    EMBEDEVAL_DATA=../shared/data python benchmarks/real_divergence_probe.py --steps 13000 --every 100 \
        --json reports/press-wolf/real_divergence_probe.json

``--start CHECKPOINT`` starts both from one saved state instead (a `real` or `re` checkpoint: the two models have
the same parameters), at its epoch: from REAL's state after epoch 4, it asks whether that state comes apart without
the augmented loss too.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from embedeval.data.corpus import resolve_corpus
from embedeval.files import atomic_write_json
from embedeval.rundir import RunDir
from embedeval.train.lm import LMTrainer, load_checkpoint, load_lm_data
from embedeval.train.lm_config import make_config

_last_norm: list[float] = []
_clip = torch.nn.utils.clip_grad_norm_


def _recording_clip(parameters, max_norm, *args, **kwargs):  # the trainer's own clip, its pre-clip norm kept
    norm = _clip(parameters, max_norm, *args, **kwargs)
    _last_norm.append(float(norm))
    return norm


@torch.no_grad()
def measure(trainer: LMTrainer) -> dict:
    """Statistics of the model on the batch it trains next (its hidden state left untouched)."""
    cfg, model = trainer.cfg, trainer.model
    i = (trainer.batch % trainer.n_batches) * cfg.bptt
    x, y = trainer.train[i : i + cfg.bptt], trainer.train[i + 1 : i + 1 + cfg.bptt]
    hidden = trainer.hidden if trainer.hidden is not None else model.init_hidden(x.size(1))
    features, _ = model.features(x, [(h.clone(), c.clone()) for h, c in hidden])
    raw = model.logits(features, bias=False)
    emb = model.encoder.weight
    norms = emb.norm(dim=1)
    vocab = raw.size(-1)
    ce = F.cross_entropy(raw.view(-1, vocab), y.reshape(-1)).item()
    tau = cfg.al_tau
    target = F.softmax(F.embedding(y, emb) @ emb.t() / tau, dim=-1).view(-1, vocab)
    log_pred = F.log_softmax(raw / tau, dim=-1).view(-1, vocab)
    kl = F.kl_div(log_pred, target, reduction="batchmean").item()
    entropy = -(target * target.clamp_min(1e-30).log()).sum(-1).mean().item()
    on_target = target.gather(1, y.reshape(-1, 1)).mean().item()
    return {
        "norm_mean": norms.mean().item(),
        "norm_p99": norms.quantile(0.99).item(),
        "norm_max": norms.max().item(),
        "norm_top100": norms[:100].mean().item(),  # the vocabulary is ordered by frequency
        "h_norm": features.norm(dim=-1).mean().item(),
        "logit_max": raw.abs().max().item(),
        "ce": ce,
        "kl": kl,
        "target_entropy": entropy,
        "target_on_y": on_target,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=13000, help="training steps of each run (2,323 per epoch)")
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="Also write the records here.")
    parser.add_argument("--start", help="A checkpoint to start both runs from (its weights and epoch).")
    parser.add_argument("--variants", default="real,re", help="Comma-separated, from real, re (default both).")
    parser.add_argument("--lr", type=float, help="SGD rate in place of the schedule's (one change, with --start).")
    parser.add_argument("--al-target-grad", action="store_true", help="Let the augmented loss's target pass gradient.")
    args = parser.parse_args()
    if args.steps < 1 or args.every < 1:
        parser.error("--steps and --every must be positive")
    torch.nn.utils.clip_grad_norm_ = _recording_clip
    data = load_lm_data(resolve_corpus("ptb"))
    variants = tuple(v.strip() for v in args.variants.split(","))
    if not variants or any(v not in ("real", "re") for v in variants):
        parser.error("--variants takes real and/or re")
    start = load_checkpoint(Path(args.start)) if args.start else None
    if start is not None and start["batch"]:
        parser.error("--start needs a checkpoint written at the end of an epoch")
    records: dict[str, list[dict]] = {v: [] for v in variants}
    clipped = {v: [0, 0] for v in variants}  # steps clipped, steps in the interval
    grad = {v: [] for v in variants}
    with tempfile.TemporaryDirectory() as tmp:
        trainers, steps = {}, {}
        for v in variants:
            cfg = make_config("pw-small", v, seed=args.seed, threads=1, al_target_grad=args.al_target_grad or None)
            trainers[v] = LMTrainer(cfg, data, RunDir.create(f"{tmp}/{v}"))
            if start is not None:  # SGD keeps no state, pw-small has no dropout: weights and position are the state
                trainers[v].model.load_state_dict(start["model"])
                trainers[v].epoch, trainers[v].history = start["epoch"], list(start["history"])
            if args.lr is not None:  # every epoch at this rate: the trainer asks its lr() at each epoch's start
                trainers[v].lr = lambda rate=args.lr: rate
            steps[v] = trainers[v].steps()
        started = time.perf_counter()
        print(f"{'step':>6} {'variant':7} {'train ppl':>9} {'|U| mean':>8} {'p99':>6} {'max':>6} {'top100':>6} "
              f"{'|h|':>6} {'max logit':>9} {'CE':>6} {'KL':>7} {'H(y~)':>6} {'y~[y]':>6} {'|g|':>7} {'clipped':>7}")  # fmt: skip
        for step in range(1, args.steps + 1):
            for v in variants:
                next(steps[v])
                norm = _last_norm.pop()
                grad[v].append(norm)
                clipped[v][0] += norm > trainers[v].cfg.clip
                clipped[v][1] += 1
            if step % args.every == 0:
                for v in variants:
                    t = trainers[v]
                    ce_sum, tokens = t.partial
                    row = {
                        "step": step,
                        "epoch": t.epoch + t.batch / t.n_batches,
                        "train_ppl_epoch_so_far": math.exp(ce_sum / tokens) if tokens else None,
                        **measure(t),
                        "grad_norm_mean": sum(grad[v]) / len(grad[v]),
                        "clipped_share": clipped[v][0] / clipped[v][1],
                    }
                    grad[v], clipped[v] = [], [0, 0]
                    records[v].append(row)
                    ppl = row["train_ppl_epoch_so_far"]
                    print(
                        f"{step:6d} {v:7} {ppl if ppl is not None else float('nan'):9.1f} {row['norm_mean']:8.3f} "
                        f"{row['norm_p99']:6.2f} {row['norm_max']:6.2f} {row['norm_top100']:6.2f} {row['h_norm']:6.2f} "
                        f"{row['logit_max']:9.2f} {row['ce']:6.3f} {row['kl']:7.4f} {row['target_entropy']:6.2f} "
                        f"{row['target_on_y']:6.4f} {row['grad_norm_mean']:7.2f} {row['clipped_share']:7.2f}",
                        flush=True,
                    )
                if args.json:  # rewritten at every record: a long probe keeps what it measured if stopped
                    atomic_write_json(
                        args.json,
                        {
                            "config": "pw-small",
                            "seed": args.seed,
                            "al_tau": trainers[variants[0]].cfg.al_tau,
                            "al_gamma": trainers[variants[0]].cfg.al_gamma,
                            "start": args.start,
                            "lr": args.lr,
                            "al_target_grad": args.al_target_grad,
                            "every": args.every,
                            "steps_done": step,
                            "seconds": time.perf_counter() - started,
                            "records": records,
                        },
                        indent=1,
                    )


if __name__ == "__main__":
    main()

"""Where does the projection-regularisation (PR) gap come from? One change at a time, on training data only.

Our pr and wt+pr rows of P&W Table 6 miss the paper by about 8 test perplexity, and their first epoch trains far
slower than untied or wt. Each probe below changes one thing the paper's TF code may do differently and trains
pw-small for the first ``--batches`` batches of PTB (seed 1, one thread). It reports the training perplexity over
those batches: nothing here looks at valid or test data, so nothing is tuned on them.

    EMBEDEVAL_DATA=../shared/data python benchmarks/pr_gap_probe.py --batches 400 --json reports/press-wolf/pr_gap_probe.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
from collections.abc import Callable, Iterator

import torch

from embedeval.data.corpus import resolve_corpus
from embedeval.rundir import RunDir
from embedeval.train.lm import LMTrainer, load_lm_data
from embedeval.train.lm_config import make_config


def _tf_lstm(model) -> None:
    """TF's BasicLSTMCell as Zaremba's and P&W's code build it: one bias, initialised to 0, forget bias 0 (PyTorch
    has two biases per gate; starting both at 0 gives the same sum)."""
    for rnn in model.rnns:
        for name, param in rnn.named_parameters():
            if "bias" in name:
                torch.nn.init.zeros_(param)


def _identity_projection(model) -> None:
    with torch.no_grad():
        model.projection.weight.copy_(torch.eye(model.projection.weight.size(0)))


def _zero_projection_bias(model) -> None:
    with torch.no_grad():
        model.projection.bias.zero_()


@contextlib.contextmanager
def _clip_without_projection(trainer_ref: dict, clip_p_alone: bool = False) -> Iterator[None]:
    """Clip the global norm over every parameter but P; P's gradient is left as it is, or clipped by a norm of
    its own (``clip_p_alone``), so that a large gradient of P no longer shrinks every other parameter's step."""
    original = torch.nn.utils.clip_grad_norm_

    def clip(parameters, max_norm, *args, **kwargs):
        model = trainer_ref["model"]
        own = list(model.projection.parameters()) if model.projection is not None else []
        skip = {id(p) for p in own}
        if clip_p_alone and own:
            original(own, max_norm, *args, **kwargs)
        return original([p for p in parameters if id(p) not in skip], max_norm, *args, **kwargs)

    torch.nn.utils.clip_grad_norm_ = clip
    try:
        yield
    finally:
        torch.nn.utils.clip_grad_norm_ = original


def _p_lr(scale: float) -> Callable:
    """P's own learning rate, ``scale`` times everyone else's (the paper states none for P): its gradient is
    scaled after clipping, just before the SGD step, which for plain SGD is the same as a learning rate of its own."""

    def hook(model) -> None:
        model._probe_p_lr = scale  # read by probe() once the optimizer exists

    return hook


PROBES: list[tuple[str, str, dict, Callable | None, bool | str]] = [
    # label, variant, config overrides, model hook, clipping: False (global, as trained), True (P left out), "alone"
    ("untied (reference)", "untied", {}, None, False),
    ("wt (reference)", "wt", {}, None, False),
    ("pr as in our Table 6 (no b_P)", "pr", {}, None, False),
    ("pr, b_P (uniform init, as TF's default initializer)", "pr", {"pr_bias": True}, None, False),
    ("pr, b_P initialised to 0", "pr", {"pr_bias": True}, _zero_projection_bias, False),
    ("pr, TF LSTM biases (0, forget bias 0)", "pr", {}, _tf_lstm, False),
    ("pr, penalty 0 (projection only)", "pr", {"pr_lambda": 0.0}, None, False),
    ("pr, penalty per token (/ batch x bptt)", "pr", {"pr_lambda": 1 / 6.5 / 20}, None, False),
    ("pr, P initialised to the identity", "pr", {}, _identity_projection, False),
    ("pr, clipping leaves P out", "pr", {}, None, True),
    ("pr, P clipped by a norm of its own, the rest by theirs", "pr", {}, None, "alone"),
    ("wt+pr as in our Table 6 (no b_P)", "wt+pr", {}, None, False),
    ("wt+pr, P clipped by a norm of its own, the rest by theirs", "wt+pr", {}, None, "alone"),
    ("wt+pr, penalty 0", "wt+pr", {"pr_lambda": 0.0}, None, False),
    ("wt+pr, P initialised to the identity", "wt+pr", {}, _identity_projection, False),
    ("pr, P's learning rate x 0.1", "pr", {}, _p_lr(0.1), False),
    ("pr, P's learning rate x 0.01", "pr", {}, _p_lr(0.01), False),
    ("pr, P frozen at its initialisation (learning rate 0)", "pr", {}, _p_lr(0.0), False),
    ("wt+pr, P's learning rate x 0.1", "wt+pr", {}, _p_lr(0.1), False),
]


def probe(data, variant: str, overrides: dict, hook: Callable | None, clipping: bool | str, batches: int) -> float:
    cfg = make_config("pw-small", variant, epochs=1, max_batches=batches, threads=1, **overrides)
    last: dict = {}
    ref: dict = {}

    def model_hook(model) -> None:
        ref["model"] = model
        if hook is not None:
            hook(model)

    clip = _clip_without_projection(ref, clipping == "alone") if clipping else contextlib.nullcontext()
    with tempfile.TemporaryDirectory() as tmp, clip:
        trainer = LMTrainer(cfg, data, RunDir.create(f"{tmp}/run"), model_hook=model_hook)
        scale = getattr(ref["model"], "_probe_p_lr", None)
        if scale is not None:
            step, projection = trainer.optimizer.step, ref["model"].projection

            def scaled_step(*args, **kwargs):
                for param in projection.parameters():
                    if param.grad is not None:
                        param.grad.mul_(scale)
                return step(*args, **kwargs)

            trainer.optimizer.step = scaled_step
        for _ in trainer.steps(progress=last.update):
            if trainer.batch >= batches:
                break
    return last["train_ppl"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=400)
    parser.add_argument("--json", help="Also write the numbers here.")
    parser.add_argument("--only", help="Run only the probes whose label contains this text.")
    args = parser.parse_args()
    data = load_lm_data(resolve_corpus("ptb"))
    print(f"training perplexity over the first {args.batches} batches of PTB (pw-small, seed 1, 1 thread)")
    rows = []
    for label, variant, overrides, hook, clipping in PROBES:
        if args.only and args.only not in label:
            continue
        ppl = probe(data, variant, overrides, hook, clipping, args.batches)
        rows.append({"label": label, "variant": variant, "overrides": overrides, "train_ppl": ppl})
        print(f"{label:55} {ppl:9.1f}", flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"batches": args.batches, "rows": rows}, handle, indent=1)


if __name__ == "__main__":
    main()

"""Progress adapters: the trainers report plain dicts, these draw them on tqdm bars."""

from __future__ import annotations


def lm_progress(bar):
    """A progress callback for LMTrainer.steps that draws on a tqdm bar (epoch, batch, ppl, tokens/s)."""

    epoch_shown = [None]

    def progress(record: dict) -> None:
        if record["epoch"] != epoch_shown[0]:  # a new epoch restarts the bar's clock, or its rate and ETA mislead
            epoch_shown[0] = record["epoch"]
            bar.reset(total=record["batches"])
            bar.n = bar.last_print_n = record["batch"] - 1  # a resumed epoch starts part-way
        bar.n = record["batch"]
        bar.set_description(f"epoch {record['epoch']}/{record['epochs']}")
        bar.set_postfix(ppl=f"{record['train_ppl']:.1f}", tok_s=f"{record['tokens_per_s']:.0f}")
        bar.refresh()

    return progress

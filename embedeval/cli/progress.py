"""Progress adapters: the trainers report plain dicts, these draw them on tqdm bars (redrawn in a terminal, whole
lines now and then in a log file or pipe)."""

from __future__ import annotations

import sys
import time
from typing import Any

from tqdm import tqdm

LOG_INTERVAL = 30.0  # seconds between progress lines when stderr is not a terminal


class LogBar(tqdm):
    """A tqdm bar for a log: whole lines (no carriage returns), one when the description changes, at most one every
    :data:`LOG_INTERVAL` seconds otherwise, and the last state when it closes."""

    def __init__(self, *args: Any, **kwargs: Any):
        self._line_at = 0.0
        self._line_desc: str | None = None
        self._last_line = ""
        self._quiet = False
        kwargs.update(dynamic_ncols=False, ncols=120, ascii=True)
        super().__init__(*args, **kwargs)

    def reset(self, total: float | None = None) -> None:
        self._quiet = True  # no line for the empty bar between two epochs
        super().reset(total)
        self._quiet = False

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        now = time.monotonic()
        if msg is None and (self._quiet or self.total is None and not self.n):
            return True  # nothing started yet: no "0batch [00:00, ?batch/s]" line at the top of a log
        if self.desc == self._line_desc and now - self._line_at < LOG_INTERVAL and msg is None:
            return True
        line = (msg if msg is not None else self.__str__()).strip("\r\n ")
        if line and line != self._last_line:
            self.fp.write(line + "\n")
            self.fp.flush()
            self._last_line = line
        self._line_at, self._line_desc = now, self.desc
        return True

    def close(self) -> None:
        if not self.disable and getattr(self, "total", None) is not None or getattr(self, "n", 0):
            self._line_desc = None  # the final state, whatever the interval
            self.display()
        self.disable = True  # tqdm's own close would draw once more
        super().close()


def progress_bar(unit: str, **kwargs: Any) -> tqdm:
    """The bar every command draws on stderr: tqdm in a terminal, :class:`LogBar` in a log file or a pipe."""
    kwargs.setdefault("total", None)
    if sys.stderr.isatty():
        return tqdm(unit=unit, dynamic_ncols=True, file=sys.stderr, delay=1, **kwargs)  # no empty bar before work
    return LogBar(unit=unit, file=sys.stderr, **kwargs)


def say(text: str, console: Any) -> None:
    """Print a line on the console without gluing it to a bar drawn on the same stream."""
    with tqdm.external_write_mode(file=sys.stderr):
        console.print(text, highlight=False)


def lm_progress(bar, label: str = "epoch"):
    """A progress callback for LMTrainer.steps that draws on a tqdm bar (epoch, batch, ppl, tokens/s)."""

    epoch_shown = [None]

    def progress(record: dict) -> None:
        if record["epoch"] != epoch_shown[0]:  # a new epoch restarts the bar's clock, or its rate and ETA mislead
            epoch_shown[0] = record["epoch"]
            bar.reset(total=record["batches"])
            # the rate counts from this first report (tqdm's `initial`): a resumed epoch starts part-way, and the
            # batches an earlier process ran would make it a million a second
            bar.initial = bar.n = bar.last_print_n = record["batch"]
        bar.n = record["batch"]
        bar.set_description(f"{label} {record['epoch']}/{record['epochs']}")
        bar.set_postfix(ppl=f"{record['train_ppl']:.1f}", tok_s=f"{record['tokens_per_s']:.0f}")
        bar.refresh()

    return progress

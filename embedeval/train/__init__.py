"""Trainers: skip-gram, language models (LSTM, Transformer, biLM) and translation models, all exporting U and V.

``ee.train(cfg, data, out)`` (the function :func:`embedeval.train.run.train`) starts a run of any registered family;
the package shares its name with it, so calling the package calls the function.
"""

import sys
import types
from typing import Any


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from embedeval.train.run import train

        return train(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule


def train(*args: Any, **kwargs: Any) -> Any:
    """:func:`embedeval.train.run.train` (prepare, train or resume, export a run of any registered family)."""
    from embedeval.train.run import train as run_training

    return run_training(*args, **kwargs)

"""The built-in small corpus: the Lee news corpus that the gensim package ships as test data.

It needs no data directory and no download, so the main job runs on a fresh machine. It is tiny
(about 60k tokens, 300 news stories), good for a demonstration, not for real results: those need
PTB or WikiText-2 from the data directory.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from embedeval.errors import EmbedevalError

BUILTIN_CORPUS = "builtin"
DESCRIPTION = "Lee news corpus shipped with gensim (gensim/test/test_data/lee_background.cor, ~60k tokens)"


def builtin_corpus_path() -> Path:
    # found, not imported: importing gensim costs about a second that a run on the LSTM or Transformer never uses
    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - gensim is a dependency
        raise EmbedevalError("the built-in corpus comes with the gensim package, which is not installed")
    path = Path(spec.submodule_search_locations[0], "test", "test_data", "lee_background.cor")
    if not path.is_file():
        raise EmbedevalError("gensim's test data (lee_background.cor) is not installed", path)
    return path

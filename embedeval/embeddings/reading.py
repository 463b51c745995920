"""Reading one embedding file, with the memory-mappable cache of large text files."""

from __future__ import annotations

from pathlib import Path

from embedeval.embeddings.cache import open_cached, write_cache
from embedeval.embeddings.embedding import Embedding
from embedeval.embeddings.formats import detect_format, read_embeddings
from embedeval.errors import EmbedevalError

_CACHE_AUTO_BYTES = 64 << 20
_CACHEABLE = ("word2vec", "word2vec-binary", "glove")


def read_file(path: str | Path, fmt: str | None = None, cache: bool | None = None) -> list[Embedding]:
    """The embeddings of one embedding file (word2vec text or binary, GloVe, .npz, .safetensors)."""
    path = Path(path)
    if not path.exists():
        raise EmbedevalError("embedding file does not exist", path)
    fmt = fmt or detect_format(path)
    use_cache = fmt in _CACHEABLE and (cache if cache is not None else path.stat().st_size > _CACHE_AUTO_BYTES)
    if use_cache:
        cached = open_cached(path)
        if cached is not None:
            return [cached]
    found = read_embeddings(path, fmt)
    if use_cache:
        write_cache(found[0], path)
    return found

"""Embeddings in and out: the :class:`Embedding` type, file formats and the binary cache."""

from __future__ import annotations

from pathlib import Path

from embedeval.embeddings.embedding import ROLES, Embedding
from embedeval.embeddings.formats import FORMATS, detect_format, read_embeddings, write
from embedeval.embeddings.reading import read_file
from embedeval.embeddings.runs import load_run_embeddings  # noqa: F401 - part of the package API
from embedeval.errors import EmbedevalError


def load(path: str | Path, fmt: str | None = None, cache: bool | None = None) -> list[Embedding]:
    """Every embedding at ``path``: a file (any supported format), a run or track directory, a pretrained model's
    folder or GGUF file (U and V of its one-token words; :func:`embedeval.embeddings.pretrained.load_pretrained`
    for other pieces policies), or a Hugging Face model id already in the local cache. What is at the path is
    decided by :func:`embedeval.embeddings.readers.identify`.

    ``cache``: keep a binary copy of a parsed text/binary word2vec file for memory-mapped reopening;
    ``None`` caches files over 64 MB.
    """
    from embedeval.embeddings.readers import identify

    found = identify(path)
    if found.reader.name != "file":
        return found.reader.load_words(found.path, None, "single", fmt, cache)
    return read_file(found.path, fmt, cache)


def load_one(path: str | Path, role: str | None = None, fmt: str | None = None, cache: bool | None = None) -> Embedding:
    """One embedding; ``role`` picks it from a file or run that holds several."""
    found = load(path, fmt, cache)
    if role is None:
        if len(found) > 1:
            roles = ", ".join(str(e.role) for e in found)
            raise EmbedevalError(f"holds several embeddings ({roles}); pick one with role=", path)
        return found[0]
    for emb in found:
        if emb.role == role:
            return emb
    why = next((e.meta.get("no_output") for e in found if "no_output" in e.meta), None)
    raise EmbedevalError(f"no {role} embedding here" + (f": {why}" if why else ""), path)


def input_plus_output(embs: list[Embedding], name: str) -> Embedding | None:
    """U+V (P&W's and GloVe's "sum") of a source that holds an input and an output embedding, else None."""
    roles = {e.role: e for e in embs}
    if "input" not in roles or "output" not in roles:
        return None
    total = roles["input"] + roles["output"]
    total.name = name
    return total


__all__ = [
    "Embedding",
    "FORMATS",
    "ROLES",
    "detect_format",
    "input_plus_output",
    "load",
    "load_one",
    "read_embeddings",
    "read_file",
    "write",
]

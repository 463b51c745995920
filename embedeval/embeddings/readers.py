"""What is at a path: the registry of readers, one per kind of input.

A reader is one module plus one :func:`register_reader`: how to recognise its input (cheaply, from names and magic
bytes), what kind it is (``embeddings``: a file or model whose matrices become word embeddings; ``run`` and
``track``: embedeval's own folders, which carry more than embeddings), how to load its word embeddings, which pieces
policies apply, and, for a model with a token vocabulary, its token-level view. :func:`identify` is the one answer
to "what is at this path" for ``eval``, ``compare``, ``ee.load`` and the pipeline; an installed package adds a
reader through the ``embedeval.readers`` entry point group (:mod:`embedeval.plugins`).
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embedeval.errors import EmbedevalError, one_line
from embedeval.layout import CONFIG, EMBEDDINGS, SUMMARY, TRACK
from embedeval.plugins import Registry, call

ALL_PIECES = ("single", "first", "last", "mean")


@dataclass(frozen=True)
class Reader:
    name: str
    about: str  # one line: what it reads (listed when nothing recognises a path)
    recognise: str  # "module:function" (Path) -> bool
    kind: str = "embeddings"  # embeddings | run | track
    # "module:function" (path, words, pieces, fmt, cache, vocabulary) -> list[Embedding]: the word view of ``words``
    # under ``pieces``; words None or vocabulary True: the input's own vocabulary first (what analogies search)
    load: str = ""
    pieces: tuple[str, ...] = ("single",)  # the pieces policies that mean something for this input
    token_model: str = ""  # "module:function" (path) -> (Pretrained, Pieces | None): its token matrices

    def recognises(self, path: Path) -> bool:
        return bool(call("reader", self.name, "recognise", self.recognise, path))

    def load_words(
        self, path: Path, words: list[str] | None = None, pieces: str = "single", fmt: str | None = None,
        cache: bool | None = None, vocabulary: bool = False,
    ) -> list[Any]:  # fmt: skip
        if not self.load:
            raise EmbedevalError(f"a {self.name} input has no embeddings of its own to load", path)
        found = call("reader", self.name, "load", self.load, path, words, pieces, fmt, cache, vocabulary)
        from embedeval.embeddings.embedding import Embedding

        if not isinstance(found, list) or not all(isinstance(e, Embedding) for e in found):
            raise EmbedevalError(f"the reader {self.name!r} returned a {type(found).__name__}, not a list of "
                                 f"Embedding (a bug of the plugin that registered it: {self.load})", path)  # fmt: skip
        return found

    def tokens(self, path: Path) -> tuple[Any, Any]:
        if not self.token_model:
            raise EmbedevalError(f"a {self.name} input has no token vocabulary", path)
        return call("reader", self.name, "token_model", self.token_model, path)


_REGISTRY = Registry("embedeval.readers", Reader, "reader")


def register_reader(reader: Reader) -> Reader:
    """Add a reader (tried before the built-in ``file`` reader, which takes any regular file)."""
    return _REGISTRY.register(reader)


def registered(reader: Reader) -> Any:
    """A reader registered for the ``with`` block only (tests)."""
    return _REGISTRY.registered(reader)


def readers() -> list[Reader]:
    """Every reader, in the order they are tried: the specific ones first, ``file`` (any regular file) last."""
    return sorted(_REGISTRY.all(), key=lambda r: r.name == "file")


def get_reader(name: str) -> Reader:
    for reader in readers():
        if reader.name == name:
            return reader
    raise EmbedevalError(f"unknown reader {name!r}; known: {', '.join(r.name for r in readers())}")


@dataclass(frozen=True)
class Located:
    """An input as found: the reader that reads it, the path it reads, and the name reports give it."""

    reader: Reader
    path: Path
    name: str
    given: str  # as the user wrote it


def identify(given: str | Path, revision: str | None = None) -> Located:
    """The reader of ``given``: a path (file or folder), or a Hugging Face model id in the local cache. One line
    when nothing reads it, listing what was tried."""
    from embedeval.embeddings.hub import display_name, looks_like_repo_id, resolve

    text = str(given)
    path = Path(given)
    try:
        info = path.stat()
    except FileNotFoundError:
        info = None
    except OSError as err:  # a link loop, a name too long, a folder we may not enter
        raise EmbedevalError(f"cannot be read ({err.strerror or err})", path) from None
    if info is None:
        if path.is_symlink():
            raise EmbedevalError("is a link to nothing", path)
        if looks_like_repo_id(text):
            snapshot = resolve(text, revision)
            return Located(get_reader("transformers"), snapshot, display_name(text, revision), text)
        raise EmbedevalError(
            "does not exist (give an embedding file, a run or track folder, a model folder, a GGUF file, "
            "or a Hugging Face model id that is in the local cache)",
            path,
        )
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
        raise EmbedevalError("is not a regular file or folder (a FIFO, device or socket is never read)", path)
    tried = []
    for reader in readers():
        if reader.recognises(path):
            return Located(reader, path, one_line(path.name or text), text)
        tried.append(f"{reader.name} ({reader.about})")
    raise EmbedevalError("nothing here that embedeval reads; tried: " + "; ".join(tried), path)


# --- the built-in readers ------------------------------------------------------------------------------------------


def is_track_folder(path: Path) -> bool:
    return path.is_dir() and (path / TRACK).is_file() and (path / "untied").is_dir() and (path / "tied").is_dir()


def is_run_folder(path: Path) -> bool:
    return path.is_dir() and ((path / CONFIG).is_file() or (path / EMBEDDINGS).is_dir() or (path / SUMMARY).is_file())


def is_embedding_file(path: Path) -> bool:
    return path.is_file()


def is_model_folder(path: Path) -> bool:
    from embedeval.embeddings.pretrained import is_model_dir

    return path.is_dir() and is_model_dir(path)


def load_file(path: Path, words: Any, pieces: str, fmt: str | None, cache: bool | None, vocabulary: bool) -> list[Any]:
    from embedeval.embeddings.reading import read_file

    return read_file(path, fmt, cache)


def load_model_folder(
    path: Path, words: list[str] | None, pieces: str, fmt: Any, cache: Any, vocabulary: bool
) -> list[Any]:
    from embedeval.embeddings.pretrained import load_pretrained

    return load_pretrained(path, words, pieces, vocabulary)


def model_folder_tokens(path: Path) -> tuple[Any, Any]:
    from embedeval.embeddings.pretrained import Pieces, read_pretrained

    tok = Pieces(path)
    return read_pretrained(path, vocab_size=tok.size), tok


def load_gguf_file(
    path: Path, words: list[str] | None, pieces: str, fmt: Any, cache: Any, vocabulary: bool
) -> list[Any]:
    from embedeval.embeddings.gguf_model import load_gguf

    return load_gguf(path, words, pieces, vocabulary)


def gguf_tokens(path: Path) -> tuple[Any, Any]:
    from embedeval.embeddings.gguf_model import read_gguf

    model, vocab = read_gguf(path)
    return model, vocab


def load_run_folder(
    path: Path, words: list[str] | None, pieces: str, fmt: Any, cache: Any, vocabulary: bool
) -> list[Any]:
    from embedeval.embeddings.runs import average_pieces, load_run_embeddings

    found = load_run_embeddings(path)
    if pieces == "mean" and words is not None and (path / "subwords").is_dir():
        found = [average_pieces(e, words) for e in found]
    return found


register_reader(Reader("gguf", "a GGUF file: llama.cpp's token_embd and output matrices", f"{__name__}:_is_gguf",
                       load=f"{__name__}:load_gguf_file", pieces=ALL_PIECES,
                       token_model=f"{__name__}:gguf_tokens"))  # fmt: skip
register_reader(Reader("track", "a track folder: track.json, untied/ and tied/", f"{__name__}:is_track_folder",
                       kind="track", load=f"{__name__}:load_run_folder"))  # fmt: skip
register_reader(Reader("transformers", "a Hugging Face model folder: config.json, weights, a tokenizer",
                       f"{__name__}:is_model_folder", load=f"{__name__}:load_model_folder", pieces=ALL_PIECES,
                       token_model=f"{__name__}:model_folder_tokens"))  # fmt: skip
register_reader(Reader("run", "an embedeval run folder: config.json, embeddings/", f"{__name__}:is_run_folder",
                       kind="run", load=f"{__name__}:load_run_folder", pieces=("single", "mean")))  # fmt: skip
register_reader(Reader("file", "an embedding file: word2vec text or binary, GloVe, .npz, .safetensors",
                       f"{__name__}:is_embedding_file", load=f"{__name__}:load_file"))  # fmt: skip


def _is_gguf(path: Path) -> bool:
    from embedeval.embeddings.gguf_model import is_gguf

    return is_gguf(path)

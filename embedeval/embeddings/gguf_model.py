"""U and V of a GGUF file (llama.cpp, Ollama, LM Studio), read with ggml's own ``gguf`` package.

``token_embd.weight`` is U; ``output.weight`` is V, and a file without it is tied (llama.cpp then uses
``token_embd`` for the output too), so tying is read from the weights. Shapes are stored width first (ggml order);
the reader gives rows x width. The file is memory-mapped and only the rows asked for are dequantised
(``gguf.quants.dequantize`` handles every type the package knows: F32, F16, BF16, Q4_0 ... Q8_0, the K-quants, IQ
types). The vocabulary, token types and the tokenizer are in the metadata (``tokenizer.ggml.*``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from embedeval.embeddings.matrix import TokenMatrix
from embedeval.embeddings.pretrained import Pieces, Pretrained, same_matrix
from embedeval.errors import EmbedevalError

MAGIC = b"GGUF"
INPUT, OUTPUT = "token_embd.weight", "output.weight"
# tokenizer.ggml.token_type values (llama.cpp's llama_token_type)
REBUILT = ("gpt2", "llama", "bert", "word")  # the tokenizer kinds rebuilt from a GGUF file's metadata
TOKEN_TYPES = {1: "normal", 2: "unknown", 3: "control", 4: "user-defined", 5: "unused", 6: "byte"}


def is_gguf(path: str | Path) -> bool:
    """A regular file that starts with GGUF's magic."""
    path = Path(path)
    try:
        if not path.is_file():
            return False
        with open(path, "rb") as handle:
            return handle.read(4) == MAGIC
    except OSError:
        return False


class GGUFMatrix(TokenMatrix):
    """One tensor of a GGUF file: rows dequantised on demand from the memory-mapped file."""

    def __init__(self, tensor: Any, file: Path):
        from gguf import GGMLQuantizationType

        self.tensor, self.file = tensor, file
        self.qtype = tensor.tensor_type
        dims = [int(d) for d in tensor.shape]
        if len(dims) != 2:
            raise EmbedevalError(f"tensor {tensor.name} is {len(dims)}-D: an embedding matrix is 2-D", file)
        self.shape = (dims[1], dims[0])  # ggml order is width first
        self.dtype = self.qtype.name.lower()
        self._float = self.qtype in (GGMLQuantizationType.F32, GGMLQuantizationType.F16, GGMLQuantizationType.F64)
        if tensor.data.shape[0] != self.shape[0]:
            raise EmbedevalError(f"tensor {tensor.name}: the file holds {tensor.data.shape[0]:,} of its "
                                 f"{self.shape[0]:,} rows (truncated or lying offsets)", file)  # fmt: skip

    @property
    def nbytes(self) -> int:
        return int(self.tensor.n_bytes)

    def rows(self, ids: Any) -> np.ndarray:
        from gguf.quants import dequantize

        raw = self.tensor.data[ids] if isinstance(ids, slice) else self.tensor.data[np.asarray(ids, dtype=np.int64)]
        try:
            if self._float:
                out = np.asarray(raw, dtype=np.float32)
            else:
                out = dequantize(np.ascontiguousarray(raw), self.qtype).astype(np.float32, copy=False)
        except (NotImplementedError, ValueError, TypeError) as err:
            raise EmbedevalError(f"tensor {self.tensor.name}: cannot dequantise {self.qtype.name} ({err})",
                                 self.file) from None  # fmt: skip
        return out.reshape(len(raw), self.shape[1])


_SCALAR_BYTES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}  # GGUFValueType -> bytes
_STRING, _ARRAY = 8, 9


def check_header(path: Path) -> None:
    """Walk a GGUF file's header (counts, metadata, tensor infos) and refuse, in one line, any count or length that
    the file's size cannot hold: ggml's reader would otherwise allocate what a few bytes claim (an array of 2^40
    items in a 100-byte file took 5.8 GB and did not finish)."""
    import mmap
    import struct

    size = path.stat().st_size

    def bad(what: str) -> EmbedevalError:
        return EmbedevalError(f"not a GGUF file embedeval can read: its header {what}, more than the file's "
                              f"{size:,} bytes hold (damaged or crafted)", path)  # fmt: skip

    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        if size < 24:
            raise bad("is cut short")
        version, n_tensors, n_kv = struct.unpack_from("<IQQ", data, 4)
        if version not in (2, 3):
            raise EmbedevalError(f"not a GGUF file embedeval can read: version {version:,} (it reads versions 2 and "
                                 "3)", path)  # fmt: skip
        at = 24
        if n_kv * 13 + n_tensors * 33 > size - at:  # the smallest entry of each kind
            raise bad(f"claims {n_kv:,} metadata entries and {n_tensors:,} tensors")

        def take(n: int, what: str) -> int:
            nonlocal at
            if n < 0 or n > size - at:
                raise bad(f"claims {what} of {n:,} bytes at offset {at:,}")
            start, at = at, at + n
            return start

        def string(what: str) -> None:
            (length,) = struct.unpack_from("<Q", data, take(8, what))
            take(length, what)

        def value(kind: int, depth: int = 0) -> None:
            if kind in _SCALAR_BYTES:
                take(_SCALAR_BYTES[kind], "a value")
            elif kind == _STRING:
                string("a string")
            elif kind == _ARRAY and depth < 4:
                item, count = struct.unpack_from("<IQ", data, take(12, "an array"))
                if item in _SCALAR_BYTES:
                    take(count * _SCALAR_BYTES[item], f"an array of {count:,} items")
                elif count * 8 > size - at:  # every string or array item takes at least 8 bytes
                    raise bad(f"claims an array of {count:,} items")
                else:
                    for _ in range(count):
                        value(item, depth + 1)
            else:
                raise EmbedevalError(f"not a GGUF file embedeval can read: unknown metadata type {kind}", path)

        for _ in range(n_kv):
            string("a key")
            (kind,) = struct.unpack_from("<I", data, take(4, "a type"))
            value(kind)
        for _ in range(n_tensors):
            string("a tensor name")
            (dims,) = struct.unpack_from("<I", data, take(4, "a tensor's dimensions"))
            if dims > 8:
                raise bad(f"gives a tensor {dims:,} dimensions")
            take(dims * 8 + 4 + 8, "a tensor's shape, type and offset")


def _open(path: Path) -> Any:
    from gguf import GGUFReader

    check_header(path)
    try:
        return GGUFReader(str(path), "r")
    except Exception as err:  # the reader raises ValueError, KeyError, IndexError ... on damaged files
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise EmbedevalError(f"not a GGUF file embedeval can read ({type(err).__name__}: {first})", path) from None


def _field(reader: Any, key: str) -> Any:
    found = reader.fields.get(key)
    if found is None:
        return None
    try:
        return found.contents()
    except (UnicodeDecodeError, ValueError, IndexError) as err:
        raise EmbedevalError(f"metadata {key} is damaged ({err})", Path(reader.data.filename)) from None


def read_gguf(path: str | Path) -> tuple[Pretrained, GGUFVocabulary]:
    """U and V (or the tied S) of a GGUF file, and its vocabulary."""
    path = Path(path)
    if not is_gguf(path):
        raise EmbedevalError("not a GGUF file (no GGUF magic at its start)", path)
    reader = _open(path)
    tensors = {t.name: t for t in reader.tensors}
    if INPUT not in tensors:
        shown = ", ".join(list(tensors)[:8])
        raise EmbedevalError(f"no {INPUT} (the input embedding) among the file's tensors ({shown})", path)
    u: TokenMatrix = GGUFMatrix(tensors[INPUT], path)
    v: TokenMatrix = GGUFMatrix(tensors[OUTPUT], path) if OUTPUT in tensors else u
    if v.shape[1] != u.shape[1]:
        raise EmbedevalError(f"{OUTPUT} is {v.shape[0]:,} x {v.shape[1]:,} but {INPUT} {u.shape[0]:,} x "
                             f"{u.shape[1]:,}: not the U and V of one model", path)  # fmt: skip
    tied = v is u or same_matrix(u, v)
    vocab = GGUFVocabulary(reader, path)
    notes = []
    if len(vocab.tokens) != u.shape[0]:
        if len(vocab.tokens) > u.shape[0]:
            raise EmbedevalError(f"the vocabulary has {len(vocab.tokens):,} tokens but {INPUT} only {u.shape[0]:,} "
                                 "rows: they do not belong together", path)  # fmt: skip
        notes.append(f"{u.shape[0] - len(vocab.tokens):,} rows past the vocabulary's {len(vocab.tokens):,} tokens "
                     "are left out")  # fmt: skip
    rows_dropped = u.shape[0] - len(vocab.tokens)
    if rows_dropped:
        u = u.head(len(vocab.tokens))
        v = u if tied else v.head(len(vocab.tokens))
    arch = _field(reader, "general.architecture") or "?"
    extra: dict[str, Any] = {"tokenizer_model": vocab.model}
    name = _field(reader, "general.name")
    if name:
        extra["model_name"] = str(name)
    model = Pretrained(str(path), str(arch), [], u, v if OUTPUT in tensors or tied else None, None, tied, None,
                       INPUT, OUTPUT if OUTPUT in tensors else INPUT, u.dtype, rows_dropped, notes,
                       file_format="gguf", extra=extra)  # fmt: skip
    if OUTPUT not in tensors:
        model.notes.append(f"no {OUTPUT}: tied (llama.cpp uses {INPUT} as the output layer)")
    return model, vocab


class GGUFVocabulary:
    """A GGUF file's tokens, their types, and a tokenizer rebuilt from them (``gpt2``: byte-level BPE from the
    tokens and merges; ``llama``: SentencePiece-style pieces scored by the file's scores, segmented as a unigram
    model, which is how these scores are meant)."""

    def __init__(self, reader: Any, path: Path):
        self.path = path
        tokens = _field(reader, "tokenizer.ggml.tokens")
        if not isinstance(tokens, list) or not tokens:
            raise EmbedevalError("no vocabulary (tokenizer.ggml.tokens) in the metadata", path)
        self.tokens: list[str] = [str(t) for t in tokens]
        types = _field(reader, "tokenizer.ggml.token_type")
        self.types: list[int] = [int(t) for t in types] if isinstance(types, list) else [1] * len(tokens)
        if len(self.types) != len(self.tokens):
            raise EmbedevalError(f"{len(self.types):,} token types for {len(self.tokens):,} tokens", path)
        self.model = str(_field(reader, "tokenizer.ggml.model") or "?")
        merges = _field(reader, "tokenizer.ggml.merges")
        self.merges: list[str] = [str(m) for m in merges] if isinstance(merges, list) else []
        scores = _field(reader, "tokenizer.ggml.scores")
        self.scores: list[float] | None = [float(x) for x in scores] if isinstance(scores, list) else None

    def category(self, token_id: int) -> str:
        return TOKEN_TYPES.get(self.types[token_id], "normal")

    def pieces(self) -> Pieces:
        """The tokenizer, as the word views need it; refused in one line for a tokenizer kind it cannot rebuild."""
        from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers

        special = {i for i, t in enumerate(self.types) if t in (2, 3)}
        if self.model == "gpt2":
            if not self.merges:
                raise EmbedevalError("a gpt2-type vocabulary without tokenizer.ggml.merges", self.path)
            vocab = {t: i for i, t in enumerate(self.tokens)}
            merges = [tuple(m.split(" ", 1)) for m in self.merges if " " in m]
            tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False))
            tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
            tok.decoder = decoders.ByteLevel()
        elif self.model == "llama":
            if self.scores is None or len(self.scores) != len(self.tokens):
                raise EmbedevalError("a llama-type vocabulary without one score per token", self.path)
            unk = next((i for i, t in enumerate(self.types) if t == 2), 0)
            tok = Tokenizer(models.Unigram(list(zip(self.tokens, self.scores)), unk_id=unk, byte_fallback=True))
            tok.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
            tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(),
                                             decoders.Fuse()])  # fmt: skip
        elif self.model == "word":  # embedeval's own runs exported (gguf_export): every token is a whole word
            vocab = {t: i for i, t in enumerate(self.tokens)}
            vocab["\x00unknown"] = len(self.tokens)  # past the matrix: an unknown word is covered by no row
            tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="\x00unknown"))
            tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
            tok.decoder = decoders.WordPiece(prefix="\x00")  # joins with spaces, changes nothing else
        elif self.model == "bert":  # WordPiece (BERT-style embedding models): '##' marks a piece inside a word
            vocab = {t: i for i, t in enumerate(self.tokens)}
            unk = next((t for t, kind in zip(self.tokens, self.types) if kind == 2), None)
            unk = unk or ("[UNK]" if "[UNK]" in vocab else self.tokens[0])
            tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token=unk, continuing_subword_prefix="##"))
            tok.normalizer = normalizers.BertNormalizer(lowercase=False)
            tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
            tok.decoder = decoders.WordPiece(prefix="##")
        else:
            raise EmbedevalError(
                f"the tokenizer kind {self.model!r} is not one embedeval rebuilds from a GGUF file ({', '.join(REBUILT)}),"
                " and every task reads its words or tokens through it; use the model's Hugging Face folder instead "
                "(`embedeval eval FOLDER`)",
                self.path,
            )
        return Pieces.from_tokenizer(tok, len(self.tokens), special, self.path)


def load_gguf(
    path: str | Path, words: list[str] | None = None, policy: str = "single", vocabulary: bool = False
) -> list[Any]:
    """U and V (or S) of a GGUF file as word embeddings, as :func:`embedeval.embeddings.pretrained.load_pretrained`
    gives them for a transformers folder."""
    from embedeval.embeddings.pretrained import model_word_embeddings

    model, vocab = read_gguf(path)
    return model_word_embeddings(model, vocab.pieces(), words, policy, Path(path).name, vocabulary)

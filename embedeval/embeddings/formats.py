"""Reading and writing embeddings: word2vec text/binary, GloVe text, .npz, safetensors, gensim models.

Text is parsed a chunk of lines at a time: words are split off in Python, and all the numbers of a chunk
go through one ``np.fromstring`` call, which is where the speed over gensim's per-line float()
comes from. Only when a chunk does not parse cleanly is it re-read line by line to name the bad line.
"""

from __future__ import annotations

import gzip
import json
import os
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from embedeval.embeddings.embedding import Embedding
from embedeval.errors import EmbedevalError, printable
from embedeval.files import atomic_write, check_regular_file, parse_json

FORMATS = ("word2vec", "word2vec-binary", "glove", "npz", "safetensors", "gensim")
_CHUNK_BYTES = 32 << 20
# A text row longer than this is not an embedding row (a 300-dimensional one is ~3 KB, a 16,384-dimensional one
# ~200 KB): reading on would hold the whole "line" (a file of one 2 GB line took 7.6 GB) to say so at the end.
MAX_LINE_BYTES = 16 << 20


def _too_long(path: Path, line_no: int) -> EmbedevalError:
    return EmbedevalError(f"line {line_no} is longer than {MAX_LINE_BYTES:,} bytes: not a row of an embedding (a "
                          "300-dimensional row is ~3 KB); is this the right file, and is it text?", path, line_no)  # fmt: skip


def _text_lines(handle: Any, path: Path, line_no: int) -> Iterator[list[bytes]]:
    """The file's remaining lines, in chunks of about _CHUNK_BYTES, each line with its newline (the last may lack
    it); memory stays bounded by the chunk and the line limit, whatever the file holds."""
    carry = b""
    while True:
        block = handle.read(_CHUNK_BYTES)
        if not block:
            if carry:
                yield [carry]
            return
        data = carry + block
        cut = data.rfind(b"\n")
        if cut < 0:
            if len(data) > MAX_LINE_BYTES:
                raise _too_long(path, line_no)
            carry = data
            continue
        raw, carry = data[: cut + 1], data[cut + 1 :]
        lines = raw.split(b"\n")[:-1]
        if max(map(len, lines)) > MAX_LINE_BYTES:
            longest = max(range(len(lines)), key=lambda i: len(lines[i]))
            raise _too_long(path, line_no + longest)
        if len(carry) > MAX_LINE_BYTES:
            raise _too_long(path, line_no + len(lines))
        line_no += len(lines)
        yield [line + b"\n" for line in lines]


GZIP_MAGIC = b"\x1f\x8b"
PICKLE_MAGIC = b"\x80"
# Loading a gensim model unpickles it, which can run any code the file holds: only by name (these extensions)
# or by --format gensim, never because of what the bytes look like.
GENSIM_SUFFIXES = (".model", ".kv")
PICKLE_REFUSED = (
    "looks like a Python pickle (a gensim model saved with .save()?). embedeval never unpickles a file because "
    "of its content: unpickling runs any code the file holds. If you trust it, name it .model or .kv or pass "
    "--format gensim; safer, convert it once with gensim's save_word2vec_format, or to .npz or safetensors"
)


def _decode(raw: bytes, path: Path, first_line: int) -> str:
    nul = raw.find(b"\0")
    if nul >= 0:  # never part of a word in a text file: a binary file, or a damaged one
        raise EmbedevalError(
            "a NUL byte, which a text embedding file never holds (a binary file? word2vec binary needs a "
            "'count dim' header line, or --format word2vec-binary)",
            path,
            first_line + raw[:nul].count(b"\n"),
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = first_line + raw[: err.start].count(b"\n")
        raise EmbedevalError(
            f"bytes that are not UTF-8 ({raw[err.start : err.start + 1]!r}); re-encode the file as UTF-8",
            path,
            line,
        ) from None


def _parse_chunk(lines: list[str], dim: int | None, path: Path, numbers: list[int]) -> tuple[list[str], np.ndarray]:
    words: list[str] = []
    rests: list[str] = []
    for line in lines:
        word, _, rest = line.rstrip().partition(" ")
        words.append(word)
        rests.append(rest)
    if dim is None:
        dim = len(rests[0].split())
        if dim == 0:
            raise EmbedevalError(f"row for {printable(words[0])!r} has no values", path, numbers[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            flat = np.fromstring(" ".join(rests), dtype=np.float32, sep=" ")
        except (ValueError, DeprecationWarning):
            flat = None
    if flat is None or flat.size != dim * len(lines):
        _find_bad_line(words, rests, dim, path, numbers)
        raise EmbedevalError("could not parse the vectors", path, numbers[0])  # pragma: no cover
    return words, flat.reshape(len(lines), dim)


def _find_bad_line(words: list[str], rests: list[str], dim: int, path: Path, numbers: list[int]) -> None:
    for line, word, rest in zip(numbers, words, rests):
        values = rest.split()
        if not word:
            raise EmbedevalError("empty word at the start of the line", path, line)
        if len(values) != dim:
            raise EmbedevalError(f"row for {word!r} has {len(values)} values, expected {dim}", path, line)
        for value in values:
            try:
                float(value)
            except ValueError:
                raise EmbedevalError(f"value {value!r} for {word!r} is not a number", path, line) from None


def read_text(path: str | Path, header: bool | None = None, limit: int | None = None) -> Embedding:
    """word2vec text (``header=True``: first line ``count dim``) or GloVe text (``header=False``).

    ``header=None`` detects it: a first line of exactly two integers is a header.
    """
    path = Path(path)
    _check_file(path)
    words: list[str] = []
    blocks: list[np.ndarray] = []
    declared: tuple[int, int] | None = None
    dim: int | None = None
    line_no = 1
    with _open_binary(path) as handle:
        first = handle.readline(MAX_LINE_BYTES + 1)
        if len(first) > MAX_LINE_BYTES:
            raise _too_long(path, 1)
        if first.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark is not part of the first word
            first = first[3:]
        if not first.strip():
            raise EmbedevalError("embedding file is empty", path, 1)
        head = _decode(first, path, 1).split()
        looks_like_header = len(head) == 2 and all(part.isdigit() for part in head)
        if header is None:
            header = looks_like_header
        if header:
            if not looks_like_header:
                raise EmbedevalError(f"expected a header 'count dim', found {first[:60]!r}", path, 1)
            declared = (int(head[0]), int(head[1]))
            dim = declared[1]
            if dim < 1:
                raise EmbedevalError(f"header says dimension {dim}; vectors need at least one value", path, 1)
            line_no = 2
            pending: list[bytes] = []
        else:
            pending = [first]
        chunks = _text_lines(handle, path, line_no + len(pending))
        while True:
            raw_lines = pending + next(chunks, [])
            pending = []
            if not raw_lines:
                break
            numbers = list(range(line_no, line_no + len(raw_lines)))
            line_no += len(raw_lines)
            if any(not r.strip() for r in raw_lines):  # blank lines are allowed and skipped
                kept = [(n, r) for n, r in zip(numbers, raw_lines) if r.strip()]
                numbers, raw_lines = [n for n, _ in kept], [r for _, r in kept]
                if not raw_lines:
                    continue
            text = _decode(b"".join(raw_lines), path, numbers[0])
            if "\t" in text:  # tab-separated rows ("word<TAB>0.1<TAB>...") read like space-separated ones
                text = text.replace("\t", " ")
            lines = text.split("\n")
            if lines[-1] == "":
                lines.pop()
            chunk_words, chunk = _parse_chunk(lines, dim, path, numbers)
            dim = chunk.shape[1]
            words.extend(chunk_words)
            blocks.append(chunk)
            if limit is not None and len(words) >= limit:
                break
    if not words:
        raise EmbedevalError("embedding file has a header but no vectors", path)
    vectors = np.concatenate(blocks) if len(blocks) > 1 else blocks[0]
    if limit is not None:
        words, vectors = words[:limit], vectors[:limit]
    elif declared is not None and declared[0] != len(words):
        raise EmbedevalError(
            f"header says {declared[0]} words but the file holds {len(words)}; fix the first line", path, 1
        )
    emb = Embedding(words, vectors, name=path.stem, source=str(path), first_line=2 if header else 1)
    _check_duplicates(emb)
    emb.check_finite()
    return emb


def read_word2vec_binary(path: str | Path, limit: int | None = None) -> Embedding:
    """The C word2vec binary format: ``count dim\\n`` then ``word<space><dim float32>`` per word."""
    path = Path(path)
    _check_file(path)
    with _open_binary(path) as handle:
        data = handle.read()
    end = data.find(b"\n")
    try:
        count, dim = (int(x) for x in data[:end].split())
    except ValueError:
        raise EmbedevalError(f"expected a header 'count dim', found {data[:40]!r}", path, 1) from None
    if count < 1 or dim < 1:
        raise EmbedevalError(f"header says {count} words of dimension {dim}; both must be at least 1", path, 1)
    if count * (4 * dim + 2) > len(data) - end:  # each row: a word of at least one byte, a space, 4*dim bytes
        raise EmbedevalError(
            f"header says {count} words of dimension {dim} (at least {count * (4 * dim + 2):,} bytes) but the file "
            f"holds {len(data):,} bytes; fix the header or the file",
            path,
            1,
        )
    if limit is not None:
        count = min(count, limit)
    vectors = np.empty((count, dim), dtype=np.float32)
    words: list[str] = []
    pos = end + 1
    width = 4 * dim
    for row in range(count):
        while pos < len(data) and data[pos : pos + 1] in (b"\n", b"\r"):
            pos += 1
        space = data.find(b" ", pos)
        if space < 0 or space + 1 + width > len(data):
            raise EmbedevalError(
                f"header says {count} words but the file ends after {row}; fix the header or the file", path
            )
        try:
            words.append(data[pos:space].decode("utf-8"))
        except UnicodeDecodeError:
            raise EmbedevalError(f"word {row + 1} is not valid UTF-8: {data[pos:space]!r}", path) from None
        vectors[row] = np.frombuffer(data, dtype="<f4", count=dim, offset=space + 1)
        pos = space + 1 + width
    emb = Embedding(words, vectors, name=path.stem, source=str(path))
    _check_duplicates(emb)
    emb.check_finite()
    return emb


def read_npz(path: str | Path) -> Embedding:
    """``.npz`` with arrays ``words`` and ``vectors`` (optional ``bias`` and a JSON ``meta`` string)."""
    path = Path(path)
    _check_file(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise EmbedevalError(f"not a readable .npz file ({err or type(err).__name__})", path) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise EmbedevalError(
            "holds a single array (a .npy file?), not an .npz archive with 'words' and 'vectors' arrays", path
        )
    try:
        with archive:
            missing = {"words", "vectors"} - set(archive.files)
            if missing:
                raise EmbedevalError(f"npz lacks array(s) {sorted(missing)}; it must hold 'words' and 'vectors'", path)
            words = archive["words"]
            vectors = archive["vectors"]
            bias = archive["bias"] if "bias" in archive.files else None
            meta_text = str(archive["meta"]) if "meta" in archive.files else "{}"
    except EmbedevalError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as err:
        raise EmbedevalError(f"damaged .npz file ({err or type(err).__name__})", path) from None
    if words.ndim != 1 or words.dtype.kind != "U":
        raise EmbedevalError(
            f"'words' must be a 1-D array of strings, found shape {words.shape} of type {words.dtype}", path
        )
    return _from_stored([str(w) for w in words], vectors, bias, _parse_meta(meta_text, path), path)


def _parse_meta(text: str, path: Path) -> dict:
    return parse_json(text, path, dict, "'meta' entry (a JSON object)")


def read_safetensors(path: str | Path) -> Embedding:
    from safetensors import safe_open

    path = Path(path)
    _check_file(path)
    try:
        with safe_open(str(path), framework="numpy") as handle:
            header = handle.metadata() or {}
            if "words" not in header or "vectors" not in handle.keys():
                raise EmbedevalError(
                    "safetensors file needs a 'vectors' tensor and a 'words' metadata entry (JSON list)", path
                )
            vectors = handle.get_tensor("vectors")
            bias = handle.get_tensor("bias") if "bias" in handle.keys() else None
    except EmbedevalError:
        raise
    except Exception as err:  # safetensors raises its own error types
        raise EmbedevalError(f"not a readable safetensors file ({err})", path) from None
    try:
        words = parse_json(header["words"], path, list, "'words' metadata entry")
    except EmbedevalError:
        words = None
    if not (isinstance(words, list) and all(isinstance(w, str) for w in words)):
        raise EmbedevalError("the 'words' metadata entry must be a JSON list of strings", path)
    return _from_stored(words, vectors, bias, _parse_meta(header.get("embedeval", "{}"), path), path)


def _from_stored(words: list[str], vectors: np.ndarray, bias: np.ndarray | None, meta: dict, path: Path) -> Embedding:
    """An Embedding from a binary container whose metadata embedeval wrote (see :func:`write`)."""
    if vectors.ndim != 2 or vectors.dtype.kind not in "fiu":
        raise EmbedevalError(
            f"'vectors' must be a 2-D matrix of real numbers, found shape {vectors.shape} of type {vectors.dtype}",
            path,
        )
    if vectors.shape[0] == 0:
        raise EmbedevalError("holds no vectors (0 rows)", path)
    if len(words) != vectors.shape[0]:
        raise EmbedevalError(f"{len(words)} words but {vectors.shape[0]} vectors", path)
    for key in ("name", "role", "model", "run"):
        if key in meta and not isinstance(meta[key], str | None):
            raise EmbedevalError(f"the metadata entry {key!r} must be a string", path)
    if bias is not None and bias.shape != (vectors.shape[0],):
        raise EmbedevalError(f"'bias' must hold one value per word, found shape {bias.shape}", path)
    emb = Embedding(
        words,
        vectors,
        name=meta.pop("name", path.stem),
        source=str(path),
        role=meta.pop("role", None),
        model=meta.pop("model", None),
        run=meta.pop("run", None),
        step=meta.pop("step", None),
        bias=bias,
        meta=meta,
    )
    _check_duplicates(emb)
    emb.check_finite()
    return emb


def read_gensim(path: str | Path) -> list[Embedding]:
    """A gensim ``KeyedVectors`` file (input only) or ``Word2Vec``/``FastText`` model (input and output).

    The output embedding of a negative-sampling model is ``syn1neg``; hierarchical softmax has one
    vector per inner tree node, not per word, so there is no output embedding to give.
    """
    from gensim.models import KeyedVectors, Word2Vec
    from gensim.utils import SaveLoad

    path = Path(path)
    _check_file(path)
    try:
        obj = SaveLoad.load(str(path))
    except Exception as err:
        raise EmbedevalError(f"not a gensim model or KeyedVectors file ({type(err).__name__}: {err})", path) from None
    if isinstance(obj, KeyedVectors):
        return [
            Embedding(
                list(obj.index_to_key),
                obj.vectors,
                name=f"{path.stem}",
                source=str(path),
                role="input",
                model="gensim-keyedvectors",
            )
        ]
    if isinstance(obj, Word2Vec):
        kind = type(obj).__name__.lower()
        words = list(obj.wv.index_to_key)
        found = [
            Embedding(
                words, obj.wv.vectors, name=f"{path.stem}:input", source=str(path), role="input", model=f"gensim-{kind}"
            )
        ]
        if obj.negative and getattr(obj, "syn1neg", None) is not None:
            found.append(
                Embedding(
                    words,
                    obj.syn1neg,
                    name=f"{path.stem}:output",
                    source=str(path),
                    role="output",
                    model=f"gensim-{kind}",
                )
            )
        else:
            found[0].meta["no_output"] = (
                "trained with hierarchical softmax (negative=0): its output vectors belong to inner tree "
                "nodes, not words, so there is no per-word output embedding"
            )
        return found
    raise EmbedevalError(f"gensim object of type {type(obj).__name__} holds no word vectors", path)


def detect_format(path: str | Path) -> str:
    path = Path(path)
    _check_file(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return "npz"
    if suffix == ".safetensors":
        return "safetensors"
    if suffix in GENSIM_SUFFIXES:
        return "gensim"
    with _open_binary(path) as handle:
        try:
            start = handle.read(4096)
        except (OSError, EOFError) as err:
            raise EmbedevalError(f"cannot read the file ({err})", path) from None
    if start[:1] == PICKLE_MAGIC:
        raise EmbedevalError(PICKLE_REFUSED, path)
    if start[:2] == b"PK":
        raise EmbedevalError("is a zip archive; name it .npz if it holds 'words' and 'vectors' arrays", path)
    first = start.split(b"\n", 1)[0].split()
    if len(first) == 2 and all(part.isdigit() for part in first):
        sample = start.split(b"\n", 1)[1][:1024] if b"\n" in start else b""
        try:
            lines = sample.decode("utf-8").split("\n")[:-1]  # the last may be cut by the sample
            dim = int(first[1])
            # text whose rows have the declared shape is text, even with a stray control byte in a word
            binary = any(byte < 9 for byte in sample) and not (
                lines and all(len(line.split()) == dim + 1 for line in lines)
            )
        except UnicodeDecodeError as err:
            binary = err.start < len(sample) - 4  # a character cut at the sample's end is not binary
        return "word2vec-binary" if binary else "word2vec"
    return "glove"


def read_embeddings(path: str | Path, fmt: str | None = None) -> list[Embedding]:
    """Every embedding a file holds (a gensim model holds two)."""
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise EmbedevalError(f"unknown format {fmt!r}; valid formats: {', '.join(FORMATS)}")
    if fmt == "gensim":
        return read_gensim(path)
    reader = {
        "word2vec": lambda p: read_text(p, header=True),
        "glove": lambda p: read_text(p, header=False),
        "word2vec-binary": read_word2vec_binary,
        "npz": read_npz,
        "safetensors": read_safetensors,
    }[fmt]
    try:
        return [reader(path)]
    except (OSError, EOFError) as err:  # a damaged .gz, a file that vanished or became unreadable mid-read
        raise EmbedevalError(f"cannot read the file ({err or type(err).__name__})", path) from None
    except MemoryError:
        raise EmbedevalError("the file is too large to load into memory", path) from None


def write(emb: Embedding, path: str | Path, fmt: str = "npz") -> Path:
    """Write ``emb`` in ``fmt``; returns the path written."""
    path = Path(path)
    if fmt not in ("npz", "safetensors", "word2vec", "glove", "word2vec-binary"):
        raise EmbedevalError(
            f"cannot write format {fmt!r}; valid formats: npz, safetensors, word2vec, word2vec-binary, glove"
        )
    if fmt in ("word2vec", "glove", "word2vec-binary"):
        _refuse_spaces(emb)
    return atomic_write(path, lambda tmp: _write_to(emb, tmp, fmt))


def _write_to(emb: Embedding, path: Path, fmt: str) -> None:
    meta = {k: v for k, v in emb.metadata().items() if k not in ("words", "dim", "source")}
    if fmt == "npz":
        arrays = {
            "words": np.asarray(emb.words, dtype=str),
            "vectors": emb.vectors,
            "meta": np.asarray(json.dumps(meta)),
        }
        if emb.bias is not None:
            arrays["bias"] = np.asarray(emb.bias, dtype=np.float32)
        with open(path, "wb") as handle:
            np.savez(handle, **arrays)
    elif fmt == "safetensors":
        from safetensors.numpy import save_file

        tensors = {"vectors": np.ascontiguousarray(emb.vectors)}
        if emb.bias is not None:
            tensors["bias"] = np.ascontiguousarray(emb.bias, dtype=np.float32)
        save_file(tensors, str(path), metadata={"words": json.dumps(emb.words), "embedeval": json.dumps(meta)})
    elif fmt in ("word2vec", "glove"):
        with open(path, "w", encoding="utf-8") as handle:
            if fmt == "word2vec":
                handle.write(f"{len(emb)} {emb.dim}\n")
            for word, row in zip(emb.words, emb.vectors):
                handle.write(word + " " + " ".join(repr(float(x)) for x in row) + "\n")
    else:
        with open(path, "wb") as handle:
            handle.write(f"{len(emb)} {emb.dim}\n".encode())
            for word, row in zip(emb.words, emb.vectors):
                handle.write(word.encode("utf-8") + b" " + row.astype("<f4").tobytes() + b"\n")


def _refuse_spaces(emb: Embedding) -> None:
    bad = next((w for w in emb.words if not w or any(c.isspace() for c in w)), None)
    if bad is not None:
        raise EmbedevalError(f"word {bad!r} is empty or holds whitespace: text formats cannot store it; use npz")


def _check_file(path: Path) -> None:
    info = check_regular_file(path, "embedding file")
    if info.st_size == 0:
        raise EmbedevalError("embedding file is empty", path)
    if not os.access(path, os.R_OK):
        raise EmbedevalError("cannot read the file (permission denied)", path)


def _open_binary(path: Path):
    """The file's bytes, decompressed when it is gzip (as gensim reads ``.gz`` word2vec files)."""
    with open(path, "rb") as handle:
        compressed = handle.read(2) == GZIP_MAGIC
    return gzip.open(path, "rb") if compressed else open(path, "rb")


def _check_duplicates(emb: Embedding) -> None:
    if len(emb.key_to_index) == len(emb.words):
        return
    seen: dict[str, int] = {}
    for row, word in enumerate(emb.words):
        if word in seen:
            where = emb.line_of(row)
            first = emb.line_of(seen[word])
            also = f" (first at line {first})" if first is not None else f" (rows {seen[word]} and {row})"
            raise EmbedevalError(f"duplicate word {word!r}{also}", emb.source or None, where)
        seen[word] = row

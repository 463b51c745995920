"""The input and output embeddings of a pretrained language model in a local folder (``save_pretrained`` or a hub
snapshot), read without loading the model.

Only the two matrices are read, memory-mapped: from ``model.safetensors``, sharded safetensors with their index, or
``pytorch_model.bin`` through ``torch.load(weights_only=True, mmap=True)`` (never unpickled). Which tensors hold U
and V is found by name (the layouts of GPT-2, GPT-NeoX/Pythia, Llama/Mistral/Qwen/Gemma/OLMo, OPT, BERT and T5 and
the like); tying is read from the weights (V absent from a checkpoint whose class has a head: the head is U; or V
present with the same contents) and set beside the config's ``tie_word_embeddings``.

Words: a word is covered by a token when the tokenizer encodes it, as it appears after a space inside a sentence,
as exactly that one token (docs/pretrained.md). :func:`word_view` adds the other pieces policies (first, last,
mean over the pieces) for a given list of words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embedeval.embeddings.embedding import Embedding
from embedeval.embeddings.matrix import (
    ArrayMatrix,
    TensorEntry,
    TokenMatrix,
    mapped_tensor,
    safetensors_header,
    same_matrix,
)
from embedeval.errors import EmbedevalError
from embedeval.files import read_json_file

# where each family keeps its input and output matrices (the first name found wins)
INPUT_NAMES = (
    "model.embed_tokens.weight",  # Llama, Mistral, Qwen2, Gemma, OLMo-2, SmolLM
    "transformer.wte.weight",  # GPT-2
    "wte.weight",
    "gpt_neox.embed_in.weight",  # GPT-NeoX, Pythia
    "embed_in.weight",
    "model.decoder.embed_tokens.weight",  # OPT
    "decoder.embed_tokens.weight",
    "bert.embeddings.word_embeddings.weight",  # BERT
    "roberta.embeddings.word_embeddings.weight",
    "embeddings.word_embeddings.weight",
    "shared.weight",  # T5
    "embed_tokens.weight",
    "transformer.word_embeddings.weight",  # BLOOM
    "word_embeddings.weight",
)
OUTPUT_NAMES = ("lm_head.weight", "embed_out.weight", "cls.predictions.decoder.weight", "lm_head.decoder.weight")
OUTPUT_BIAS_NAMES = ("cls.predictions.bias", "cls.predictions.decoder.bias", "lm_head.bias", "final_logits_bias")
HEAD_SUFFIXES = ("LMHeadModel", "ForCausalLM", "ForMaskedLM", "ForConditionalGeneration", "WithLMHead")
CONTEXT = "the"  # a word is encoded as it appears after this word and a space


WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


def is_model_dir(path: str | Path) -> bool:
    """A folder that looks like a pretrained model, even a damaged one (weights, a tokenizer, or a transformers
    config.json), not an embedeval run: :func:`read_pretrained` then says what is missing."""
    path = Path(path)
    if any((path / name).is_file() for name in (*WEIGHT_FILES, "tokenizer.json")):
        return True
    config = path / "config.json"
    try:
        keys = set(read_json_file(config, what="config.json")) if config.is_file() else set()
    except EmbedevalError:
        return False
    return bool(keys & {"model_type", "architectures"}) and "trainer" not in keys


@dataclass
class Pretrained:
    """The two matrices of a pretrained model, as the model defines them, and what is known about them. ``input``
    and ``output`` are read in place (:class:`embedeval.embeddings.matrix.TokenMatrix`): ``np.asarray(m)`` makes
    the float32 copy when one is wanted."""

    path: str
    model_type: str
    architectures: list[str]
    input: TokenMatrix  # rows: token ids (beyond the tokenizer's vocabulary left out)
    output: TokenMatrix | None  # None: a base model without a head
    output_bias: np.ndarray | None
    tied_by_weights: bool | None
    tied_by_config: bool | None
    input_name: str
    output_name: str | None
    dtype: str
    rows_dropped: int = 0  # padded rows past the tokenizer's vocabulary
    notes: list[str] = field(default_factory=list)
    file_format: str = "transformers"  # transformers (a save_pretrained folder) | gguf
    extra: dict[str, Any] = field(default_factory=dict)  # what the model card adds (embedding scale, soft-capping)

    def card(self) -> dict[str, Any]:
        return {"path": self.path, "format": self.file_format, "family": self.model_type,
                "architectures": self.architectures, "vocabulary": int(self.input.shape[0]),
                "width": int(self.input.shape[1]), "dtype": self.dtype,
                "output_dtype": None if self.output is None else self.output.dtype,
                "input_tensor": self.input_name, "output_tensor": self.output_name,
                "tied_by_weights": self.tied_by_weights, "tied_by_config": self.tied_by_config,
                "padded_rows_left_out": self.rows_dropped, "notes": self.notes, **self.extra}  # fmt: skip


def allowed_roots(folder: Path) -> list[Path]:
    """Where the files a model folder names may really lie: inside it, or, for a Hugging Face cache snapshot
    (``models--ORG--NAME/snapshots/REV``, whose files are links to ``../../blobs``), in its model's blob store."""
    root = folder.resolve()
    roots = [root]
    if root.parent.name == "snapshots":
        roots.append(root.parent.parent / "blobs")
    return roots


def inside(folder: Path, relative: str, what: str) -> Path:
    """``folder / relative``, refused in one line when the name leaves the folder (``..``, an absolute path, or a
    link that points outside it), or is not a regular file (a FIFO, a device, a link loop)."""
    rel = Path(relative)
    if rel.is_absolute() or ".." in rel.parts or not relative.strip():
        raise EmbedevalError(f"{what} names {relative!r}, which is not a file inside the model folder", folder)
    path = folder / rel
    try:
        real = path.resolve(strict=False)
    except (OSError, RuntimeError):
        raise EmbedevalError(f"{what} {relative!r} is a link loop", folder) from None
    if not any(real == r or r in real.parents for r in allowed_roots(folder)):
        raise EmbedevalError(f"{what} {relative!r} points outside the model folder (to {real})", folder)
    if path.exists() and not path.is_file():
        raise EmbedevalError(f"{what} {relative!r} is not a regular file (a folder, FIFO or device)", folder)
    if not path.exists() and path.is_symlink():
        raise EmbedevalError(f"{what} {relative!r} is a link to nothing", folder)
    return path


class _Weights:
    """Named tensors of a checkpoint, read in place, whatever the file layout: safetensors through their headers
    (only the tensors asked for are ever read), ``pytorch_model.bin`` memory-mapped by ``torch.load``."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.headers: dict[Path, dict[str, TensorEntry]] = {}
        index_name = next((n for n in ("model.safetensors.index.json", "pytorch_model.bin.index.json")
                           if (folder / n).exists() or (folder / n).is_symlink()), None)  # fmt: skip
        if index_name is not None:
            index = inside(folder, index_name, "the checkpoint index")
            weight_map = read_json_file(index, what="checkpoint index").get("weight_map")
            if not isinstance(weight_map, dict) or not weight_map:
                raise EmbedevalError("checkpoint index has no weight_map", index)
            if not all(isinstance(v, str) for v in weight_map.values()):
                raise EmbedevalError("checkpoint index: every weight_map value must be a file name", index)
            self.where = {str(k): inside(folder, v, "the checkpoint index's weight_map") for k, v in weight_map.items()}
            missing = sorted({str(p.name) for p in self.where.values() if not p.is_file()})
            if missing:
                raise EmbedevalError(f"the checkpoint index names shards that are not there: {', '.join(missing)}",
                                     index)  # fmt: skip
        elif (folder / "model.safetensors").exists() or (folder / "model.safetensors").is_symlink():
            file = inside(folder, "model.safetensors", "weights file")
            self.where = {k: file for k in self._header(file)}
        elif (folder / "pytorch_model.bin").exists() or (folder / "pytorch_model.bin").is_symlink():
            file = inside(folder, "pytorch_model.bin", "weights file")
            self.where = {k: file for k in _torch_state(file)}
        else:
            raise EmbedevalError("no weights: expected model.safetensors (or shards with their index) or "
                                 "pytorch_model.bin", folder)  # fmt: skip

    def _header(self, file: Path) -> dict[str, TensorEntry]:
        if file not in self.headers:
            self.headers[file] = safetensors_header(file)
        return self.headers[file]

    def names(self) -> list[str]:
        return list(self.where)

    def matrix(self, name: str) -> TokenMatrix:
        """A 2-D tensor, read in place."""
        file = self.where[name]
        if file.suffix == ".safetensors":
            entry = self._header(file).get(name)
            if entry is None:
                raise EmbedevalError(f"tensor {name} is not in the file (the index says it is)", file)
            return mapped_tensor(file, entry)
        tensor = _torch_state(file).get(name)
        import torch

        if not isinstance(tensor, torch.Tensor):
            raise EmbedevalError(f"tensor {name} is not in the file", file)
        if tensor.dim() != 2:
            raise EmbedevalError(f"tensor {name} is {tensor.dim()}-D {list(tensor.shape)}: an embedding matrix is "
                                 "2-D", file)  # fmt: skip
        return TorchMatrix(tensor)

    def vector(self, name: str) -> np.ndarray:
        """A small tensor (a bias), read whole as float32."""
        file = self.where[name]
        if file.suffix == ".safetensors":
            entry = self._header(file).get(name)
            if entry is None or len(entry.shape) != 1:
                raise EmbedevalError(f"tensor {name} is not a vector", file)
            return mapped_tensor(file, TensorEntry(name, entry.dtype, (1, entry.shape[0]), entry.start,
                                                   entry.end)).rows(slice(0, 1))[0]  # fmt: skip
        return _torch_state(file)[name].float().numpy().reshape(-1)


class TorchMatrix(TokenMatrix):
    """A tensor of a ``pytorch_model.bin`` (memory-mapped by ``torch.load(mmap=True)``), any floating dtype."""

    def __init__(self, tensor: Any):
        self.tensor = tensor
        self.shape = (int(tensor.shape[0]), int(tensor.shape[1]))
        self.dtype = str(tensor.dtype).removeprefix("torch.")

    def rows(self, ids: Any) -> np.ndarray:
        import torch

        picked = self.tensor[ids] if isinstance(ids, slice) else self.tensor[torch.as_tensor(np.asarray(ids))]
        return picked.float().numpy()

    @property
    def nbytes(self) -> int:
        return self.tensor.numel() * self.tensor.element_size()


_STATES: dict[tuple, dict[str, Any]] = {}
ZIP_RATIO_LIMIT = 1.05  # a checkpoint's members are stored, not compressed: more unpacked bytes than this is a bomb


def _check_legacy(file: Path) -> None:
    """A legacy checkpoint cannot be memory-mapped, so torch reads all of it: refuse one that holds holes (a sparse
    file claims bytes it does not have) or that is larger than the memory available, before reading it."""
    stat = file.stat()
    allocated = getattr(stat, "st_blocks", 0) * 512
    if stat.st_size > 2**26 and allocated and allocated < stat.st_size // 2:
        raise EmbedevalError(f"a legacy (pre-1.6, not zip) checkpoint of {stat.st_size:,} bytes of which only "
                             f"{allocated:,} are on disk (a sparse file): it would be read whole; not read", file)  # fmt: skip
    from embedeval.files import memory_available

    available = memory_available()
    if available and stat.st_size > available // 2:
        raise EmbedevalError(f"a legacy (pre-1.6, not zip) checkpoint is read whole, and this one ({stat.st_size:,} "
                             f"bytes) is more than half the memory available ({available:,}); save it again with "
                             "torch.save (the zip format, read memory-mapped) or use its safetensors", file)  # fmt: skip


def _check_zip(file: Path) -> None:
    """A ``pytorch_model.bin`` is a zip of stored (uncompressed) members; one that would unpack to more than the
    file holds is refused before torch reads it (a small file must not become gigabytes in memory)."""
    import zipfile

    if not zipfile.is_zipfile(file):
        _check_legacy(file)  # a legacy (pre-1.6) pickle file: torch.load(weights_only=True) reads it whole
        return
    try:
        with zipfile.ZipFile(file) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise EmbedevalError(f"not a readable checkpoint archive ({err})", file) from None
    unpacked = sum(m.file_size for m in members)
    packed = file.stat().st_size
    if any(m.compress_type != zipfile.ZIP_STORED for m in members) and unpacked > packed * ZIP_RATIO_LIMIT:
        raise EmbedevalError(
            f"the archive would unpack to {unpacked:,} bytes from {packed:,}: torch never compresses checkpoints, "
            "so embedeval does not unpack it",
            file,
        )


def _torch_state(file: Path) -> dict[str, Any]:
    """A pytorch_model.bin's tensors, memory-mapped, loaded with weights_only=True (tensors and plain data: never
    code). Cached by the file's identity and modification, so a replaced file is read again."""
    import pickle

    import torch

    stat = file.stat()
    key = (str(file.resolve()), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if key not in _STATES:
        _check_zip(file)
        try:
            try:
                state = torch.load(file, map_location="cpu", weights_only=True, mmap=True)
            except RuntimeError as err:  # a legacy (pre-zip) file cannot be memory-mapped: read it whole, still safely
                if "mmap" not in str(err):
                    raise
                state = torch.load(file, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError:
            raise EmbedevalError("holds more than tensors and plain data, and embedeval never unpickles code "
                                 "(torch.load with weights_only=True refused it)", file) from None  # fmt: skip
        except (RuntimeError, EOFError, ValueError, OSError) as err:
            raise EmbedevalError(f"not a checkpoint embedeval can read ({str(err).splitlines()[0][:200]})",
                                 file) from None  # fmt: skip
        if not isinstance(state, dict):
            raise EmbedevalError("pytorch_model.bin does not hold a dict of tensors", file)
        _STATES.clear()  # one checkpoint at a time: the maps of earlier ones are released
        _STATES[key] = state
    return _STATES[key]


def read_pretrained(folder: str | Path, vocab_size: int | None = None) -> Pretrained:
    """U and V of the model in ``folder``, read in place: exactly the rows of ``get_input_embeddings().weight`` and
    ``get_output_embeddings().weight``; rows past ``vocab_size`` (a padded vocabulary) are left out and counted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise EmbedevalError("not a folder", folder)
    if not (folder / "config.json").is_file():
        raise EmbedevalError("no config.json: not a model folder as save_pretrained writes it", folder)
    config = read_json_file(folder / "config.json", what="config.json")
    weights = _Weights(folder)
    names = weights.names()
    input_name = next((n for n in INPUT_NAMES if n in names), None)
    if input_name is None:
        shown = ", ".join(n for n in names if "emb" in n or "wte" in n or "shared" in n)[:300] or ", ".join(names[:8])
        raise EmbedevalError(
            f"cannot find the input embedding among the checkpoint's tensors (seen: {shown}); this architecture "
            f"({config.get('model_type', '?')}) is not one embedeval knows yet",
            folder,
        )
    u = weights.matrix(input_name)
    raw_arch = config.get("architectures")
    architectures = [str(a) for a in raw_arch] if isinstance(raw_arch, list) else []
    notes: list[str] = []
    if raw_arch is not None and not isinstance(raw_arch, list):
        notes.append(f"config.json's architectures is {raw_arch!r}, not a list: ignored")
    has_head = any(a.endswith(HEAD_SUFFIXES) for a in architectures)
    output_name = next((n for n in OUTPUT_NAMES if n in names), None)
    by_config = config.get("tie_word_embeddings")
    by_config = bool(by_config) if isinstance(by_config, bool) else (True if has_head else None)  # HF's default
    v: TokenMatrix | None = None
    tied: bool | None
    if output_name is not None:
        v = weights.matrix(output_name)
        tied = same_matrix(u, v)
    elif has_head:
        tied, v, output_name = True, u, input_name  # the head is U itself (transformers ties it on loading)
        if by_config is False:
            notes.append("the checkpoint holds no output matrix, yet its config says the embeddings are not tied: "
                         "transformers would give this model a random head; V is read as U")  # fmt: skip
    else:
        tied = None
        notes.append("a base model without a language-model head: it has an input embedding U only")
    if tied is not None and by_config is not None and tied != by_config:
        notes.append(f"tying found in the weights ({'tied' if tied else 'untied'}) differs from the config's "
                     f"tie_word_embeddings ({by_config})")  # fmt: skip
    bias_name = next((n for n in OUTPUT_BIAS_NAMES if n in names), None)
    bias = weights.vector(bias_name) if bias_name and v is not None else None
    if v is not None and not tied and v.shape[1] != u.shape[1]:
        raise EmbedevalError(f"the output matrix {output_name} is {v.shape[0]:,} x {v.shape[1]:,} but the input "
                             f"{u.shape[0]:,} x {u.shape[1]:,}: not the U and V of one model", folder)  # fmt: skip
    rows = u.shape[0]
    if vocab_size is not None:
        if vocab_size > rows:
            raise EmbedevalError(f"the tokenizer has {vocab_size:,} tokens but the input embedding only {rows:,} "
                                 "rows: they do not belong together", folder)  # fmt: skip
        u = u.head(vocab_size)
        v = None if v is None else (u if tied else v.head(vocab_size))
        bias = None if bias is None else bias[:vocab_size]
    elif tied:
        v = u
    return Pretrained(str(folder), str(config.get("model_type", "?")), architectures, u, v, bias, tied,
                      by_config, input_name, output_name, u.dtype, rows - u.shape[0], notes,
                      extra=model_card_extras(config))  # fmt: skip


def model_card_extras(config: dict[str, Any]) -> dict[str, Any]:
    """What a config says about how U and V are used beyond the matrices (reported, never applied to them): Gemma
    multiplies the input embedding by sqrt(hidden_size); Gemma 2 soft-caps the final logits."""
    extras: dict[str, Any] = {}
    model_type = str(config.get("model_type", ""))
    hidden = config.get("hidden_size")
    if model_type.startswith("gemma") and isinstance(hidden, int) and hidden > 0:
        extras["input_scale"] = f"sqrt(hidden_size) = {hidden**0.5:.4g} (applied in the forward pass, not to U here)"
    cap = config.get("final_logit_softcapping")
    if isinstance(cap, (int, float)) and cap:
        extras["final_logit_softcapping"] = float(cap)
    return extras


# --- the tokenizer and the word views ------------------------------------------------------------------------


class Pieces:
    """A model's tokenizer: ``tokenizer.json`` (HF tokenizers), ``vocab.json`` + ``merges.txt`` (byte-level BPE),
    ``vocab.txt`` (WordPiece), or a SentencePiece ``tokenizer.model`` / ``spiece.model``; or one built from a GGUF
    file's vocabulary (:meth:`from_tokenizer`)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.special: set[int] = set()
        self._sp = None
        self._tok = None
        name = next((n for n in ("tokenizer.json", "vocab.json", "vocab.txt", "tokenizer.model", "spiece.model")
                     if (folder / n).exists() or (folder / n).is_symlink()), None)  # fmt: skip
        if name is None or (name == "vocab.json" and not (folder / "merges.txt").exists()):
            raise EmbedevalError("no tokenizer: expected tokenizer.json, vocab.json + merges.txt, vocab.txt or a "
                                 "SentencePiece tokenizer.model / spiece.model", folder)  # fmt: skip
        inside(folder, name, "the tokenizer file")
        if name == "vocab.json":
            inside(folder, "merges.txt", "the tokenizer file")
        try:
            self._open(folder, name)
        except EmbedevalError:
            raise
        except Exception as err:  # tokenizers and sentencepiece raise their own error types on damaged files
            first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
            raise EmbedevalError(f"{name}: not a readable tokenizer ({first})", folder / name) from None
        if self.size <= 0:
            raise EmbedevalError(f"{name}: the tokenizer has no tokens", folder / name)

    def _open(self, folder: Path, name: str) -> None:
        if name == "tokenizer.json":
            from tokenizers import Tokenizer

            self._tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
            self.special = {i for i, t in self._tok.get_added_tokens_decoder().items() if t.special}
            self.size = self._tok.get_vocab_size(with_added_tokens=True)
        elif name == "vocab.json":
            from tokenizers import ByteLevelBPETokenizer

            self._tok = ByteLevelBPETokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
            self.size = self._tok.get_vocab_size()
        elif name == "vocab.txt":
            from tokenizers import BertWordPieceTokenizer

            self._tok = BertWordPieceTokenizer(str(folder / "vocab.txt"), lowercase=False)
            self.size = self._tok.get_vocab_size()
            self.special = {i for w, i in self._tok.get_vocab().items() if w.startswith("[") and w.endswith("]")}
        else:
            import sentencepiece as spm

            self._sp = spm.SentencePieceProcessor(model_file=str(folder / name))
            self.size = self._sp.get_piece_size()
            self.special = {i for i in range(self.size) if self._sp.is_control(i) or self._sp.is_unknown(i)}

    @classmethod
    def from_tokenizer(cls, tokenizer: Any, size: int, special: set[int], where: Path) -> Pieces:
        """A tokenizer built elsewhere (a ``tokenizers.Tokenizer``), e.g. from a GGUF file's vocabulary."""
        self = cls.__new__(cls)
        self.folder, self._sp, self._tok, self.size, self.special = where, None, tokenizer, size, set(special)
        return self

    def encode(self, texts: list[str]) -> list[list[int]]:
        if self._sp is not None:
            return [list(ids) for ids in self._sp.encode(texts)]
        return [e.ids for e in self._tok.encode_batch(texts, add_special_tokens=False)]

    def pieces(self, words: list[str]) -> list[list[int]]:
        """Each word's token ids as it appears after a space inside a sentence (special tokens left out)."""
        (prefix,) = self.encode([CONTEXT])
        out = []
        for ids in self.encode([f"{CONTEXT} {w}" for w in words]):
            if ids[: len(prefix)] != prefix:  # the context word merged with the next: no clean split
                out.append([])
                continue
            out.append([i for i in ids[len(prefix) :] if i not in self.special])
        return out

    def byte_tokens(self) -> set[int]:
        """The ids of a byte-level BPE's base tokens (one byte each, as GPT-2's 256): a tokenizer whose decoder is
        ByteLevel, tokens that are one character of its byte alphabet. Empty for other tokenizers (their byte
        tokens, SentencePiece's ``<0xNN>``, are told by their text)."""
        import json

        from tokenizers import pre_tokenizers

        if self._tok is None:
            return set()
        inner = getattr(self._tok, "_tokenizer", self._tok)  # the vocab.json + merges.txt wrapper holds a Tokenizer
        try:
            decoder = json.loads(inner.to_str()).get("decoder") or {}
        except Exception:  # a tokenizer that cannot describe itself has no byte tokens we can tell
            return set()
        kinds = [d.get("type") for d in decoder.get("decoders", [decoder]) if isinstance(d, dict)]
        if "ByteLevel" not in kinds:
            return set()
        alphabet = set(pre_tokenizers.ByteLevel.alphabet())
        return {
            i for i in range(self.size) if (t := inner.id_to_token(i)) is not None and len(t) == 1 and t in alphabet
        }

    def decode_one(self, ids: list[int]) -> list[str]:
        if self._sp is not None:
            return [self._sp.id_to_piece(i).replace("\u2581", " ") for i in ids]
        return [self._tok.decode([i], skip_special_tokens=False) for i in ids]


POLICIES = ("single", "first", "last", "mean")


def word_view(
    matrix: TokenMatrix | np.ndarray, pieces: list[list[int]], words: list[str], policy: str
) -> tuple[list[str], np.ndarray]:
    """The rows of ``words`` under a pieces policy: ``single`` covers a word only when it is one token; ``first``,
    ``last`` and ``mean`` take that piece or the mean of all of them. A word the tokenizer cannot split cleanly (or
    that encodes to special tokens only) stays out. Only the rows these words use are read."""
    if policy not in POLICIES:
        raise EmbedevalError(f"unknown pieces policy {policy!r}; use one of {', '.join(POLICIES)}")
    if isinstance(matrix, np.ndarray):
        matrix = ArrayMatrix(matrix)
    kept, picks = [], []
    for word, ids in zip(words, pieces):
        ids = [i for i in ids if 0 <= i < matrix.shape[0]]
        if not ids or (policy == "single" and len(ids) != 1):
            continue
        kept.append(word)
        picks.append({"single": ids[:1], "first": ids[:1], "last": ids[-1:], "mean": ids}[policy])
    dim = matrix.shape[1]
    if not picks:
        return kept, np.zeros((0, dim), dtype=np.float32)
    needed = np.unique(np.fromiter((i for p in picks for i in p), dtype=np.int64))
    gathered = matrix.rows(needed)
    where = {int(t): k for k, t in enumerate(needed)}
    rows = np.stack([gathered[[where[i] for i in p]].astype(np.float64).mean(axis=0) for p in picks])
    return kept, rows.astype(np.float32)


def vocabulary_words(tok: Pieces, rows: int) -> tuple[list[str], list[int]]:
    """Every token that is a whole word after a space (the ``single`` view of the whole vocabulary), in id order
    (for most tokenizers, the order of merges or frequency): its word and its row."""
    ids = [i for i in range(min(tok.size, rows)) if i not in tok.special]
    texts = tok.decode_one(ids)
    candidates = [(i, t.strip()) for i, t in zip(ids, texts) if t.strip() and not any(c.isspace() for c in t.strip())]
    encoded = tok.pieces([w for _, w in candidates])
    words, found, seen = [], [], set()
    for (i, word), pieces in zip(candidates, encoded):
        if pieces == [i] and word not in seen:
            seen.add(word)
            words.append(word)
            found.append(i)
    return words, found


def load_pretrained(
    folder: str | Path, words: list[str] | None = None, policy: str = "single", vocabulary: bool = False
) -> list[Embedding]:
    """U and V (or the tied S) of the model in ``folder`` as word embeddings: for ``words`` under ``policy``, or the
    whole vocabulary's single-token words when no words are given (or ``vocabulary``: both). Each carries the model
    card in ``meta`` and its whole token matrix in ``token_matrix``."""
    folder = Path(folder)
    tok = Pieces(folder)
    model = read_pretrained(folder, vocab_size=tok.size)
    return model_word_embeddings(model, tok, words, policy, folder.name, vocabulary)


def model_word_embeddings(
    model: Pretrained, tok: Any, words: list[str] | None, policy: str, name: str, vocabulary: bool = False
) -> list[Embedding]:
    """The word view of any token model (a transformers folder, a GGUF file) through its tokenizer ``tok`` (which
    has ``size``, ``special``, ``pieces`` and ``decode_one``): ``words`` under ``policy``; with ``vocabulary`` (or
    no ``words``), first every token of the vocabulary that is a whole word (in id order: the search space of
    analogies), then the given words the policy covers beyond those."""
    if words is None or vocabulary:
        vocab, ids = vocabulary_words(tok, model.input.shape[0])
    else:
        vocab, ids = [], []
    extra_words = [w for w in dict.fromkeys(words or []) if w not in set(vocab)] if policy != "single" or not vocab \
        else []  # fmt: skip
    pieces = tok.pieces(extra_words) if extra_words else []
    id_array = np.asarray(ids, dtype=np.int64)

    def view(m: TokenMatrix) -> tuple[list[str], np.ndarray]:
        own = m.rows(id_array) if len(id_array) else np.zeros((0, m.shape[1]), np.float32)
        if not extra_words:
            return list(vocab), own
        kept, rows = word_view(m, pieces, extra_words, policy)
        return [*vocab, *kept], np.vstack([own, rows]) if len(vocab) else rows

    if words is None:
        policy = "single"
    card = {**model.card(), "pieces_policy": policy, "tokenizer_size": tok.size}
    roles = [("tied", model.input)] if model.tied_by_weights else [("input", model.input)]
    if model.output is not None and not model.tied_by_weights:
        roles.append(("output", model.output))
    out = []
    for role, matrix in roles:
        kept, vectors = view(matrix)
        if not kept:
            raise EmbedevalError(f"no word is covered under the pieces policy {policy!r}; try --pieces mean",
                                 model.path)  # fmt: skip
        meta = {"pretrained": card}
        if role in ("output", "tied") and model.output_bias is not None:
            meta["output_bias"] = True
        if model.output is None:
            meta["no_output"] = "a base model without a language-model head"
        out.append(Embedding(kept, vectors, name=f"{name}:{role}", source=model.path, role=role,
                             model=f"{model.model_type} (pretrained)", run=model.path, meta=meta,
                             token_matrix=matrix))  # fmt: skip
    return out

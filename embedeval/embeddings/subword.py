"""Subword vocabularies for translation, learned with SentencePiece (BPE) on the training split.

The model file (a protocol buffer, never a pickle) is saved in the run directory, so a run can be decoded, resumed
and its embeddings read without the corpus. Ids 0-3 are ``<pad> <unk> <s> </s>`` in every model.
"""

from __future__ import annotations

import io
import re
import string
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from embedeval.errors import EmbedevalError
from embedeval.files import atomic_write

PAD, UNK, BOS, EOS = 0, 1, 2, 3
WORD_START = "\u2581"  # SentencePiece's mark of a piece that begins a word


def train_subwords(sentences: Iterable[str], vocab_size: int, what: str) -> bytes:
    """A BPE model (its serialized bytes) learned on ``sentences``; deterministic (one thread)."""
    import sentencepiece as spm

    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(sentences),
            model_writer=model,
            vocab_size=vocab_size,
            model_type="bpe",
            character_coverage=1.0,  # every character of the training text stays representable
            pad_id=PAD,
            unk_id=UNK,
            bos_id=BOS,
            eos_id=EOS,
            num_threads=1,
            minloglevel=2,
        )
    except RuntimeError as err:
        found = re.search(r"value <= (\d+)", str(err))
        if found:
            raise EmbedevalError(
                f"--vocab-size {vocab_size:,} is larger than the {what} allows: at most {int(found.group(1)):,} "
                "subword pieces can be learned from it; lower --vocab-size"
            ) from None
        raise EmbedevalError(f"SentencePiece could not learn a vocabulary from the {what}: {str(err)[:300]}") from None
    return model.getvalue()


class Subwords:
    """One SentencePiece model: text <-> ids."""

    def __init__(self, proto: bytes, source: str | Path | None = None):
        import sentencepiece as spm

        self.proto = proto
        self.sp = spm.SentencePieceProcessor()
        try:
            self.sp.LoadFromSerializedProto(proto)
        except (RuntimeError, OSError) as err:
            raise EmbedevalError(f"not a SentencePiece model ({str(err)[:200]})", source) from None
        if [self.sp.id_to_piece(i) for i in range(4)] != ["<pad>", "<unk>", "<s>", "</s>"]:
            raise EmbedevalError("a SentencePiece model whose ids 0-3 are not <pad> <unk> <s> </s>", source)

    @classmethod
    def load(cls, path: str | Path) -> Subwords:
        path = Path(path)
        if not path.is_file():
            raise EmbedevalError("the subword model is missing; the run directory is damaged", path)
        return cls(path.read_bytes(), path)

    def save(self, path: str | Path) -> None:
        atomic_write(path, lambda tmp: tmp.write_bytes(self.proto))

    def __len__(self) -> int:
        return self.sp.get_piece_size()

    @property
    def pieces(self) -> list[str]:
        return [self.sp.id_to_piece(i) for i in range(len(self))]

    def encode(self, sentences: list[str]) -> list[list[int]]:
        return self.sp.encode(sentences)

    def decode(self, ids: list[list[int]]) -> list[str]:
        return self.sp.decode(ids)

    def counts(self, encoded: list[list[int]]) -> np.ndarray:
        """How often each piece occurs in ``encoded``."""
        flat = np.fromiter((i for ids in encoded for i in ids), dtype=np.int64)
        return np.bincount(flat, minlength=len(self)).astype(np.int64)


def word_types(sentences: list[str]) -> list[str]:
    """The distinct words of raw sentences (split at spaces, surrounding punctuation removed), first seen first."""
    seen: dict[str, None] = {}
    for sentence in sentences:
        for token in sentence.split():
            word = token.strip(string.punctuation + "«»„“”‘’")
            if word:
                seen.setdefault(word, None)
    return list(seen)


def single_piece_view(
    matrix: np.ndarray, sp: Subwords, words: list[str], keep: np.ndarray
) -> tuple[list[str], np.ndarray]:
    """The words that are one subword piece (a piece marked in ``keep``), with that piece's row."""
    kept, rows = [], []
    for word, ids in zip(words, sp.encode(words)):
        if len(ids) == 1 and ids[0] >= 4 and keep[ids[0]]:
            kept.append(word)
            rows.append(ids[0])
    return kept, matrix[rows]

"""The one embedding type: words, a float32 matrix and where it came from."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from embedeval.errors import EmbedevalError
from embedeval.layout import ROLE_ORDER

ROLES = ROLE_ORDER  # the roles an embedding may have, in the order tables list them


@dataclass(eq=False)
class Embedding:
    """A word embedding matrix.

    ``role`` says which matrix of a model this is: ``input`` (U, looked up for input words),
    ``output`` (V, the softmax / context side), ``tied`` (S = U = V), or ``sum`` (U + V); ``source`` is a
    translation model's encoder input embedding (E).
    ``first_line`` maps a row back to its line in a text file so errors can name it.
    """

    words: list[str]
    vectors: np.ndarray
    name: str = ""
    source: str = ""
    role: str | None = None
    model: str | None = None
    run: str | None = None  # the run directory it came from (a run's U and V share it)
    step: int | None = None
    bias: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    first_line: int | None = None
    # the model's whole token matrix this word view was taken from (a pretrained model or GGUF file): measures of
    # the matrix's shape take it, not the word rows (embedeval.embeddings.matrix.TokenMatrix)
    token_matrix: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.words = list(self.words)
        if not (isinstance(self.vectors, np.ndarray) and self.vectors.dtype == np.float32):
            values = np.asarray(self.vectors)
            if values.dtype.kind not in "fiu":  # complex, strings or objects would be cast silently or crash later
                raise EmbedevalError(
                    f"vectors must be real numbers, found values of type {values.dtype}", self.source or None
                )
            self.vectors = values.astype(np.float32, copy=False)  # a float32 memmap stays mapped
        if self.vectors.ndim != 2:
            raise EmbedevalError(f"vectors must be a 2-D matrix, got shape {self.vectors.shape}", self.source or None)
        if len(self.words) != self.vectors.shape[0]:
            raise EmbedevalError(f"{len(self.words)} words but {self.vectors.shape[0]} vectors", self.source or None)
        if self.role is not None and self.role not in ROLES:
            raise EmbedevalError(f"unknown role {self.role!r}; valid roles: {', '.join(ROLES)}")
        if not self.name:
            self.name = self.role or self.source or "embedding"

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.key_to_index

    def __getitem__(self, word: str) -> np.ndarray:
        return self.vectors[self.key_to_index[word]]

    def __repr__(self) -> str:
        return f"Embedding(name={self.name!r}, role={self.role!r}, words={len(self)}, dim={self.dim})"

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @cached_property
    def key_to_index(self) -> dict[str, int]:
        return {word: i for i, word in enumerate(self.words)}

    @cached_property
    def nfc_words(self) -> list[str]:
        """The vocabulary in Unicode NFC, row for row: the composed and decomposed spellings of a word match."""
        joined = "\n".join(self.words)
        if unicodedata.is_normalized("NFC", joined):  # the usual case, checked in C without a copy
            self._nfc_joined = joined  # folded_words lower-cases this string rather than joining the words again
            return self.words
        normal = unicodedata.normalize("NFC", joined).split("\n")
        return normal if len(normal) == len(self.words) else [unicodedata.normalize("NFC", w) for w in self.words]

    @cached_property
    def folded_words(self) -> list[str]:
        """The vocabulary in NFC and lower-cased, row for row (for case-insensitive lookup)."""
        # one C-level lower() over the joined vocabulary is far cheaper than 400k calls
        words = self.nfc_words
        joined = self.__dict__.pop("_nfc_joined", None)
        folded = (joined if joined is not None else "\n".join(words)).lower().split("\n")
        return folded if len(folded) == len(words) else [w.lower() for w in words]

    def line_of(self, row: int) -> int | None:
        """The line of the source file that holds ``row`` (text formats only)."""
        return None if self.first_line is None else self.first_line + row

    def similarity(self, word1: str, word2: str) -> float:
        """Cosine similarity of two words (exact spelling)."""
        a, b = self[word1].astype(np.float64), self[word2].astype(np.float64)
        return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))

    def most_similar(self, word: str, topn: int = 10) -> list[tuple[str, float]]:
        unit = self.unit_vectors()
        sims = unit @ unit[self.key_to_index[word]]
        order = np.argsort(-sims)
        return [(self.words[i], float(sims[i])) for i in order[: topn + 1] if self.words[i] != word][:topn]

    def unit_vectors(self) -> np.ndarray:
        norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)
        return self.vectors / np.where(norms == 0, 1, norms)

    def check_finite(self) -> None:
        """Raise naming the first row (and line) holding a NaN or infinite value."""
        bad = ~np.isfinite(self.vectors).all(axis=1)
        if bad.any():
            row = int(np.argmax(bad))
            raise EmbedevalError(
                f"vector for {self.words[row]!r} contains NaN or inf", self.source or None, self.line_of(row)
            )

    def restrict(self, words: list[str]) -> Embedding:
        """The rows of ``words`` (all must be present), in that order."""
        index = [self.key_to_index[w] for w in words]
        return self.derive(words=list(words), vectors=self.vectors[index])

    def derive(self, **changes: Any) -> Embedding:
        values = dict(
            words=self.words,
            vectors=self.vectors,
            name=self.name,
            source=self.source,
            role=self.role,
            model=self.model,
            run=self.run,
            step=self.step,
            bias=self.bias,
            meta=dict(self.meta),
            first_line=None,
            token_matrix=self.token_matrix,
        )
        values.update(changes)
        return Embedding(**values)

    def __add__(self, other: Embedding) -> Embedding:
        """U + V over the words both share, in this embedding's order."""
        shared = [w for w in self.words if w in other.key_to_index]
        if not shared or self.dim != other.dim:
            raise EmbedevalError(f"cannot add {self.name} and {other.name}: no shared words or different dims")
        mine = self.vectors[[self.key_to_index[w] for w in shared]]
        theirs = other.vectors[[other.key_to_index[w] for w in shared]]
        name = f"{self.name}+{other.name}"
        tokens = None
        if self.token_matrix is not None and other.token_matrix is not None:
            from embedeval.embeddings.matrix import SumMatrix

            tokens = SumMatrix(self.token_matrix, other.token_matrix)
        return Embedding(
            shared, mine + theirs, name=name, source=self.source, role="sum", model=self.model, run=self.run,
            step=self.step, token_matrix=tokens,
        )  # fmt: skip

    def metadata(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "role": self.role,
            "model": self.model,
            "run": self.run,
            "step": self.step,
            "words": len(self),
            "dim": self.dim,
            **self.meta,
        }

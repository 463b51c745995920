"""Corpora: PTB, WikiText-2 and plain text, read as a stream of token lines, and their vocabulary.

A corpus is never held as Python lists of strings: lines are read one at a time, counted into a
:class:`Vocab`, and encoded into a NumPy array of ids.
"""

from __future__ import annotations

import gzip
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from embedeval.data.builtin import BUILTIN_CORPUS, builtin_corpus_path
from embedeval.data.datadir import HOW_TO_SET, data_dir, sha256_file
from embedeval.errors import EmbedevalError

EOS = "<eos>"
UNK = "<unk>"

# sha256 values from shared/data/SOURCES.md
KNOWN_CORPORA: dict[str, dict[str, tuple[str, str]]] = {
    "ptb": {
        "train": ("corpora/ptb/ptb.train.txt", "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf"),
        "valid": ("corpora/ptb/ptb.valid.txt", "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2"),
        "test": ("corpora/ptb/ptb.test.txt", "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0"),
    },
    "wikitext-2": {
        "train": ("corpora/wikitext-2/train.txt", "9e9fa1ad55b1c2c95b08e37dd8e653f638fac2c6de904b79e813611eefbc985f"),
        "valid": ("corpora/wikitext-2/valid.txt", "f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8"),
        "test": ("corpora/wikitext-2/test.txt", "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0"),
    },
}


@dataclass
class Corpus:
    """A named corpus: one file per split, and how its lines are to be read."""

    name: str
    splits: dict[str, Path]
    kind: str = "plain"  # "ptb", "wikitext" or "plain"
    sha256: dict[str, str] = field(default_factory=dict)

    def path(self, split: str = "train") -> Path:
        if split not in self.splits:
            raise EmbedevalError(f"corpus {self.name} has no {split!r} split (it has {', '.join(self.splits)})")
        return self.splits[split]

    def paths(self) -> tuple[Path, ...]:
        """Every file this corpus reads (an output folder must never hold one it would replace)."""
        return tuple(self.splits.values())

    def lines(self, split: str = "train") -> Iterator[list[str]]:
        return iter_lines(self.path(split), self.kind)

    def portable_path(self, split: str) -> str:
        """The split's file as provenance: relative to the data directory for known corpora (``data:...``), the
        gensim package for the built-in one, else as given."""
        if self.name in KNOWN_CORPORA:
            return "data:" + KNOWN_CORPORA[self.name][split][0]
        if self.name == BUILTIN_CORPUS:
            return "gensim:" + self.splits[split].name
        return str(self.splits[split])

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "kind": self.kind,
            "files": {k: self.portable_path(k) for k in self.splits},
            "sha256": self.sha256,
        }


def resolve_corpus(name_or_path: str | Path, data: str | Path | None = None, check: bool = True) -> Corpus:
    """``ptb``, ``wikitext-2`` (from the data directory, sha256 checked), ``builtin``, or any text file."""
    key = str(name_or_path)
    if key == BUILTIN_CORPUS:
        path = builtin_corpus_path()
        return Corpus(BUILTIN_CORPUS, {"train": path}, "plain", {"train": sha256_file(path)})
    if key in KNOWN_CORPORA:
        root = data_dir(data)
        if root is None:
            raise EmbedevalError(f"corpus {key} is read from the data directory, but none is set: {HOW_TO_SET}")
        splits, sums = {}, {}
        for split, (rel, expected) in KNOWN_CORPORA[key].items():
            path = root / rel
            if not path.is_file():
                raise EmbedevalError(f"corpus {key}: the {split} file is missing (expected sha256 {expected}); "
                                     f"`embedeval data fetch {key}` downloads it", path)  # fmt: skip
            if check:
                found = sha256_file(path)
                if found != expected:
                    raise EmbedevalError(
                        f"checksum mismatch for corpus {key} ({split}): expected sha256 {expected}, found {found}",
                        path,
                    )
            splits[split], sums[split] = path, expected
        return Corpus(key, splits, "ptb" if key == "ptb" else "wikitext", sums)
    path = Path(key)
    if path.is_file():
        return Corpus(path.stem, {"train": path}, "plain", {"train": sha256_file(path)})
    if path.is_dir():
        found = {s: path / f"{s}.txt" for s in ("train", "valid", "test") if (path / f"{s}.txt").is_file()}
        if "train" in found:
            return Corpus(path.name, found, "plain", {s: sha256_file(p) for s, p in found.items()})
    known = ", ".join([*KNOWN_CORPORA, BUILTIN_CORPUS])
    raise EmbedevalError(
        f"unknown corpus {key!r}: not a known name ({known}) and not a file or a folder with train.txt"
    )


def iter_lines(path: str | Path, kind: str = "plain") -> Iterator[list[str]]:
    """Token lists, one per non-empty line. WikiText headings (`` = Title = ``) lose their ``=`` marks.

    Lines are decoded one at a time (not by a buffered text reader) so a bad byte is reported on its own line.
    """
    line_no = 0
    with _open_binary(path) as handle:
        try:
            for line_no, raw in enumerate(handle, start=1):  # noqa: B007 - used in the errors below
                if line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark
                    raw = raw[3:]
                tokens = raw.decode("utf-8").split()
                if not tokens:
                    continue
                if kind == "wikitext" and tokens[0] == "=" and tokens[-1] == "=":
                    tokens = [t for t in tokens if t != "="]
                    if not tokens:
                        continue
                yield tokens
        except UnicodeDecodeError as err:
            raise EmbedevalError(
                f"bytes that are not UTF-8 in the corpus ({err.object[err.start : err.start + 1]!r})", path, line_no
            ) from None
        except (OSError, EOFError) as err:  # a damaged .gz
            raise EmbedevalError(f"cannot read the corpus ({err or type(err).__name__})", path, line_no + 1) from None


def _open_binary(path: str | Path):
    """The file's bytes, decompressed when it is gzip."""
    with open(path, "rb") as handle:
        compressed = handle.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if compressed else open(path, "rb")


@dataclass
class Vocab:
    """Words sorted by descending count (ties by first appearance), with their counts."""

    words: list[str]
    counts: np.ndarray
    total_tokens: int = 0  # every token seen when building, in the vocabulary or not

    def __post_init__(self) -> None:
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    @classmethod
    def build(
        cls, lines: Iterable[list[str]], min_count: int = 1, max_size: int | None = None, specials: tuple[str, ...] = ()
    ) -> Vocab:
        counter: Counter[str] = Counter()
        for tokens in lines:
            counter.update(tokens)
        if not counter:
            raise EmbedevalError("the corpus is empty: no tokens to build a vocabulary from")
        kept = [(w, c) for w, c in counter.most_common() if c >= min_count or w in specials]
        if max_size is not None:
            kept = kept[:max_size]
        if not kept:
            top = counter.most_common(1)[0]
            raise EmbedevalError(
                f"no word occurs at least min_count={min_count} times (the most frequent, {top[0]!r}, occurs "
                f"{top[1]} times); lower --min-count"
            )
        return cls([w for w, _ in kept], np.array([c for _, c in kept], dtype=np.int64), sum(counter.values()))

    def encode(
        self, lines: Iterable[list[str]], eos: bool = False, unk: str | None = None, with_boundaries: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Ids of the tokens (unknown words dropped, or mapped to ``unk``); optionally line start offsets."""
        index = self.index
        unk_id = index.get(unk) if unk else None
        eos_id = index.get(EOS) if eos else None
        chunks: list[np.ndarray] = []
        starts: list[int] = []
        total = 0
        buffer: list[int] = []
        for tokens in lines:
            starts.append(total + len(buffer))
            if unk_id is None:
                buffer.extend(i for i in map(index.get, tokens) if i is not None)
            else:
                buffer.extend(index.get(t, unk_id) for t in tokens)
            if eos_id is not None:
                buffer.append(eos_id)
            if len(buffer) > 1 << 20:
                chunks.append(np.asarray(buffer, dtype=np.int32))
                total += len(buffer)
                buffer = []
        chunks.append(np.asarray(buffer, dtype=np.int32))
        ids = np.concatenate(chunks) if chunks else np.zeros(0, np.int32)
        return (ids, np.asarray(starts, dtype=np.int64)) if with_boundaries else ids

    def save(self, path: str | Path) -> None:
        from embedeval.files import atomic_write_text

        atomic_write_text(path, "word\tcount\n" + "".join(f"{w}\t{int(c)}\n" for w, c in zip(self.words, self.counts)))

    @classmethod
    def load(cls, path: str | Path) -> Vocab:
        path = Path(path)
        if not path.is_file():
            raise EmbedevalError("the vocabulary file is missing; the run directory is damaged", path)
        words, counts = [], []
        try:
            with open(path, encoding="utf-8") as handle:
                if next(handle, None) != "word\tcount\n":
                    raise EmbedevalError("not a vocabulary file (first line must be 'word<TAB>count')", path, 1)
                for number, line in enumerate(handle, start=2):
                    w, _, c = line.rstrip("\n").partition("\t")
                    if not w or not c.isdigit():
                        raise EmbedevalError(f"expected 'word<TAB>count', found {line[:60]!r}", path, number)
                    words.append(w)
                    counts.append(int(c))
        except UnicodeDecodeError:
            raise EmbedevalError("bytes that are not UTF-8 in the vocabulary file", path) from None
        if not words:
            raise EmbedevalError("the vocabulary file holds no words; the run directory is damaged", path)
        return cls(words, np.array(counts, dtype=np.int64))

"""Word-similarity benchmarks: parsing, checksums and the loaded :class:`Benchmark`.

A :class:`BenchmarkSpec` says how one known file is laid out (separator, header, columns, scale) and
what its sha256 must be; :func:`load_benchmark` turns a spec, a registered name or any path of
``word1 word2 score`` lines into a :class:`Benchmark`.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path

import numpy as np

from embedeval.errors import EmbedevalError
from embedeval.files import check_regular_file

MAX_BENCHMARK_BYTES = 64 << 20  # the largest real set (SimVerb, RW, MEN) is well under 1 MB


@dataclass(frozen=True)
class BenchmarkSpec:
    """How to find and read one known benchmark file."""

    name: str
    title: str
    relpath: str  # inside benchmarks_data/ when bundled, inside the data directory otherwise
    sha256: str
    pairs: int
    scale: tuple[float, float]
    citation: str
    bundled: bool = False
    sep: str | None = "\t"  # None: any run of whitespace
    header: bool = False
    comment: str | None = None
    columns: tuple[int, int, int] = (0, 1, 2)
    strip_pos: bool = False  # MEN lemma form writes words as "sun-n"
    where: tuple[int, str] | None = None  # keep only rows whose column equals the value
    kind: str = "similarity"


@dataclass
class Benchmark:
    """Gold word pairs and scores, as read from one file."""

    name: str
    words1: list[str]
    words2: list[str]
    scores: np.ndarray
    path: str
    sha256: str
    scale: tuple[float, float] | None = None
    lines: list[int] = field(default_factory=list)  # source line of each pair (1-based)
    skipped_lines: int = 0

    def __len__(self) -> int:
        return len(self.words1)

    @cached_property
    def duplicate_pairs(self) -> int:
        """Pairs that repeat an earlier pair (order and case ignored); they are kept, as gensim does."""
        seen = {frozenset((a.lower(), b.lower())) for a, b in zip(self.words1, self.words2)}
        return len(self.words1) - len(seen)


def bundled_dir() -> Path:
    """The folder holding the bundled benchmark files (package data, or the source tree)."""
    packaged = Path(str(resources.files("embedeval"))) / "benchmarks_data"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "benchmarks_data"


_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _split(line: str, sep: str | None) -> list[str]:
    return line.split() if sep is None else [part.strip() for part in line.split(sep)]


def _guess_sep(line: str) -> str | None:
    if "\t" in line:
        return "\t"
    if "," in line:
        return ","
    return None


def parse_pairs(
    path: str | Path,
    name: str | None = None,
    spec: BenchmarkSpec | None = None,
    lenient: bool = False,
) -> Benchmark:
    """Read ``word1 word2 score`` lines; ``spec`` fixes the layout, otherwise it is detected.

    Detection: tab, comma or whitespace separated; a first line whose score is not a number is a
    header; lines starting with ``#`` are comments. A malformed line raises an error naming the file
    and line, or with ``lenient`` is skipped and counted.
    """
    path = Path(path)
    info = check_regular_file(path, "benchmark file")
    if info.st_size > MAX_BENCHMARK_BYTES:
        raise EmbedevalError(
            f"is {info.st_size:,} bytes: far larger than any word-pair benchmark (limit {MAX_BENCHMARK_BYTES:,})", path
        )
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise EmbedevalError(f"cannot read the benchmark file ({err.strerror or err})", path) from None
    if raw[:2] == b"\x1f\x8b":
        raise EmbedevalError("is gzip-compressed; decompress it first (gunzip)", path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line_no = raw[: err.start].count(b"\n") + 1
        raise EmbedevalError(
            f"bytes that are not UTF-8 ({raw[err.start : err.start + 1]!r} at byte {err.start})",
            path,
            line_no,
        ) from None
    cols = spec.columns if spec else (0, 1, 2)
    comment = spec.comment if spec else "#"
    words1: list[str] = []
    words2: list[str] = []
    scores: list[float] = []
    lines: list[int] = []
    skipped = 0
    first_data = True
    header: list[str] = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or (comment and line.startswith(comment)):
            continue
        sep = spec.sep if spec else _guess_sep(line)
        parts = _split(line.rstrip("\r\n"), sep)
        if spec and spec.header and first_data:
            first_data = False
            continue
        problem = None
        if len(parts) <= max(cols):
            problem = f"expected at least {max(cols) + 1} fields, found {len(parts)}: {line.strip()!r}"
        elif not _NUMBER.match(parts[cols[2]]):
            if first_data and spec is None:  # a header line in a file given by path
                first_data = False
                header = parts
                continue
            problem = f"score {parts[cols[2]]!r} is not a number"
        elif not parts[cols[0]] or not parts[cols[1]]:
            problem = "empty word"
        elif not math.isfinite(float(parts[cols[2]])):
            problem = f"score {parts[cols[2]]!r} is not a finite number"
        first_data = False
        if problem:
            if lenient:
                skipped += 1
                continue
            raise EmbedevalError(problem + _layout_hint(header) + " (use --lenient to skip such lines)", path, line_no)
        if spec and spec.where and parts[spec.where[0]] != spec.where[1]:
            continue
        w1, w2 = parts[cols[0]], parts[cols[1]]
        if spec and spec.strip_pos:
            w1, w2 = _strip_pos(w1), _strip_pos(w2)
        words1.append(unicodedata.normalize("NFC", w1))
        words2.append(unicodedata.normalize("NFC", w2))
        scores.append(float(parts[cols[2]]))
        lines.append(line_no)
    if not words1:
        raise EmbedevalError("benchmark file has no word pairs (empty, or only comments)", path)
    return Benchmark(
        name=name or (spec.name if spec else path.stem),
        words1=words1,
        words2=words2,
        scores=np.asarray(scores, dtype=np.float64),
        path=str(path),
        sha256=hashlib.sha256(raw).hexdigest(),
        scale=spec.scale if spec else (min(scores), max(scores)),
        lines=lines,
        skipped_lines=skipped,
    )


# a column name in the header of a known release -> the registered benchmark that reads its layout
_KNOWN_HEADERS = {"SimLex999": "simlex999-full", "SimVerb": "simverb3500"}


def _layout_hint(header: list[str]) -> str:
    for column in header:
        for marker, name in _KNOWN_HEADERS.items():
            if column.startswith(marker):
                return (
                    f"; its header ({', '.join(header[:4])}, ...) is that of a release whose score is not in the third "
                    f"column: use -b {name} (read from the data directory), or cut the file to 'word1 word2 score'"
                )
    return ""


def _strip_pos(word: str) -> str:
    return word[:-2] if len(word) > 2 and word[-2] == "-" else word

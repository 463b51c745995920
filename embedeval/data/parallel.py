"""Parallel corpora for translation: Multi30k from the data directory, or any two aligned text files.

Sentences stay raw (cased, untokenised): the subword model sees them as they are and sacreBLEU scores detokenised
text. Every line is checked when read: both sides the same length, no empty line, UTF-8 only, each fault reported as
file:line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from embedeval.data.corpus import _open_binary
from embedeval.data.datadir import HOW_TO_SET, data_dir, sha256_file
from embedeval.errors import EmbedevalError

MULTI30K = "multi30k"
MULTI30K_LANGS = ("en", "de", "fr")
# split -> file stem under parallel/multi30k/ (the test set of the WMT 2016 multimodal task)
MULTI30K_SPLITS = {"train": "train", "valid": "val", "test": "test_2016_flickr"}
# sha256 of the gzip files, from the data directory's SOURCES.md
MULTI30K_SHA256 = {
    "test_2016_flickr.de": "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8",
    "test_2016_flickr.en": "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9",
    "test_2016_flickr.fr": "6d326e188d259fb1d04ac19eae3af956559b3a0b93d7635e56c90987c40c8b90",
    "train.de": "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6",
    "train.en": "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f",
    "train.fr": "622e75069e9f4c577425c4f277116ce66e63a2401c0a2312d90073cb12379a3c",
    "val.de": "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a",
    "val.en": "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28",
    "val.fr": "ca3106f1a72390591d25f6c45cb4cd39dec4cd3f123e099748a3ce5256c160e9",
}
HELD_OUT_FRACTION = 0.05  # of the pairs, for each of valid and test, when only training files are given


@dataclass
class ParallelCorpus:
    """Aligned files per split: ``files[split] = (source file, target file)``."""

    name: str
    src: str
    tgt: str
    files: dict[str, tuple[Path, Path]]
    sha256: dict[str, str] = field(default_factory=dict)

    def paths(self) -> tuple[Path, ...]:
        """Every file this corpus reads (an output folder must never hold one it would replace)."""
        return tuple(p for pair in self.files.values() for p in pair)

    def describe(self) -> dict[str, object]:
        def portable(path: Path) -> str:
            return f"data:parallel/{MULTI30K}/{path.name}" if self.name == MULTI30K else str(path)

        return {
            "name": self.name,
            "kind": "parallel",
            "src": self.src,
            "tgt": self.tgt,
            "files": {split: [portable(s), portable(t)] for split, (s, t) in self.files.items()},
            "sha256": self.sha256,
        }


def read_sentences(path: str | Path) -> list[str]:
    """One sentence per line, whitespace-normalised; an empty line or a byte that is not UTF-8 is an error
    naming the file and line (an empty line would misalign every pair after it in a hand-made file)."""
    sentences = []
    line_no = 0
    try:
        with _open_binary(path) as handle:
            for line_no, raw in enumerate(handle, start=1):  # noqa: B007 - used in the errors below
                if line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                text = " ".join(raw.decode("utf-8").split())
                if not text:
                    raise EmbedevalError(
                        "empty line in a parallel file: every line must hold one sentence, aligned with the same line "
                        "of the other language (remove the pair from both files)",
                        path,
                        line_no,
                    )
                sentences.append(text)
    except UnicodeDecodeError as err:
        raise EmbedevalError(
            f"bytes that are not UTF-8 ({err.object[err.start : err.start + 1]!r}); save the file as UTF-8",
            path,
            line_no,
        ) from None
    except (OSError, EOFError) as err:
        raise EmbedevalError(f"cannot read the file ({err or type(err).__name__})", path, line_no + 1) from None
    if not sentences:
        raise EmbedevalError("the parallel file is empty", path)
    return sentences


def read_pairs(src_path: str | Path, tgt_path: str | Path) -> tuple[list[str], list[str]]:
    src, tgt = read_sentences(src_path), read_sentences(tgt_path)
    if len(src) != len(tgt):
        raise EmbedevalError(
            f"the parallel files are not aligned: {src_path} has {len(src):,} lines, {tgt_path} has {len(tgt):,}; "
            "line i of one must be the translation of line i of the other"
        )
    return src, tgt


def multi30k(src: str, tgt: str, data: str | Path | None = None, check: bool = True) -> ParallelCorpus:
    for lang in (src, tgt):
        if lang not in MULTI30K_LANGS:
            raise EmbedevalError(f"Multi30k has {', '.join(MULTI30K_LANGS)}; not {lang!r} (--src/--tgt)")
    if src == tgt:
        raise EmbedevalError(f"--src and --tgt are both {src!r}: choose two languages")
    root = data_dir(data)
    if root is None:
        raise EmbedevalError(f"Multi30k is read from the data directory, but none is set: {HOW_TO_SET}")
    files, sums = {}, {}
    for split, stem in MULTI30K_SPLITS.items():
        pair = []
        for lang in (src, tgt):
            key = f"{stem}.{lang}"
            path = root / "parallel" / MULTI30K / f"{key}.gz"
            if not path.is_file():
                raise EmbedevalError(
                    f"Multi30k: the {split} file is missing (expected sha256 {MULTI30K_SHA256[key]})", path
                )
            if check and (found := sha256_file(path)) != MULTI30K_SHA256[key]:
                raise EmbedevalError(
                    f"checksum mismatch for Multi30k {key}: expected sha256 {MULTI30K_SHA256[key]}, found {found}", path
                )
            pair.append(path)
            sums[key] = MULTI30K_SHA256[key]
        files[split] = (pair[0], pair[1])
    return ParallelCorpus(MULTI30K, src, tgt, files, sums)


def from_files(
    src: str,
    tgt: str,
    train: tuple[str, str],
    valid: tuple[str, str] | None = None,
    test: tuple[str, str] | None = None,
) -> ParallelCorpus:
    """Any aligned text files (plain or gzip). Without valid/test files, the last pairs of train are held out."""
    files, sums = {}, {}
    for split, pair in (("train", train), ("valid", valid), ("test", test)):
        if pair is None:
            continue
        paths = (Path(pair[0]), Path(pair[1]))
        for path in paths:
            if not path.is_file():
                raise EmbedevalError(f"the {split} file does not exist", path)
            sums[str(path)] = sha256_file(path)
        files[split] = paths
    return ParallelCorpus(Path(train[0]).stem, src, tgt, files, sums)


@dataclass
class ParallelData:
    """Sentence pairs per split (raw text), read and checked once."""

    src: dict[str, list[str]]
    tgt: dict[str, list[str]]
    held_out: str | None = None


def load_parallel(corpus: ParallelCorpus) -> ParallelData:
    src, tgt = {}, {}
    for split, (s, t) in corpus.files.items():
        src[split], tgt[split] = read_pairs(s, t)
    note = None
    if "valid" not in src or "test" not in src:
        n = len(src["train"])
        k = max(1, round(n * HELD_OUT_FRACTION))
        if n < 3 * k + 1:
            raise EmbedevalError(
                f"only {n} training pairs and no valid/test files: give --valid and --test files, or more data",
                corpus.files["train"][0],
            )
        cut = n - 2 * k
        for side in (src, tgt):
            train = side["train"]
            side.setdefault("valid", train[cut : cut + k])
            side.setdefault("test", train[cut + k :])
            side["train"] = train[:cut]
        note = f"no valid/test files: the last {2 * k} of {n} pairs are held out ({k} valid, {k} test)"
    return ParallelData(src, tgt, note)

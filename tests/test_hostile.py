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
        "not a folder embedeval wrote",
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
    # --- file names are not markup or terminal codes
    Case("markup-closing-tag-name", {}, ["eval", "[/]nope.txt"], 2, "[/]nope.txt: embedding file does not exist"),
    Case("markup-style-name", {}, ["eval", "[bold red]nope.txt"], 2, "[bold red]nope.txt: embedding file"),
    Case("escape-sequence-name", {}, ["eval", "a\x1b[2Jb.txt"], 2, "a\\x1b[2Jb.txt"),
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


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input(case: Case, tmp_path, monkeypatch, capsys):
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
    (tmp_path / "run" / "note.txt").write_text("mine")  # inside our run: --overwrite may replace it
    assert run_main([*args, "--overwrite", "--dim", "7", "--workers", "1"], monkeypatch, capsys)[0] == 0
    assert not (tmp_path / "run" / "note.txt").exists()
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

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / ".rep.lock").write_text(str(sleeper.pid))
        with pytest.raises(EmbedevalError, match="another embedeval process"):
            OutputDir(tmp_path / "rep", "report")
    finally:
        sleeper.kill()
        sleeper.wait()
    with OutputDir(tmp_path / "rep", "report") as claim:  # the lock of a process that ended is taken over
        assert claim.path == tmp_path / "rep"
    assert not (tmp_path / ".rep.lock").exists()


def test_two_claims_in_one_folder_exclude_each_other(tmp_path):
    from embedeval.errors import EmbedevalError
    from embedeval.files import OutputDir

    first = OutputDir(tmp_path / "rep", "report")
    try:
        lock = tmp_path / ".rep.lock"
        lock.write_text(str(os.getppid()))  # as if another live process held it
        with pytest.raises(EmbedevalError, match="another embedeval process"):
            OutputDir(tmp_path / "rep", "report")
    finally:
        first.release()


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

"""Hostile inputs on the surfaces round 4 added, one line each: checkpoint series (folders, list files, what their
checkpoints hold), the token task's corpus, GGUF output files and names that are neither files nor cached models.
Same rules as tests/test_hostile.py: exit code, message fragment, no traceback, nothing outside --out changed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.test_hostile import Case, check_case, run_main
from tests.test_hostile_models import fifo_weights, inconsistent_shape, link_loop, linked_outside, lying_header, model


def series(last: Callable[[Path], object], steps: tuple[int, ...] = (10, 20)) -> Callable[[Path], None]:
    """A Trainer output folder: good checkpoints at ``steps``, and checkpoint-30 made by ``last``."""

    def make(path: Path) -> None:
        for step in steps:
            x = np.random.default_rng(step).normal(size=(14, 8))
            model(tensors={"transformer.wte.weight": x})(path / f"checkpoint-{step}")
        last(path / "checkpoint-30")

    return make


def matrix(x: np.ndarray) -> Callable[[Path], None]:
    return model(tensors={"transformer.wte.weight": x})


def nan_rows(path: Path) -> None:
    x = np.random.default_rng(30).normal(size=(14, 8))
    x[[2, 5]] = np.nan
    matrix(x)(path)


def index(content: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        model()(path)
        (path / "model.safetensors.index.json").write_text(content)

    return make


def only_bin(path: Path) -> None:
    model(weights=False)(path)
    (path / "pytorch_model.bin").write_bytes(b"PK\x03\x04")


def gguf_header(n_tensors: int, n_kv: int, rest: bytes = b"") -> bytes:
    """A GGUF v3 header of a few bytes whose counts or lengths claim far more (what ggml's reader would allocate)."""
    import struct

    return b"GGUF" + struct.pack("<IQQ", 3, n_tensors, n_kv) + rest


def gguf_kv(key: bytes, kind: int, payload: bytes) -> bytes:
    import struct

    return struct.pack("<Q", len(key)) + key + struct.pack("<I", kind) + payload


def a_list(text: str | bytes) -> dict:
    return {"ser": series(model()), "list.txt": text}


SCAN = ["series", "ser", "--out", "o", "-b", "rg65"]
LIST = ["series", "list.txt", "--out", "o", "-b", "rg65"]

CASES = [
    Case("series-nan-step", {"ser": series(nan_rows)}, SCAN, 2, "S has 2 rows with NaN", "o"),
    Case("series-inf-step", {"ser": series(matrix(np.full((14, 8), np.inf)))}, SCAN, 2, "NaN or infinite", "o"),
    Case("series-vocabulary-resized", {"ser": series(matrix(np.ones((20, 8))))}, SCAN, 2, "one vocabulary", "o"),
    Case("series-width-changed", {"ser": series(matrix(np.ones((14, 6))))}, SCAN, 2, "14 x 6", "o"),
    Case("series-fifo-weights", {"ser": series(fifo_weights)}, SCAN, 2, "not a regular file", "o"),
    Case("series-weights-linked-outside", {"ser": series(linked_outside)}, SCAN, 2, "points outside", "o"),
    Case("series-weights-link-loop", {"ser": series(link_loop)}, SCAN, 2, "link loop", "o"),
    Case("series-header-promises-3-gb", {"ser": series(lying_header)}, SCAN, 2, "outside the file", "o"),
    Case("series-header-shape-beyond", {"ser": series(inconsistent_shape)}, SCAN, 2, "byte span disagree", "o"),
    Case("series-index-not-json", {"ser": series(index("{bad"))}, SCAN, 2, "damaged checkpoint index", "o"),
    Case("series-index-a-list", {"ser": series(index("[1, 2]"))}, SCAN, 2, "expected a JSON object", "o"),
    Case(
        "series-index-names-a-number",
        {"ser": series(index(json.dumps({"weight_map": {"w": 5}})))},
        SCAN,
        2,
        "must be a file name",
        "o",
    ),  # fmt: skip
    Case(
        "series-index-leaves-the-checkpoint",
        {"ser": series(index(json.dumps({"weight_map": {"w": "../../elsewhere.safetensors"}})))},
        SCAN,
        2,
        "not a file inside the model folder",
        "o",
    ),  # fmt: skip
    Case("series-only-pytorch-bin", {"ser": series(only_bin)}, SCAN, 2, "save checkpoints as safetensors", "o"),
    Case("series-empty-checkpoint", {"ser": series(lambda p: p.mkdir(parents=True))}, SCAN, 2, "no model.safe", "o"),
    Case(
        "series-out-inside-a-checkpoint",
        {"ser": series(model())},
        [*SCAN[:2], "--out", "ser/checkpoint-10/x", "-b", "rg65"],
        2,
        "inside the input",
    ),  # fmt: skip
    Case(
        "series-out-is-the-series",
        {"ser": series(model())},
        [*SCAN[:2], "--out", "ser", "--overwrite", "-b", "rg65"],
        2,
        "inside the input",
    ),  # fmt: skip
    Case("series-address-without-ray", {"ser": series(model())}, [*SCAN, "--address", "auto"], 2, "--executor ray"),
    Case("list-binary", a_list(b"\x00\xff\xfe" * 100), LIST, 2, "not a text file"),
    Case("list-ftp-url", a_list("10 ftp://host/model.safetensors\n"), LIST, 2, "list.txt:1: ftp://"),
    Case("list-names-a-device", a_list("10 /dev/zero\n"), LIST, 2, "a checkpoint is a folder"),
    Case("list-names-a-missing-folder", a_list("10 ser/nope\n"), LIST, 2, "does not exist"),
    Case(
        "list-a-fifo-safetensors",
        {"list.txt": "10 w.safetensors\n", "w.safetensors": "fifo"},
        LIST,
        2,
        "not a regular file",
    ),  # fmt: skip
    Case("list-step-twice", a_list("10 ser/checkpoint-10\n10 ser/checkpoint-20\n"), LIST, 2, "listed twice"),
    Case(
        "gguf-out-a-fifo",
        {"m": model(), "f.gguf": "fifo"},
        ["gguf", "m", "--out", "f.gguf", "--overwrite"],
        2,
        "not a regular file",
    ),  # fmt: skip
    Case(
        "gguf-overwrite-a-text-file",
        {"m": model(), "t.gguf": "hello"},
        ["gguf", "m", "--out", "t.gguf", "--overwrite"],
        2,
        "only a GGUF file",
    ),  # fmt: skip
    Case(
        "reproduce-page-over-a-users-readme",
        {"mine/README.md": "my notes", "runs": lambda p: p.mkdir()},
        ["reproduce", "tying-claims", "--no-train", "--runs-dir", "runs", "--out", "mine"],
        2,
        "is not a page",
    ),  # fmt: skip
    Case(
        "reproduce-page-into-the-runs",
        {"runs": lambda p: p.mkdir()},
        ["reproduce", "planted-tokens", "--no-train", "--runs-dir", "runs", "--out", "runs"],
        2,
        "--out is the runs directory",
    ),  # fmt: skip
    Case(
        "gguf-claims-2-to-the-40-tensors",
        {"b.gguf": gguf_header(2**40, 0)},
        ["eval", "b.gguf", "-b", "rg65"],
        2,
        "1,099,511,627,776 tensors",
    ),  # fmt: skip
    Case(
        "gguf-string-of-2-to-the-60-bytes",
        {"b.gguf": gguf_header(0, 1, gguf_kv(b"general.name", 8, (2**60).to_bytes(8, "little")))},
        ["eval", "b.gguf", "-b", "rg65"],
        2,
        "a string of",
    ),  # fmt: skip
    Case(
        "gguf-array-of-2-to-the-40-bytes",
        {
            "b.gguf": gguf_header(
                0, 1, gguf_kv(b"tokenizer.ggml.tokens", 9, (0).to_bytes(4, "little") + (2**40).to_bytes(8, "little"))
            )
        },
        ["eval", "b.gguf", "-b", "rg65"],
        2,
        "an array of 1,099,511,627,776 items",
    ),  # fmt: skip
    Case("a-missing-gguf-file", {}, ["eval", "nothere.gguf", "-b", "rg65"], 2, "nothere.gguf: no such file"),
    Case("corpus-a-device", {"m": model()}, ["eval", "m", "-b", "rg65", "--corpus", "/dev/zero"], 2, "regular file"),
    Case("corpus-empty", {"m": model(), "c.txt": ""}, ["eval", "m", "-b", "rg65", "--corpus", "c.txt"], 2, "no text"),
    Case(
        "corpus-not-utf8",
        {"m": model(), "c.txt": b"the cat\n\xff\xfe\xfd\n"},
        ["eval", "m", "-b", "rg65", "--corpus", "c.txt"],
        2,
        "line 2 of the token task's corpus is not UTF-8",
    ),  # fmt: skip
]


def _special(case: Case, tmp_path: Path) -> Case:
    """Files a dict cannot hold (FIFOs) are made here, and the case's files without them."""
    import os

    files = dict(case.files)
    for name, content in case.files.items():
        if content is None or content == "fifo":
            os.mkfifo(tmp_path / name)
            files.pop(name)
    return Case(case.id, files, case.args, case.code, case.message, case.out)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_round4_surface(case: Case, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    check_case(_special(case, tmp_path), tmp_path, monkeypatch, capsys)


def test_a_scan_resumed_with_other_settings_is_refused_not_mixed(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    series(model())(tmp_path / "ser")
    assert run_main(["series", "ser", "--out", "o", "-b", "rg65"], monkeypatch, capsys)[0] == 0
    first = (tmp_path / "o" / "dynamics.jsonl").read_text()
    assert run_main(["series", "ser", "--out", "o", "-b", "rg65", "--workers", "2"], monkeypatch, capsys)[0] == 0
    code, _, err = run_main(["series", "ser", "--out", "o", "-b", "ws353"], monkeypatch, capsys)
    assert code == 2 and "other settings (benchmarks)" in err
    assert (tmp_path / "o" / "dynamics.jsonl").read_text() == first  # the earlier scan is untouched


def test_a_file_url_in_a_list_is_a_local_path(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    series(model())(tmp_path / "ser")
    (tmp_path / "list.txt").write_text(f"10 file://{tmp_path}/ser/checkpoint-10\n20 ser/checkpoint-20\n")
    code, _, err = run_main(["series", "list.txt", "--out", "o", "-b", "rg65"], monkeypatch, capsys)
    assert code == 0, err
    assert len((tmp_path / "o" / "dynamics.jsonl").read_text().splitlines()) == 2


def test_a_corpus_of_one_long_line_is_read_in_pieces(tmp_path, monkeypatch):
    """A corpus without line breaks is tokenised a bounded piece at a time, cut between words: every word counted
    once, none split."""
    from embedeval.tasks import tokens as task

    class Words:  # a tokenizer that counts whitespace-separated words, as the model's own would
        def encode(self, lines):
            return [[1] * len(line.split()) for line in lines]

    monkeypatch.setattr(task, "CORPUS_PIECE", 1000)
    (tmp_path / "c.txt").write_text("ab " * 10_000)  # 30,000 characters, one line
    seen = []
    real = task.count_tokens
    monkeypatch.setattr(task, "count_tokens", lambda tok, lines, counts: seen.append(sum(map(len, lines))) or
                        real(tok, lines, counts))  # fmt: skip
    counts, note = task._corpus_counts(Words(), tmp_path / "c.txt", 4)
    assert counts[1] == 10_000 and "10,000 tokens" in note
    assert max(seen) <= 2 * 1000  # a batch closes once it holds a piece's worth: never two pieces' more


@pytest.mark.parametrize(
    "setting, message",
    [({"k": 0}, "--k 0"), ({"knn_queries": -5}, "--knn-queries -5"), ({"seed": -1}, "--seed -1"),
     ({"workers": 0}, "--workers 0"), ({"benchmarks": "rg65"}, "a tuple of benchmark names"),
     ({"benchmarks": ("nope",)}, "unknown benchmark 'nope'"), ({"executor": "dask"}, "local or ray"),
     ({"address": "auto"}, "--executor ray")],
)  # fmt: skip
def test_the_python_api_checks_a_series_config_before_any_work(setting, message, tmp_path):
    from embedeval.dynamics.series import SeriesConfig, scan
    from embedeval.errors import EmbedevalError

    series(model())(tmp_path / "ser")
    with pytest.raises(EmbedevalError, match=message.replace("(", r"\(")):
        scan(tmp_path / "ser", tmp_path / "out", SeriesConfig(**{"benchmarks": ("rg65",), **setting}))
    assert not (tmp_path / "out").exists()  # refused before --out was made


def test_a_task_asked_for_that_finds_nothing_says_why(tmp_path, monkeypatch, capsys):
    """--task tokens on a word file, --task quantisation on two different models: a note, not an empty table alone;
    compare's own default tasks stay quiet."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "e.txt").write_text("tiger 1 0 0\ncat 1 0.1 0\ndog 0 1 0\n")
    code, _, err = run_main(["eval", "e.txt", "-b", "rg65", "--task", "tokens"], monkeypatch, capsys)
    assert code == 0 and "the tokens task found nothing to measure: no input has a token vocabulary" in err
    model()(tmp_path / "m")
    code, _, err = run_main(["eval", "m", "e.txt", "-b", "rg65", "--task", "quantisation"], monkeypatch, capsys)
    assert code == 0 and "no two inputs are one model at two precisions" in err
    code, _, err = run_main(["compare", "e.txt", "-b", "rg65", "--out", "r", "--bootstrap", "0"], monkeypatch, capsys)
    assert code == 0 and "found nothing" not in err


def test_a_server_that_ignores_ranges_is_named_as_such(tmp_path, monkeypatch):
    """Python's own http.server answers a range request with the whole file: said in one line, nothing cached."""
    import functools
    import http.server
    import threading

    from embedeval.dynamics.series import Checkpoint, load_matrices
    from embedeval.errors import EmbedevalError

    series(model())(tmp_path / "www")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "www"))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/checkpoint-10"
        with pytest.raises(EmbedevalError, match="ignores range requests"):
            load_matrices(Checkpoint(10, url), tmp_path / "cache")
    finally:
        server.shutdown()


def test_settings_that_no_input_uses_are_said(tmp_path, monkeypatch, capsys):
    """--revision without a hub id, --pieces on word files, analogy settings without an analogy set: each a note (the
    user asked for something that did not happen), the scores unchanged."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "e.txt").write_text("tiger 1 0 0\ncat 1 0.1 0\ndog 0 1 0\ncar 0 0 1\n")
    (tmp_path / "b.txt").write_text("cat dog 5\ntiger cat 7\ndog tiger 3\ncat car 1\n")
    code, plain, _ = run_main(["eval", "e.txt", "-b", "b.txt"], monkeypatch, capsys)
    args = ["eval", "e.txt", "-b", "b.txt", "--revision", "v1", "--pieces", "mean", "--analogy-vocab", "5"]
    code, out, err = run_main(args, monkeypatch, capsys)
    assert code == 0 and out == plain
    for option in ("--revision v1 was not used", "--pieces mean was not used", "--analogy-vocab and"):
        assert option in err
    code, _, err = run_main(["eval", "e.txt", "-b", "b.txt"], monkeypatch, capsys)
    assert "was not used" not in err


def test_tying_claims_refuses_a_run_in_another_rows_folder(tmp_path, monkeypatch, capsys):
    """An untied SGNS run copied into the tied row's folder was scored as tied (then a KeyError traceback); now the
    row's config check, as every other table has it, before anything is counted or written."""
    monkeypatch.chdir(tmp_path)
    for folder, tie in (("torch-f10-s1", False), ("torch-tied-f10-s1", False)):
        run = tmp_path / "runs" / "sgns-wikitext-2" / folder
        run.mkdir(parents=True)
        config = {"trainer": "skipgram", "corpus": {"name": "wikitext-2"},
                  "config": {"seed": 1, "backend": "torch", "tie": tie, "train_fraction": 0.1, "epochs": 5}}  # fmt: skip
        (run / "config.json").write_text(json.dumps(config))
        (run / "summary.json").write_text(json.dumps({"status": "complete", "updated": folder}))
    code, _, err = run_main(["reproduce", "tying-claims", "--no-train", "--runs-dir", "runs", "--out", "page"],
                            monkeypatch, capsys)  # fmt: skip
    assert code == 2 and "row tied-f10, seed 1" in err and "tie False (the row needs True)" in err
    assert "Traceback" not in err and not (tmp_path / "page").exists()


@pytest.mark.parametrize("source", ["http://127.0.0.1:1/ckpt", "http://127.0.0.1:1/ckpt/model.safetensors"])
def test_a_host_that_cannot_be_reached_is_not_called_missing(source, tmp_path):
    """fsspec answers "not found" when it cannot connect at all: said as what it is, with what to do offline."""
    from embedeval.dynamics.series import Checkpoint, load_matrices
    from embedeval.errors import EmbedevalError

    with pytest.raises(EmbedevalError, match=r"cannot be reached \(no network here\?\)"):
        load_matrices(Checkpoint(10, source), tmp_path / "cache")

"""Hostile model inputs, one line each (the rows of round 4): model folders are inputs like runs, every file they
name stays inside them, small files never become large costs, damaged tokenizers and configs are one line, GGUF files
too. Same rules as tests/test_hostile.py: exit code, message fragment, no traceback, nothing outside --out changed."""

from __future__ import annotations

import json
import os
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.test_hostile import Case, check_case, run_main

WORDS = ["tiger", "cat", "dog", "car", "automobile", "money", "cash", "bank", "river", "water", "love", "sex", "the"]


def _tokenizer() -> str:
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {w: i for i, w in enumerate(["<unk>", *WORDS])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return tok.to_str()


def model(config: dict | None = None, tensors: dict | None = None, tokenizer: bool = True, weights: bool = True):
    """A minimal GPT-2-style folder (tied: one wte matrix), written by safetensors; arguments change one part."""

    def make(path: Path) -> None:
        from safetensors.numpy import save_file

        path.mkdir(parents=True, exist_ok=True)
        cfg = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": len(WORDS) + 1}
        cfg.update(config or {})
        (path / "config.json").write_text(json.dumps(cfg))
        if weights:
            rng = np.random.default_rng(0)
            found = tensors if tensors is not None else {"transformer.wte.weight": rng.normal(size=(len(WORDS) + 1, 8))}
            save_file({k: np.asarray(v, dtype=np.float32) for k, v in found.items()}, str(path / "model.safetensors"))
        if tokenizer:
            (path / "tokenizer.json").write_text(_tokenizer())

    return make


def with_index(weight_map: dict) -> object:
    def make(path: Path) -> None:
        model()(path)
        (path / "model.safetensors").rename(path / "model-00001-of-00001.safetensors")
        (path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))

    return make


def linked_outside(path: Path) -> None:
    model()(path)
    outside = path.parent / "elsewhere.safetensors"
    (path / "model.safetensors").rename(outside)
    os.symlink(outside, path / "model.safetensors")


def link_loop(path: Path) -> None:
    model(weights=False)(path)
    os.symlink(path / "model.safetensors", path / "model.safetensors")


def fifo_weights(path: Path) -> None:
    model(weights=False)(path)
    os.mkfifo(path / "model.safetensors")


def lying_header(path: Path) -> None:
    """A safetensors header that places a 3 GB tensor in a file of a few hundred bytes."""
    model(weights=False)(path)
    header = json.dumps({"transformer.wte.weight": {"dtype": "F32", "shape": [100_000, 8_000],
                                                    "data_offsets": [0, 3_200_000_000]}}).encode()  # fmt: skip
    (path / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 64)


def inconsistent_shape(path: Path) -> None:
    """A header whose shape promises more bytes than its offsets span (read whole, it would run past the tensor)."""
    model(weights=False)(path)
    header = json.dumps({"transformer.wte.weight": {"dtype": "F32", "shape": [1000, 8],
                                                    "data_offsets": [0, 64]}}).encode()  # fmt: skip
    (path / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 64)


def zip_bomb(path: Path) -> None:
    """A 'pytorch_model.bin' of a few kB whose one deflated member unpacks to 200 MB."""
    model(weights=False)(path)
    with zipfile.ZipFile(path / "pytorch_model.bin", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", b"\0" * (200 << 20))


def damaged_tokenizer(name: str, content: bytes) -> object:
    def make(path: Path) -> None:
        model(tokenizer=False)(path)
        (path / name).write_bytes(content)
        if name == "vocab.json":
            (path / "merges.txt").write_text("#version: 0.2\n")

    return make


def nan_row(path: Path) -> None:
    x = np.random.default_rng(0).normal(size=(len(WORDS) + 1, 8))
    x[3] = np.nan
    model(tensors={"transformer.wte.weight": x})(path)


def gguf_truncated(path: Path) -> bytes:
    from embedeval.embeddings.gguf_export import write_gguf

    good = write_gguf(path.parent / "good.gguf.tmp", np.ones((4, 32), np.float32), None, ["a", "b", "c", "d"])
    data = good.read_bytes()
    good.unlink()
    return data[: len(data) - 40]


MODEL_CASES = [
    Case(
        "index-names-a-parent-shard",
        {"m": with_index({"transformer.wte.weight": "../other/model.safetensors"})},
        ["eval", "m", "-b", "rg65"],
        2,
        "not a file inside the model folder",
    ),  # fmt: skip
    Case(
        "index-names-an-absolute-shard",
        {"m": with_index({"transformer.wte.weight": "/etc/passwd"})},
        ["eval", "m", "-b", "rg65"],
        2,
        "not a file inside the model folder",
    ),  # fmt: skip
    Case(
        "index-names-passwd-by-dots",
        {"m": with_index({"transformer.wte.weight": "../../../etc/passwd"})},
        ["eval", "m", "-b", "rg65"],
        2,
        "not a file inside the model folder",
    ),  # fmt: skip
    Case("weights-linked-outside", {"m": linked_outside}, ["eval", "m", "-b", "rg65"], 2, "points outside"),
    Case("weights-link-loop", {"m": link_loop}, ["eval", "m", "-b", "rg65"], 2, "link"),
    Case("weights-fifo", {"m": fifo_weights}, ["eval", "m", "-b", "rg65"], 2, "not a regular file"),
    Case("header-promises-3-gb", {"m": lying_header}, ["eval", "m", "-b", "rg65"], 2, "outside the file"),
    Case("header-shape-beyond-offsets", {"m": inconsistent_shape}, ["eval", "m", "-b", "rg65"], 2, "spans"),
    Case("pytorch-bin-zip-bomb", {"m": zip_bomb}, ["eval", "m", "-b", "rg65"], 2, "would unpack"),
    Case(
        "embedding-declared-1d",
        {"m": model(tensors={"transformer.wte.weight": np.ones(14)})},
        ["eval", "m", "-b", "rg65"],
        2,
        "1-D",
    ),  # fmt: skip
    Case(
        "architectures-is-a-number",
        {"m": model(config={"architectures": 5})},
        ["eval", "m", "-b", "rg65"],
        0,
        "architectures is 5",
    ),  # fmt: skip
    Case(
        "vocab-json-damaged",
        {"m": damaged_tokenizer("vocab.json", b"{not json")},
        ["eval", "m", "-b", "rg65"],
        2,
        "not a readable tokenizer",
    ),  # fmt: skip
    Case(
        "vocab-txt-empty", {"m": damaged_tokenizer("vocab.txt", b"")}, ["eval", "m", "-b", "rg65"], 2, "vocab.txt"
    ),  # fmt: skip
    Case(
        "sentencepiece-damaged",
        {"m": damaged_tokenizer("tokenizer.model", b"\x00garbage" * 10)},
        ["eval", "m", "-b", "rg65"],
        2,
        "not a readable tokenizer",
    ),  # fmt: skip
    Case(
        "tokenizer-json-damaged",
        {"m": damaged_tokenizer("tokenizer.json", b'{"model": 3}')},
        ["eval", "m", "-b", "rg65"],
        2,
        "not a readable tokenizer",
    ),  # fmt: skip
    Case("nan-row-geometry", {"m": nan_row}, ["eval", "m", "-b", "rg65", "--task", "geometry"], 2, "NaN"),
    Case(
        "json-into-the-model-folder",
        {"m": model()},
        ["eval", "m", "-b", "rg65", "--json", "m/config.json"],
        2,
        "inside the input folder",
    ),  # fmt: skip
    Case(
        "csv-over-the-tokenizer",
        {"m": model()},
        ["eval", "m", "-b", "rg65", "--csv", "m/tokenizer.json"],
        2,
        "inside the input folder",
    ),  # fmt: skip
    Case(
        "pairs-csv-over-the-weights",
        {"m": model()},
        ["eval", "m", "-b", "rg65", "--pairs-csv", "m/model.safetensors"],
        2,
        "inside the input folder",
    ),  # fmt: skip
    Case(
        "compare-out-inside-a-model",
        {"m": model()},
        ["compare", "m", "-b", "rg65", "--out", "m/report"],
        2,
        "inside",
        "m/report",
    ),  # fmt: skip
    Case("gguf-truncated", {"t.gguf": gguf_truncated}, ["eval", "t.gguf", "-b", "rg65"], 2, "GGUF"),
    Case(
        "gguf-not-gguf",
        {"t.gguf": b"GGUF" + b"\xff" * 30},
        ["eval", "t.gguf", "-b", "rg65"],
        2,
        "not a GGUF file embedeval can read",
    ),  # fmt: skip
    Case("unknown-task", {"e.txt": "a 1 2\nb 2 1\n"}, ["eval", "e.txt", "--task", "nope"], 2, "nope"),
    Case("hub-id-not-cached", {}, ["eval", "no-org/no-such-model", "-b", "rg65"], 2, "hf download"),
]


@pytest.mark.parametrize("case", MODEL_CASES, ids=[c.id for c in MODEL_CASES])
def test_hostile_model_input(case: Case, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub-cache"))  # no model id is ever cached here
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    check_case(case, tmp_path, monkeypatch, capsys)


def test_two_exports_with_one_file_name_are_both_kept(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "vec.txt").write_text("tiger 1 0\ncat 0 1\ndog 1 1\n")
    code, _, err = run_main(["eval", "a/vec.txt", "b/vec.txt", "-b", "rg65", "--export", "npz", "--export-dir", "ex"],
                            monkeypatch, capsys)  # fmt: skip
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "ex").iterdir()) == ["vec-2.npz", "vec.npz"]


def test_a_replaced_checkpoint_is_read_again(tmp_path):
    """ee.load of a folder whose pytorch_model.bin was replaced gives the new matrix (no cache keyed by path)."""
    torch = pytest.importorskip("torch")
    import embedeval as ee

    folder = tmp_path / "m"
    model(weights=False)(folder)
    for value in (1.0, 2.0):
        torch.save({"transformer.wte.weight": torch.full((len(WORDS) + 1, 8), value)}, folder / "pytorch_model.bin")
        os.utime(folder / "pytorch_model.bin", ns=(int(value * 1e9), int(value * 1e9)))
        (emb,) = ee.load(folder)
        assert float(emb.vectors[0, 0]) == value


@pytest.mark.parametrize("planted", ["embeddings/mine.npz", "last-good/notes.txt", ".keep.tmp"])
def test_overwrite_never_deletes_a_file_embedeval_did_not_write(planted, tmp_path, monkeypatch, capsys):
    """A user's file inside a run embedeval wrote (in its own subfolders too, or named like a temporary file) makes
    --overwrite refuse, listing it, and the file stays."""
    from tests.test_hostile import CORPUS, our_run

    monkeypatch.chdir(tmp_path)
    our_run(tmp_path / "run")
    (tmp_path / "run" / planted).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "run" / planted).write_text("mine")
    (tmp_path / "c.txt").write_text(CORPUS)
    code, _, err = run_main(["train", "skipgram", "--corpus", "c.txt", "--out", "run", "--overwrite", "--epochs", "1",
                             "--min-count", "1"], monkeypatch, capsys)  # fmt: skip
    assert code == 2 and "did not write" in err and planted.split("/")[-1] in err
    assert (tmp_path / "run" / planted).read_text() == "mine"


@pytest.fixture(scope="module")
def tiny_lm_run(tmp_path_factory) -> Path:
    """A finished three-batch language-model run, trained once for the tests that edit a copy of it."""
    from tests.conftest import run_cli

    out = tmp_path_factory.mktemp("tiny-lm") / "run"
    code, _, err = run_cli("train", "lm", "--corpus", "builtin", "--config", "tiny", "--max-batches", "3", "--epochs",
                           "1", "--out", str(out), "--threads", "1")  # fmt: skip
    assert code == 0, err
    return out


@pytest.mark.parametrize("hidden", [1_000_000_000, "abc", -5])
def test_load_model_refuses_an_impossible_config_before_building(hidden, tmp_path, tiny_lm_run):
    """config.json asking for a 1e9-wide model (8.7 TB), a word or a negative size is one line, and nothing is
    allocated."""
    import shutil

    import embedeval as ee
    from embedeval.errors import EmbedevalError

    shutil.copytree(tiny_lm_run, tmp_path / "run")
    stored = json.loads((tmp_path / "run" / "config.json").read_text())
    stored["config"]["hidden"] = hidden
    (tmp_path / "run" / "config.json").write_text(json.dumps(stored))
    with pytest.raises(EmbedevalError, match="no run could have"):
        ee.load_model(tmp_path / "run")


def test_a_closed_stdout_and_an_ascii_terminal_are_no_tracebacks(tmp_path):
    import os
    import subprocess
    import sys

    (tmp_path / "v.txt").write_text("tiger 1 0\ncat 0 1\ndog 1 1\n")
    base = [sys.executable, "-m", "embedeval", "eval", str(tmp_path / "v.txt"), "-b", "rg65"]
    closed = subprocess.run([*base, "--json", "-"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            close_fds=True, preexec_fn=lambda: os.close(1))  # fmt: skip
    assert closed.returncode == 2 and "standard output is closed" in closed.stderr and "Traceback" not in closed.stderr
    ascii_env = dict(os.environ, PYTHONIOENCODING="ascii")
    done = subprocess.run(base, capture_output=True, text=True, env=ascii_env)
    assert done.returncode == 0 and "Traceback" not in done.stderr and "Spearman" in done.stdout


def test_an_analogy_file_with_a_byte_order_mark_is_read_as_analogies(tmp_path):
    from embedeval.data.registry import is_analogy, load_analogy_set

    path = tmp_path / "q.txt"
    path.write_bytes("\ufeff: capital\nathens greece berlin germany\n".encode())
    assert is_analogy(str(path)) and len(load_analogy_set(str(path)).questions) == 1


def test_a_sparse_model_file_claiming_gigabytes_reads_only_the_rows_it_needs(tmp_path):
    import json
    import resource
    import struct
    import subprocess
    import sys

    folder = tmp_path / "m"
    folder.mkdir()
    n, d = 50257, 16384  # a 3.3 GB float32 matrix, declared; the file is a hole of that size
    size = n * d * 4
    header = json.dumps({"transformer.wte.weight": {"dtype": "F32", "shape": [n, d], "data_offsets": [0, size]}})
    header = header.encode() + b" " * (-len(header) % 8)
    with open(folder / "model.safetensors", "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header)
        f.truncate(8 + len(header) + size)
    if os.stat(folder / "model.safetensors").st_blocks * 512 > 2**26:
        pytest.skip("this file system does not keep holes")
    (folder / "config.json").write_text(json.dumps({"model_type": "gpt2", "vocab_size": n, "n_embd": d,
                                                    "tie_word_embeddings": True}))  # fmt: skip
    words = ["[UNK]", "[CLS]", "[SEP]", "old", "new", "smart", "intelligent", "hard", "difficult", "happy", "cheerful"]
    (folder / "vocab.txt").write_text("\n".join(words + [f"[unused{i}]" for i in range(n - len(words))]) + "\n")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run([sys.executable, "-m", "embedeval", "eval", str(folder), "-b", "simlex999"],
                          capture_output=True, text=True)  # fmt: skip
    peak_kb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)
    assert proc.returncode == 2 and "is all zeros" in proc.stderr and "Traceback" not in proc.stderr
    assert peak_kb < 1_500_000, f"{peak_kb / 1e6:.1f} GB for a file that holds nothing"


def test_a_sparse_legacy_checkpoint_is_refused_before_it_is_read_whole(tmp_path):
    from embedeval.embeddings.pretrained import _check_legacy
    from embedeval.errors import EmbedevalError

    legacy = tmp_path / "pytorch_model.bin"
    with open(legacy, "wb") as f:  # not a zip: a pre-1.6 pickle file torch cannot memory-map
        f.write(b"\x80\x02" + b"x" * 100)
        f.truncate(3 * 2**30)
    if os.stat(legacy).st_blocks * 512 > 2**26:
        pytest.skip("this file system does not keep holes")
    with pytest.raises(EmbedevalError, match="sparse file"):
        _check_legacy(legacy)
    small = tmp_path / "small.bin"
    small.write_bytes(b"\x80\x02" + b"x" * 100)
    _check_legacy(small)  # a small legacy file is read as before

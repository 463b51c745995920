"""Checkpoint series: a Trainer folder, a list of local folders and a list of loopback URLs scan into the same
records; only U and V are read; a scan cut off mid-tensor resumes to identical output; pairing a tied series with an
untied one gives the Table-3 correlations over steps; the Ray executor writes the same file as local processes."""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path

import pytest

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

from embedeval.dynamics.series import SeriesConfig, discover, scan  # noqa: E402
from embedeval.errors import EmbedevalError  # noqa: E402

STEPS = (0, 10, 20, 30)


def make_series(root: Path, tied: bool, seed: int = 0, width: int = 32) -> Path:
    """A Trainer-like output folder: checkpoint-N/ of one small GPT-NeoX whose U and V move a little each step."""
    from tests.test_pretrained import tokenizer

    tok = tokenizer("bpe")
    size = tok.get_vocab_size(with_added_tokens=True)
    torch.manual_seed(seed)
    t = transformers
    model = t.GPTNeoXForCausalLM(t.GPTNeoXConfig(vocab_size=size, hidden_size=width, num_hidden_layers=1,
                                                num_attention_heads=2, intermediate_size=32,
                                                tie_word_embeddings=tied))  # fmt: skip
    u, v = model.get_input_embeddings().weight, model.get_output_embeddings().weight
    for step in STEPS:
        with torch.no_grad():
            u.add_(torch.randn_like(u) * 0.01)
            if not tied:
                v.add_(torch.randn_like(v) * 0.02)
        folder = root / f"checkpoint-{step}"
        model.save_pretrained(folder)
        tok.save(str(folder / "tokenizer.json"))
    return root


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    root = tmp_path_factory.mktemp("series")
    return {"untied": make_series(root / "untied", False), "tied": make_series(root / "tied", True)}


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder with HEAD sizes, ETags and byte ranges; ``fail_after`` requests (if set) are answered 500."""

    served = 0
    fail_after: int | None = None

    def log_message(self, *args):  # quiet
        pass

    def _target(self) -> Path | None:
        path = Path(self.translate_path(self.path))
        return path if path.is_file() else None

    def do_HEAD(self):
        target = self._target()
        if target is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(target.stat().st_size))
        self.send_header("ETag", f'"{target.stat().st_mtime_ns}"')
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()

    def do_GET(self):
        type(self).served += 1
        if self.fail_after is not None and type(self).served > self.fail_after:
            self.send_error(500)
            return
        target = self._target()
        if target is None:
            self.send_error(404)
            return
        data = target.read_bytes()
        header = self.headers.get("Range")
        if header:
            start, end = header.removeprefix("bytes=").split("-")
            start, end = int(start), (int(end) if end else len(data) - 1)
            body = data[start : end + 1]
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{start + len(body) - 1}/{len(data)}")
        else:
            body = data
            self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", f'"{target.stat().st_mtime_ns}"')
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture()
def server(series):
    root = series["untied"].parent

    class Handler(RangeHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

    Handler.served, Handler.fail_after = 0, None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # loopback only
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", Handler
    httpd.shutdown()


def _records(folder: Path) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k != "source"}
            for line in (folder / "dynamics.jsonl").read_text().splitlines()]  # fmt: skip


CFG = SeriesConfig(benchmarks=("ws353",), knn_queries=200)


def test_a_trainer_folder_scans_into_dynamics_records_and_figures(series, tmp_path):
    summary = scan(series["untied"], tmp_path / "scan", CFG)
    records = _records(tmp_path / "scan")
    assert summary["steps"] == 4 and [r["step"] for r in records] == list(STEPS)
    first, last = records[0], records[-1]
    assert first["drift"]["U"] == 0 and first["row_cos"]["V"]["first"] == pytest.approx(1.0)
    assert last["to_last"]["U"] == 0 and last["procrustes"]["V"]["last"] == pytest.approx(0.0, abs=1e-9)
    assert 0 < last["corr"]["U~V"] < 1 and "ws353" in last["scores"]
    low, high = last["score_ci"]["ws353"]["U"]["ci"]  # Fisher interval over the pairs the tokenizer covers
    assert low < last["scores"]["ws353"]["U"] < high and last["score_ci"]["ws353"]["U"]["pairs"] > 3
    assert (tmp_path / "scan" / "figures" / "correlation.png").is_file()
    # the token indicators of methods 13 at every step: U's row norm, V's cosine to the never-trained tokens
    assert {m: last["tokens"][m]["indicator"] for m in ("U", "V")} == {"U": "input_norm", "V": "reference_cosine"}
    assert all(0 <= r["tokens"][m]["candidates"] <= 1500 for r in records for m in ("U", "V"))
    assert (tmp_path / "scan" / "figures" / "tokens.png").is_file()
    # only U and V are read: per step their bytes (1,500 x 32 float32, twice) plus the header
    uv = 2 * 1500 * 32 * 4
    assert all(uv <= r["bytes_read"] <= 1.1 * uv for r in records)


def test_local_folders_and_loopback_urls_give_the_same_records(series, server, tmp_path):
    base, _ = server
    local = tmp_path / "local.txt"
    local.write_text("".join(f"{s} {series['untied'] / f'checkpoint-{s}'}\n" for s in STEPS))
    remote = tmp_path / "remote.txt"
    remote.write_text("# step and URL\n" + "".join(f"{s} {base}/untied/checkpoint-{s}\n" for s in STEPS))
    cfg = SeriesConfig(benchmarks=("ws353",), knn_queries=200, cache=str(tmp_path / "cache"))
    scan(local, tmp_path / "a", cfg)
    summary = scan(remote, tmp_path / "b", cfg)
    drop = {"bytes_read"}  # the remote scan also fetched tokenizer.json once; the records are the same
    assert [{k: v for k, v in r.items() if k not in drop} for r in _records(tmp_path / "a")] == [
        {k: v for k, v in r.items() if k not in drop} for r in _records(tmp_path / "b")
    ]
    uv = 2 * 1500 * 32 * 4
    assert summary["bytes_read"] <= 4 * 1.1 * uv  # the URLs' header and the two tensors, nothing else


def test_a_scan_cut_off_mid_tensor_resumes_to_identical_output(series, server, tmp_path, monkeypatch):
    import embedeval.embeddings.ranged as ranged

    base, handler = server
    monkeypatch.setattr(ranged, "CHUNK", 20_000)  # a tensor (192,000 bytes) is ten range requests
    monkeypatch.setattr(ranged, "RETRIES", 1)
    listing = tmp_path / "remote.txt"
    listing.write_text("".join(f"{s} {base}/untied/checkpoint-{s}\n" for s in STEPS))
    whole = SeriesConfig(benchmarks=("ws353",), knn_queries=200, cache=str(tmp_path / "cache-whole"))
    scan(listing, tmp_path / "whole", whole)
    cut = SeriesConfig(benchmarks=("ws353",), knn_queries=200, cache=str(tmp_path / "cache-cut"))
    handler.served, handler.fail_after = 0, 15  # the server goes down in the middle of the first tensors
    with pytest.raises(EmbedevalError):
        scan(listing, tmp_path / "cut", cut)
    partial = list((tmp_path / "cache-cut").rglob("*.part"))
    assert partial and all(p.stat().st_size > 0 for p in partial)  # bytes kept, not thrown away
    handler.fail_after = None
    scan(listing, tmp_path / "cut", cut)  # the same command again
    assert (tmp_path / "cut" / "dynamics.jsonl").read_text() == (tmp_path / "whole" / "dynamics.jsonl").read_text()


def test_a_tied_series_paired_with_an_untied_one_gives_table_3_over_steps(series, tmp_path):
    scan(series["tied"], tmp_path / "pair", CFG, untied=series["untied"])
    records = _records(tmp_path / "pair")
    assert all({"S~U", "S~V", "U~V"} <= set(r["corr"]) for r in records)
    assert all("dS~dU" in r["align"] for r in records[1:])
    meta = json.loads((tmp_path / "pair" / "series.json").read_text())
    assert meta["roles"] == ["S", "U", "V"] and meta["steps"] == list(STEPS)


def test_two_workers_write_what_one_writes(series, tmp_path):
    one = scan(series["untied"], tmp_path / "one", CFG)
    two = scan(series["untied"], tmp_path / "two", SeriesConfig(benchmarks=("ws353",), knn_queries=200, workers=2))
    assert one["steps"] == two["steps"]
    assert (tmp_path / "one" / "dynamics.jsonl").read_bytes() == (tmp_path / "two" / "dynamics.jsonl").read_bytes()


@pytest.mark.slow
def test_ray_writes_what_local_processes_write(series, tmp_path):
    pytest.importorskip("ray")
    scan(series["untied"], tmp_path / "local", CFG)
    scan(series["untied"], tmp_path / "ray", SeriesConfig(benchmarks=("ws353",), knn_queries=200, executor="ray",
                                                           workers=2))  # fmt: skip
    assert (tmp_path / "local" / "dynamics.jsonl").read_bytes() == (tmp_path / "ray" / "dynamics.jsonl").read_bytes()


def test_bad_series_are_one_line(tmp_path):
    with pytest.raises(EmbedevalError, match="no checkpoint-N"):
        discover(tmp_path)
    bad = tmp_path / "list.txt"
    bad.write_text("10 a\n10 b\n")
    with pytest.raises(EmbedevalError, match="listed twice"):
        discover(bad)
    bad.write_text("ten a\n")
    with pytest.raises(EmbedevalError, match="STEP SOURCE"):
        discover(bad)


def test_the_tokenizer_is_found_beside_an_embedeval_run_and_its_absence_is_said(series, tmp_path, monkeypatch, capsys):
    import shutil

    from tests.test_hostile import run_main

    run = tmp_path / "run"
    shutil.copytree(series["untied"], run / "checkpoints", ignore=shutil.ignore_patterns("tokenizer.json"))
    bare = scan(run / "checkpoints", tmp_path / "bare", CFG)
    assert bare["words"] == 0  # nothing names the rows: no scores, and the command says so
    code, _, err = run_main(["series", str(run / "checkpoints"), "--out", str(tmp_path / "bare2"), "-b", "ws353"],
                            monkeypatch, capsys)  # fmt: skip
    assert code == 0 and "no tokenizer was found" in err and "--tokenizer" in err
    (run / "model").mkdir()
    shutil.copy(series["untied"] / "checkpoint-0" / "tokenizer.json", run / "model")  # `train hf-gpt2`'s layout
    found = scan(run / "checkpoints", tmp_path / "named", CFG)
    assert found["words"] > 0 and "ws353" in _records(tmp_path / "named")[-1]["scores"]


def test_a_failing_step_on_ray_is_its_own_one_line_error(tmp_path):
    """A step's EmbedevalError raised in a Ray worker comes back as itself, not as Ray's traceback of it."""
    pytest.importorskip("ray")
    from tests.test_hostile_models import model
    from tests.test_hostile_series import nan_rows
    from tests.test_hostile_series import series as make_series

    make_series(model(), steps=(10, 20))(tmp_path / "ser")
    nan_rows(tmp_path / "ser" / "checkpoint-40")
    with pytest.raises(EmbedevalError, match="step 40: S has 2 rows with NaN") as caught:
        scan(tmp_path / "ser", tmp_path / "out", SeriesConfig(benchmarks=("rg65",), executor="ray", workers=2))
    assert "ray::" not in str(caught.value) and "Traceback" not in str(caught.value)

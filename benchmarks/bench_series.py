"""A checkpoint series at a real size, served over the loopback: a Pythia-1.4b-shaped model (U and V 50,304 x 2,048
fp16, untied, and 2.4 GB of other weights per checkpoint, stored as a hole in a sparse file so the disk holds only
U and V) at 10 steps. Prints the bytes read per step against the checkpoint's size and against U+V, the seconds
per step with 1 and with 2 workers (each with an empty cache, so every byte crosses the loopback), and the speed-up.

    python benchmarks/bench_series.py                 # 10 steps, 1 and 2 workers
    python benchmarks/bench_series.py --steps 4 --rows 8192 --width 512   # a quick check

Targets (issue: checkpoint series): bytes read per step <= 1.1x U+V; 2 workers >= 1.7x one on an idle 2-core machine.
"""

from __future__ import annotations

import argparse
import datetime
import http.server
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

OTHER_BYTES = 2_400_000_000  # the rest of a 1.4B-parameter fp16 checkpoint, never read


def build(root: Path, steps: int, rows: int, width: int) -> None:
    """checkpoint-N/ folders: config.json and a model.safetensors of U, V and a large hole of other weights."""
    rng = np.random.default_rng(0)
    u = (rng.standard_normal((rows, width), dtype=np.float32) * 0.02).astype(np.float16)
    v = (rng.standard_normal((rows, width), dtype=np.float32) * 0.02).astype(np.float16)
    size = rows * width * 2
    other = OTHER_BYTES // 2
    for step in range(steps):
        folder = root / f"checkpoint-{step * 1000}"
        folder.mkdir(parents=True)
        (folder / "config.json").write_text(json.dumps({"model_type": "gpt_neox", "architectures":
                                                        ["GPTNeoXForCausalLM"], "tie_word_embeddings": False}))  # fmt: skip
        u += (rng.standard_normal((rows, width), dtype=np.float32) * 0.002).astype(np.float16)
        v += (rng.standard_normal((rows, width), dtype=np.float32) * 0.004).astype(np.float16)
        header = {"gpt_neox.embed_in.weight": {"dtype": "F16", "shape": [rows, width], "data_offsets": [0, size]},
                  "embed_out.weight": {"dtype": "F16", "shape": [rows, width], "data_offsets": [size, 2 * size]},
                  "gpt_neox.layers.weight": {"dtype": "F16", "shape": [other], "data_offsets": [2 * size, 2 * size + 2 * other]}}  # fmt: skip
        raw = json.dumps(header).encode()
        raw += b" " * (-len(raw) % 8)
        with open(folder / "model.safetensors", "wb") as handle:
            handle.write(len(raw).to_bytes(8, "little") + raw + u.tobytes() + v.tobytes())
            handle.truncate(8 + len(raw) + 2 * size + 2 * other)  # the other weights: a hole, never read


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_HEAD(self):
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(path.stat().st_size))
        self.send_header("ETag", f'"{path.stat().st_mtime_ns}"')
        self.end_headers()

    def do_GET(self):
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        total = path.stat().st_size
        start, end = 0, total - 1
        if self.headers.get("Range"):
            a, b = self.headers["Range"].removeprefix("bytes=").split("-")
            start, end = int(a), (int(b) if b else total - 1)
        with open(path, "rb") as handle:
            handle.seek(start)
            body = handle.read(end - start + 1)
        self.send_response(206 if self.headers.get("Range") else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rows", type=int, default=50_304)
    parser.add_argument("--width", type=int, default=2_048)
    args = parser.parse_args()
    from embedeval.dynamics.series import SeriesConfig, scan

    work = Path(tempfile.mkdtemp(prefix="bench-series-"))
    try:
        build(work / "model", args.steps, args.rows, args.width)
        root = str(work)

        class Serve(Handler):
            def __init__(self, *a, **k):
                super().__init__(*a, directory=root, **k)

        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Serve)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{httpd.server_address[1]}"
        listing = work / "series.txt"
        listing.write_text("".join(f"{s * 1000} {base}/model/checkpoint-{s * 1000}\n" for s in range(args.steps)))
        checkpoint = (work / "model" / "checkpoint-0" / "model.safetensors").stat().st_size
        uv = 2 * args.rows * args.width * 2
        print(f"[{datetime.date.today()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start] "
              f"{args.steps} steps of {args.rows:,} x {args.width:,} fp16, untied; checkpoint {checkpoint / 2**30:.2f} "
              f"GB, U+V {uv / 2**20:.0f} MB")  # fmt: skip
        seconds = {}
        for workers in (1, 2):
            cfg = SeriesConfig(benchmarks=("ws353",), workers=workers, cache=str(work / f"cache-{workers}"))
            started = time.perf_counter()
            summary = scan(listing, work / f"out-{workers}", cfg)
            seconds[workers] = time.perf_counter() - started
            per_step = summary["bytes_read"] / args.steps
            print(f"{workers} worker(s): {seconds[workers]:.1f} s, {seconds[workers] / args.steps:.1f} s per step; "
                  f"bytes read per step {per_step / 2**20:.1f} MB = {per_step / uv:.3f}x U+V = "
                  f"{per_step / checkpoint:.3f}x the checkpoint")  # fmt: skip
        same = (work / "out-1" / "dynamics.jsonl").read_bytes() == (work / "out-2" / "dynamics.jsonl").read_bytes()
        print(f"speed-up from 1 to 2 workers: {seconds[1] / seconds[2]:.2f}x (target >= 1.7x idle); identical "
              f"records: {same}")  # fmt: skip
        httpd.shutdown()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

"""Data-parallel training under torchrun (Gloo, 2 CPU processes) trains the same model as one process."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from embedeval.layout import CHECKPOINT
from embedeval.train.base import load_checkpoint as load_any_checkpoint
from embedeval.train.lm import load_checkpoint
from embedeval.train.nmt import CHECKPOINT_KEYS as NMT_CHECKPOINT_KEYS

TRAIN = ["train", "lm", "--corpus", "builtin", "--epochs", "1", "--max-batches", "20", "--threads", "1"]


def cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "embedeval", *args], capture_output=True, text=True, timeout=timeout, env=os.environ
    )


def max_difference(a: Path, b: Path) -> float:
    wa, wb = load_checkpoint(a / CHECKPOINT)["model"], load_checkpoint(b / CHECKPOINT)["model"]
    assert wa.keys() == wb.keys()
    return max((wa[k] - wb[k]).abs().max().item() for k in wa)


@pytest.mark.parametrize(
    "args, bound",
    [
        (
            ["--arch", "transformer", "--config", "tf-tiny", "--variant", "wt", "--optimizer", "sgd", "--lr", "0.5"],
            1e-5,
        ),
        # AdamW divides by the root of the squared gradient: where a gradient nearly cancels, the last-bit
        # difference of a sum taken in two halves moves that weight by up to lr; the bound is looser for that reason
        (["--arch", "transformer", "--config", "tf-tiny", "--variant", "untied"], 2e-4),
    ],
    ids=["transformer-tied-sgd", "transformer-untied-adamw"],  # the LSTM: the two tests below
)
def test_two_processes_train_the_weights_of_one(tmp_path, args, bound):
    one = cli(*TRAIN, *args, "--out", str(tmp_path / "one"))
    assert one.returncode == 0, one.stderr
    two = cli(*TRAIN, *args, "--out", str(tmp_path / "two"), "--nproc", "2")
    assert two.returncode == 0, two.stderr[-3000:]
    assert max_difference(tmp_path / "one", tmp_path / "two") < bound
    assert "processes" in (tmp_path / "two" / "summary.json").read_text()
    assert not list(tmp_path.glob("two/*.tmp"))


def test_a_batch_that_does_not_split_is_refused(tmp_path):
    result = cli(*TRAIN, "--config", "tiny", "--batch-size", "7", "--out", str(tmp_path / "r"), "--nproc", "2")
    assert result.returncode == 2
    assert "does not split evenly over 2 processes" in result.stderr


def test_two_processes_then_one_train_the_lstm_of_one(tmp_path):
    """An epoch under two processes gives the weights of one process; a resume with one process continues it."""
    base = ["train", "lm", "--corpus", "builtin", "--config", "tiny", "--max-batches", "15", "--threads", "1"]
    for name, nproc in (("one", []), ("two", ["--nproc", "2"])):
        first = cli(*base, "--epochs", "1", "--out", str(tmp_path / name), *nproc)
        assert first.returncode == 0, first.stderr[-3000:]
        shutil.copytree(tmp_path / name, tmp_path / f"{name}-epoch1")
    # a gradient summed in two halves differs in the last bits, and SGD at lr 1 carries that into the weights: 1.5e-5
    # after these 15 steps; without the averaging (each rank trains on its half alone) the difference is 1.1
    assert max_difference(tmp_path / "one-epoch1", tmp_path / "two-epoch1") < 1e-4
    assert "processes" in (tmp_path / "two" / "summary.json").read_text()
    assert not list(tmp_path.glob("two/*.tmp"))
    for name in ("one", "two"):  # one process for the second epoch of both
        resumed = cli(*base, "--epochs", "2", "--out", str(tmp_path / name), "--resume")
        assert resumed.returncode == 0, resumed.stderr
    # the same training up to float rounding (the two-process epoch differs in the last bits, and 15 more SGD steps
    # at lr 1 magnify that): close, not bit-equal
    assert max_difference(tmp_path / "one", tmp_path / "two") < 1e-3
    assert '"epoch": 2' in (tmp_path / "two" / "metrics.jsonl").read_text()


def test_a_rank_that_dies_ends_the_job_with_one_line_and_the_checkpoint_resumes(tmp_path):
    out = tmp_path / "run"
    args = ["train", "lm", "--corpus", "builtin", "--config", "tiny", "--max-batches", "40", "--epochs", "50",
            "--threads", "1"]  # fmt: skip
    job = subprocess.Popen(
        [sys.executable, "-m", "embedeval", *args, "--out", str(out), "--nproc", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    while time.time() < deadline and not (out / CHECKPOINT).exists():
        time.sleep(0.5)
    assert (out / CHECKPOINT).exists(), "no epoch checkpoint within two minutes"
    found = subprocess.run(["pgrep", "-af", "--", f"--out {out}$"], capture_output=True, text=True).stdout.splitlines()
    pids = [int(line.split()[0]) for line in found if "torch.distributed.run" not in line and "--nproc" not in line]
    assert len(pids) == 2, found  # the two training processes (not the launcher, not torchrun's agent)
    os.kill(max(pids), signal.SIGKILL)  # one training process dies mid-epoch
    _, err = job.communicate(timeout=120)
    assert job.returncode == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: ") and "continue with --resume" in last
    state = load_checkpoint(out / CHECKPOINT)  # intact, and loadable
    assert state["epoch"] >= 1 and torch.is_tensor(state["torch_rng"])
    resumed = cli(*args[:8], "--epochs", str(state["epoch"] + 1), "--threads", "1", "--out", str(out), "--resume")
    assert resumed.returncode == 0, resumed.stderr


def test_two_processes_train_the_translation_model_of_one(tmp_path):
    """train nmt under torchrun: each batch's pairs are shared out, the loss is divided by the whole batch's tokens."""
    src, tgt = tmp_path / "s.en", tmp_path / "s.de"
    src.write_text("".join(f"a man walks his dog number {i % 9}\n" for i in range(300)), encoding="utf-8")
    tgt.write_text("".join(f"ein mann führt seinen hund nummer {i % 9}\n" for i in range(300)), encoding="utf-8")
    args = ["train", "nmt", "--train-files", str(src), str(tgt), "--config", "nmt-tiny", "--vocab-size", "60",
            "--tie", "decoder", "--epochs", "1", "--max-batches", "20", "--max-eval-sentences", "5", "--threads", "1"]  # fmt: skip
    one = cli(*args, "--out", str(tmp_path / "one"))
    assert one.returncode == 0, one.stderr
    two = cli(*args, "--out", str(tmp_path / "two"), "--nproc", "2")
    assert two.returncode == 0, two.stderr[-3000:]
    wa = load_any_checkpoint(tmp_path / "one" / CHECKPOINT, NMT_CHECKPOINT_KEYS)["model"]
    wb = load_any_checkpoint(tmp_path / "two" / CHECKPOINT, NMT_CHECKPOINT_KEYS)["model"]
    for key in wa:
        diff = (wa[key] - wb[key]).abs()
        if key.endswith("kv.bias"):
            # the key half of the bias adds one constant to every score of a query, which softmax ignores: its exact
            # gradient is zero, AdamW turns the rounding noise there into lr-sized steps that change no output
            diff = diff[diff.numel() // 2 :]  # the value half only
        assert diff.max() < 1e-5, key
    assert "processes" in (tmp_path / "two" / "summary.json").read_text()
    longer = list(args)
    longer[longer.index("--epochs") + 1] = "2"
    resumed = cli(*longer, "--out", str(tmp_path / "two"), "--resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]  # one process continues what two started
    assert '"epoch": 2' in (tmp_path / "two" / "metrics.jsonl").read_text()


def test_a_tracked_run_under_two_processes_records_what_one_process_records(tmp_path):
    """Rank 0 records; the gradient split is of the gradient averaged over the processes (the one the step used).
    The tracked tied LSTM also trains the weights of one process (this is that variant's case of the test above)."""
    import json

    args = [*TRAIN, "--config", "tiny", "--variant", "wt", "--track", "--track-every", "5"]
    one = cli(*args, "--out", str(tmp_path / "one"))
    assert one.returncode == 0, one.stderr
    two = cli(*args, "--out", str(tmp_path / "two"), "--nproc", "2")
    assert two.returncode == 0, two.stderr[-3000:]
    a, b = ([json.loads(line) for line in (tmp_path / run / "dynamics.jsonl").read_text().splitlines()]
            for run in ("one", "two"))  # fmt: skip
    assert max_difference(tmp_path / "one", tmp_path / "two") < 1e-5
    assert [r["step"] for r in a] == [r["step"] for r in b] == list(range(0, 21, 5))
    for ra, rb in zip(a[1:], b[1:]):
        assert abs(ra["drift"]["S"] - rb["drift"]["S"]) < 1e-4
        assert ra["grad"]["S"]["sampled_steps"] == rb["grad"]["S"]["sampled_steps"] > 0
        assert abs(ra["grad"]["S"]["share_out"] - rb["grad"]["S"]["share_out"]) < 1e-4

"""The trainer keeps freed memory: the arrays a step frees and allocates again stop being faulted in page by page."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from embedeval.train.memory import keep_freed_memory

# a few pw-small steps (PTB's vocabulary size: the gradients of U and V are 8 MB each) in a fresh process; prints the
# minor page faults per step. "off" trains as before this module existed
TRAIN = """
import resource, sys, tempfile
import numpy as np, torch
import embedeval.train.lm as lm
from embedeval.data.corpus import Vocab
from embedeval.rundir import RunDir
from embedeval.train.lm_config import make_config
if sys.argv[1] == "off":
    lm.keep_freed_memory = lambda: False
cfg = make_config("pw-small", "untied", epochs=1, max_batches=12, threads=1, max_eval_tokens=10)
ids = torch.from_numpy(np.random.default_rng(0).integers(0, 10000, size=cfg.batch_size * cfg.bptt * 14))
data = lm.LMData(Vocab([f"w{i}" for i in range(10000)], np.ones(10000, dtype=np.int64)), ids, ids[:200], ids[:200])
with RunDir.create(tempfile.mkdtemp()) as run:
    trainer = lm.LMTrainer(cfg, data, run)
    steps = trainer.steps()
    for _ in range(4):
        next(steps)  # the first steps allocate what the later ones reuse
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(6):
        next(steps)
    print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 6)
"""


def _faults_per_step(mode: str) -> float:
    done = subprocess.run([sys.executable, "-c", TRAIN, mode], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return float(done.stdout.split()[-1])


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_a_trainer_step_reuses_freed_memory_instead_of_faulting_it_in_again():
    kept, given_back = _faults_per_step("on"), _faults_per_step("off")
    assert given_back > 2_000  # two 8 MB gradients alone are 3,900 pages when they go back to the system each step
    assert kept < given_back / 5


def test_it_is_done_once_per_process_and_says_whether_it_was():
    assert keep_freed_memory() is keep_freed_memory()
    assert isinstance(keep_freed_memory(), bool)

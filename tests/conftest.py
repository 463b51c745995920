import os
import sys
from pathlib import Path

if "PYTEST_XDIST_WORKER" in os.environ:
    # one thread per test process (and the commands it starts): pytest-xdist already runs one process per core,
    # and torch's default of one thread per core in each would oversubscribe them
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import numpy as np
import pytest

from embedeval.embeddings import Embedding

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def data_dir() -> Path:
    """The shared data directory (CI sets EMBEDEVAL_DATA); tests that need it skip without it."""
    value = os.environ.get("EMBEDEVAL_DATA") or str(ROOT.parent / "shared" / "data")
    if not Path(value, "similarity").is_dir():
        pytest.skip("no data directory (set EMBEDEVAL_DATA)")
    return Path(value)


@pytest.fixture
def small_embedding() -> Embedding:
    rng = np.random.default_rng(0)
    words = ["tiger", "cat", "dog", "car", "automobile", "money", "cash", "bank", "river", "water"]
    return Embedding(words, rng.normal(size=(len(words), 8)), name="small")


@pytest.fixture
def toy_corpus(tmp_path):
    """A 40-word corpus with train/valid/test files: language models train on it in a second."""
    from embedeval.data.corpus import resolve_corpus

    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(40)]
    lines = [" ".join(rng.choice(words, size=rng.integers(3, 12))) for _ in range(400)]
    folder = tmp_path / "toy"
    folder.mkdir()
    for split, part in (("train", lines[:300]), ("valid", lines[300:350]), ("test", lines[350:])):
        (folder / f"{split}.txt").write_text("\n".join(part) + "\n")
    return resolve_corpus(folder)


def run_cli(*args: str) -> tuple[int, str, str]:
    """Run the embedeval CLI in a subprocess: (exit code, stdout, stderr)."""
    import subprocess

    proc = subprocess.run(
        [sys.executable, "-m", "embedeval.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    return proc.returncode, proc.stdout, proc.stderr

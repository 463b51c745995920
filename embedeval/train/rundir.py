"""The run directory every trainer writes (documented in the README).

RUN_DIR/config.json          full config, seed, package versions, corpus name + sha256, command line
RUN_DIR/vocab.tsv            word <tab> count
RUN_DIR/embeddings/<role>.npz  input / output / tied (+ projection): words, vectors, bias where present
RUN_DIR/metrics.jsonl        one JSON object per logged step or epoch
RUN_DIR/summary.json         final numbers, and "status": "complete" | "incomplete"
"""

from __future__ import annotations

import datetime
import json
import platform
import shutil
import sys
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

import embedeval
from embedeval.embeddings.embedding import Embedding
from embedeval.embeddings.formats import write
from embedeval.errors import EmbedevalError


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "embedeval": embedeval.__version__}
    for name in ("torch", "gensim", "numpy", "scipy"):
        module = sys.modules.get(name)
        if module is None:
            try:
                module = __import__(name)
            except ImportError:
                continue
        versions[name] = getattr(module, "__version__", "?")
    return versions


def _jsonable(value: Any) -> Any:
    if is_dataclass(value):
        return asdict(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class RunDir:
    """A folder holding one training run."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @classmethod
    def create(cls, path: str | Path, overwrite: bool = False) -> RunDir:
        """A fresh run directory; refuses a non-empty folder unless ``overwrite``."""
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise EmbedevalError("--out exists and is not a folder", path)
        if path.is_dir() and any(path.iterdir()):
            if not overwrite:
                raise EmbedevalError(
                    "--out is not empty; pass --overwrite to replace it (or --resume to continue)", path
                )
            shutil.rmtree(path)
        try:
            (path / "embeddings").mkdir(parents=True, exist_ok=True)
            probe = path / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as err:
            raise EmbedevalError(f"cannot write to --out ({err.strerror})", path) from None
        return cls(path)

    def write_json(self, name: str, data: dict[str, Any]) -> Path:
        target = self.path / name
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.write_text(json.dumps(data, indent=2, default=_jsonable) + "\n")
        tmp.replace(target)  # atomic: a crash never leaves half a file
        return target

    def read_json(self, name: str) -> dict[str, Any]:
        target = self.path / name
        if not target.is_file():
            raise EmbedevalError(f"run directory has no {name}", self.path)
        return json.loads(target.read_text())

    def write_config(self, config: Any, trainer: str, corpus: dict[str, Any], argv: list[str] | None = None) -> None:
        self.write_json(
            "config.json",
            {
                "trainer": trainer,
                "config": config,
                "corpus": corpus,
                "versions": package_versions(),
                "command": " ".join(argv if argv is not None else sys.argv),
                "created": datetime.datetime.now().isoformat(timespec="seconds"),
            },
        )

    def check_resume_config(self, config: Any, may_change: tuple[str, ...] = ("threads", "device", "epochs")) -> None:
        """Refuse to resume with settings other than the run's own: the checkpoint would silently continue under
        a different lr, schedule or loss. Threads and device change no result; more epochs extend the run."""
        stored = self.read_json("config.json") if (self.path / "config.json").is_file() else {}
        saved = stored.get("config")
        if not saved:
            return
        now = json.loads(json.dumps(config, default=_jsonable))  # compare as stored: lists, not tuples
        differ = [
            f"{key} {now[key]!r} (the run has {saved[key]!r})"
            for key in now
            if key in saved and key not in may_change and now[key] != saved[key]
        ]
        if differ:
            raise EmbedevalError(
                f"--resume with settings that differ from the run's config.json: {'; '.join(differ)}. Resume with "
                f"the run's own settings (it was started with: {stored.get('command', '')}); only {', '.join(may_change)} may change",
                self.path,
            )

    def log(self, record: dict[str, Any]) -> None:
        with open(self.path / "metrics.jsonl", "a") as handle:
            handle.write(json.dumps(record, default=_jsonable) + "\n")

    def metrics(self) -> list[dict[str, Any]]:
        target = self.path / "metrics.jsonl"
        if not target.is_file():
            return []
        return [json.loads(line) for line in target.read_text().splitlines() if line.strip()]

    def save_embedding(self, role: str, emb: Embedding) -> Path:
        target = self.path / "embeddings" / f"{role}.npz"
        tmp = target.with_name(f".{role}.tmp.npz")
        write(emb.derive(role=role if role in ("input", "output", "tied", "projection") else emb.role), tmp, "npz")
        tmp.replace(target)
        return target

    def summary(self, status: str, **values: Any) -> None:
        data = self.read_json("summary.json") if (self.path / "summary.json").is_file() else {}
        data.update(values)
        data["status"] = status
        data["updated"] = datetime.datetime.now().isoformat(timespec="seconds")
        self.write_json("summary.json", data)

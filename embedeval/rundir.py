"""Reading and writing run and track directories (the layouts are named in :mod:`embedeval.layout`, documented in
docs/methods.md): the claim on the folder, config, metrics, summary, embeddings, package versions."""

from __future__ import annotations

import datetime
import json
import platform
import sys
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

import embedeval
from embedeval.embeddings.embedding import Embedding
from embedeval.embeddings.formats import write
from embedeval.errors import EmbedevalError
from embedeval.files import OutputDir, atomic_write, atomic_write_json
from embedeval.layout import (
    CONFIG,
    EMBEDDINGS,
    METRICS,
    SCHEMA,
    SUMMARY,
)


def model_name(trainer: str | None, config: dict[str, Any]) -> str:
    """The one name of a run's model, from its trainer and config (``lstm-wt``, ``transformer-untied``,
    ``sgns-gensim``, ``sgns-torch-tied`` ...): written into every exported embedding and shown in reports."""
    if trainer == "lm":
        return f"{config.get('arch', 'lstm')}-{config.get('variant', '?')}"
    if trainer == "nmt":
        return f"nmt-{config.get('tie', '?')}"
    if trainer == "skipgram":
        name = f"sgns-{config.get('backend', '?')}"
        if config.get("model") == "fasttext":
            name += "-fasttext"
        return name + ("-tied" if config.get("tie") else "")
    return "unknown"


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


def _command(argv: list[str]) -> str:
    """The command line as a user would type it: ``python -m embedeval`` and the installed script both show as
    ``embedeval`` (sys.argv[0] is a machine path to __main__.py or to the script)."""
    if argv and Path(argv[0]).name in ("__main__.py", "embedeval"):
        argv = ["embedeval", *argv[1:]]
    return " ".join(argv)


class RunDir:
    """A folder holding one training run.

    Made by :meth:`create` it holds a claim on the folder (see :class:`embedeval.files.OutputDir`): when it
    replaces an old run (``--overwrite``), it writes into a staging folder until :meth:`publish`, which the
    trainers call once their inputs are validated and training has started. Use it as a context manager so that
    the claim is released (and an unpublished staging folder removed) whatever happens.
    """

    def __init__(self, path: str | Path, claim: OutputDir | None = None, parent: OutputDir | None = None):
        self._path = Path(path)
        self._claim = claim
        self._parent = parent  # a run inside a track folder: it moves with that folder

    @property
    def path(self) -> Path:
        if self._parent is not None:
            return self._parent.path / self._path.name
        return self._claim.path if self._claim is not None else self._path

    @classmethod
    def inside(cls, parent: OutputDir, name: str) -> RunDir:
        """A fresh run folder ``name`` inside a claimed track folder (published together with it)."""
        run = cls(name, parent=parent)
        (run.path / EMBEDDINGS).mkdir(parents=True, exist_ok=True)
        return run

    @classmethod
    def create(cls, path: str | Path, overwrite: bool = False) -> RunDir:
        """A fresh run directory; refuses a non-empty folder unless ``overwrite`` and it is a run of ours."""
        claim = OutputDir(path, "run", overwrite)
        try:
            (claim.path / EMBEDDINGS).mkdir(exist_ok=True)
        except OSError as err:
            claim.release(ok=False)
            raise EmbedevalError(f"cannot write to --out ({err.strerror})", path) from None
        return cls(path, claim)

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        """An existing run, claimed for writing (``--resume``)."""
        if not Path(path).is_dir():
            raise EmbedevalError("nothing to resume: the folder does not exist", path)
        return cls(path, OutputDir(path, "run", exist_ok=True))

    def publish(self) -> None:
        for claim in (self._claim, self._parent):
            if claim is not None:
                claim.publish()

    def close(self, ok: bool = True) -> None:
        if self._claim is not None:
            self._claim.release(ok)

    def __enter__(self) -> RunDir:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.close(ok=exc_type is None)

    def write_json(self, name: str, data: dict[str, Any]) -> Path:
        return atomic_write_json(self.path / name, data, default=_jsonable)

    def read_json(self, name: str) -> dict[str, Any]:
        target = self.path / name
        if not target.is_file():
            raise EmbedevalError(f"run directory has no {name}", self.path)
        try:
            data = json.loads(target.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise EmbedevalError(f"damaged run file ({err}); start the run again with --overwrite", target) from None
        if not isinstance(data, dict):
            raise EmbedevalError("damaged run file (not a JSON object); start the run again with --overwrite", target)
        return data

    def write_config(self, config: Any, trainer: str, corpus: dict[str, Any], argv: list[str] | None = None) -> None:
        self.write_json(
            CONFIG,
            {
                "schema": SCHEMA,
                "trainer": trainer,
                "config": config,
                "corpus": corpus,
                "versions": package_versions(),
                "command": _command(argv if argv is not None else sys.argv),
                "created": datetime.datetime.now().isoformat(timespec="seconds"),
            },
        )

    def check_resume_config(
        self, config: Any, may_change: tuple[str, ...] = ("threads", "device", "epochs"), unused: tuple[str, ...] = ()
    ) -> None:
        """Refuse to resume with settings other than the run's own: the checkpoint would silently continue under
        a different lr, schedule or loss. Threads and device change no result; more epochs extend the run; fields
        the run never reads (``unused``) change nothing either."""
        stored = self.read_json(CONFIG) if (self.path / CONFIG).is_file() else {}
        saved = stored.get("config")
        if not saved:
            return
        now = json.loads(json.dumps(config, default=_jsonable))  # compare as stored: lists, not tuples
        differ = [
            f"{key} {now[key]!r} (the run has {saved[key]!r})"
            for key in now
            if key in saved and key not in may_change and key not in unused and now[key] != saved[key]
        ]
        if differ:
            raise EmbedevalError(
                f"--resume with settings that differ from the run's config.json: {'; '.join(differ)}. Resume with "
                f"the run's own settings (it was started with: {stored.get('command', '')}); only {', '.join(may_change)} may change",
                self.path,
            )

    def log(self, record: dict[str, Any]) -> None:
        """Add one epoch's record; a record for an epoch already logged (a run resumed from an older checkpoint)
        replaces it and everything after it, so every epoch appears once."""
        kept = self.metrics()
        if "epoch" in record:
            kept = [r for r in kept if r.get("epoch", 0) < record["epoch"]]
        lines = "".join(json.dumps(r, default=_jsonable) + "\n" for r in [*kept, record])
        atomic_write(self.path / METRICS, lambda tmp: tmp.write_text(lines, encoding="utf-8"))

    def metrics(self) -> list[dict[str, Any]]:
        target = self.path / METRICS
        if not target.is_file():
            return []
        records = []
        for line in target.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                break  # a line cut by a kill (files written before writes were atomic)
        return records

    def save_embedding(self, role: str, emb: Embedding) -> Path:
        target = self.path / EMBEDDINGS / f"{role}.npz"
        write(
            emb.derive(role=role if role in ("source", "input", "output", "tied", "projection") else emb.role),
            target,
            "npz",
        )
        return target

    def summary(self, status: str, **values: Any) -> None:
        data = self.read_json(SUMMARY) if (self.path / SUMMARY).is_file() else {}
        data.update(values)
        data["status"] = status
        data["schema"] = SCHEMA
        data["updated"] = datetime.datetime.now().isoformat(timespec="seconds")
        self.write_json(SUMMARY, data)

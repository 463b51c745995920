"""Reading and writing run and track directories (the layouts are named in :mod:`embedeval.layout`, documented in
docs/methods.md): the claim on the folder, config, metrics, summary, embeddings, package versions."""

from __future__ import annotations

import datetime
import json
import math
import platform
import sys
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embedeval.embeddings.embedding import Embedding
from embedeval.embeddings.formats import write
from embedeval.errors import EmbedevalError
from embedeval.files import OutputDir, atomic_write, atomic_write_json, parse_json, read_json_file
from embedeval.layout import (
    CONFIG,
    EMBEDDINGS,
    METRICS,
    ROLE_ORDER,
    SCHEMA,
    SUMMARY,
)
from embedeval.version import __version__

# --- reading run, track and report files: the one reader, so a damaged file is one line naming it everywhere ---

_SHAPES = {CONFIG: {"config": dict, "trainer": str, "corpus": dict, "command": str},
           SUMMARY: {"status": str, "error": str}}  # fmt: skip


def read_run_file(path: str | Path, what: str = "run file") -> dict[str, Any] | None:
    """A run's (or track's, or report's) JSON file as a dict, None when absent; a damaged one (not JSON, not an
    object, nested too deeply, a field of the wrong type) is a one-line :class:`EmbedevalError` naming it."""
    path = Path(path)
    if not path.exists():
        return None
    data = read_json_file(path, what=what)
    for key, kind in _SHAPES.get(path.name, {}).items():
        if key in data and not isinstance(data[key], kind):
            raise EmbedevalError(
                f"damaged {what} ({key!r} is a {type(data[key]).__name__}, not a {kind.__name__})", path
            )
    return data


def finite(value: Any) -> float | None:
    """``value`` as a finite float (a perplexity, a BLEU), else None: a string, NaN or Infinity is no result."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


SUMMARY_NUMBERS = ("valid_ppl", "test_ppl", "valid_bleu", "test_bleu", "unique_parameters", "state_dict_entries")


def checked_summary(summary: dict[str, Any], path: str | Path) -> tuple[dict[str, Any], list[str]]:
    """``summary`` without the result fields that are not finite numbers (a string, NaN, Infinity), and a line
    naming each one left out: such a run has no result to show or average."""
    kept, problems = dict(summary), []
    for key in SUMMARY_NUMBERS:
        if key in kept and finite(kept[key]) is None:
            problems.append(f"{Path(path).name}: {key} is {kept.pop(key)!r}, not a finite number (left out)")
    return kept, problems


def read_metrics(path: str | Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The records of a ``metrics.jsonl`` (or ``dynamics.jsonl``) and the problems met: a damaged line (cut by a
    kill, not UTF-8, not an object) is skipped and named."""
    path = Path(path)
    if not path.is_file():
        return [], []
    records, problems = [], []
    for number, raw in enumerate(path.read_bytes().splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            records.append(parse_json(raw, f"{path}:{number}", dict, "record"))
        except EmbedevalError as err:
            problems.append(f"{path.name} line {number} is damaged ({err.message}; skipped)")
    return records, problems


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "embedeval": __version__}
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
    def create(cls, path: str | Path, overwrite: bool = False, inputs: tuple[str | Path, ...] = ()) -> RunDir:
        """A fresh run directory; refuses a non-empty folder unless ``overwrite`` and it is a run of ours, and any
        folder that holds one of the run's ``inputs`` (its corpus files)."""
        claim = OutputDir(path, "run", overwrite, inputs=inputs)
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
        data = read_run_file(self.path / name)
        if data is None:
            raise EmbedevalError(f"run directory has no {name}", self.path)
        return data

    def stored_config(self) -> dict[str, Any]:
        """The settings config.json holds ({} when it has none or is unreadable: check_resume_config says why)."""
        try:
            saved = read_run_file(self.path / CONFIG)
        except EmbedevalError:
            return {}
        config = (saved or {}).get("config")
        return config if isinstance(config, dict) else {}

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

    def ensure_config(self, config: Any, trainer: str) -> None:
        """A run started from Python (not the CLI) gets its config.json too, so it can be resumed and compared like
        any other; the CLI has written a fuller one (corpus, command line) before training starts."""
        if not (self.path / CONFIG).exists():
            self.write_config(config, trainer, {}, ["embedeval.train from Python (no command line)"])

    def check_resume_config(
        self, config: Any, may_change: tuple[str, ...] = ("threads", "device", "epochs"), unused: tuple[str, ...] = ()
    ) -> None:
        """Refuse to resume with settings other than the run's own: the checkpoint would silently continue under
        a different lr, schedule or loss. Threads and device change no result; more epochs extend the run; fields
        the run never reads (``unused``) change nothing either."""
        if not (self.path / CONFIG).is_file():
            raise EmbedevalError(
                "cannot --resume: the run has no config.json, so its settings cannot be checked against these; "
                "start it again with --overwrite",
                self.path,
            )
        stored = self.read_json(CONFIG)
        saved = stored.get("config")
        if not saved:
            raise EmbedevalError(
                "cannot --resume: config.json holds no settings; start it again with --overwrite", self.path
            )
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

    def check_resume_corpus(self, corpus: dict[str, Any]) -> None:
        """Refuse to resume on other text than the run was trained on (by the sha256 config.json keeps)."""
        stored = (self.read_json(CONFIG).get("corpus") or {}).get("sha256") or {}
        now = corpus.get("sha256") or {}
        changed = [name for name in stored if name in now and now[name] != stored[name]]
        missing = [name for name in stored if name not in now]
        if changed or (stored and missing and len(missing) == len(stored)):
            raise EmbedevalError(
                "--resume with other training text than the run was trained on (sha256 differs for "
                f"{', '.join(changed or missing)}); resume with the run's own files",
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
        return read_metrics(self.path / METRICS)[
            0
        ]  # a damaged line (cut by a kill before writes were atomic) is left out

    def save_embedding(self, role: str, emb: Embedding) -> Path:
        target = self.path / EMBEDDINGS / f"{role}.npz"
        write(
            emb.derive(role=role if role in ROLE_ORDER else emb.role),
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

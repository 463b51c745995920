"""dynamics.jsonl: one JSON object per recorded step, NaN written as null; read back as a list of dicts."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from embedeval.errors import EmbedevalError
from embedeval.files import atomic_write_text
from embedeval.layout import DYNAMICS


def clean(value: Any) -> Any:
    """Plain JSON: numpy scalars to Python, NaN/inf to None, recursively."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def append_record(path: Path, record: dict[str, Any]) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(clean(record)) + "\n")
        fh.flush()


def read_dynamics(path: str | Path) -> list[dict[str, Any]]:
    """Records of a tracked run: ``path`` is the track directory, a run directory, or the jsonl itself."""
    path = Path(path)
    file = path / DYNAMICS if path.is_dir() else path
    if not file.is_file():
        raise EmbedevalError(
            f"no {DYNAMICS} here: track a pair with 'embedeval track' or a run with 'embedeval train ... --track'",
            path,
        )
    records = []
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as err:
            # a run killed mid-write leaves a partial last line: keep everything before it
            if number == len(file.read_text(encoding="utf-8").splitlines()):
                break
            raise EmbedevalError(f"not a JSON record ({err.msg})", file, number) from None
    return records


def truncate_after(path: Path, step: int) -> int:
    """Drop records past ``step`` (a resumed run records them again); returns how many were kept."""
    if not path.is_file():
        return 0
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            if json.loads(line)["step"] <= step:
                kept.append(line)
        except (json.JSONDecodeError, KeyError):
            break
    atomic_write_text(path, "".join(line + "\n" for line in kept))
    return len(kept)

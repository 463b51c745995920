"""Where data lives: the data directory (``EMBEDEVAL_DATA`` or ``--data-dir``) and checksums."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from embedeval.errors import EmbedevalError

ENV_VAR = "EMBEDEVAL_DATA"
HOW_TO_SET = (
    f"set {ENV_VAR}=/path/to/data or pass --data-dir; `embedeval data` lists what goes there and `embedeval "
    "data fetch NAME` downloads it"
)


def data_dir(override: str | Path | None = None, required: bool = False) -> Path | None:
    """The data directory from ``override`` or ``$EMBEDEVAL_DATA``; ``None`` when neither is set."""
    value = str(override) if override is not None else os.environ.get(ENV_VAR)
    if not value:
        if required:
            raise EmbedevalError(f"no data directory is set: {HOW_TO_SET}")
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        origin = "--data-dir" if override is not None else f"{ENV_VAR}={value}"
        relative = ""
        if not path.is_absolute():  # a notebook's kernel runs in notebooks/, not where the user set the variable
            relative = (f" (a relative path is read from the current folder, {Path.cwd()}: give an absolute one, e.g. "
                        f"{ENV_VAR}=$PWD/{value} where you start)")  # fmt: skip
        raise EmbedevalError(f"the data directory ({origin}) does not exist or is not a folder{relative}; {HOW_TO_SET}",
                             path)  # fmt: skip
    return path


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: str | Path, expected: str) -> str:
    """Return the file's sha256, raising a clear error when it is not ``expected``."""
    found = sha256_file(path)
    if found != expected:
        raise EmbedevalError(
            f"checksum mismatch: expected sha256 {expected}, found {found}; the file is not the "
            "known release (replace it, or pass it by path to use it unchecked)",
            path,
        )
    return found

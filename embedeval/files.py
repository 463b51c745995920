"""Writing files and claiming output folders without ever losing the user's work.

* :func:`atomic_write`: every file embedeval writes goes to a temporary name beside its target, is flushed to
  disk and then renamed over the target. A kill, a crash or a full disk leaves the old file or the new one,
  never half of one, and the temporary file is removed when the write fails.
* :class:`OutputDir`: an ``--out`` folder. It is claimed with a lock file, so two processes never write one
  folder. An existing non-empty folder is replaced (``--overwrite``) only when it is recognisably one of ours
  (a run, track or report folder), and only once the new work has started: until :meth:`OutputDir.publish`
  the new output is built in a staging folder beside the target, so a run that fails validation leaves the
  old one untouched. A new or empty ``--out`` is written in place, and a failure before ``publish`` removes
  what was written there, so the corrected command finds the folder as the user left it.
"""

from __future__ import annotations

import datetime
import errno
import json
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from embedeval.errors import EmbedevalError
from embedeval.layout import CONFIG, DYNAMICS, MARKER, RESULTS, TRACK

KINDS = ("run", "track", "report")


class WriteError(EmbedevalError):
    """A file or folder could not be written (full disk, permissions, a name too long); ``errno`` says which."""

    def __init__(self, message: str, path: str | Path | None = None, errno_: int | None = None):
        super().__init__(message, path)
        self.errno = errno_


def _oserror(err: OSError, what: str, path: Path) -> WriteError:
    reason = "the disk is full" if err.errno == errno.ENOSPC else (err.strerror or str(err))
    return WriteError(f"cannot {what} ({reason})", path, err.errno)


def atomic_write(target: str | Path, write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp)`` to fill a temporary file, then move it over ``target`` in one rename."""
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _oserror(err, "create the folder for this file", target) from None
    if target.is_dir():
        raise EmbedevalError("is a folder; give a file name", target)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb") as handle:  # the rename must not reach the disk before the data
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as err:
        _remove_quietly(tmp)
        raise _oserror(err, f"write {target.name}", target) from None
    except BaseException:
        _remove_quietly(tmp)
        raise
    return target


def atomic_write_text(target: str | Path, text: str) -> Path:
    return atomic_write(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def atomic_write_npz(target: str | Path, arrays: dict[str, Any]) -> Path:
    """``np.savez`` to ``target`` (through a handle: given a path, NumPy would append ``.npz`` to the temp name)."""
    import numpy as np

    def save(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)

    return atomic_write(target, save)


def atomic_write_json(target: str | Path, data: Any, indent: int = 2, default: Callable | None = None) -> Path:
    return atomic_write_text(target, json.dumps(data, indent=indent, default=default or str) + "\n")


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def check_regular_file(path: Path, what: str) -> os.stat_result:
    """``path`` as a readable regular file (FIFOs and devices would hang or never end), or a one-line error."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise EmbedevalError(f"{what} does not exist", path) from None
    except OSError as err:
        raise EmbedevalError(f"cannot open the {what} ({err.strerror or err})", path) from None
    if stat.S_ISDIR(info.st_mode):
        raise EmbedevalError(f"expected a {what}, got a folder", path)
    if not stat.S_ISREG(info.st_mode):
        raise EmbedevalError("is not a regular file (a FIFO, device or socket); give a file on disk", path)
    return info


def kind_of(path: str | Path) -> str | None:
    """``run``, ``track`` or ``report`` when ``path`` is a folder embedeval wrote, else None.

    Folders written before the marker existed are recognised by the files only embedeval writes.
    """
    path = Path(path)
    if not path.is_dir():
        return None
    marker = path / MARKER
    if marker.is_file():
        try:
            kind = json.loads(marker.read_text(encoding="utf-8")).get("kind")
        except (OSError, ValueError, AttributeError):
            kind = None
        return kind if kind in KINDS else None
    if (path / TRACK).is_file() and (path / DYNAMICS).is_file():
        return "track"
    config = _json_keys(path / CONFIG)
    if {"trainer", "config", "versions"} <= config:
        return "run"
    if (path / "index.html").is_file() and {"title", "settings", "command"} <= _json_keys(path / RESULTS):
        return "report"
    return None


def _json_keys(path: Path) -> set[str]:
    if not path.is_file() or path.stat().st_size > 64 << 20:
        return set()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return set(data) if isinstance(data, dict) else set()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}.lock"


def _lock_pid(lock: Path) -> int:
    try:
        return int(lock.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def writer_pid(target: str | Path) -> int | None:
    """The process now writing ``target`` (an ``--out`` folder claimed by :class:`OutputDir`), or None."""
    pid = _lock_pid(_lock_path(Path(target)))
    return pid if pid and pid != os.getpid() and _pid_alive(pid) else None


class OutputDir:
    """An output folder claimed for one process; see the module docstring.

    ``path`` is where to write now: the target itself, or the staging folder until :meth:`publish`.
    Use it as a context manager: on an exception before :meth:`publish`, the staging folder (or a target this
    claim created and nothing else wrote into) is removed and the old folder stays as it was.
    """

    def __init__(self, target: str | Path, kind: str, overwrite: bool = False, exist_ok: bool = False):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        self.target = Path(target)
        self.kind = kind
        self.published = False
        self._created = False
        self._fresh = False
        self._lock: Path | None = None
        target = self.target
        if target.exists() and not target.is_dir():
            raise EmbedevalError("--out exists and is not a folder; choose a folder name", target)
        self._claim_lock()  # first: a second process must see "in use", not a half-made folder
        try:
            self._prepare(overwrite, exist_ok)
        except OSError as err:
            self.release(ok=False)
            raise _oserror(err, "write to --out", target) from None
        except BaseException:
            self.release(ok=False)
            raise

    def _prepare(self, overwrite: bool, exist_ok: bool) -> None:
        target, kind = self.target, self.kind
        replacing = target.is_dir() and any(target.iterdir())
        if replacing and not exist_ok:
            found = kind_of(target)
            if not overwrite:
                raise EmbedevalError(
                    "--out is not empty; pass --overwrite to replace it"
                    + (" (or --resume to continue it)" if kind == "run" and found == "run" else ""),
                    target,
                )
            if found is None:
                raise EmbedevalError(
                    "--out is not empty and is not a folder embedeval wrote (no run, track or report files "
                    "inside); --overwrite only replaces those. Choose a new or empty folder",
                    target,
                )
            if found != kind:
                raise EmbedevalError(
                    f"--out holds an embedeval {found} folder, not a {kind} folder; --overwrite only replaces a "
                    f"{kind}. Choose another folder",
                    target,
                )
            self.path = target.parent / f".{target.name}.new-{os.getpid()}"
            if self.path.exists():
                shutil.rmtree(self.path)
            self.path.mkdir()
        else:
            self._created = not target.exists()
            target.mkdir(parents=True, exist_ok=True)
            self.path = target
            # a new or empty folder holds only what this claim writes: until publish, a failure removes it all, so
            # a run refused for bad input leaves nothing that blocks the corrected command. A folder resumed
            # (exist_ok, not empty) is in place from the start.
            self._fresh = not replacing
            self.published = replacing
        if not (self.path / MARKER).exists():
            self._write_marker()

    @property
    def staged(self) -> bool:
        return self.path != self.target

    def _claim_lock(self) -> None:
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise _oserror(err, "create the parent folder of --out", self.target) from None
        lock = _lock_path(self.target)
        for _ in range(2):
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                pid = writer_pid(self.target)
                if pid is not None:
                    raise EmbedevalError(
                        f"another embedeval process (pid {pid}) is writing to this folder; wait for it to finish or "
                        "choose another --out",
                        self.target,
                    ) from None
                _remove_quietly(lock)  # left by a process that no longer runs
                continue
            except OSError as err:
                raise _oserror(err, "claim --out", self.target) from None
            with os.fdopen(fd, "w") as handle:
                handle.write(str(os.getpid()))
            self._lock = lock
            return
        raise EmbedevalError("could not claim --out (a lock file keeps reappearing)", self.target)

    def _write_marker(self) -> None:
        info = {
            "kind": self.kind,
            "created": datetime.datetime.now().isoformat(timespec="seconds"),
            "note": "written by embedeval; --overwrite may replace this folder",
        }
        atomic_write_json(self.path / MARKER, info)

    def publish(self) -> Path:
        """Put the new output in place of the old one (a no-op once done); returns the target."""
        if self.published:
            return self.target
        if not self.staged:
            self.published = True
            return self.target
        old = self.target.parent / f".{self.target.name}.old-{os.getpid()}"
        try:
            os.replace(self.target, old)
            os.replace(self.path, self.target)
        except OSError as err:
            if old.exists() and not self.target.exists():
                os.replace(old, self.target)
            raise _oserror(err, "replace the old --out", self.target) from None
        self.path = self.target
        self.published = True
        shutil.rmtree(old, ignore_errors=True)  # the old folder was checked to be ours before the claim
        return self.target

    def release(self, ok: bool = True) -> None:
        """Drop the lock; after a failure, remove what this claim built that never replaced anything."""
        if not ok:
            if not self.published and getattr(self, "path", None) is not None and self.staged:
                shutil.rmtree(self.path, ignore_errors=True)
            elif not self.published and self._fresh:
                self._remove_own_files()
            elif self._created and self.published and self._only_marker():
                shutil.rmtree(self.target, ignore_errors=True)
        if self._lock is not None:
            _remove_quietly(self._lock)
            self._lock = None

    def _remove_own_files(self) -> None:
        """Undo a fresh claim that never published: the folder if this claim made it, else what it put inside."""
        if self._created:
            shutil.rmtree(self.target, ignore_errors=True)
            return
        try:
            children = list(self.target.iterdir())
        except OSError:
            return
        for child in children:
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                _remove_quietly(child)

    def _only_marker(self) -> bool:
        try:
            return [p.name for p in self.target.iterdir()] in ([MARKER], [])
        except OSError:
            return False

    def __enter__(self) -> OutputDir:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.release(ok=exc_type is None)

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
import fcntl
import hashlib
import json
import os
import re
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from embedeval.errors import EmbedevalError, printable
from embedeval.layout import CONFIG, DYNAMICS, MARKER, OWN_ENTRIES, REPORT_HTML, RESULTS, TRACK

KINDS = ("run", "track", "report", "series")


class WriteError(EmbedevalError):
    """A file or folder could not be written (full disk, permissions, a name too long); ``errno`` says which."""

    def __init__(self, message: str, path: str | Path | None = None, errno_: int | None = None):
        super().__init__(message, path)
        self.errno = errno_


def _oserror(err: OSError, what: str, path: Path) -> WriteError:
    reason = "the disk is full" if err.errno == errno.ENOSPC else (err.strerror or str(err))
    return WriteError(f"cannot {what} ({reason})", path, err.errno)


def short_name(name: str, limit: int = 160) -> str:
    """``name`` cut to at most ``limit`` UTF-8 bytes (with a hash of the whole so cut names stay distinct): a
    temporary, lock or staging name built on a legal 255-byte name must still be legal."""
    raw = name.encode("utf-8", "surrogateescape")
    if len(raw) <= limit:
        return name
    digest = hashlib.sha256(raw).hexdigest()[:12]
    return raw[: limit - 13].decode("utf-8", "ignore") + "-" + digest


def output_target(target: str | Path) -> Path:
    """Where writing ``target`` really goes: a symbolic link is followed (its target is replaced, the link stays)."""
    target = Path(target)
    if str(target) == "":
        raise EmbedevalError("an empty file name was given; name a file, or - for standard output")
    return Path(os.path.realpath(target)) if target.is_symlink() else target


def atomic_write(target: str | Path, write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp)`` to fill a temporary file, then move it over ``target`` in one rename.

    ``-`` is standard output. A symbolic link is followed and the file it points to is replaced (the link stays).
    A target that exists and is not a regular file (a device such as ``/dev/null``, a FIFO) is written to
    directly and never renamed over: replacing it would destroy the node.
    """
    if str(target) == "-":
        return _write_stdout(write)
    target = Path(target)
    if str(target) == "":
        raise EmbedevalError("an empty file name was given; name a file, or - for standard output")
    try:
        info = os.stat(target)  # through a link: what it points to
    except OSError:
        info = None
    if info is None or stat.S_ISREG(info.st_mode):
        target = output_target(target)  # a link to a file (or to nothing yet): its target is replaced
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise _oserror(err, "create the folder for this file", target) from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise EmbedevalError("is a folder; give a file name", target)
    if info is not None and not stat.S_ISREG(info.st_mode):
        held = None
        if stat.S_ISFIFO(info.st_mode):
            try:  # a FIFO nobody reads would block for ever: refuse it instead
                held = os.open(target, os.O_WRONLY | os.O_NONBLOCK)  # kept open: the reader sees no EOF in between
            except OSError as err:
                if err.errno == errno.ENXIO:
                    raise EmbedevalError("is a FIFO that nobody reads; start its reader first", target) from None
                raise _oserror(err, f"write {target.name}", target) from None
        try:
            write(target)  # a device or FIFO: its reader gets the bytes, the node stays what it was
        except OSError as err:
            raise _oserror(err, f"write {target.name}", target) from None
        finally:
            if held is not None:
                os.close(held)
        return target
    tmp = target.with_name(f".{short_name(target.name)}.{os.getpid()}.tmp")
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


def _write_stdout(write: Callable[[Path], Any]) -> Path:
    """Fill a private temporary file, then copy it to standard output (the writers take a path)."""
    import sys
    import tempfile

    if sys.__stdout__ is None:  # started with standard output closed (`>&-`): there is nowhere to write
        raise EmbedevalError("standard output is closed; give the option a file name instead of -")

    with tempfile.TemporaryDirectory(prefix="embedeval-") as folder:
        tmp = Path(folder) / "out"
        write(tmp)
        sys.stdout.flush()
        with open(tmp, "rb") as handle:
            shutil.copyfileobj(handle, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    return Path("-")


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


MAX_JSON_DEPTH = 64


def parse_json(text: str | bytes, where: str | Path, expect: type | None = dict, what: str = "JSON file") -> Any:
    """``text`` parsed as JSON, or a one-line error naming ``where``: not JSON, not UTF-8, nested deeper than
    :data:`MAX_JSON_DEPTH` (which would exhaust Python's recursion), or not of the ``expect`` type. Numbers such as
    ``NaN`` parse as floats; the callers that need finite values check them."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        data = json.loads(text)
    except UnicodeDecodeError:
        raise EmbedevalError(f"damaged {what} (bytes that are not UTF-8)", where) from None
    except RecursionError:
        raise EmbedevalError(f"damaged {what} (nested too deeply)", where) from None
    except ValueError as err:
        raise EmbedevalError(f"damaged {what} (not JSON: {err})", where) from None
    stack, depth = [(data, 1)], 0
    while stack:
        value, level = stack.pop()
        depth = max(depth, level)
        if depth > MAX_JSON_DEPTH:
            raise EmbedevalError(f"damaged {what} (nested more than {MAX_JSON_DEPTH} levels deep)", where)
        if isinstance(value, dict):
            stack.extend((v, level + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, level + 1) for v in value)
    if expect is not None and not isinstance(data, expect):
        kind = {dict: "a JSON object", list: "a JSON list"}.get(expect, expect.__name__)
        raise EmbedevalError(f"damaged {what} (expected {kind}, found {type(data).__name__})", where)
    return data


def read_json_file(
    path: str | Path, expect: type | None = dict, what: str = "JSON file", limit: int = 256 << 20
) -> Any:
    """:func:`parse_json` of a file (refusing one over ``limit`` bytes, or a device or FIFO)."""
    info = check_regular_file(Path(path), what)
    if info.st_size > limit:
        raise EmbedevalError(f"{what} is {info.st_size:,} bytes, more than such a file ever holds", path)
    try:
        raw = Path(path).read_bytes()
    except OSError as err:
        raise EmbedevalError(f"cannot read the {what} ({err.strerror or err})", path) from None
    return parse_json(raw, path, expect, what)


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
    if marker.is_symlink():
        return None  # a marker must be one we wrote, not a link planted to make a folder look like ours
    if marker.is_file():
        try:
            kind = read_json_file(marker, limit=1 << 16).get("kind")
        except EmbedevalError:
            kind = None
        return kind if kind in KINDS else None
    if (path / TRACK).is_file() and (path / DYNAMICS).is_file():
        return "track"
    config = _json_keys(path / CONFIG)
    if {"trainer", "config", "versions"} <= config:
        return "run"
    if (path / REPORT_HTML).is_file() and {"title", "settings", "command"} <= _json_keys(path / RESULTS):
        return "report"
    return None


def _json_keys(path: Path) -> set[str]:
    if not path.is_file() or path.stat().st_size > 64 << 20:
        return set()
    try:
        return set(read_json_file(path))
    except EmbedevalError:
        return set()


_TMP = re.compile(r"^\..+\.\d+\.tmp$")  # an interrupted atomic write of ours: .NAME.PID.tmp


def _own_file(relative: str) -> bool:
    """Whether a file below one of embedeval's own subfolders has a name embedeval writes there (a user's file
    dropped into ``embeddings/`` or ``last-good/`` is not, and ``--overwrite`` must not delete it)."""
    from embedeval.layout import CHECKPOINT, PROJECTION, ROLE_ORDER

    parts = relative.split("/")
    name = parts[-1]
    if _TMP.match(name):
        return True
    roles = {f"{r}.npz" for r in ROLE_ORDER}
    if parts[0] in ("embeddings", "subwords") and len(parts) == 2:
        return name in roles
    if parts[0] == "last-good":
        return (len(parts) == 2 and name in (CHECKPOINT, PROJECTION)) or (
            len(parts) == 3 and parts[1] in ("embeddings", "subwords") and name in roles)  # fmt: skip
    if parts[0] == "snapshots" and len(parts) == 2:
        return bool(re.fullmatch(r"step-\d+\.npz", name))
    if parts[0] == "figures" and len(parts) == 2:
        return name.endswith((".png", ".svg"))
    if parts[0] == "steps" and len(parts) == 2:
        return bool(re.fullmatch(r"\d+\.json", name))
    # train hf-gpt2: the model folder save_pretrained writes, and the Trainer's checkpoint-N/ folders
    if parts[0] == "model" and len(parts) == 2:
        return name in _HF_FILES
    if parts[0] == "checkpoints" and len(parts) == 3 and re.fullmatch(r"checkpoint-\d+", parts[1]):
        return name in _HF_FILES or name in _TRAINER_FILES
    return False


_HF_FILES = {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
             "special_tokens_map.json", "chat_template.jinja"}  # fmt: skip
_TRAINER_FILES = {"trainer_state.json", "training_args.bin", "rng_state.pth", "optimizer.pt", "scheduler.pt"}


def foreign_entries(folder: Path, kind: str) -> list[str]:
    """What sits in ``folder`` that embedeval does not write into a ``kind`` folder (sorted names): at the top,
    names that are not its own; inside its own subfolders, files it does not write there; a track's and a built-in
    default report's runs are checked as run folders."""
    own = OWN_ENTRIES[kind]
    found = []
    for child in folder.iterdir():
        name = child.name
        if _TMP.match(name):
            continue  # an interrupted atomic write of ours
        if name not in own or (child.is_symlink() and name != MARKER):
            found.append(name)
            continue
        if not child.is_dir() or child.is_symlink():
            continue
        if (kind == "track" and name in ("untied", "tied")) or (kind == "report" and name == "runs"):
            found += [f"{name}/{entry}" for entry in _nested_runs(child)]
            continue
        for path in sorted(child.rglob("*")):
            relative = path.relative_to(folder).as_posix()
            if path.is_symlink() or (path.is_file() and not _own_file(relative)):
                found.append(relative)
            elif not path.is_dir() and not path.is_file():
                found.append(relative)  # a FIFO or device inside our folder: never ours
    return sorted(found)


def _nested_runs(folder: Path) -> list[str]:
    """Foreign entries of the run (or track) folders below a track's sides or a report's runs/."""
    found = []
    kind = kind_of(folder)
    if kind in ("run", "track"):
        return foreign_entries(folder, kind)
    for child in folder.iterdir():  # a report's runs/: one folder per run or track
        sub = kind_of(child) if child.is_dir() and not child.is_symlink() else None
        if sub in ("run", "track"):
            found += [f"{child.name}/{entry}" for entry in foreign_entries(child, sub)]
        elif not _TMP.match(child.name) and not child.name.endswith(".log"):
            found.append(child.name)
    return found


def _resolved(path: str | Path) -> Path:
    return Path(os.path.realpath(path))


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_out_folder(target: Path, inputs: tuple[str | Path, ...] = (), replacing: bool = False) -> None:
    """Refuse an output folder that would destroy what the command reads or where the user stands: the current
    folder or one above it, a folder inside one of the inputs, or (``replacing``) one that holds an input."""
    real = _resolved(target)
    cwd = _resolved(".")
    if _inside(cwd, real):
        raise EmbedevalError(
            "--out is the current folder or one above it; name a new folder for embedeval to fill", target
        )
    for given in inputs:
        source = _resolved(given)
        if _inside(real, source):
            raise EmbedevalError(f"--out lies inside the input {printable(given)}; choose a folder outside it", target)
        if replacing and _inside(source, real):
            raise EmbedevalError(
                f"--out holds the input {printable(given)}, which --overwrite would delete; move the input or "
                "choose another --out",
                target,
            )


def check_output_files(outputs: dict[str, str | Path | None], inputs: tuple[str | Path, ...] = ()) -> None:
    """Refuse output files that would destroy an input or each other: a name given twice, an output equal to an
    input, or an output inside a folder embedeval wrote that the command reads (a run, track or report).
    ``outputs`` maps an option (``--json``) to its value; ``-`` (standard output) is exempt."""
    seen: dict[Path, str] = {}
    for option, value in outputs.items():
        if value is None:
            continue
        if str(value) == "":
            raise EmbedevalError(f"{option} was given an empty file name; name a file, or - for standard output")
        if str(value) == "-":
            continue
        real = _resolved(value)
        if real.exists() and not real.is_file() and not real.is_dir():
            continue  # a device such as /dev/null takes any number of outputs
        if real in seen:
            raise EmbedevalError(f"{option} and {seen[real]} name the same file; give each output its own name", value)
        seen[real] = option
    protected = []
    for given in inputs:
        source = _resolved(given)
        if source.is_dir():  # any folder read is an input as a whole (a model folder, a hub snapshot, a run)
            protected.append((source, given))
            continue
        for folder in (source, *source.parents):
            if kind_of(folder) is not None:
                protected.append((folder, folder))  # the embedeval folder the input file lies in
                break
    for real, option in seen.items():
        for given in inputs:
            if real == _resolved(given):
                raise EmbedevalError(
                    f"{option} names an input file, which would be overwritten; choose another name", real
                )
        for folder, given in protected:
            if _inside(real, folder):
                raise EmbedevalError(
                    f"{option} lies inside the input folder {printable(given)}; nothing is ever written into an "
                    "input (a model folder, a run or a report). Choose a path outside it",
                    real,
                )


def _lock_path(target: Path) -> Path:
    return target.parent / f".{short_name(target.name)}.lock"


def _process_start(pid: int) -> str:
    """The start time of ``pid`` in clock ticks since boot (Linux), so a reused pid is not mistaken for the holder."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return "?"


_HELD: dict[str, FolderLock] = {}  # the locks this process holds, by lock file


def memory_available() -> int | None:
    """Bytes of memory a new allocation can still get (Linux's MemAvailable; None where it cannot be told): what a
    read that cannot be memory-mapped, or a batch, is checked against before it starts."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def nothing_trained(folder: Path) -> bool:
    """A run folder that a process killed before training (SIGKILL, or SIGTERM while reading the corpus) left: only
    what is written before the first step (marker, config, vocabulary, an empty embeddings folder); no checkpoint,
    no summary, no metrics."""
    from embedeval.layout import CONFIG, EMBEDDINGS, MARKER, VOCAB

    folder = Path(folder)
    try:
        names = {entry.name for entry in folder.iterdir()}
        embeddings = folder / EMBEDDINGS
        empty = not embeddings.exists() or (
            embeddings.is_dir() and not embeddings.is_symlink() and not any(embeddings.iterdir())
        )
    except OSError:
        return False
    return MARKER in names and names <= {MARKER, CONFIG, VOCAB, EMBEDDINGS} and empty


def no_checkpoint_error(folder: str | Path) -> EmbedevalError:
    """What --resume says to a run folder without a checkpoint."""
    if Path(folder).is_dir() and nothing_trained(Path(folder)):
        return EmbedevalError("nothing to resume: the run in this folder was stopped before its first checkpoint, so "
                              "nothing was trained; start it again without --resume (the folder is reused)", folder)  # fmt: skip
    return EmbedevalError("nothing to resume: no checkpoint.pt", folder)


class FolderLock:
    """One writer per folder: an exclusive ``flock`` on ``.NAME.lock`` beside the folder, held while the process
    works and released by the kernel if it dies, so a crash never leaves a lock that blocks the next run.

    The file says who holds it (pid and process start time) for the messages; the kernel lock decides. A holder
    removes the file while still holding it, so a newcomer that opened the old file checks after locking that
    the file is still the one at the path, and otherwise tries again. Within one process a later claim takes over
    an earlier one that was never released (a run interrupted in a notebook, resumed in the next cell).
    """

    def __init__(self, target: str | Path, what: str = "--out"):
        self.target = Path(target)
        self.path = _lock_path(self.target)
        self.what = what
        self._fd: int | None = None

    def acquire(self) -> FolderLock:
        flags = os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC
        for _ in range(100):
            try:
                fd = os.open(self.path, flags, 0o644)
            except OSError as err:
                if err.errno == errno.ELOOP:
                    raise EmbedevalError(
                        f"the lock file of {self.what} is a symbolic link; remove it", self.path
                    ) from None
                raise _oserror(err, f"claim {self.what}", self.target) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                mine = _HELD.get(os.path.abspath(self.path))
                if mine is not None:  # a claim this process left open (an interrupted run in a notebook): take it
                    mine.release()
                    continue
                raise EmbedevalError(
                    f"another embedeval process ({holder}) is writing to this folder (lock file {self.path.name}); "
                    f"wait for it to finish or choose another {self.what}",
                    self.target,
                ) from None
            try:
                same = os.stat(self.path, follow_symlinks=False)
                held = os.fstat(fd)
            except FileNotFoundError:
                same = held = None
            if same is None or (same.st_dev, same.st_ino) != (held.st_dev, held.st_ino):
                os.close(fd)  # the holder released and removed it between our open and lock: take the new one
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()} {_process_start(os.getpid())}\n".encode())
            self._fd = fd
            _HELD[os.path.abspath(self.path)] = self
            return self
        raise EmbedevalError(f"could not claim {self.what} (its lock file keeps changing)", self.target)

    def release(self) -> None:
        if self._fd is not None:
            if _HELD.get(os.path.abspath(self.path)) is self:
                del _HELD[os.path.abspath(self.path)]
                _remove_quietly(self.path)  # while still holding it: see the class docstring
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode("ascii", "replace").split()
    except OSError:
        text = []
    return f"pid {text[0]}" if text and text[0].isdigit() else "pid unknown"


def writer_pid(target: str | Path) -> int | None:
    """The process now writing ``target`` (a folder claimed by :class:`FolderLock`), or None."""
    path = _lock_path(Path(target))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd).removeprefix("pid ")
            pid = int(holder) if holder.isdigit() else -1
            return None if pid == os.getpid() else pid
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


class OutputDir:
    """An output folder claimed for one process; see the module docstring.

    ``path`` is where to write now: the target itself, or the staging folder until :meth:`publish`.
    Use it as a context manager: on an exception before :meth:`publish`, the staging folder (or a target this
    claim created and nothing else wrote into) is removed and the old folder stays as it was.
    """

    def __init__(
        self,
        target: str | Path,
        kind: str,
        overwrite: bool = False,
        exist_ok: bool = False,
        inputs: tuple[str | Path, ...] = (),
    ):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        if str(target) in ("", "-"):
            raise EmbedevalError(f"--out {str(target)!r} is not a folder name; name a folder")
        # a symbolic link is followed: the folder it points to is written (and replaced), the link stays
        self.target = Path(os.path.realpath(target)) if Path(target).is_symlink() else Path(target)
        self.kind = kind
        self.published = False
        self._created = False
        self._fresh = False
        self._lock: FolderLock | None = None
        target = self.target
        if target.exists() and not target.is_dir():
            raise EmbedevalError("--out exists and is not a folder; choose a folder name", target)
        check_out_folder(target, inputs, replacing=overwrite)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise _oserror(err, "create the parent folder of --out", target) from None
        self._lock = FolderLock(target).acquire()  # first: a second process must see "in use", not a half-made folder
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
        if replacing and not exist_ok and kind == "run" and kind_of(target) == "run" and nothing_trained(target):
            replacing = False  # a run killed before it trained anything: its folder is taken as empty, not as taken
        if replacing and not exist_ok:
            found = kind_of(target)
            if not overwrite:
                from embedeval.layout import CHECKPOINT, SUMMARY

                hint = ""
                if kind == "run" and found == "run":
                    before_first = not (target / CHECKPOINT).exists() and (target / SUMMARY).is_file()
                    hint = (" (it holds a run stopped before its first checkpoint: nothing to resume, so start it "
                            "again with --overwrite)" if before_first else " (or --resume to continue it)")  # fmt: skip
                raise EmbedevalError("--out is not empty; pass --overwrite to replace it" + hint, target)
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
            foreign = foreign_entries(target, found)
            if foreign:
                shown = ", ".join(printable(name) for name in foreign[:5]) + (" ..." if len(foreign) > 5 else "")
                raise EmbedevalError(
                    f"--out is an embedeval {found} folder but also holds {len(foreign)} thing(s) embedeval did not "
                    f"write ({shown}); --overwrite would delete them. Move them out, or choose another folder",
                    target,
                )
            self.path = target.parent / f".{short_name(target.name)}.new-{os.getpid()}"
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
        old = self.target.parent / f".{short_name(self.target.name)}.old-{os.getpid()}"
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
            self._lock.release()
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

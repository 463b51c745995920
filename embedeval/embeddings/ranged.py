"""Only the bytes needed: a checkpoint's U and V read by byte ranges, from a local folder or from a URL.

A safetensors file is an 8-byte header length, a JSON header with each tensor's dtype, shape and byte offsets, then
the data: three range reads fetch one tensor. Remote files are read through fsspec (``http://``, ``https://``;
``hf://`` through huggingface_hub's file system), with retries, a content-addressed cache (keyed by the URL, the
file's size and its ETag, so a file that changed on the server is never mixed with an old copy), and a partly read
tensor resumed from the bytes already in the cache. Every source counts the bytes it read.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embedeval.embeddings.matrix import MAX_HEADER_BYTES, TensorEntry, bf16_to_float32
from embedeval.errors import EmbedevalError

CHUNK = 16 << 20  # bytes per range request of a tensor (a killed read resumes at a chunk boundary or later)
RETRIES = 4
STORED = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "F64": np.float64}


def _unreachable(err: BaseException) -> str:
    """A hint when ``err`` says the host cannot be reached at all (no network, a name that does not resolve)."""
    text = f"{type(err).__name__}: {err}"
    signs = ("Name or service not known", "Temporary failure in name resolution", "Cannot connect to host",
             "Connection refused", "Network is unreachable", "nodename nor servname")  # fmt: skip
    if any(sign in text for sign in signs):
        return "; the host cannot be reached (no network here?): download the checkpoints and list their local paths"
    return ""


def is_url(source: str) -> bool:
    return "://" in source and not source.startswith("file://")


def default_cache() -> Path:
    return Path(os.environ.get("EMBEDEVAL_CACHE") or Path("~/.cache/embedeval").expanduser()) / "ranged"


@dataclass
class RangedFile:
    """One safetensors file, local or remote, read a range at a time."""

    source: str
    cache: Path = field(default_factory=default_cache)
    bytes_read: int = 0
    _fs: Any = None
    _size: int | None = None
    _etag: str = ""
    _header: dict[str, TensorEntry] | None = None

    def _open_fs(self) -> Any:
        if self._fs is None:
            import fsspec

            try:
                self._fs, _ = fsspec.core.url_to_fs(self.source)
            except (ImportError, ValueError) as err:
                raise EmbedevalError(f"cannot read this URL ({err})", self.source) from None
        return self._fs

    def _info(self) -> None:
        if self._size is not None:
            return
        if not is_url(self.source):
            self._size = Path(self.source).stat().st_size
            return
        info = self._retry(lambda: self._open_fs().info(self.source), "ask the size of")
        size = info.get("size")
        if not isinstance(size, int) or size < 8:
            raise EmbedevalError("the server does not say how large the file is (needed for range reads)", self.source)
        self._size = size
        self._etag = str(info.get("ETag") or info.get("etag") or info.get("sha256") or "")

    def _retry(self, call: Any, what: str) -> Any:
        last = None
        for attempt in range(RETRIES):
            try:
                return call()
            except FileNotFoundError as err:
                cause = err.__cause__ or err.__context__  # fsspec's http says "not found" when it cannot connect too
                if cause is not None and _unreachable(cause):
                    raise EmbedevalError(f"cannot {what} it ({type(cause).__name__}: {cause})"
                                         + _unreachable(cause), self.source) from None  # fmt: skip
                raise EmbedevalError("not found", self.source) from None
            except Exception as err:  # network errors come in many types (aiohttp, OSError, fsspec's own)
                last = err
                time.sleep(min(0.2 * 2**attempt, 2.0))
        raise EmbedevalError(f"could not {what} it after {RETRIES} tries ({type(last).__name__}: {last})"
                             + _unreachable(last), self.source)  # fmt: skip

    def read(self, start: int, end: int) -> bytes:
        """Bytes [start, end) of the file."""
        if is_url(self.source):
            data = self._retry(lambda: self._open_fs().cat_file(self.source, start=start, end=end), "read")
        else:
            with open(self.source, "rb") as handle:
                handle.seek(start)
                data = handle.read(end - start)
        if len(data) > end - start:
            raise EmbedevalError(f"asked for bytes {start:,}-{end:,} and the server sent {len(data):,}: it ignores range "
                                 "requests, which reading a few tensors needs; serve the files from a server that "
                                 "supports them, or download the checkpoints and list their local paths",
                                 self.source)  # fmt: skip
        if len(data) != end - start:
            raise EmbedevalError(f"asked for bytes {start}-{end} and got {len(data)}: the file is shorter than its "
                                 "header says, or the server ignored the range", self.source)  # fmt: skip
        self.bytes_read += len(data)
        return data

    @property
    def key(self) -> str:
        """The cache's name for this file's bytes: URL, size and ETag (a changed file gets a new key)."""
        self._info()
        return hashlib.sha256(f"{self.source}\n{self._size}\n{self._etag}".encode()).hexdigest()[:32]

    def header(self) -> dict[str, TensorEntry]:
        if self._header is not None:
            return self._header
        self._info()
        n = int.from_bytes(self.read(0, 8), "little")
        if n <= 0 or 8 + n > self._size or n > MAX_HEADER_BYTES:
            raise EmbedevalError(f"not a safetensors file: its first 8 bytes give a header of {n:,} bytes in a file "
                                 f"of {self._size:,}", self.source)  # fmt: skip
        try:
            header = json.loads(self.read(8, 8 + n))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise EmbedevalError(f"safetensors header is not JSON ({err})", self.source) from None
        out = {}
        for name, info in header.items():
            if name == "__metadata__" or not isinstance(info, dict):
                continue
            offsets, shape = info.get("data_offsets"), info.get("shape")
            if not (isinstance(offsets, list) and len(offsets) == 2 and 0 <= offsets[0] <= offsets[1]
                    and 8 + n + offsets[1] <= self._size and isinstance(shape, list)):  # fmt: skip
                raise EmbedevalError(f"safetensors header places tensor {name} outside the file", self.source)
            out[name] = TensorEntry(name, str(info.get("dtype")), tuple(shape), 8 + n + offsets[0], 8 + n + offsets[1])
        self._header = out
        return out

    @property
    def header_bytes(self) -> int:
        """The bytes of the 8-byte length and the JSON header (what finding the tensors costs)."""
        entries = self.header()
        return min((e.start for e in entries.values()), default=8)

    def span(self, name: str) -> int:
        entry = self.header()[name]
        return entry.end - entry.start

    def tensor(self, name: str) -> np.ndarray:
        """A 2-D floating-point tensor as float32: local files read in place, remote ones fetched once into the cache
        (a partly fetched tensor continues where it stopped)."""
        entry = self.header().get(name)
        if entry is None:
            raise EmbedevalError(f"no tensor {name} in the file", self.source)
        if entry.dtype not in STORED or len(entry.shape) != 2:
            raise EmbedevalError(f"tensor {name} is {entry.dtype} {list(entry.shape)}: not a 2-D float matrix",
                                 self.source)  # fmt: skip
        stored = STORED[entry.dtype]
        if np.dtype(stored).itemsize * entry.shape[0] * entry.shape[1] != entry.end - entry.start:
            raise EmbedevalError(f"tensor {name}: its shape and its byte span disagree", self.source)
        raw = self._bytes(entry) if is_url(self.source) else self.read(entry.start, entry.end)
        array = np.frombuffer(raw, dtype=stored).reshape(entry.shape)
        return bf16_to_float32(array) if entry.dtype == "BF16" else array.astype(np.float32)

    def _bytes(self, entry: TensorEntry) -> bytes:
        import fcntl

        folder = self.cache / self.key
        folder.mkdir(parents=True, exist_ok=True)
        done = folder / f"{entry.name}.bin"
        if done.is_file() and done.stat().st_size == entry.end - entry.start:
            return done.read_bytes()
        # one fetcher per tensor: workers that need the same tensor wait for it instead of racing over the .part file
        with open(folder / f"{entry.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if done.is_file() and done.stat().st_size == entry.end - entry.start:
                return done.read_bytes()
            return self._fetch(entry, folder, done)

    def _fetch(self, entry: TensorEntry, folder: Path, done: Path) -> bytes:
        part = folder / f"{entry.name}.bin.part"
        have = part.stat().st_size if part.is_file() else 0
        if have > entry.end - entry.start:
            part.unlink()
            have = 0
        with open(part, "ab") as handle:
            while have < entry.end - entry.start:
                stop = min(entry.end - entry.start, have + CHUNK)
                handle.write(self.read(entry.start + have, entry.start + stop))
                handle.flush()
                have = stop
        os.replace(part, done)  # whole: later scans read it from here
        return done.read_bytes()


def checkpoint_files(source: str) -> list[str]:
    """The safetensors files of a checkpoint: a file itself, or a folder's (index) files, local or remote. A local
    checkpoint is a model folder like any other: every file it names must lie inside it and be a regular file."""
    if source.endswith(".safetensors"):
        if not is_url(source):
            from embedeval.files import check_regular_file

            check_regular_file(Path(source), "safetensors file")
        return [source]
    base = source.rstrip("/")
    index = f"{base}/model.safetensors.index.json"
    if is_url(base):
        import fsspec

        fs, _ = fsspec.core.url_to_fs(base)
        try:
            raw = fs.cat_file(index)
        except FileNotFoundError:
            return [f"{base}/model.safetensors"]
        except Exception as err:  # noqa: BLE001 - network errors: say which file
            raise EmbedevalError(f"cannot read the checkpoint index ({err}){_unreachable(err)}", index) from None
        from embedeval.files import parse_json

        names = _shard_names(parse_json(raw, index, dict, "checkpoint index"), index)
        if any("/" in n or n.startswith(".") for n in names):
            raise EmbedevalError("the checkpoint index names files outside the checkpoint", index)
        return [f"{base}/{n}" for n in names]
    from embedeval.embeddings.pretrained import inside
    from embedeval.files import read_json_file

    folder = Path(base)
    if not folder.is_dir():
        what = "does not exist" if not folder.exists() and not folder.is_symlink() else "is not a folder"
        raise EmbedevalError(f"{what}: a checkpoint is a folder, a .safetensors file, a .gguf file or a URL", base)
    if (folder / "model.safetensors.index.json").exists() or (folder / "model.safetensors.index.json").is_symlink():
        path = inside(folder, "model.safetensors.index.json", "the checkpoint index")
        names = _shard_names(read_json_file(path, what="checkpoint index"), path)
        return [str(inside(folder, n, "the checkpoint index's weight_map")) for n in names]
    if (folder / "model.safetensors").exists() or (folder / "model.safetensors").is_symlink():
        return [str(inside(folder, "model.safetensors", "weights file"))]
    held = "pytorch_model.bin" if (folder / "pytorch_model.bin").exists() else None
    raise EmbedevalError("no model.safetensors (nor shards with their index) in this checkpoint" + (
        f"; it holds {held}, which a series does not read (it cannot be read a few tensors at a time): save "
        "checkpoints as safetensors (the Trainer's default)" if held else ""), folder)  # fmt: skip


def _shard_names(index: dict, where: Any) -> list[str]:
    weight_map = index.get("weight_map")
    if not isinstance(weight_map, dict) or not weight_map:
        raise EmbedevalError("checkpoint index has no weight_map", where)
    if not all(isinstance(v, str) and v.strip() for v in weight_map.values()):
        raise EmbedevalError("checkpoint index: every weight_map value must be a file name", where)
    return sorted(set(weight_map.values()))

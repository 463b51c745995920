"""Token matrices read in place: a pretrained model's U or V as it lies on disk (float32, float16, bfloat16, or a
GGUF quantisation), gathered row by row or streamed in blocks, never copied whole to float32 unless asked.

A Llama-3-8B-sized U is 128,256 x 4,096: 1 GB in bf16, 2.1 GB in float32. Scoring word pairs needs a few thousand of
its rows, and the shape of the whole matrix needs one pass over it; neither needs the float32 copy. ``rows(ids)``
returns float32 rows (accumulation and cosines stay in float32 or wider); ``blocks()`` streams the matrix with
ordinary file reads into one reusable buffer, so the pages read do not stay in the process's memory.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embedeval.errors import EmbedevalError

BLOCK_BYTES = 64 << 20  # what one block of a streamed pass reads (float32 after conversion: at most twice this)
MAX_HEADER_BYTES = 64 << 20  # a safetensors header beyond this is refused (real ones are well under 1 MB)

# safetensors dtype -> (numpy dtype as stored, bytes per value); BF16 is stored as uint16 and widened by a shift
_STORED = {"F32": (np.float32, 4), "F16": (np.float16, 2), "BF16": (np.uint16, 2), "F64": (np.float64, 8)}


def bf16_to_float32(raw: np.ndarray) -> np.ndarray:
    """bfloat16 values (as uint16) to float32, exactly: a bfloat16 is the top half of a float32, so each value is
    written into the high half of a zeroed pair (one strided copy: 8x faster than widening to uint32 and shifting)."""
    raw = np.asarray(raw)
    pairs = np.zeros((*raw.shape, 2), dtype=np.uint16)
    pairs[..., 1 if sys.byteorder == "little" else 0] = raw
    return pairs.view(np.float32).reshape(raw.shape)


class TokenMatrix:
    """A (rows x width) matrix of a model, read lazily. ``np.asarray(m)`` gives the whole float32 matrix (a copy,
    for callers that ask for it); everything in embedeval uses ``rows`` and ``blocks``."""

    shape: tuple[int, int]
    dtype: str  # as stored: float32, float16, bfloat16, q8_0 ...

    def rows(self, ids: Any) -> np.ndarray:
        """float32 rows ``ids`` (an int array or a slice), in that order."""
        raise NotImplementedError

    def blocks(self, block_rows: int | None = None, limit: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """(first row, float32 block) over the first ``limit`` rows (all by default), in order."""
        n = self.shape[0] if limit is None else min(limit, self.shape[0])
        step = block_rows or max(1, BLOCK_BYTES // max(1, 4 * self.shape[1]))
        for start in range(0, n, step):
            yield start, self.rows(slice(start, min(n, start + step)))

    def head(self, n: int) -> TokenMatrix:
        """The first ``n`` rows (a padded vocabulary cut to the tokenizer's size), still read lazily."""
        return _Head(self, min(n, self.shape[0]))

    @property
    def nbytes(self) -> int:
        """Bytes as stored."""
        raise NotImplementedError

    def __len__(self) -> int:
        return self.shape[0]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        whole = self.rows(slice(0, self.shape[0]))
        return whole if dtype is None else whole.astype(dtype, copy=False)


class ArrayMatrix(TokenMatrix):
    """A matrix already in memory (or a float32 memmap): a run's export, a test's matrix."""

    def __init__(self, array: np.ndarray, dtype: str | None = None):
        self.array = array
        self.shape = (int(array.shape[0]), int(array.shape[1]))
        self.dtype = dtype or str(array.dtype)

    def rows(self, ids: Any) -> np.ndarray:
        return np.asarray(self.array[ids], dtype=np.float32)

    @property
    def nbytes(self) -> int:
        return int(self.array.nbytes)


class SumMatrix(TokenMatrix):
    """U + V of one model, row by row (P&W's and GloVe's sum), never formed whole."""

    def __init__(self, a: TokenMatrix, b: TokenMatrix):
        if a.shape != b.shape:
            raise EmbedevalError(f"cannot add a {a.shape} and a {b.shape} matrix")
        self.a, self.b, self.shape, self.dtype = a, b, a.shape, f"{a.dtype}+{b.dtype}"

    def rows(self, ids: Any) -> np.ndarray:
        return self.a.rows(ids) + self.b.rows(ids)

    def blocks(self, block_rows: int | None = None, limit: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        for (start, x), (_, y) in zip(self.a.blocks(block_rows, limit), self.b.blocks(block_rows, limit)):
            yield start, x + y

    @property
    def nbytes(self) -> int:
        return self.a.nbytes + self.b.nbytes


class _Head(TokenMatrix):
    def __init__(self, base: TokenMatrix, n: int):
        self.base, self.shape, self.dtype = base, (n, base.shape[1]), base.dtype

    def rows(self, ids: Any) -> np.ndarray:
        if isinstance(ids, slice):
            start, stop, step = ids.indices(self.shape[0])
            return self.base.rows(slice(start, stop, step))
        ids = np.asarray(ids, dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.shape[0]):
            raise IndexError(f"row ids outside 0..{self.shape[0] - 1}")
        return self.base.rows(ids)

    def blocks(self, block_rows: int | None = None, limit: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        n = self.shape[0] if limit is None else min(limit, self.shape[0])
        return self.base.blocks(block_rows, n)

    @property
    def nbytes(self) -> int:
        return self.base.nbytes * self.shape[0] // max(1, self.base.shape[0])


class MappedMatrix(TokenMatrix):
    """A float32, float16 or bfloat16 tensor at a byte offset of a file (a safetensors tensor): rows gathered
    through a memory map, whole passes through file reads."""

    def __init__(self, file: Path, offset: int, stored: str, shape: tuple[int, int]):
        if stored not in _STORED:
            raise EmbedevalError(f"tensor type {stored} is not a floating-point type embedeval reads", file)
        self.file, self.offset, self.stored = Path(file), offset, stored
        self.shape = (int(shape[0]), int(shape[1]))
        self._np, self._size = _STORED[stored]
        self.dtype = {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "F64": "float64"}[stored]
        self._map: np.ndarray | None = None

    @property
    def nbytes(self) -> int:
        return self.shape[0] * self.shape[1] * self._size

    def _mapped(self) -> np.ndarray:
        if self._map is None:
            self._map = np.memmap(self.file, dtype=self._np, mode="r", offset=self.offset, shape=self.shape)
        return self._map

    def _convert(self, raw: np.ndarray) -> np.ndarray:
        if self.stored == "BF16":
            return bf16_to_float32(raw)
        return np.asarray(raw, dtype=np.float32)

    def rows(self, ids: Any) -> np.ndarray:
        if isinstance(ids, slice) and (ids.step in (None, 1)):
            start, stop, _ = ids.indices(self.shape[0])
            return self._read(start, max(start, stop))
        return self._convert(np.asarray(self._mapped()[np.asarray(ids, dtype=np.int64)]))

    def _read(self, start: int, stop: int) -> np.ndarray:
        """Rows start..stop by one positioned read (no page of the file stays mapped in this process)."""
        width = self.shape[1]
        count = (stop - start) * width
        raw = np.empty(count, dtype=self._np)
        with open(self.file, "rb", buffering=0) as handle:
            view = memoryview(raw.view(np.uint8))
            done, where = 0, self.offset + start * width * self._size
            while done < len(view):
                got = os.preadv(handle.fileno(), [view[done:]], where + done)
                if got <= 0:
                    raise EmbedevalError(f"the file ends inside a tensor (rows {start}..{stop})", self.file)
                done += got
        return self._convert(raw.reshape(stop - start, width))


# --- safetensors headers ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TensorEntry:
    """One tensor of a safetensors file, from its header: where its bytes are."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    start: int  # absolute byte offset in the file
    end: int


def safetensors_header(file: Path) -> dict[str, TensorEntry]:
    """Every tensor of a safetensors file from its header, each checked to lie inside the file and to hold exactly
    its declared shape (a header that promises more than the file has is refused here, not met later)."""
    size = file.stat().st_size
    with open(file, "rb") as handle:
        raw = handle.read(8)
        if len(raw) < 8:
            raise EmbedevalError("not a safetensors file (shorter than its 8-byte header length)", file)
        n = int.from_bytes(raw, "little")
        if n <= 0 or 8 + n > size:
            raise EmbedevalError(f"safetensors header says {n:,} bytes but the file holds {size:,}", file)
        if n > MAX_HEADER_BYTES:
            raise EmbedevalError(
                f"safetensors header of {n:,} bytes: larger than embedeval reads ({MAX_HEADER_BYTES:,}); real "
                "headers are far smaller, so the file is damaged or not a model",
                file,
            )
        text = handle.read(n)
    try:
        header = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise EmbedevalError(f"safetensors header is not JSON ({err})", file) from None
    if not isinstance(header, dict):
        raise EmbedevalError("safetensors header is not a JSON object", file)
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(info, dict):
            raise EmbedevalError(f"safetensors header entry {name} is not an object", file)
        offsets, shape, dtype = info.get("data_offsets"), info.get("shape"), info.get("dtype")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)
                and 0 <= offsets[0] <= offsets[1] <= size - base):  # fmt: skip
            raise EmbedevalError(f"safetensors header places tensor {name} outside the file", file)
        if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)):
            raise EmbedevalError(f"safetensors header gives tensor {name} no valid shape", file)
        width = _dtype_bytes(str(dtype))
        if width is not None and int(np.prod(shape, dtype=np.int64)) * width != offsets[1] - offsets[0]:
            raise EmbedevalError(
                f"safetensors header: tensor {name} is {dtype} {shape} but spans {offsets[1] - offsets[0]:,} bytes",
                file,
            )
        out[str(name)] = TensorEntry(str(name), str(dtype), tuple(shape), base + offsets[0], base + offsets[1])
    return out


def _dtype_bytes(dtype: str) -> int | None:
    known = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
             "U16": 2, "U32": 4, "U64": 8, "F8_E4M3": 1, "F8_E5M2": 1}  # fmt: skip
    return known.get(dtype)


def mapped_tensor(file: Path, entry: TensorEntry) -> MappedMatrix:
    """A 2-D floating-point safetensors tensor as a :class:`MappedMatrix` (anything else refused in one line)."""
    if len(entry.shape) != 2:
        raise EmbedevalError(
            f"tensor {entry.name} is {len(entry.shape)}-D {list(entry.shape)}: an embedding matrix is 2-D", file
        )
    return MappedMatrix(file, entry.start, entry.dtype, (entry.shape[0], entry.shape[1]))


def same_matrix(a: TokenMatrix, b: TokenMatrix, sample: int = 64) -> bool:
    """Whether two matrices hold the same values: a few rows first (untied models differ at once), then every row
    block by block. Tied checkpoints that store the head twice are read twice, in blocks, never held whole."""
    if a is b:
        return True
    if a.shape != b.shape:
        return False
    if isinstance(a, MappedMatrix) and isinstance(b, MappedMatrix) and (a.file, a.offset) == (b.file, b.offset):
        return True
    n = a.shape[0]
    probe = np.unique(np.linspace(0, n - 1, num=min(sample, n)).astype(np.int64))
    if not np.array_equal(a.rows(probe), b.rows(probe), equal_nan=True):
        return False
    for (_, block), (_, other) in zip(a.blocks(), b.blocks()):
        if not np.array_equal(block, other, equal_nan=True):
            return False
    return True

"""A binary cache of parsed text embeddings that opens memory-mapped in well under a second.

The cache of ``/x/vec.txt`` lives in ``$EMBEDEVAL_CACHE`` (default ``~/.cache/embedeval``) under a key
made of the file's absolute path, size, modification time, inode and change time (ctime), so an edited file is
parsed again, even when the edit kept its size and set the modification time back (ctime cannot be set back).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from embedeval.embeddings.embedding import Embedding
from embedeval.errors import EmbedevalError
from embedeval.files import atomic_write, atomic_write_text


def cache_root() -> Path:
    return Path(os.environ.get("EMBEDEVAL_CACHE", Path.home() / ".cache" / "embedeval")).expanduser()


def cache_dir_for(path: str | Path) -> Path:
    path = Path(path).resolve()
    stat = path.stat()
    # ctime cannot be set back by a user (unlike mtime, which `touch -d` restores): any edit of the file, or a
    # file replaced under the same name (new inode), gets a new key. Content hashing would read the whole file.
    key = f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_ctime_ns}\0{stat.st_ino}\0{stat.st_dev}"
    key = hashlib.sha1(key.encode()).hexdigest()[:20]
    return cache_root() / "embeddings" / key


def open_cached(path: str | Path) -> Embedding | None:
    """The cached form of ``path``, memory-mapped, or ``None`` when there is none."""
    folder = cache_dir_for(path)
    meta_file = folder / "meta.json"
    if not meta_file.is_file():
        return None
    try:  # a damaged cache is ignored (and rewritten), never an error: the source file is what counts
        meta = json.loads(meta_file.read_text())
        vectors = np.load(folder / "vectors.npy", mmap_mode="r", allow_pickle=False)
        words = (folder / "words.txt").read_text(encoding="utf-8").split("\n")
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(meta, dict) or vectors.ndim != 2 or vectors.dtype != np.float32 or len(words) != vectors.shape[0]:
        return None
    return Embedding(
        words,
        vectors,
        name=meta.get("name", Path(path).stem),
        source=str(path),
        first_line=meta.get("first_line"),
        meta={"cache": str(folder)},
    )


def write_cache(emb: Embedding, path: str | Path) -> Path | None:
    """Store ``emb`` (parsed from ``path``) for fast reopening; words with newlines are not cached."""
    if any("\n" in w for w in emb.words):
        return None
    folder = cache_dir_for(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "meta.json").unlink(missing_ok=True)  # written last: a cache without it is never read

        def save(tmp: Path) -> None:
            with open(tmp, "wb") as handle:
                np.save(handle, np.ascontiguousarray(emb.vectors))

        atomic_write(folder / "vectors.npy", save)
        atomic_write_text(folder / "words.txt", "\n".join(emb.words))
        atomic_write_text(
            folder / "meta.json", json.dumps({"name": emb.name, "source": str(path), "first_line": emb.first_line})
        )
    except (OSError, EmbedevalError):
        return None  # a read-only or full cache disk must not stop the evaluation
    return folder

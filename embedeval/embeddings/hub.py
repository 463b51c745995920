"""Models already in the local Hugging Face cache, named as on the hub: ``embedeval eval EleutherAI/pythia-160m``.

The cache (``HF_HUB_CACHE``, by default ``~/.cache/huggingface/hub``) keeps each model as
``models--ORG--NAME/snapshots/REVISION/``; ``huggingface_hub`` resolves a name and revision (a branch, a tag or a
commit) to that folder without the network (``local_files_only``). Nothing is ever downloaded here: a model that is
not cached is refused with the command that fetches it.
"""

from __future__ import annotations

import re
from pathlib import Path

from embedeval.errors import EmbedevalError

REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}$|^[A-Za-z0-9][\w.-]{0,95}$")


def looks_like_repo_id(name: str) -> bool:
    """``ORG/NAME`` (or a bare ``NAME``) as the hub spells model ids: no path of this name exists here."""
    return bool(REPO_ID.match(name)) and not Path(name).exists()


def cache_dir() -> Path:
    """The hub cache as the environment names it now (HF_HUB_CACHE, else HF_HOME/hub, else the default)."""
    import os

    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    return Path("~/.cache/huggingface/hub").expanduser()


def cached_snapshot(repo_id: str, revision: str | None = None) -> Path | None:
    """The snapshot folder of ``repo_id`` at ``revision`` (default: main) in the local cache, or None."""
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError:  # an older huggingface_hub keeps the error elsewhere
        try:
            from huggingface_hub import snapshot_download
            from huggingface_hub.utils import LocalEntryNotFoundError
        except ImportError:
            return None
    if not REPO_ID.match(repo_id):
        return None
    try:
        folder = snapshot_download(repo_id, revision=revision, local_files_only=True, cache_dir=str(cache_dir()))
    except (LocalEntryNotFoundError, OSError, ValueError):
        return None
    except Exception:  # noqa: BLE001 - huggingface_hub's validation errors (a malformed id or revision): not cached
        return None
    path = Path(folder)
    return path if path.is_dir() else None


FILE_SUFFIXES = {".gguf", ".txt", ".vec", ".bin", ".npz", ".safetensors", ".model", ".kv", ".gz", ".json", ".tsv"}


def resolve(repo_id: str, revision: str | None = None) -> Path:
    """The cached snapshot of ``repo_id``, or one line saying it is not cached and how to get it."""
    found = cached_snapshot(repo_id, revision)
    if found is None:
        from embedeval.errors import one_line

        if revision is not None:
            revision = one_line(revision)  # a name typed with a newline is shown as one line, escaped
        at = f" at revision {revision}" if revision else ""
        if "/" not in repo_id and Path(repo_id).suffix.lower() in FILE_SUFFIXES:
            raise EmbedevalError("no such file (nor folder) here", repo_id)  # a file name, not a hub id
        raise EmbedevalError(
            f"does not exist here, and no Hugging Face model {repo_id!r}{at} is in the local cache ({cache_dir()}); "
            f"to use the hub model, download it first: `hf download {repo_id}"
            + (f" --revision {revision}" if revision else "")
            + " --include '*.json' '*.safetensors' '*.model' '*.txt'` (or point HF_HUB_CACHE at the cache that holds it)",
            repo_id,
        )
    return found


def display_name(repo_id: str, revision: str | None = None) -> str:
    """What reports call a cached model: its hub id (and revision), never the snapshot's hash folder."""
    return repo_id + (f"@{revision}" if revision else "")

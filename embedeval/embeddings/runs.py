"""The embeddings of a run directory (``RUN_DIR/embeddings/<role>.npz``)."""

from __future__ import annotations

from pathlib import Path

from embedeval.embeddings.embedding import Embedding
from embedeval.embeddings.formats import read_npz
from embedeval.errors import EmbedevalError
from embedeval.layout import EMBEDDINGS, ROLE_ORDER


def load_run_embeddings(run_dir: str | Path) -> list[Embedding]:
    run_dir = Path(run_dir)
    folder = run_dir / EMBEDDINGS
    files = sorted(folder.glob("*.npz")) if folder.is_dir() else []
    if not files:
        raise EmbedevalError(
            "not a run directory: no embeddings/<role>.npz inside (train one with 'embedeval train')", run_dir
        )
    found = []
    for file in files:
        emb = read_npz(file)
        emb.role = emb.role or (file.stem if file.stem in ROLE_ORDER else None)
        emb.name = f"{run_dir.name}:{file.stem}"
        emb.run = str(run_dir)
        found.append(emb)
    rank = {role: i for i, role in enumerate(ROLE_ORDER)}
    return sorted(found, key=lambda e: rank.get(e.role or "", len(rank)))

"""The embeddings of a run directory (``RUN_DIR/embeddings/<role>.npz``)."""

from __future__ import annotations

from pathlib import Path

from embedeval.embeddings.embedding import Embedding
from embedeval.embeddings.formats import read_npz
from embedeval.errors import EmbedevalError
from embedeval.layout import (
    EMBEDDINGS,
    JOINT_SUBWORD_MODEL,
    ROLE_ORDER,
    SRC_SUBWORD_MODEL,
    SUBWORDS,
    TGT_SUBWORD_MODEL,
    TRACK,
)


def load_run_embeddings(run_dir: str | Path) -> list[Embedding]:
    """The embeddings of a run folder, named ``RUN:role``; a track folder gives both of its runs, and a run inside a
    track is named ``TRACK/untied:role`` so that two tracks' runs never share a name."""
    run_dir = Path(run_dir)
    if (run_dir / TRACK).is_file() and (run_dir / "untied").is_dir() and (run_dir / "tied").is_dir():
        return [*load_run_embeddings(run_dir / "untied"), *load_run_embeddings(run_dir / "tied")]
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
        in_track = (run_dir.parent / TRACK).is_file()
        emb.name = f"{run_dir.parent.name}/{run_dir.name}:{file.stem}" if in_track else f"{run_dir.name}:{file.stem}"
        emb.run = str(run_dir)
        found.append(emb)
    rank = {role: i for i, role in enumerate(ROLE_ORDER)}
    return sorted(found, key=lambda e: rank.get(e.role or "", len(rank)))


def average_pieces(emb: Embedding, words: list[str]) -> Embedding:
    """A translation run's word view with rows added for ``words`` that its subword model splits into several
    pieces: the mean of those pieces' rows. Words that are one piece keep the view's rule (a piece the matrix was
    never trained on stays out); the added words are listed in ``meta["averaged"]`` so coverage can say so."""
    import numpy as np

    from embedeval.embeddings.formats import read_npz
    from embedeval.embeddings.subword import Subwords

    run_dir = Path(emb.run or "")
    pieces_file = run_dir / SUBWORDS / f"{emb.role}.npz"
    if not pieces_file.is_file():
        raise EmbedevalError("not a translation run's embedding (no subwords/<role>.npz): nothing to average", run_dir)
    model = run_dir / (SRC_SUBWORD_MODEL if emb.role == "source" else TGT_SUBWORD_MODEL)
    sp = Subwords.load(model if model.is_file() else run_dir / JOINT_SUBWORD_MODEL)
    pieces = read_npz(pieces_file)
    if len(pieces.words) != len(sp):
        raise EmbedevalError(
            f"holds {len(pieces.words):,} rows but the run's subword model has {len(sp):,} pieces: the run is damaged "
            "(train it again, or score it without --pieces average)",
            pieces_file,
        )
    known = {w.casefold() for w in emb.words}
    wanted = [w for w in dict.fromkeys(words) if w.casefold() not in known]
    added, rows = [], []
    for word, ids in zip(wanted, sp.encode(wanted)):
        if len(ids) > 1 and all(i >= 4 for i in ids):  # an unknown character (<unk>) means no honest average
            added.append(word)
            rows.append(pieces.vectors[ids].mean(axis=0))
    if not added:
        return emb
    vectors = np.vstack([emb.vectors, np.asarray(rows, dtype=np.float32)])
    meta = {**emb.meta, "averaged": len(added), "view": str(emb.meta.get("view", "")) + "; multi-piece words averaged"}
    return Embedding([*emb.words, *added], vectors, name=emb.name, source=emb.source, role=emb.role,
                     model=emb.model, run=emb.run, meta=meta)  # fmt: skip

"""Writing evaluation results as JSON and CSV (atomically: a kill or a full disk never leaves half a file)."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from embedeval.evaluate.similarity import Evaluation
from embedeval.files import atomic_write, atomic_write_text


def write_json(
    ev: Evaluation | None, path: str | Path, analogies: Any = None, geometry: Any = None, models: Any = None
) -> Path:
    """The word-pair results (``ev``), the analogy results (an AnalogyEvaluation) and the geometry of each embedding
    (a list of dicts), any of which may be None."""
    data = ev.to_dict() if ev is not None else {}
    if analogies is not None:
        data.update(analogies.to_dict())
    if geometry is not None:
        data["geometry"] = geometry
    if models is not None:
        data["pretrained"] = models  # each model's card: family, vocabulary, tying, pieces policy
    return atomic_write_text(path, json.dumps(data, indent=2) + "\n")


def _write_rows(path: str | Path, rows: list[dict], empty_header: str) -> Path:
    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else [empty_header])
            writer.writeheader()
            writer.writerows(rows)

    return atomic_write(path, write)


def write_rows(rows: list[dict], path: str | Path) -> Path:
    """Plain rows (dicts with the same keys) as CSV: a task's file in a report folder."""
    return _write_rows(path, rows, "embedding")


def write_csv(ev: Evaluation, path: str | Path) -> Path:
    """One row per embedding and benchmark."""
    return _write_rows(path, [asdict(r) for r in ev.results], "embedding")


def write_pairs_csv(ev: Evaluation, path: str | Path) -> Path:
    """One row per benchmark pair: words, gold score, each embedding's cosine (empty when a word is unknown) and
    ``used`` (1 when the pair is among those scored: with several embeddings, the pairs every one covers)."""
    names = list(dict.fromkeys(r.embedding for r in ev.results))

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["benchmark", "word1", "word2", "gold", *names, "used"])
            for bench, table in ev.pairs.items():
                for i, (w1, w2) in enumerate(zip(table.words1, table.words2)):
                    cosines = [table.cosines[n][i] for n in names]
                    writer.writerow([bench, w1, w2, f"{table.gold[i]:g}",
                                     *("" if c != c else f"{c:.6f}" for c in cosines), int(table.used[i])])  # fmt: skip

    return atomic_write(path, write)


def write_tests_csv(ev: Evaluation, path: str | Path) -> Path:
    """The pairwise comparisons (Williams' t, paired bootstrap, Holm), one row per benchmark and pair."""
    return _write_rows(path, [asdict(c) for c in ev.comparisons], "benchmark")

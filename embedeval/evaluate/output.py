"""Writing evaluation results as JSON and CSV (atomically: a kill or a full disk never leaves half a file)."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path

from embedeval.evaluate.similarity import Evaluation
from embedeval.files import atomic_write, atomic_write_text


def write_json(ev: Evaluation, path: str | Path) -> Path:
    return atomic_write_text(path, json.dumps(ev.to_dict(), indent=2) + "\n")


def write_csv(ev: Evaluation, path: str | Path) -> Path:
    rows = [asdict(r) for r in ev.results]

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["embedding"])
            writer.writeheader()
            writer.writerows(rows)

    return atomic_write(path, write)

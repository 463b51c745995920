"""Folders that look like finished `embedeval reproduce` runs, for tests of the tables (no training)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from embedeval import reproduce


def table_config(folder: Path) -> dict[str, Any]:
    """The config.json a table's run in ``folder`` would write: what reproduce checks before it counts the run."""
    for table in reproduce.TABLES.values():
        for row in table.rows:
            for seed in range(1, 11):
                run = table.build(row, seed)
                if folder.as_posix().endswith("/" + run.folder):
                    return _config_of(run.args)
    raise AssertionError(f"{folder} is not the folder of any table's run")


def _config_of(args: tuple[str, ...]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    corpus = None
    for key, value in reproduce._expected(args).items():
        if key == "corpus":
            corpus = value
        elif key.startswith("arch_options."):
            config.setdefault("arch_options", {})[key.split(".", 1)[1]] = value
        else:
            config[key] = value
    return {"trainer": args[1], "config": config, "corpus": {"name": corpus}, "versions": {}}


def write_table_config(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(table_config(folder)))

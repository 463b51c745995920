"""Models in the local Hugging Face cache, named as on the hub: the snapshot a name and revision resolve to (the
cache's own layout, files linked into blobs/), never downloaded, and a clear line when a model is not cached."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

pytest.importorskip("huggingface_hub")
transformers = pytest.importorskip("transformers")


def cache_layout(cache: Path, repo: str, folder: Path, commit: str, refs: dict[str, str]) -> Path:
    """models--ORG--NAME/{blobs,snapshots/COMMIT,refs/*}, each file a link into blobs/ as huggingface_hub makes it."""
    root = cache / f"models--{repo.replace('/', '--')}"
    (root / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot = root / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for file in folder.iterdir():
        data = file.read_bytes()
        blob = root / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        os.symlink(os.path.relpath(blob, snapshot), snapshot / file.name)
    (root / "refs").mkdir(exist_ok=True)
    for ref, target in refs.items():
        (root / "refs" / ref).write_text(target)
    return snapshot


@pytest.fixture()
def hub_cache(tmp_path, monkeypatch):
    from tests.test_pretrained import make, tokenizer

    cache = tmp_path / "hub"
    folders = {}
    for name, seed_name in (("main", "gpt2"), ("v2", "gpt_neox")):
        folder = tmp_path / f"model-{name}"
        make(folder, seed_name, {"bpe": tokenizer("bpe")})
        folders[name] = folder
    cache_layout(cache, "acme/tiny-lm", folders["main"], "a" * 40, {"main": "a" * 40})
    cache_layout(cache, "acme/tiny-lm", folders["v2"], "b" * 40, {"v2": "b" * 40})
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


def test_a_cached_model_is_read_by_its_hub_name(hub_cache, tmp_path, monkeypatch, capsys):
    from tests.test_hostile import run_main

    monkeypatch.chdir(tmp_path)
    code, out, err = run_main(["eval", "acme/tiny-lm", "-b", "rg65", "--json", "r.json"], monkeypatch, capsys)
    assert code == 0, err
    data = json.loads((tmp_path / "r.json").read_text())
    (card,) = data["pretrained"]
    assert card["name"] == "acme/tiny-lm" and card["hub_id"] == "acme/tiny-lm" and card["tied_by_weights"] is True
    assert {r["embedding"] for r in data["results"]} == {"acme/tiny-lm:tied"}  # named after the id, not the hash
    code, out, err = run_main(["eval", "acme/tiny-lm", "--revision", "v2", "-b", "rg65", "--json", "r2.json"],
                              monkeypatch, capsys)  # fmt: skip
    assert code == 0, err
    names = {r["embedding"] for r in json.loads((tmp_path / "r2.json").read_text())["results"]}
    assert names == {"acme/tiny-lm@v2:input", "acme/tiny-lm@v2:output"}  # the v2 revision is the untied model


def test_a_model_not_in_the_cache_says_how_to_get_it(hub_cache, tmp_path, monkeypatch, capsys):
    from tests.test_hostile import run_main

    monkeypatch.chdir(tmp_path)
    code, _, err = run_main(["eval", "acme/other-lm", "-b", "rg65"], monkeypatch, capsys)
    assert code == 2 and "not" in err and "hf download acme/other-lm" in err and "Traceback" not in err
    code, _, err = run_main(["eval", "acme/tiny-lm", "--revision", "nope", "-b", "rg65"], monkeypatch, capsys)
    assert code == 2 and "revision nope" in err


def test_outputs_never_land_in_the_cache(hub_cache, tmp_path, monkeypatch, capsys):
    from tests.test_hostile import run_main

    snapshot = hub_cache / "models--acme--tiny-lm" / "snapshots" / ("a" * 40)
    code, _, err = run_main(["eval", "acme/tiny-lm", "-b", "rg65", "--json", str(snapshot / "r.json")], monkeypatch,
                            capsys)  # fmt: skip
    assert code == 2 and "inside the input folder" in err and not (snapshot / "r.json").exists()

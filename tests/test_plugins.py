"""Plugins: a package on the path with its own dist-info adds a reader, a task and an architecture through entry
points, and a fresh `embedeval` process sees all three (help, eval, compare's report, train lm --arch, load_model)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PLUGIN = '''
"""A demo plugin: .demo embedding files, a task that counts words, and an LSTM under another name."""
import numpy as np

from embedeval.embeddings.embedding import Embedding
from embedeval.embeddings.readers import Reader
from embedeval.tasks import Section, Task
from embedeval.trainers import ArchSpec


def recognise(path):
    return path.suffix == ".demo"


def load(path, words, pieces, fmt, cache, vocabulary):
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    return [Embedding([r[0] for r in rows], np.array([[float(v) for v in r[1:]] for r in rows]), name=path.stem,
                      source=str(path))]


def run(ctx):
    return [{"embedding": e.name, "words": len(e)} for e in ctx.sources.embeddings]


def table(rows, console):
    console.print("demo-count: " + ", ".join(f"{r['embedding']} {r['words']}" for r in rows))


def section(rows):
    return Section("demo-count", "Demo count", "How many words each embedding holds <b>escaped</b>.",
                   ["embedding", "words"], [[r["embedding"], str(r["words"])] for r in rows])


READER = Reader("demo", "a .demo file: a word and its numbers per line", "demo_plugin:recognise",
                load="demo_plugin:load")
TASK = Task("demo-count", "count each embedding's words (a plugin)", run="demo_plugin:run", json_key="demo_count",
            table="demo_plugin:table", section="demo_plugin:section")
ARCH = ArchSpec(name="demo-lstm", family="lm", model="embedeval.train.lm_model:RNNLM",
                about="an LSTM under another name (a plugin)", default_config="demo-tiny", tiny_config="demo-tiny",
                presets={"demo-tiny": ("tiny", {})})
'''

ENTRY_POINTS = """
[embedeval.readers]
demo = demo_plugin:READER

[embedeval.tasks]
demo-count = demo_plugin:TASK

[embedeval.architectures]
demo-lstm = demo_plugin:ARCH
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """A folder on sys.path holding the plugin module and its dist-info, as pip would install it."""
    root = tmp_path_factory.mktemp("site")
    (root / "demo_plugin.py").write_text(textwrap.dedent(PLUGIN))
    info = root / "demo_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: demo-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    return root


def embedeval(site: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    return subprocess.run([sys.executable, "-m", "embedeval", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=600)  # fmt: skip


def test_a_plugin_reader_and_task_work_from_the_command_line(site, tmp_path):
    (tmp_path / "mine.demo").write_text("tiger 1 0 0\ncat 1 0.1 0\ndog 0 1 0\ncar 0 0 1\nautomobile 0 0.1 1\n")
    help_text = embedeval(site, "eval", "--help", cwd=tmp_path).stdout
    assert "demo-count" in help_text
    done = embedeval(site, "eval", "mine.demo", "-b", "rg65", "--task", "demo-count", "--json", "r.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "demo-count: mine.demo 5" in done.stdout
    assert json.loads((tmp_path / "r.json").read_text())["demo_count"] == [{"embedding": "mine.demo", "words": 5}]
    done = embedeval(site, "compare", "mine.demo", "-b", "rg65", "--task", "demo-count", "--out", "rep",
                     "--bootstrap", "0", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "rep" / "index.html").read_text()
    assert 'id="demo-count"' in page and "&lt;b&gt;escaped&lt;/b&gt;" in page  # the section's text is escaped


def test_a_plugin_architecture_trains_and_loads_in_a_fresh_process(site, tmp_path):
    done = embedeval(site, "train", "lm", "--arch", "demo-lstm", "--corpus", "builtin", "--dry-run", "--out", "run",
                     "--threads", "1", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    probe = "import embedeval as ee; m = ee.load_model('run'); print(m.config.arch if hasattr(m, 'config') else m)"
    env = dict(os.environ, PYTHONPATH=f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    assert "demo-lstm" in loaded.stdout or "RNNLM" in loaded.stdout


def test_a_broken_plugin_is_a_warning_not_a_crash(site, tmp_path):
    broken = tmp_path / "broken-site"
    broken.mkdir()
    info = broken / "broken_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[embedeval.tasks]\nbroken = no_such_module:TASK\n")
    done = embedeval(broken, "eval", "--help", cwd=tmp_path)
    assert done.returncode == 0 and "geometry" in done.stdout
    assert "plugin 'broken'" in done.stderr and "Traceback" not in done.stderr


FAULTY = """
import numpy as np

from embedeval.embeddings.readers import Reader
from embedeval.tasks import Task


def recognise(path):
    if path.suffix == ".boom":
        raise RuntimeError("recognise exploded")
    return False


def load(path, words, pieces, fmt, cache, vocabulary):
    return "not a list"


def run_raises(ctx):
    raise RuntimeError("task exploded")


def run_objects(ctx):
    return [{"embedding": "x", "values": np.arange(3), "handle": object()}]


READER = Reader("boom", "raises when it looks at a .boom file", "faulty_plugin:recognise", load="faulty_plugin:load")
RAISES = Task("t-raises", "raises", run="faulty_plugin:run_raises", json_key="t_raises")
OBJECTS = Task("t-objects", "returns objects", run="faulty_plugin:run_objects", json_key="t_objects")
STEALS = Task("t-steals", "would replace the scores", run="faulty_plugin:run_raises", json_key="results")
"""


def test_a_faulty_plugin_is_one_line_naming_it_and_never_replaces_the_scores(tmp_path):
    site = tmp_path / "faulty-site"
    site.mkdir()
    (site / "faulty_plugin.py").write_text(textwrap.dedent(FAULTY))
    info = site / "faulty_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: faulty-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[embedeval.readers]\nboom = faulty_plugin:READER\n[embedeval.tasks]\n"
                                           "t-raises = faulty_plugin:RAISES\nt-objects = faulty_plugin:OBJECTS\n"
                                           "t-steals = faulty_plugin:STEALS\n")  # fmt: skip
    (tmp_path / "e.txt").write_text("tiger 1 0 0\ncat 1 0.1 0\ndog 0 1 0\n")
    (tmp_path / "x.boom").write_text("tiger 1 0 0\n")

    done = embedeval(site, "eval", "x.boom", "-b", "rg65", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "the plugin reader 'boom' failed in its recognise hook" in done.stderr
    assert "recognise exploded" in done.stderr
    # a task whose json_key is one of results.json's own fields is not loaded: one warning line, the command goes on
    assert "warning: embedeval plugin 't-steals'" in done.stderr and "results.json's own fields" in done.stderr

    done = embedeval(site, "eval", "e.txt", "-b", "rg65", "--task", "t-raises", "--json", "r.json", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "the plugin task 't-raises' failed in its run hook" in done.stderr and "task exploded" in done.stderr
    assert not (tmp_path / "r.json").exists()

    done = embedeval(site, "eval", "e.txt", "-b", "rg65", "--task", "t-objects", "--json", "r.json", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "its rows[0].handle holds a object" in done.stderr  # the array alone would have been made a list

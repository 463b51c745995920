import re

from tests.conftest import ROOT


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```bash\n(.+?)\n```", text, flags=re.S)[:2]


def test_ci_runs_exactly_the_readme_test_command():
    _, test_command = readme_commands()
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci_lines


def test_readme_opens_with_install_and_main_job():
    main_command, test_command = readme_commands()
    assert "pip install torch==2.13.0" in main_command and main_command.split("&&")[-1].strip().startswith("embedeval")
    assert "pytest" in test_command


def test_committed_results_name_no_file_outside_the_repository():
    """Reports, notebooks and docs travel with the repository, so a path on the machine that wrote them (a data
    directory, a virtual environment, a scratch folder) would point nowhere for a reader; embedeval writes
    data files as ``data:...`` and bundled sets as ``bundled:...`` instead."""
    machine_path = re.compile(r"(?<![\w.])/(?:work|home|tmp|root|Users|mnt|scratch)/[\w.+-]")
    offenders = []
    for folder in ("reports", "notebooks", "docs"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and path.suffix in {".md", ".json", ".jsonl", ".csv", ".html", ".ipynb", ".txt"}:
                for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                    if machine_path.search(line):
                        offenders.append(f"{path.relative_to(ROOT)}:{number}")
    assert not offenders, f"machine paths in committed files: {offenders[:10]}"


def test_the_readme_python_example_runs(tmp_path, monkeypatch):
    """The README's Python API example, verbatim, on a small word2vec file named as in the example."""
    import re

    from tests.test_hostile import ROWS

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "evaluate(" in b)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.w2v").write_text(f"12 4\n{ROWS}")
    exec(compile(block, "README.md", "exec"), {})


def test_a_missing_result_lists_what_is_there():
    import numpy as np
    import pytest

    from embedeval.data.registry import load_benchmarks
    from embedeval.embeddings import Embedding
    from embedeval.evaluate import evaluate

    ev = evaluate(Embedding(["cat", "dog"], np.eye(2), name="model"), load_benchmarks(["rg65"]), n_bootstrap=0)
    with pytest.raises(KeyError, match="embeddings: model; benchmarks: rg65"):
        ev.result("model:input", "rg65")


def test_every_measured_number_in_the_readme_is_the_one_recorded_in_the_docs():
    """The README quotes measurements; the page that records each one (with its command and date) must hold the
    same number, so the two cannot drift apart."""
    prose = re.sub(r"```.+?```", "", (ROOT / "README.md").read_text(), flags=re.S)
    measured = re.findall(r"\d+(?:\.\d+)?x|\d+ s (?:wall|CPU)|peak \d+\.\d+ GB", prose)
    assert len(measured) >= 4
    recorded = (ROOT / "docs" / "performance.md").read_text()
    missing = [m for m in measured if m.replace("peak ", "") not in recorded]
    assert not missing, f"README numbers not in docs/performance.md: {missing}"

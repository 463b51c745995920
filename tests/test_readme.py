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

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

"""`embedeval reproduce`: a paper table as runs, resumed where they stopped, summarised as mean +- sd."""

from __future__ import annotations

import json

import pytest

from embedeval import reproduce
from embedeval.reproduce import Run, Table, summarise_table, table_markdown
from tests.conftest import held_by_another_process
from tests.fake_runs import write_table_config
from tests.test_hostile import run_main


def fake_run(folder, status, valid=None, test=None, checkpoint=False):
    write_table_config(folder)
    summary = {"status": status}
    if valid is not None:
        summary.update(valid_ppl=valid, test_ppl=test)
    (folder / "summary.json").write_text(json.dumps(summary))
    if checkpoint:
        (folder / "checkpoint.pt").write_bytes(b"x")


def test_states_and_commands_of_table6_runs(tmp_path):
    table = reproduce.get_table("press-wolf-table6")
    runs = table.runs((1, 2))
    assert [r.folder for r in runs[:7]] == [
        "ptb-pw-small-untied-s1", "ptb-pw-small-wt-s1", "ptb-pw-small-pr-s1", "ptb-pw-small-wt+pr-s1",
        "ptb-pw-small-pr-nobias-s1", "ptb-pw-small-wt+pr-nobias-s1", "ptb-pw-small-untied-s2",
    ]  # fmt: skip
    # the projection rows train P with its bias, as Press & Wolf's published code does; -nobias is the ablation
    assert "--pr-bias" in runs[2].args and "--pr-bias" in runs[3].args and "--no-pr-bias" in runs[4].args
    assert runs[5].args[runs[5].args.index("--variant") + 1] == "wt+pr"
    fake_run(tmp_path / "ptb-pw-small-untied-s1", "complete", 121.2, 114.7)
    fake_run(tmp_path / "ptb-pw-small-wt-s1", "incomplete", checkpoint=True)
    states = {r.folder: r.state(tmp_path) for r in runs}
    assert states["ptb-pw-small-untied-s1"] == "complete" and states["ptb-pw-small-wt-s1"] == "incomplete"
    assert states["ptb-pw-small-pr-s1"] == "absent"
    assert runs[1].command(tmp_path)[-1] == "--resume" and runs[2].command(tmp_path)[-1] == "--overwrite"
    assert "--seed" in runs[6].args and runs[6].args[runs[6].args.index("--seed") + 1] == "2"


def test_the_table_is_mean_and_sd_over_finished_seeds_beside_the_paper(tmp_path):
    table = reproduce.get_table("press-wolf-table6")
    fake_run(tmp_path / "ptb-pw-small-untied-s1", "complete", 121.0, 114.0)
    fake_run(tmp_path / "ptb-pw-small-untied-s2", "complete", 123.0, 116.0)
    fake_run(tmp_path / "ptb-pw-small-wt-s1", "incomplete", checkpoint=True)
    result = summarise_table(table, (1, 2), tmp_path)
    untied, wt = result["rows"][0], result["rows"][1]
    assert untied["test_mean"] == pytest.approx(115.0) and untied["test_sd"] == pytest.approx(2**0.5)
    assert untied["test_gap"] == pytest.approx(115.0 - 114.5)
    assert wt["seeds"] == [] and wt["test_mean"] is None
    text = table_markdown(result)
    assert "| untied | 2 | — | 122.0 ± 1.4 | 115.0 ± 1.4 | 120.7 | 114.5 | +0.5 |" in text


def test_a_run_the_trainer_stopped_is_named_under_the_table_not_averaged(tmp_path):
    table = reproduce.get_table("inan-small")
    fake_run(tmp_path / "ptb-pw-small-re-s1", "complete", 114.6, 109.3)
    folder = tmp_path / "ptb-pw-small-real-s1"
    fake_run(folder, "incomplete")
    reason = "diverging: training and validation perplexity rose for two epochs in a row"
    (folder / "summary.json").write_text(json.dumps({"status": "incomplete", "error": reason}))
    result = summarise_table(table, (1,), tmp_path)
    real = next(r for r in result["rows"] if r["row"] == "real")
    assert real["seeds"] == [] and real["stopped"] == [{"seed": 1, "error": reason}]
    assert f"- real, seed 1: {reason}" in table_markdown(result)


def test_a_bilm_table_shows_and_tests_each_direction(tmp_path):
    table = reproduce.get_table("bilm-ptb")
    for seed, shift in ((1, 0.0), (2, 1.0), (3, -0.5)):
        for row, fwd, bwd in (
            ("separate-untied", 130.0, 128.0),
            ("shared-untied", 126.0, 124.0),
            ("shared-wt", 118.0, 117.0),
        ):
            folder = tmp_path / f"ptb-bilm-small-{row}-s{seed}"
            fake_run(folder, "complete", fwd + 4 + shift, fwd + shift)
            summary = json.loads((folder / "summary.json").read_text())
            summary["direction_ppl"] = {
                "valid": {"forward": fwd + 4 + shift, "backward": bwd + 4 + shift},
                "test": {"forward": fwd + shift, "backward": bwd + shift * (1 + seed / 10)},
            }
            (folder / "summary.json").write_text(json.dumps(summary))
    result = summarise_table(table, (1, 2, 3), tmp_path)
    shared = next(r for r in result["rows"] if r["row"] == "shared-untied")
    assert shared["directions"]["test backward"][0] == pytest.approx(124.0 + (1.2 - 0.5 * 1.3) / 3)
    backward = [t for t in result["tests"] if t["a"].endswith("(backward)")]
    assert [(t["a"], t["b"]) for t in backward] == [
        ("separate-untied (backward)", "shared-untied (backward)"), ("shared-untied (backward)", "shared-wt (backward)"),
    ]  # fmt: skip
    assert backward[1]["mean"] == pytest.approx(-7.0) and len(result["tests"]) == 4  # one Holm family of four
    text = table_markdown(result)
    assert "| variant | seeds done | valid forward | valid backward | test forward | test backward |" in text
    assert "| shared-wt | 3 | 122.2 ± 0.8 |" in text


def test_a_one_directional_table_has_no_direction_section(tmp_path):
    fake_run(tmp_path / "ptb-pw-small-untied-s1", "complete", 121.0, 114.0)
    result = summarise_table(reproduce.get_table("press-wolf-table6"), (1,), tmp_path)
    assert result["rows"][0]["directions"] is None and "per direction" not in table_markdown(result)


def test_the_translation_table_is_bleu_with_parameter_counts(tmp_path):
    table = reproduce.get_table("multi30k-tying")
    for tie, bleu, params in (("none", 33.0, 11_674_624), ("all", 32.0, 7_578_624)):
        folder = tmp_path / f"m30k-en-de-{tie}-s1"
        write_table_config(folder)
        summary = {"status": "complete", "valid_bleu": bleu + 2, "test_bleu": bleu, "unique_parameters": params}
        (folder / "summary.json").write_text(json.dumps(summary))
    result = summarise_table(table, (1,), tmp_path)
    text = table_markdown(result)
    assert "valid BLEU (ours)" in text and "| all | 1 | 7,578,624 | 34.0 | 32.0 | — | — | — |" in text
    assert table.runs((1,))[0].args[:2] == ("train", "nmt")


def test_the_claims_of_each_seeds_report_are_set_side_by_side(tmp_path):
    table = reproduce.get_table("transformer-ptb")
    for seed, (u, t, corr_sv) in {
        1: ("ptb-tf-small-untied-s1", "ptb-tf-small-wt-s1", 0.93),
        2: ("ptb-tf-small-untied-s2", "ptb-tf-small-wt-s2", 0.91),
    }.items():
        report = tmp_path / "reports" / f"transformer-ptb-s{seed}"
        report.mkdir(parents=True)
        findings = [
            {"claim": "output_vs_input", "run": u, "model": "transformer-untied", "benchmarks": 7, "higher": seed,
             "better": 0, "worse": 1},
            {"claim": "tied_vs_untied", "tied": t, "untied": u, "corr_sv": corr_sv, "corr_su": 0.33,
             "s_vs_v": {"benchmarks": 7, "higher": 6, "better": 5, "worse": 0},
             "test_ppl": {"untied": 131.3, "tied": 123.3}, "parameters": {"untied": 100, "tied": 62}},
            {"claim": "output_vs_input", "run": "someone-else", "benchmarks": 7, "higher": 7, "better": 7, "worse": 0},
        ]  # fmt: skip
        (report / "results.json").write_text(json.dumps({"findings": findings}))
    result = summarise_table(table, (1, 2, 3), tmp_path / "runs", tmp_path / "reports")
    text = table_markdown(result)
    assert (
        "| V against U (untied run) | untied | V higher on 1/7; significantly better 0, worse 1 | V higher on 2/7; "
        in text
    )
    assert "| Table 3: S~V / S~U | wt vs untied | 0.930 / 0.330 | 0.910 / 0.330 | — |" in text
    assert "| test perplexity, untied -> tied | wt vs untied | 131.3 -> 123.3, -38% parameters |" in text
    assert "vs V +5 / -0 of 7" in text and "someone-else" not in text  # runs of other tables are not claims here


def test_the_embedding_claims_are_tested_across_seeds(tmp_path):
    """V - U per seed is the mean over the report's benchmarks; the test is a paired t over the seeds."""
    table = reproduce.get_table("transformer-ptb")
    gaps = {1: 0.10, 2: 0.12, 3: 0.08}
    for seed, gap in gaps.items():
        u = f"ptb-tf-small-untied-s{seed}"
        report = tmp_path / "reports" / f"transformer-ptb-s{seed}"
        report.mkdir(parents=True)
        results = [{"embedding": f"{u}:input", "benchmark": b, "spearman": 0.2 + i / 10} for i, b in enumerate("xy")]
        results += [
            {"embedding": f"{u}:output", "benchmark": b, "spearman": 0.2 + i / 10 + gap} for i, b in enumerate("xy")
        ]
        findings = [{"claim": "output_vs_input", "run": u, "benchmarks": 2, "higher": 2, "better": 0, "worse": 0}]
        (report / "results.json").write_text(json.dumps({"findings": findings, "results": results}))
    result = summarise_table(table, (1, 2, 3), tmp_path / "runs", tmp_path / "reports")
    (test,) = result["claim_tests"]
    assert test["what"] == "V − U, mean Spearman" and test["n"] == 3
    assert test["mean"] == pytest.approx(0.10) and test["sd"] == pytest.approx(0.02)
    assert test["p"] == pytest.approx(0.0131, abs=1e-3)  # t = 0.10 / (0.02 / sqrt 3) = 8.66, 2 df
    assert "| untied | V − U, mean Spearman | 3 | +0.100 |" in table_markdown(result)


def test_a_bilm_backward_softmax_is_set_against_the_forward_one_seed_by_seed(tmp_path):
    """A biLM with a softmax per direction: the backward one against V in each seed's cell, tested across seeds."""
    table = reproduce.get_table("bilm-ptb")
    for seed, gap in {1: -0.02, 2: -0.03, 3: -0.01}.items():
        run = f"ptb-bilm-small-separate-untied-s{seed}"
        report = tmp_path / "reports" / f"bilm-ptb-s{seed}"
        report.mkdir(parents=True)
        results = [{"embedding": f"{run}:output", "benchmark": "x", "spearman": 0.3},
                   {"embedding": f"{run}:output-backward", "benchmark": "x", "spearman": 0.3 + gap}]  # fmt: skip
        findings = [{"claim": "backward_vs_forward_output", "run": run, "benchmarks": 7, "higher": 2, "better": 0,
                     "worse": seed, "corr": 0.8 + seed / 100}]  # fmt: skip
        (report / "results.json").write_text(json.dumps({"findings": findings, "results": results}))
    result = summarise_table(table, (1, 2, 3), tmp_path / "runs", tmp_path / "reports")
    text = table_markdown(result)
    assert ("| backward softmax against the forward V | separate-untied | backward higher on 2/7; significantly "
            "better 0, worse 1; Table 3 V~backward 0.810 |") in text  # fmt: skip
    (test,) = result["claim_tests"]
    assert test["what"] == "backward V − V, mean Spearman" and test["mean"] == pytest.approx(-0.02)


def test_the_tied_matrix_geometry_is_tested_across_seeds(tmp_path):
    """S − U of each geometry measure per seed, a paired t over the seeds; a report without geometry adds no row."""
    table = reproduce.get_table("transformer-ptb")
    for seed, cone in {1: 0.30, 2: 0.34, 3: 0.32}.items():
        u, t = f"ptb-tf-small-untied-s{seed}", f"ptb-tf-small-wt-s{seed}"
        report = tmp_path / "reports" / f"transformer-ptb-s{seed}"
        report.mkdir(parents=True)

        def shape(name, mean_cosine):
            return {"embedding": name, "anisotropy": {"mean_cosine": mean_cosine}, "isotropy": 0.8,
                    "effective_rank": 150.0, "first_pc_share": 0.1}  # fmt: skip

        geometry = [shape(f"{u}:input", 0.01), shape(f"{u}:output", 0.02), shape(f"{t}:tied", cone)]
        findings = [{"claim": "tied_vs_untied", "tied": t, "untied": u, "corr_sv": 0.9, "corr_su": 0.3}]
        (report / "results.json").write_text(json.dumps({"findings": findings, "geometry": geometry}))
    result = summarise_table(table, (1, 2, 3), tmp_path / "runs", tmp_path / "reports")
    tests = {t["what"]: t for t in result["geometry_tests"]}
    assert len(tests) == 8  # 4 measures x (S − U, S − V)
    cone = tests["S − U, anisotropy (mean cosine of random pairs)"]
    assert cone["n"] == 3 and cone["mean"] == pytest.approx(0.31) and cone["p_holm"] < 0.05
    assert cone["verdict"].startswith("S above U")
    assert tests["S − U, effective rank"]["verdict"].startswith("not shown")  # identical in every seed: p = 1
    assert "### Geometry across seeds" in table_markdown(result)


def test_the_sgns_table_lists_runs_whose_scores_are_in_the_reports(tmp_path):
    table = reproduce.get_table("press-wolf-sgns")
    runs = table.runs((1,))
    assert [r.folder for r in runs] == [
        "sgns-wikitext-2/gensim-s1",
        "sgns-wikitext-2/torch-s1",
        "sgns-wikitext-2/torch-tied-s1",
    ]
    assert "--tie" in runs[2].args and "--tie" not in runs[1].args and "gensim" in runs[0].args
    write_table_config(tmp_path / "sgns-wikitext-2" / "torch-s1")
    (tmp_path / "sgns-wikitext-2" / "torch-s1" / "summary.json").write_text('{"status": "complete"}')
    text = table_markdown(summarise_table(table, (1,), tmp_path))
    assert "| torch | 1 |" in text and "| gensim | — |" in text


def test_unknown_table_is_one_line(tmp_path, monkeypatch, capsys):
    code, _, err = run_main(["reproduce", "nope", "--dry-run"], monkeypatch, capsys)
    assert code == 2 and "known tables: press-wolf-table6" in err


@pytest.mark.parametrize("seeds", ["1,x", ",", "-1"])
def test_bad_seeds_name_the_option(seeds, monkeypatch, capsys):
    code, _, err = run_main(["reproduce", "inan-small", "--seeds", seeds, "--dry-run"], monkeypatch, capsys)
    assert code == 2 and "Invalid value for --seeds" in err and "e.g. 1,2,3" in err


def test_reproduce_runs_resumes_and_writes_the_table(tmp_path, monkeypatch, capsys):
    def tiny(row: str, seed: int) -> Run:
        args = ("train", "lm", "--corpus", "builtin", "--config", "tiny", "--variant", row, "--seed", str(seed))
        return Run(row, seed, f"tiny-{row}-s{seed}", (*args, "--max-batches", "10", "--threads", "1"))

    toy = Table("toy", "a toy table", ("untied", "wt"), {"untied": (1.0, 1.0)}, "none", tiny)
    monkeypatch.setitem(reproduce.TABLES, "toy", toy)
    monkeypatch.chdir(tmp_path)
    args = ["reproduce", "toy", "--seeds", "1,2", "--jobs", "2", "--runs-dir", "runs", "--out", "out"]
    code, out, err = run_main(args, monkeypatch, capsys)
    assert code == 0, err
    result = json.loads((tmp_path / "out" / "toy.json").read_text())
    assert [len(r["seeds"]) for r in result["rows"]] == [2, 2]
    assert (tmp_path / "out" / "toy.md").read_text().splitlines()[2] == "## a toy table"
    for seed in (1, 2):  # one compare report per seed
        page = (tmp_path / "out" / f"toy-s{seed}" / "index.html").read_text()
        assert f"a toy table (seed {seed})" in page and f"tiny-wt-s{seed}" in page
    code, out, _ = run_main([*args, "--dry-run"], monkeypatch, capsys)  # everything done: nothing to run
    assert code == 0 and out.count("complete") == 4
    table = (tmp_path / "out" / "toy.md").read_bytes()
    code, out, err = run_main([*args, "--seeds", "3", "--no-train", "--no-report"], monkeypatch, capsys)
    assert not (tmp_path / "runs" / "tiny-untied-s3").exists()  # nothing trained
    assert code == 2 and "no run of toy has finished" in err  # and no table of empty rows over the good one
    assert "| untied |" not in out  # nor printed before saying so
    assert (tmp_path / "out" / "toy.md").read_bytes() == table


def test_a_run_another_process_began_after_the_list_was_made_is_skipped_not_failed(tmp_path, capsys):
    """Two `reproduce` calls started a few seconds apart: the first listed a run as absent that the second then
    began; when the first reaches it, it moves on to the next run instead of starting one that would be refused."""
    from embedeval.cli.reproduce import _next_ready

    taken, free = Run("wt", 1, "tiny-wt-s1", ()), Run("untied", 1, "tiny-untied-s1", ())
    with held_by_another_process(tmp_path / "tiny-wt-s1") as other:
        waiting = [taken, free]
        assert _next_ready(waiting, tmp_path, {}) is free
        assert waiting == []
        err = capsys.readouterr().err
        assert f"tiny-wt-s1 not started here: another process (pid {other.pid}) is training it" in err


def test_a_run_another_process_is_training_is_shown_and_left_alone(tmp_path, monkeypatch, capsys):
    """Two `reproduce` calls (or a hand-started `train`) over one runs folder: the second must not start a run the
    first is training, and its dry run says who has it."""

    def tiny(row: str, seed: int) -> Run:
        args = ("train", "lm", "--corpus", "builtin", "--config", "tiny", "--variant", row, "--seed", str(seed))
        return Run(row, seed, f"tiny-{row}-s{seed}", (*args, "--max-batches", "5", "--threads", "1"))

    monkeypatch.setitem(reproduce.TABLES, "toy", Table("toy", "a toy table", ("untied", "wt"), {}, "none", tiny))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    with held_by_another_process("runs/tiny-wt-s1") as other:
        args = ["reproduce", "toy", "--seeds", "1", "--runs-dir", "runs", "--out", "out", "--no-report"]
        code, out, _ = run_main([*args, "--dry-run"], monkeypatch, capsys)
        assert code == 0 and f"tiny-wt-s1                   seed 1  running in another process (pid {other.pid})" in out
        code, out, err = run_main(args, monkeypatch, capsys)
        assert code == 0, err
        assert "not started here, already training: tiny-wt-s1" in err
        assert (tmp_path / "runs" / "tiny-untied-s1" / "summary.json").is_file()
        assert not (tmp_path / "runs" / "tiny-wt-s1").exists()
    code, out, _ = run_main([*args, "--dry-run"], monkeypatch, capsys)  # the holder is gone: an ordinary absent run
    assert "tiny-wt-s1                   seed 1  absent" in out


def test_a_terminated_reproduce_stops_and_checkpoints_its_runs(tmp_path):
    """`timeout`, a scheduler or a closed terminal signals the reproduce process only; its runs must not go on
    training unattended, and what they trained must be kept for the next call."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT

    script = tmp_path / "reproduce_toy.py"
    script.write_text(
        "import sys\n"
        "from embedeval import reproduce\n"
        "from embedeval.cli import main\n"
        "def build(row, seed):\n"
        "    args = ('train', 'lm', '--corpus', 'builtin', '--config', 'demo', '--epochs', '50', '--variant', row,\n"
        "            '--seed', str(seed), '--threads', '1')\n"
        "    return reproduce.Run(row, seed, f'demo-{row}-s{seed}', args)\n"
        "reproduce.TABLES['toy'] = reproduce.Table('toy', 'a toy table', ('untied',), {}, 'none', build)\n"
        "sys.argv = ['embedeval', 'reproduce', 'toy', '--seeds', '1', '--runs-dir', 'runs', '--out', 'out']\n"
        "main()\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    log = tmp_path / "runs" / "demo-untied-s1.log"
    deadline = time.monotonic() + 120
    while "epoch 1/50" not in (log.read_text() if log.exists() else "") and time.monotonic() < deadline:
        time.sleep(0.5)  # the run is training
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=120)
    finally:
        still_training = [
            int(pid) for pid in os.listdir("/proc") if pid.isdigit() and b"demo-untied-s1" in _cmdline(pid)
        ]
        for pid in still_training:  # never leave a training behind, even when the test fails
            os.kill(pid, signal.SIGKILL)
    assert not still_training
    assert proc.returncode != 0 and "call the same command again to resume" in err
    summary = json.loads((tmp_path / "runs" / "demo-untied-s1" / "summary.json").read_text())
    assert summary["status"] == "incomplete" and summary["interrupted"]
    assert (tmp_path / "runs" / "demo-untied-s1" / "checkpoint.pt").is_file()


def _cmdline(pid: str) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


REGENERATED = [  # table, seeds, folder of the committed run summaries, folder of the committed table
    ("press-wolf-table6", "1,2,3", "reports/press-wolf/seeds", "reports/press-wolf"),
    ("inan-small", "1,2,3", "reports/press-wolf/seeds", "reports/press-wolf"),
    ("press-wolf-sgns", "1,2,3", "reports/press-wolf/seeds", "reports/press-wolf"),
    ("transformer-ptb", "1,2,3", "reports/transformer", "reports/transformer"),
    ("transformer-ptb", "1,2,3", "reports/transformer", "reports/geometry/transformer"),  # with the geometry
    ("multi30k-tying", "1,2", "reports/nmt", "reports/nmt"),
    ("bilm-ptb", "1,2,3", "reports/bilm", "reports/bilm"),
]


@pytest.mark.parametrize("table, seeds, runs, committed", REGENERATED, ids=[r[0] for r in REGENERATED])
def test_every_committed_table_regenerates_from_committed_files(table, seeds, runs, committed, tmp_path, monkeypatch,
                                                                capsys):  # fmt: skip
    """The command each RESULTS.md gives, run over the files in the repository, writes the committed table."""
    import shutil

    from tests.conftest import ROOT

    for report in (ROOT / committed).glob(f"{table}-s*"):  # the seeds' compare reports hold the claims
        shutil.copytree(report, tmp_path / report.name)
    args = ["reproduce", table, "--seeds", seeds, "--no-train", "--no-report", "--runs-dir", str(ROOT / runs),
            "--out", str(tmp_path)]  # fmt: skip
    code, _, err = run_main(args, monkeypatch, capsys)
    assert code == 0, err

    def body(path):
        return [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("<!--")]

    assert body(tmp_path / f"{table}.md") == body(ROOT / committed / f"{table}.md")
    # the JSON too: every field the table's sentences reference (its test rows and verdicts) is regenerated
    assert json.loads((tmp_path / f"{table}.json").read_text()) == json.loads(
        (ROOT / committed / f"{table}.json").read_text()
    )


def test_the_bilm_results_state_what_the_comparison_with_the_lstm_prints():
    """reports/bilm/RESULTS.md's table against the one-directional LSTM is the script's output, row for row."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    script = ROOT / "reports" / "bilm" / "against_lstm.py"
    printed = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True).stdout
    rows = [line for line in printed.splitlines() if line.startswith("| `")]
    assert len(rows) == 3
    results = (ROOT / "reports" / "bilm" / "RESULTS.md").read_text(encoding="utf-8")
    for row in rows:
        assert row in results


def test_reproduce_checks_each_run_against_its_row_and_seed(tmp_path, monkeypatch, capsys):
    """A seed folder copied over another is refused (not counted twice), and so is a WT run placed in the untied
    row's folder: reproduce reads each run's config.json, not only its folder name."""
    import shutil

    from tests.conftest import ROOT
    from tests.test_hostile import run_main

    runs = tmp_path / "runs"
    shutil.copytree(ROOT / "reports" / "press-wolf" / "seeds", runs)
    args = ["reproduce", "press-wolf-table6", "--seeds", "1,2,3", "--no-train", "--no-report", "--runs-dir", str(runs),
            "--out", str(tmp_path / "out")]  # fmt: skip
    assert run_main(args, monkeypatch, capsys)[0] == 0
    shutil.rmtree(runs / "ptb-pw-small-untied-s3")
    shutil.copytree(runs / "ptb-pw-small-untied-s2", runs / "ptb-pw-small-untied-s3")
    code, _, err = run_main(args, monkeypatch, capsys)
    assert code == 2 and "seed 2 (the row needs 3)" in err
    stored = json.loads((runs / "ptb-pw-small-untied-s3" / "config.json").read_text())
    stored["config"]["seed"] = 3  # a copy whose config was edited to look like seed 3: its results give it away
    (runs / "ptb-pw-small-untied-s3" / "config.json").write_text(json.dumps(stored))
    code, _, err = run_main(args, monkeypatch, capsys)
    assert code == 2 and "seeds 2 and 3 hold the same run" in err
    shutil.rmtree(runs / "ptb-pw-small-untied-s3")
    shutil.copytree(runs / "ptb-pw-small-wt-s3", runs / "ptb-pw-small-untied-s3")
    code, _, err = run_main(args, monkeypatch, capsys)
    assert code == 2 and "variant 'wt' (the row needs 'untied')" in err and "Traceback" not in err

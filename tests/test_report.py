"""`embedeval compare` and its report, checked the way a user meets them: the command, the files, the page
in a real browser, and the mistakes people make."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from embedeval.data.corpus import resolve_corpus
from embedeval.data.registry import load_benchmarks
from embedeval.dynamics.tracker import TrackConfig, track
from embedeval.embeddings import Embedding, write
from embedeval.errors import EmbedevalError
from embedeval.report import CompareSettings, build_report, collect, write_report
from embedeval.train.lm import load_lm_data
from embedeval.train.lm_config import make_config
from tests.chromium import check_page, find_chromium
from tests.conftest import ROOT, held_by_another_process, run_cli

BENCHES = ["simlex999", "men", "ws353"]
ARTIFACTS = ROOT / ".artifacts"


@pytest.fixture(scope="module")
def lm_track(tmp_path_factory) -> Path:
    """A tiny tracked LM pair (untied vs tied) on the built-in corpus: seconds, but every part of a real one."""
    out = tmp_path_factory.mktemp("compare") / "lm-pair"
    data = load_lm_data(resolve_corpus("builtin"))
    untied = make_config("tiny", "untied", epochs=2, max_batches=40, threads=1)
    tied = make_config("tiny", "wt", epochs=2, max_batches=40, threads=1)
    track(untied, tied, data, out, TrackConfig(every=10, knn_per_bucket=20))
    return out


def small_report(*inputs: Path, **settings):
    sources = collect(list(inputs))
    benches = load_benchmarks(BENCHES)
    return build_report(sources, benches, CompareSettings(n_bootstrap=200, **settings), "test")


def test_a_tracked_pair_gives_the_paper_tables(lm_track, tmp_path):
    report = small_report(lm_track)
    assert report.names == [
        "lm-pair/untied:input", "lm-pair/untied:output", "lm-pair/untied:sum", "lm-pair/tied:tied",
    ]  # fmt: skip
    # U, V and S are scored on identical pairs
    for bench in BENCHES:
        used = {report.evaluation.result(n, bench).pairs_used for n in report.names}
        assert len(used) == 1
    (table,) = report.model_tables()
    assert [row["role"] for row in table["rows"]] == ["input", "output", "sum", "tied"]
    assert [r["variant"] for r in report.lm_rows()] == ["untied", "wt"]
    assert all(r["test"] > 1 for r in report.lm_rows())
    (dyn,) = report.dynamics_rows()
    assert -1 <= dyn["corr_sv"] <= 1 and -1 <= dyn["corr_su"] <= 1
    assert dyn["align_first"]["intervals"] + dyn["align_second"]["intervals"] == dyn["records"] - 1
    assert any("tied S correlates with the untied V" in line and "second half" in line for line in report.summary)
    assert {f.name for f in report.figures} >= {"scores", "perplexity", "lm-pair-correlation"}

    written = write_report(report, tmp_path / "rep")
    results = json.loads(written["json"].read_text())
    assert len(results["results"]) == 4 * len(BENCHES)
    assert results["perplexity"][1]["variant"] == "wt"
    assert written["csv"].read_text().startswith("embedding,role,benchmark,spearman")


def test_comparisons_read_the_same_from_either_side(lm_track):
    report = small_report(lm_track)
    ab = report.comparison("lm-pair/untied:output", "lm-pair/untied:input", "men")
    ba = report.comparison("lm-pair/untied:input", "lm-pair/untied:output", "men")
    assert ab["delta"] == pytest.approx(-ba["delta"])
    assert ab["delta_low"] == pytest.approx(-ba["delta_high"])
    assert ab["williams_p_holm"] == ba["williams_p_holm"]


def test_the_page_is_self_contained(lm_track, tmp_path):
    html = write_report(small_report(lm_track), tmp_path / "rep")["html"].read_text()
    assert "<script" not in html.lower()
    assert "http://" not in html and "https://" not in html  # nothing fetched from the network
    assert html.count('src="data:image/png;base64,') >= 3


def test_user_strings_are_escaped(lm_track, tmp_path):
    evil = tmp_path / "<img src=x onerror=alert(1)>"  # a run folder name (no "/" possible in one)
    shutil.copytree(lm_track / "untied", evil)
    report = small_report(evil, title="<script>alert(1)</script>")
    written = write_report(report, tmp_path / "rep")
    html = written["html"].read_text()
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;:input" in html
    if find_chromium():
        page = check_page(written["html"], tmp_path / "evil.png")
        assert page.dialogs == [] and page.scripts == 0
        assert page.title == "<script>alert(1)</script>"  # shown as text
        assert "<img src=x onerror=alert(1)>:input" in page.text


def _vectors(words: list[str], seed: int) -> Embedding:
    rng = np.random.default_rng(seed)
    return Embedding(words, rng.normal(size=(len(words), 16)).astype(np.float32))


def test_different_vocabularies_are_compared_on_shared_words(tmp_path):
    bench = load_benchmarks(["men"])[0]
    words = sorted({w.lower() for w in (*bench.words1, *bench.words2)})
    write(_vectors(words[:500], 1), tmp_path / "a.txt", "word2vec")
    write(_vectors(words[250:], 2), tmp_path / "b.txt", "word2vec")
    sources = collect([tmp_path / "a.txt", tmp_path / "b.txt"])
    report = build_report(sources, [bench], CompareSettings(n_bootstrap=0), "test")
    assert report.vocabulary["shared"] == 250
    assert any("250 words are in all of them" in w for w in report.warnings)
    a, b = report.evaluation.result("a.txt", "men"), report.evaluation.result("b.txt", "men")
    assert a.pairs_used == b.pairs_used < min(a.pairs_covered, b.pairs_covered)


def test_a_file_and_a_run_can_be_mixed(lm_track, tmp_path):
    vocab = [w for w in (lm_track / "untied" / "vocab.tsv").read_text().split("\n")[:400] if w]
    words = [line.split("\t")[0] for line in vocab]
    write(_vectors(words, 3), tmp_path / "glove.txt", "glove")
    report = small_report(lm_track / "untied", tmp_path / "glove.txt")
    assert "glove.txt" in report.names
    assert any("mixing 1 run(s) and 1 embedding file(s)" in w for w in report.warnings)
    assert [t["group"] for t in report.model_tables()] == ["lm-pair/untied", "glove.txt"]


def test_an_incomplete_run_is_reported_with_what_it_lacks(lm_track, tmp_path):
    run = tmp_path / "half"
    shutil.copytree(lm_track / "untied", run)
    summary = json.loads((run / "summary.json").read_text())
    summary.update(status="incomplete", interrupted="SIGINT", epoch=2)
    (run / "summary.json").write_text(json.dumps(summary))
    report = small_report(run)
    (warning,) = [w for w in report.warnings if "half" in w]
    assert "interrupted (SIGINT)" in warning and "--resume" in warning and "no test perplexity" in warning

    shutil.rmtree(run / "embeddings")
    with pytest.raises(EmbedevalError, match="no embeddings"):
        collect([run])


def test_a_run_another_process_is_training_is_not_told_to_resume(lm_track, tmp_path):
    run = tmp_path / "busy"
    shutil.copytree(lm_track / "untied", run)
    summary = json.loads((run / "summary.json").read_text())
    summary.update(status="incomplete")
    (run / "summary.json").write_text(json.dumps(summary))
    with held_by_another_process(run) as trainer:
        (warning,) = [w for w in small_report(run).warnings if "busy" in w]
        assert f"still training (process {trainer.pid} is training it now)" in warning
        assert "--resume" not in warning and "score it again when it has finished" in warning


def test_cli_refuses_an_existing_report_folder(lm_track, tmp_path):
    out = tmp_path / "rep"
    args = ["compare", str(lm_track), "-b", "men", "--out", str(out), "--bootstrap", "50"]
    assert run_cli(*args)[0] == 0
    earlier = (out / "index.html").read_bytes()
    code, _, err = run_cli(*args)
    assert code == 2 and "--overwrite" in err
    assert (out / "index.html").read_bytes() == earlier  # finished work is not lost
    code, out_text, err = run_cli(*args, "--overwrite")
    assert code == 0, err
    assert "lm-pair/tied:tied" in out_text and "Summary" in out_text


def test_overwrite_refuses_a_folder_that_is_not_a_report(lm_track, tmp_path):
    out = tmp_path / "site"
    out.mkdir()
    (out / "index.html").write_text("my home page")
    code, _, err = run_cli("compare", str(lm_track), "-b", "men", "--out", str(out), "--overwrite")
    assert code == 2 and "not a folder embedeval wrote" in err
    assert (out / "index.html").read_text() == "my home page"


def test_cli_says_what_is_wrong_with_a_bad_input(tmp_path):
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli("compare", str(tmp_path / "empty"), "--out", str(tmp_path / "rep"))
    assert code == 2 and "nothing here that embedeval reads" in err and "Traceback" not in err
    code, _, err = run_cli("compare", str(tmp_path / "missing.txt"), "--out", str(tmp_path / "rep2"))
    assert code == 2 and "does not exist" in err


def test_runs_that_differ_only_in_tying_are_paired(lm_track):
    from embedeval.report.summary import tied_pairs

    report = small_report(lm_track / "untied", lm_track / "tied")  # given as two separate runs
    [(label, tied, untied)] = tied_pairs(report.sources.runs)
    assert (tied.name, untied.name) == ("lm-pair/tied", "lm-pair/untied")  # runs of a track carry its name
    assert any(line.startswith("Tied S of lm-pair/untied / lm-pair/tied: ") for line in report.summary)
    assert any(
        "one run each, so no test across seeds" in line and "test perplexity is" in line for line in report.summary
    )
    # the same claims as data, for reading several reports side by side (embedeval reproduce)
    by_claim = {f["claim"]: f for f in report.findings}
    pair = by_claim["tied_vs_untied"]
    assert (pair["tied"], pair["untied"]) == ("lm-pair/tied", "lm-pair/untied")
    assert pair["corr_sv"] == report.correlation("lm-pair/tied:tied", "lm-pair/untied:output")
    assert pair["s_vs_v"]["benchmarks"] == len(report.benchmark_names) >= pair["s_vs_v"]["higher"]
    assert (
        pair["test_ppl"]["tied"] == tied.summary["test_ppl"]
        and pair["parameters"]["tied"] < pair["parameters"]["untied"]
    )
    v_vs_u = by_claim["output_vs_input"]
    assert v_vs_u["run"] == "lm-pair/untied" and v_vs_u["better"] + v_vs_u["worse"] <= v_vs_u["benchmarks"]
    assert report.to_dict()["findings"] == report.findings


def test_the_summary_names_no_winner_on_a_handful_of_pairs_or_without_a_significant_lead(tmp_path):
    rng = np.random.default_rng(3)
    words = ["tiger", "cat", "dog", "car", "automobile", "money", "cash", "bank", "river", "water"]
    for name in ("a", "b"):
        write(Embedding(words, rng.normal(size=(len(words), 6))), tmp_path / f"{name}.txt", "word2vec")
    report = small_report(tmp_path / "a.txt", tmp_path / "b.txt")
    text = " ".join(report.summary)
    assert "scores highest" not in text
    assert "too few to rank them" in text
    assert "these scores are noise" in text


def test_one_untied_run_is_the_partner_of_each_of_its_tied_forms():
    from types import SimpleNamespace

    from embedeval.report.summary import tied_pairs

    def run(name, variant, tied, lr=1.0):
        roles = {"tied": f"{name}:tied"} if tied else {"input": f"{name}:input", "output": f"{name}:output"}
        return SimpleNamespace(name=name, track=None, side=None, roles=roles, trainer="lm",
                               corpus={"sha256": "x"}, config={"variant": variant, "lr": lr})  # fmt: skip

    runs = [run("untied", "untied", False), run("wt", "wt", True), run("re", "re", True), run("pr", "pr", False),
            run("wt+pr", "wt+pr", True), run("wt-other-lr", "wt", True, lr=0.5)]  # fmt: skip
    runs[2].config["al_target_grad"] = False  # a field the untied run's older config does not have
    pairs = {(tied.name, untied.name) for _, tied, untied in tied_pairs(runs)}
    assert pairs == {("wt", "untied"), ("re", "untied"), ("wt+pr", "pr")}  # not across settings


def test_the_tracker_records_the_shape_of_u_v_and_s(lm_track):
    """Anisotropy and effective rank of every matrix at every record, and a figure of them in the report."""
    from embedeval.dynamics.plots import dynamics_figures
    from embedeval.dynamics.records import read_dynamics

    records = read_dynamics(lm_track)
    last = records[-1]["shape"]
    assert set(last) == {"U", "V", "S"}
    assert all(-1 <= m["anisotropy"] <= 1 and 0 < m["effective_rank"] <= 64 for m in last.values())
    assert "shape" in [name for name, _ in dynamics_figures(records, "pair")]

"""The planted-token ground truth: a Hugging Face GPT-2 trained by transformers' Trainer, the per-run analysis, and
the page of reports/tokens (its sentences held to the claims rule; the committed page regenerates from its JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from embedeval.claims import Resolver, check_sentence, sentences
from embedeval.token_findings import _planted_auroc, analyse_run, findings, page
from tests.conftest import run_cli

pytest.importorskip("transformers")
pytest.importorskip("accelerate")

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--vocab-size", "400", "--n-embd", "16", "--n-layer", "1", "--n-head", "2", "--context", "16", "--epochs", "1",
        "--corpus", "builtin", "--plant-tokens", "5"]  # fmt: skip


@pytest.fixture(scope="module")
def gpt2_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("gpt2")
    for variant in ("untied", "tied"):
        code, out, err = run_cli(*["train", "hf-gpt2", *TINY, "--variant", variant, "--save-steps", "100",
                                  "--out", str(root / variant)])  # fmt: skip
        assert code == 0, err
    return root


def test_a_gpt2_run_is_a_model_folder_with_trainer_checkpoints(gpt2_runs):
    run = gpt2_runs / "untied"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["ppl_unit"] == "BPE token"
    assert summary["planted"] == [f"<planted-{i}>" for i in range(5)]
    steps = sorted(int(p.name.split("-")[1]) for p in (run / "checkpoints").glob("checkpoint-*"))
    assert steps[0] == 100 and steps[-1] == summary["steps"]  # the Trainer's own layout, its last step included
    code, out, err = run_cli(*["eval", str(run / "model"), "--task", "tokens", "-b", "simlex999", "--json", "-"])
    assert code == 0, err
    (tokens,) = json.loads(out)["tokens"]
    assert tokens["tied"] is False and tokens["categories"]["byte"] == 256
    assert [i["indicator"] for i in tokens["indicators"]] == ["input_norm", "reference_cosine"]


def test_tied_and_untied_gpt2_store_one_or_two_matrices(gpt2_runs):
    from safetensors import safe_open

    def names(variant):
        with safe_open(str(gpt2_runs / variant / "model" / "model.safetensors"), "pt") as f:
            return set(f.keys())

    assert "lm_head.weight" in names("untied")
    assert "lm_head.weight" not in names("tied")  # one matrix S, saved once


def test_the_series_reads_a_gpt2_runs_checkpoints(gpt2_runs, tmp_path):
    code, out, err = run_cli(*["series", str(gpt2_runs / "tied" / "checkpoints"), "--out", str(tmp_path / "s")])
    assert code == 0, err
    records = [json.loads(x) for x in (tmp_path / "s" / "dynamics.jsonl").read_text().splitlines() if x.strip()]
    assert len(records) >= 2


def test_a_setting_out_of_range_is_refused_before_any_folder(tmp_path):
    code, out, err = run_cli(*["train", "hf-gpt2", *TINY, "--n-embd", "10", "--n-head", "4", "--out",
                              str(tmp_path / "r")])  # fmt: skip
    assert code == 2 and "multiple of --n-head" in err
    assert not (tmp_path / "r").exists()


def test_the_byte_level_bpe_base_tokens_are_byte_tokens(gpt2_runs):
    from embedeval.embeddings.pretrained import Pieces

    tok = Pieces(gpt2_runs / "tied" / "model")
    assert len(tok.byte_tokens()) == 256


def test_analyse_run_finds_the_planted_tokens_of_gpt2_and_of_an_lm_run(gpt2_runs, tmp_path):
    untied = analyse_run(gpt2_runs / "untied")
    assert untied["arch"] == "gpt2" and untied["planted"] == 5 and not untied["tied"]
    ind = {(i["indicator"], i["matrix"]): i for i in untied["indicators"]}
    assert ind["input_norm", "U"]["method"] and ("reference_cosine", "V") in ind
    assert untied["reference_tokens"] > 0  # bytes the text never produced
    tied = analyse_run(gpt2_runs / "tied")
    assert {(i["indicator"], i["matrix"]) for i in tied["indicators"]} == {("input_norm", "S"),
                                                                           ("reference_cosine", "S")}  # fmt: skip
    code, out, err = run_cli(*["train", "lm", "--corpus", "builtin", "--config", "tiny", "--variant", "untied",
                              "--plant-tokens", "7", "--epochs", "1", "--out", str(tmp_path / "lm")])  # fmt: skip
    assert code == 0, err
    lm = analyse_run(tmp_path / "lm")
    assert lm["arch"] == "lstm" and lm["planted"] == 7 and lm["reference_tokens"] == 0
    methods = {(i["indicator"], i["matrix"]): i["method"] for i in lm["indicators"]}
    # U's norm is the method's; V's norm is not, nor init_box (methods 13.2: the LSTM's rows start in a uniform box)
    assert methods == {("input_norm", "U"): True, ("init_box", "U"): False, ("input_norm", "V"): False,
                       ("init_box", "V"): False}  # fmt: skip
    assert all(0 <= i["auroc"] <= 1 for i in lm["indicators"])


def test_the_planted_auroc_leaves_other_unseen_tokens_out():
    score = np.array([5.0, 4.0, 0.0, 1.0, 9.0])
    counts = np.array([0, 0, 3, 2, 0])  # token 4 is unseen but not planted: in neither class
    assert _planted_auroc(score, np.array([0, 1]), counts) == 1.0
    assert _planted_auroc(-score, np.array([0, 1]), counts) == 0.0


def test_the_auroc_by_count_compares_planted_tokens_with_one_band_of_seen_tokens_at_a_time():
    """Planted tokens 0 and 1 score 5 and 4; the token seen once scores 4.5 (between them), the ones seen often lower:
    against the seen-once band alone the AUROC is 0.5, against the frequent band 1.0."""
    score = np.array([5.0, 4.0, 4.5, 1.0, 0.5, 9.0])
    counts = np.array([0, 0, 1, 12, 40, 0])
    planted = np.array([0, 1])
    assert _planted_auroc(score, planted, counts, 1, 1) == 0.5
    assert _planted_auroc(score, planted, counts, 10, None) == 1.0
    # every seen token at once: of the 2 x 3 (planted, seen) pairs, only (4.0, 4.5) is ranked the wrong way
    assert _planted_auroc(score, planted, counts) == pytest.approx(5 / 6)
    assert np.isnan(_planted_auroc(score, planted, counts, 2, 9))  # an empty band has no AUROC


def _fake(arch, tied, seed, auroc, r2):
    matrices = ["S"] if tied else ["U", "V"]
    return {"run": f"{arch}-{tied}-{seed}", "seed": seed, "arch": arch, "tied": tied, "variant": "x",
            "indicators": [{"indicator": "input_norm", "matrix": m, "auroc": auroc, "method": m == "U"} for m in matrices],
            "frequency": [{"matrix": m, "tokens": 100, "spearman_norm": 0.1, "probe_r2": r2[m], "probe_r2_ci": [0, 1]}
                          for m in matrices]}  # fmt: skip


def test_the_page_states_only_what_its_tests_show(tmp_path):
    runs = [_fake("lstm", False, s, 0.995 + s / 1000, {"U": 0.2 + s / 100, "V": 0.6 + s / 50}) for s in (1, 2, 3)]
    runs += [_fake("lstm", True, s, 0.9, {"S": 0.4 + s / 30}) for s in (1, 2, 3)]
    result = {"seeds": [1, 2, 3], "planted": 100, "runs": runs, **findings(runs)}
    tests = {t["key"]: t for t in result["frequency"]["tests"]}
    assert set(tests) == {"lstm:V-U", "lstm:S-U", "lstm:S-V"}
    assert tests["lstm:V-U"]["mean"] > 0 and "shown" in tests["lstm:V-U"]["verdict"]
    (target,) = [t for t in result["detection"]["tests"] if "target" in t]
    assert target["verdict"].startswith("target met in 3 of 3 seeds")
    (tmp_path / "reports" / "tokens").mkdir(parents=True)
    (tmp_path / "reports" / "tokens" / "tokens.json").write_text(json.dumps(result))
    text = page(result)
    resolver = Resolver(tmp_path)
    problems = [(s, why) for _, s in sentences(text) for why in check_sentence(s, resolver)]
    assert problems == []


@pytest.mark.parametrize("where", ["reports/tokens", "reports/tokens/held-out"])  # seeds 1-3; 13.2's seeds 4-6
def test_the_committed_page_regenerates_from_its_json(where):
    folder = ROOT / where
    if not (folder / "tokens.json").is_file():
        pytest.skip(f"{where} is not written yet")
    result = json.loads((folder / "tokens.json").read_text(encoding="utf-8"))
    assert page(result) == (folder / "README.md").read_text(encoding="utf-8")
    runs = {r["run"] for r in result["runs"]}
    assert runs == {p.stem for p in (folder / "runs").glob("*.json")}


def test_a_fraction_runs_counts_are_those_of_the_text_it_trained_on(tmp_path):
    from embedeval.data.corpus import Vocab
    from embedeval.train.lm import trained_counts

    code, out, err = run_cli("train", "lm", "--corpus", "builtin", "--config", "tiny", "--train-fraction", "0.3",
                             "--epochs", "1", "--out", str(tmp_path / "lm"))  # fmt: skip
    assert code == 0, err
    vocab = Vocab.load(tmp_path / "lm" / "vocab.tsv")
    seen, whole = trained_counts(tmp_path / "lm"), vocab.counts
    words = np.array([w not in ("<eos>", "<unk>") for w in vocab.words])  # vocab.tsv counts words, not <eos>
    assert (seen[words] <= whole[words]).all() and 0.2 < seen[words].sum() / whole[words].sum() < 0.4
    assert (seen == 0).sum() > (whole == 0).sum()  # words of the vocabulary the prefix never holds


def test_a_tied_gpt2_series_is_scanned_against_its_untied_one(gpt2_runs, tmp_path):
    import shutil

    from embedeval.series_findings import figure, findings, page, scan_seed, seed_summary

    for variant in ("tied", "untied"):
        shutil.copytree(gpt2_runs / variant, tmp_path / "runs" / f"wt2-gpt2-{variant}-s1")
    records = scan_seed(tmp_path / "runs", 1, tmp_path / "out" / "gpt2-s1")
    summary = seed_summary(1, records)
    assert summary["steps"] == sorted(summary["steps"]) and len(summary["steps"]) >= 2
    result = {"seeds": [summary], **findings([summary])}
    # one seed is never tested (the toy vocabulary may hold no benchmark pair at all: then no correlation either)
    assert {t["verdict"] for t in result["tests"]} <= {"one seed only, no test", "no seed finished, no test"}
    figure(result, tmp_path / "out" / "figure.png")
    assert (tmp_path / "out" / "figure.png").stat().st_size > 1000
    assert "no test" in page(result)


def _series(seed, su, sv):
    steps = [60, 120, 180]
    return {"seed": seed, "steps": steps, "S~U": su, "S~V": sv, "U~V": [0.5] * 3,
            "first": {"S~U": su[0], "S~V": sv[0], "U~V": 0.5}, "last": {"S~U": su[-1], "S~V": sv[-1], "U~V": 0.5},
            "reached": None, "last_step": 180}  # fmt: skip


def test_the_series_page_says_what_its_tests_show(tmp_path):
    from embedeval.series_findings import _reached, findings, page

    seeds = [_series(s, [0.9, 0.5, 0.3 + s / 100], [0.2, 0.6, 0.7 + s / 50]) for s in (1, 2, 3)]
    result = {"seeds": seeds, **findings(seeds)}
    last, first = result["tests"]
    assert last["mean"] > 0 and "shown" in last["verdict"] and first["mean"] < 0
    records = [{"step": st, "corr": {"S~U": u, "S~V": v}} for st, u, v in zip([1, 2, 3, 4], [1, 0, 1, 0], [0, 1, 0, 1])]
    assert _reached(records) == 4  # from the last crossing on, not the first
    (tmp_path / "reports" / "checkpoints").mkdir(parents=True)
    (tmp_path / "reports" / "checkpoints" / "gpt2-series.json").write_text(json.dumps(result))
    resolver = Resolver(tmp_path)
    assert [(s, w) for _, s in sentences(page(result)) for w in check_sentence(s, resolver)] == []


def test_the_committed_series_page_regenerates_from_its_json():
    from embedeval.series_findings import page

    folder = ROOT / "reports" / "checkpoints"
    if not (folder / "gpt2-series.json").is_file():
        pytest.skip("reports/checkpoints is not written yet")
    result = json.loads((folder / "gpt2-series.json").read_text(encoding="utf-8"))
    assert page(result) == (folder / "README.md").read_text(encoding="utf-8")


def test_a_gpt2_run_is_replaced_whole_by_overwrite_but_never_a_users_file(gpt2_runs, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(gpt2_runs / "untied", run)
    before = json.loads((run / "summary.json").read_text())
    code, _, err = run_cli(*["train", "hf-gpt2", *TINY, "--variant", "untied", "--save-steps", "100", "--out", str(run),
                             "--overwrite"])  # fmt: skip
    assert code == 0, err
    after = json.loads((run / "summary.json").read_text())
    assert after["valid_ppl"] == before["valid_ppl"]  # same seed, same numbers
    assert (run / "checkpoints" / "checkpoint-100" / "model.safetensors").is_file()  # not in a staging folder
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run.new")]
    (run / "checkpoints" / "checkpoint-100" / "notes.txt").write_text("mine")
    code, _, err = run_cli(*["train", "hf-gpt2", *TINY, "--out", str(run), "--overwrite"])
    assert code == 2 and "checkpoints/checkpoint-100/notes.txt" in err


def test_new_surfaces_refuse_bad_input_in_one_line(gpt2_runs, tmp_path):
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "nothing").mkdir()
    cases = [
        (["train", "hf-gpt2", "--corpus", str(tmp_path / "empty.txt"), "--out", str(tmp_path / "r")],
         "fewer than one block"),
        (["train", "hf-gpt2", "--n-embd", "10", "--n-head", "4", "--out", str(tmp_path / "r")], "multiple of --n-head"),
        (["gguf", str(gpt2_runs / "tied" / "model"), "--out", str(tmp_path / "x.txt")], "must end in .gguf"),
        (["gguf", str(gpt2_runs / "tied" / "model"), "--type", "Q4_0", "--out", str(tmp_path / "q.gguf")],
         "multiple of their block"),
        (["gguf", str(tmp_path / "nothing"), "--out", str(tmp_path / "n.gguf")], "nothing here that embedeval reads"),
        (["series", str(gpt2_runs / "tied" / "checkpoints"), "--tokenizer", str(tmp_path / "nothing"), "--out",
          str(tmp_path / "s")], "--tokenizer: no tokenizer"),
        (["reproduce", "planted-tokens", "--runs-dir", str(tmp_path / "none"), "--no-train", "--out",
          str(tmp_path / "p")], "no run of planted-tokens has finished"),
    ]  # fmt: skip
    for args, message in cases:
        code, _, err = run_cli(*args)
        assert code == 2 and message in err and "Traceback" not in err, (args, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.txt", "nothing"]  # nothing left behind

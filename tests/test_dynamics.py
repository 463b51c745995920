import dataclasses
import errno
import json

import numpy as np
import pytest
import torch

import embedeval.train.lm as lm_module
import embedeval.train.skipgram as sg_module
from embedeval.data.corpus import resolve_corpus
from embedeval.dynamics import TrackConfig, plot_dynamics, read_dynamics, track
from embedeval.dynamics.buckets import frequency_buckets
from embedeval.dynamics.gradients import GradientSplit
from embedeval.dynamics.tracker import check_pair
from embedeval.errors import EmbedevalError
from embedeval.train.lm import load_lm_data
from embedeval.train.lm_config import make_config
from embedeval.train.lm_model import RNNLM
from embedeval.train.skipgram import SkipGramConfig, _sgns_step
from tests.conftest import run_cli

FAST = TrackConfig(every=10, knn_per_bucket=20, snapshot_words=40)


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    from embedeval.data.registry import load_benchmark

    rng = np.random.default_rng(0)
    # words of SimLex-999 pairs (so the probe has pairs), with Zipf-like counts (so there are several buckets)
    simlex = load_benchmark("simlex999")
    words = list(dict.fromkeys(w for pair in zip(simlex.words1[:80], simlex.words2[:80]) for w in pair))
    p = 1.0 / np.arange(1, len(words) + 1)
    lines = [" ".join(rng.choice(words, size=rng.integers(4, 12), p=p / p.sum())) for _ in range(700)]
    folder = tmp_path_factory.mktemp("toy")
    for split, part in (("train", lines[:600]), ("valid", lines[600:650]), ("test", lines[650:])):
        (folder / f"{split}.txt").write_text("\n".join(part) + "\n")
    return resolve_corpus(folder)


def tiny(variant, **kw):
    return make_config("tiny", variant, **{"epochs": 1, "threads": 1, **kw})


def lm_side_gradients(variant, fused=False):
    torch.manual_seed(0)
    model = RNNLM(50, tiny(variant))
    seen = {}
    model.grad_hook = lambda role, g: seen.__setitem__(role, g.clone())
    x = torch.randint(0, 25, (6, 3))  # inputs only from the first 25 words
    y = torch.randint(0, 50, (6, 3))
    if fused:  # the trainer's loss: the output layer and cross-entropy in blocks of 4 rows
        features, _ = model.features(x, model.init_hidden(3))
        model.cross_entropy(features, y, chunk=4).backward()
    else:
        logits, _ = model(x, model.init_hidden(3))
        torch.nn.functional.cross_entropy(logits.view(-1, 50), y.reshape(-1), reduction="sum").backward()
    return model, seen, x


@pytest.mark.parametrize("fused", [False, True])
def test_lm_tied_gradient_splits_into_input_and_output_parts_that_sum_to_autograd(fused):
    model, seen, x = lm_side_gradients("wt", fused)
    torch.testing.assert_close(seen["input"] + seen["output"], model.encoder.weight.grad, atol=1e-6, rtol=0)
    rows_with_g_in = set(torch.nonzero(seen["input"].abs().sum(1)).flatten().tolist())
    assert rows_with_g_in <= set(x.flatten().tolist())  # G_in only on the rows of words in the batch input
    assert (seen["output"].abs().sum(1) > 0).all()  # the softmax reaches every row


def test_the_fused_loss_reports_the_same_split_as_the_unfused_one():
    _, plain, _ = lm_side_gradients("wt")
    _, fused, _ = lm_side_gradients("wt", fused=True)
    for role in ("input", "output"):
        torch.testing.assert_close(fused[role], plain[role], atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("fused", [False, True])
def test_lm_untied_split_is_just_the_u_and_v_gradients(fused):
    model, seen, _ = lm_side_gradients("untied", fused)
    torch.testing.assert_close(seen["input"], model.encoder.weight.grad, atol=1e-6, rtol=0)
    torch.testing.assert_close(seen["output"], model.decoder.weight.grad, atol=1e-6, rtol=0)


def test_sgns_tied_split_sums_to_autograd():
    from tests.test_skipgram import window_loss_by_autograd

    torch.manual_seed(0)
    s = torch.randn(20, 4)
    contexts, outputs = torch.tensor([[1, 2], [2, 1]]), torch.tensor([[3, 4, 5], [1, 9, 2]])
    weights = torch.ones(2, 2, 3)
    ss = s.clone().requires_grad_()
    window_loss_by_autograd(ss, ss, contexts, outputs, weights).backward()
    seen = {}
    _sgns_step(s, s, contexts, outputs, weights, 1.0, lambda role, grad, rows: seen.update({role: (rows, grad)}), 0)
    g_in = torch.zeros(20, 4).index_add_(0, *seen["input"])
    g_out = torch.zeros(20, 4).index_add_(0, *seen["output"])
    torch.testing.assert_close(g_in + g_out, ss.grad, atol=1e-6, rtol=0)
    assert set(torch.nonzero(g_in.abs().sum(1)).flatten().tolist()) <= {1, 2}


def test_gradient_split_statistics_per_bucket():
    buckets = frequency_buckets(np.array([500, 50, 5, 5]))
    split = GradientSplit(buckets, tied=True)
    g_in = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    g_out = torch.tensor([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0], [1.0, 0.0]])
    split.add_dense(g_in, g_out)
    stats = split.flush()
    assert stats["frac_rows_in"] == pytest.approx(0.25)
    assert stats["share_out"] == pytest.approx(6 / 7)  # |G_out|^2 = 1 + 4 + 1, |G_in|^2 = 1
    top = stats["buckets"][2]  # count 100+: the one row with both parts, parallel
    assert top["cos_g_gout"] == pytest.approx(1.0) and top["norm"] == pytest.approx(2.0)
    assert split.flush() is None  # flushed: nothing sampled since


def test_frequency_buckets_are_decades():
    b = frequency_buckets(np.array([0, 1, 9, 10, 99, 100, 12345]))
    assert b.labels == ["1-9", "10-99", "100-999", "1000-9999", "10000+"]
    assert b.index.tolist() == [0, 0, 0, 1, 1, 2, 4]


def test_a_pair_is_a_tied_run_and_its_untied_partner_differing_only_in_tying():
    check_pair(tiny("untied"), tiny("wt"))
    check_pair(tiny("pr"), tiny("wt+pr"))
    check_pair(tiny("al"), tiny("real"))
    with pytest.raises(EmbedevalError, match="'lr'"):
        check_pair(tiny("untied"), tiny("wt", lr=2.0))
    with pytest.raises(EmbedevalError, match="tied form of variant 'pr'.*pair it with variant 'pr'"):
        check_pair(tiny("untied"), tiny("wt+pr"))
    with pytest.raises(EmbedevalError, match="second run of a pair must be tied"):
        check_pair(tiny("wt"), tiny("untied"))


def test_lm_pair_sees_the_same_batches_and_starts_from_the_same_u(tmp_path, toy, monkeypatch):
    seen: dict[int, list] = {}
    original = lm_module.lm_cost

    def spy(model, cfg, x, y, hidden):
        seen.setdefault(cfg.tied, []).append((x.clone(), y.clone()))
        return original(model, cfg, x, y, hidden)

    monkeypatch.setattr(lm_module, "lm_cost", spy)
    data = load_lm_data(toy)
    track(tiny("untied"), tiny("wt"), data, tmp_path / "pair", FAST)
    assert len(seen[True]) == len(seen[False]) > 10
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(seen[True], seen[False]))
    records = read_dynamics(tmp_path / "pair")
    first = records[0]
    assert first["step"] == 0 and first["drift"]["S"] == 0 and first["corr"]["S~U"] == pytest.approx(1.0)
    later = records[-1]
    assert {"corr", "cka", "knn", "align", "grad", "scores", "drift", "buckets"} <= set(later)
    assert later["grad"]["S"]["sampled_steps"] > 0 and 0 <= later["grad"]["S"]["share_out"] <= 1
    assert len(later["buckets"]) >= 2 and "dS~dV" in later["buckets"][0]["align"]
    # each record is plain JSON (NaN written as null)
    json.loads((tmp_path / "pair" / "dynamics.jsonl").read_text().splitlines()[-1])


def test_sgns_pair_sees_the_same_pairs(tmp_path, toy, monkeypatch):
    seen: dict[bool, list] = {True: [], False: []}
    original = sg_module._sgns_step

    def spy(u, v, contexts, outputs, weights, lr, grad_hook, step):
        seen[u is v].append((contexts.clone(), outputs.clone(), lr))
        return original(u, v, contexts, outputs, weights, lr, grad_hook, step)

    monkeypatch.setattr(sg_module, "_sgns_step", spy)
    cfg = SkipGramConfig(backend="torch", dim=8, epochs=2, min_count=1, workers=1, batch_size=64)
    track(cfg, dataclasses.replace(cfg, tie=True), toy, tmp_path / "sg", FAST)
    assert len(seen[True]) == len(seen[False]) > 10
    for a, b in zip(seen[True], seen[False]):
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and a[2] == b[2]
    last = read_dynamics(tmp_path / "sg")[-1]
    assert last["grad"]["S"]["frac_rows_in"] > 0 and "S~V" in last["corr"]


def test_every_larger_than_the_run_is_refused(tmp_path, toy):
    data = load_lm_data(toy)
    with pytest.raises(EmbedevalError, match="larger than the run"):
        track(tiny("untied"), tiny("wt"), data, tmp_path / "p", TrackConfig(every=10**7))


def test_an_interrupted_pair_resumes_without_duplicate_records(tmp_path, toy):
    data = load_lm_data(toy)
    track(tiny("untied"), tiny("wt"), data, tmp_path / "p", FAST)
    first = read_dynamics(tmp_path / "p")
    track(tiny("untied", epochs=2), tiny("wt", epochs=2), data, tmp_path / "p", FAST, resume=True)
    steps = [r["step"] for r in read_dynamics(tmp_path / "p")]
    assert steps == sorted(set(steps)) and steps[: len(first)] == [r["step"] for r in first]
    assert steps[-1] > first[-1]["step"]


def test_a_pair_killed_mid_epoch_resumes_to_the_records_of_an_uninterrupted_pair(tmp_path, toy, monkeypatch):
    import embedeval.dynamics.tracker as tracker

    data = load_lm_data(toy)
    track(tiny("untied", epochs=2), tiny("wt", epochs=2), data, tmp_path / "whole", FAST)
    whole = read_dynamics(tmp_path / "whole")
    # killed without a checkpoint of its own (like SIGKILL) at the second record of epoch 2
    kill_at = [r["step"] for r in whole if r["epoch"] > 1][1]
    real_record = tracker.Recorder.record

    def record(self, step, mats, extra):
        if step == kill_at:
            raise RuntimeError("killed")
        return real_record(self, step, mats, extra)

    monkeypatch.setattr(tracker.Recorder, "record", record)
    with pytest.raises(RuntimeError, match="killed"):
        track(tiny("untied", epochs=2), tiny("wt", epochs=2), data, tmp_path / "cut", FAST)
    monkeypatch.setattr(tracker.Recorder, "record", real_record)
    track(tiny("untied", epochs=2), tiny("wt", epochs=2), data, tmp_path / "cut", FAST, resume=True)

    resumed = read_dynamics(tmp_path / "cut")
    assert [r["step"] for r in resumed] == [r["step"] for r in whole]
    for a, b in zip(resumed, whole):
        # the update over the interval spanning the stop is measured too (the last record's matrices were kept
        # at the epoch checkpoint); only the gradient-split samples from before the stop are lost
        keys = ("corr", "align", "drift", "cka", "knn")
        assert {k: a.get(k) for k in keys} == {k: b.get(k) for k in keys}
    assert sum(r.get("align") is not None for r in resumed) == len(resumed) - 1  # all but the record at step 0


def test_a_full_disk_stops_cleanly_and_keeps_what_was_written(tmp_path, toy, monkeypatch):
    import embedeval.dynamics.tracker as tracker

    calls = {"n": 0}
    real_savez = np.savez

    def savez(path, **arrays):
        calls["n"] += 1
        if calls["n"] > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_savez(path, **arrays)

    monkeypatch.setattr(tracker.np, "savez", savez)
    data = load_lm_data(toy)
    with pytest.raises(EmbedevalError, match="disk is full.*--resume"):
        track(tiny("untied"), tiny("wt"), data, tmp_path / "p", FAST)
    assert len(read_dynamics(tmp_path / "p")) >= 3
    assert (tmp_path / "p" / "tied" / "checkpoint.pt").exists()


def test_snapshots_respect_their_budget(tmp_path, toy):
    data = load_lm_data(toy)
    budget = TrackConfig(every=10, knn_per_bucket=20, snapshot_words=40, snapshot_budget_mb=0.02)
    track(tiny("untied"), tiny("wt"), data, tmp_path / "p", budget)
    size = sum(f.stat().st_size for f in (tmp_path / "p" / "snapshots").glob("*.npz"))
    assert 0 < size <= 0.02 * 2**20 + 4096 and len(read_dynamics(tmp_path / "p")) > 3


def test_plot_dynamics_writes_png_and_svg(tmp_path, toy):
    data = load_lm_data(toy)
    track(tiny("untied"), tiny("wt"), data, tmp_path / "p", FAST)
    paths = plot_dynamics(tmp_path / "p")
    names = {p.name for p in paths}
    for figure in ("correlation", "gradient", "alignment", "scores"):
        assert {f"{figure}.png", f"{figure}.svg"} <= names
    assert all(p.stat().st_size > 1000 for p in paths)


def test_cli_track_and_single_run_track(tmp_path, toy):
    code, _, err = run_cli(
        "track", "--trainer", "lm", "--corpus", str(toy.path("train")), "--config", "tiny", "--epochs", "1",
        "--every", "100000000", "--out", str(tmp_path / "big"),
    )  # fmt: skip
    assert code == 2 and "larger than the run" in err and "Traceback" not in err
    code, _, err = run_cli(
        "train", "skipgram", "--corpus", str(toy.path("train")), "--backend", "torch", "--epochs", "1", "--dim", "8",
        "--min-count", "1", "--track", "--track-every", "4", "--out", str(tmp_path / "one"),
    )  # fmt: skip
    assert code == 0, err
    record = read_dynamics(tmp_path / "one")[-1]
    assert set(record["drift"]) == {"U", "V"} and record["grad"]["UV"]["norm_out"] > 0
    code, _, err = run_cli(
        "train", "skipgram", "--corpus", str(toy.path("train")), "--track", "--out", str(tmp_path / "g")
    )
    assert code == 2 and "--backend torch" in err


def test_track_refuses_an_option_of_another_trainer_instead_of_ignoring_it(tmp_path, toy):
    corpus = str(toy.path("train"))
    for args, message in (
        (["--trainer", "skipgram", "--corpus", corpus, "--arch", "transformer"], "--arch is for --trainer lm"),
        (["--trainer", "lm", "--corpus", corpus, "--dim", "50"], "--dim is for --trainer skipgram"),
        (["--trainer", "nmt", "--corpus", corpus], "--corpus is for --trainer lm or skipgram"),
        (["--trainer", "lm", "--corpus", corpus, "--src", "fr"], "--src is for --trainer nmt"),
    ):
        code, _, err = run_cli("track", *args, "--out", str(tmp_path / "t"))
        assert code == 2 and message in err and "Traceback" not in err, err
        assert not (tmp_path / "t").exists()


def test_train_lm_track_records_the_split_of_one_tied_run(tmp_path, toy):
    code, _, err = run_cli(
        "train", "lm", "--corpus", str(toy.path()), "--config", "tiny", "--variant", "wt", "--epochs", "1",
        "--track", "--track-every", "10", "--out", str(tmp_path / "lm"),
    )  # fmt: skip
    assert code == 0, err
    records = read_dynamics(tmp_path / "lm")
    assert records[0]["step"] == 0 and set(records[-1]["drift"]) == {"S"}
    assert 0 < records[-1]["grad"]["S"]["share_out"] < 1 and records[-1]["drift"]["S"] > 0


def test_the_final_step_is_always_recorded(tmp_path, toy):
    data = load_lm_data(toy)
    summary = track(tiny("untied"), tiny("wt"), data, tmp_path / "p", TrackConfig(every=10, geometry=False))
    assert summary["steps"] % 10 != 0  # so the last record is the extra one
    assert read_dynamics(tmp_path / "p")[-1]["step"] == summary["steps"]


def test_committed_track_directories_still_load_and_plot(tmp_path):
    """The results committed under reports/ were written before the schema field and the marker existed."""
    from embedeval.files import kind_of
    from embedeval.rundir import RunDir
    from tests.conftest import ROOT

    for name in ("ptb-pw-small-full", "sgns-wikitext-2", "nmt-m30k-de-en"):
        folder = ROOT / "reports" / "dynamics" / name
        assert kind_of(folder) == "track"
        assert len(read_dynamics(folder)) > 10
        assert plot_dynamics(folder, tmp_path / name)
    run = RunDir(ROOT / "reports" / "dynamics" / "ptb-pw-small-full" / "untied")
    assert kind_of(run.path) == "run" and len(run.metrics()) == 13  # the committed learning curve reads back
    assert run.read_json("summary.json")["status"] == "complete"


def test_new_files_carry_the_schema_version(tmp_path, toy):
    import json as json_

    from embedeval.layout import SCHEMA

    track(tiny("untied"), tiny("wt"), load_lm_data(toy), tmp_path / "p", FAST)
    for file in ("track.json", "summary.json", "tied/config.json", "tied/summary.json"):
        assert json_.loads((tmp_path / "p" / file).read_text())["schema"] == SCHEMA, file


def test_the_digest_splits_the_intervals_at_half_the_steps():
    from embedeval.dynamics.digest import digest

    def record(step, su, sv):
        return {"step": step, "align": {"dS~dU": su, "dS~dV": sv}, "corr": {"S~U": 0.4, "S~V": 0.8, "U~V": 0.3}}

    records = [{"step": 0}, record(10, 0.3, 0.1), record(20, None, None), record(30, 0.1, 0.2), record(40, 0.0, 0.4)]
    d = digest(records)
    first, second = d["alignment"]["first_half"], d["alignment"]["second_half"]
    assert (first["intervals"], first["closer_to_dV"]) == (1, 0)  # step 20 has no value: it counts nowhere
    assert (second["intervals"], second["closer_to_dV"]) == (2, 2)
    assert second["dS~dU"] == pytest.approx(0.05) and second["dS~dV"] == pytest.approx(0.3)
    assert d["end"]["corr"] == {"S~U": 0.4, "S~V": 0.8, "U~V": 0.3} and d["end"]["cka"]["S~V"] is None


@pytest.mark.parametrize(
    "folder, rows",
    [
        ("ptb-pw-small-full", ["| 0.040 | 0.015 | 2 of 19 |", "| 0.006 | 0.009 | 12 of 20 |"]),
        ("bilm-ptb", ["| 0.041 | 0.028 | 5 of 20 |", "| 0.012 | 0.023 | 21 of 21 |", "| 0.672 | **0.863** | 0.632 |"]),
    ],
)
def test_the_digest_of_a_committed_pair_is_what_its_readme_states(folder, rows):
    from embedeval.dynamics.digest import digest, digest_markdown
    from tests.conftest import ROOT

    text = digest_markdown(digest(read_dynamics(ROOT / "reports" / "dynamics" / folder))).replace("**", "")
    readme = (ROOT / "reports" / "dynamics" / "README.md").read_text()
    for row in rows:
        assert row.replace("**", "") in text
        assert row in readme


def test_a_resumed_track_says_it_resumes(tmp_path, toy):
    args = ["track", "--trainer", "lm", "--corpus", str(toy.path("train")), "--config", "tiny", "--epochs", "1",
            "--out", str(tmp_path / "t")]  # fmt: skip
    code, out, err = run_cli(*args)
    assert code == 0, err
    assert "tracking untied vs wt" in out + err and "resuming" not in out + err
    code, out, err = run_cli(*[a if a != "1" else "2" for a in args], "--resume")  # one more epoch
    assert code == 0, err
    assert "resuming the tracking of untied vs wt" in out + err

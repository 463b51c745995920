"""The translation trainer: tying, decoding, resume, exports and bad parallel input, on a tiny model and corpus."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from embedeval.cli import cli
from embedeval.data.parallel import from_files, load_parallel, read_pairs
from embedeval.embeddings.runs import load_run_embeddings
from embedeval.embeddings.subword import EOS, train_subwords
from embedeval.errors import EmbedevalError
from embedeval.rundir import RunDir
from embedeval.train import nmt
from embedeval.train.nmt_config import make_config
from embedeval.train.nmt_model import Seq2Seq
from embedeval.train.nmt_search import beam_search, greedy, pad_batch
from tests.conftest import run_cli

EN = ["a man rides a red bike", "two dogs play in the snow", "a woman sings on a stage", "the child eats an apple",
      "a girl in a blue dress walks", "men work on the road", "a black dog runs on the grass", "people sit at a table"]  # fmt: skip
DE = ["ein mann fährt ein rotes fahrrad", "zwei hunde spielen im schnee", "eine frau singt auf einer bühne",
      "das kind isst einen apfel", "ein mädchen in einem blauen kleid geht", "männer arbeiten auf der straße",
      "ein schwarzer hund rennt auf dem gras", "leute sitzen an einem tisch"]  # fmt: skip


@pytest.fixture
def pair_files(tmp_path):
    """Eight sentence pairs repeated 30 times: enough for BPE and a few batches, learnable in seconds."""
    src, tgt = tmp_path / "train.en", tmp_path / "train.de"
    src.write_text("".join(s + "\n" for s in EN * 30), encoding="utf-8")
    tgt.write_text("".join(s + "\n" for s in DE * 30), encoding="utf-8")
    return src, tgt


def tiny(tie="none", **kw):
    return make_config("nmt-tiny", tie, **{"threads": 1, "vocab_size": 60, **kw})


def prepared(pair_files, cfg):
    text = load_parallel(from_files("en", "de", (str(pair_files[0]), str(pair_files[1]))))
    src_sp, tgt_sp = nmt.build_subwords(text, cfg)
    return nmt.encode_data(text, src_sp, tgt_sp, "en", "de", store_references=True)


def run_dir(path, data):
    run = RunDir.create(path)
    nmt.save_subwords(data, run)
    return run


@pytest.mark.parametrize("tie, shared", [("none", 0), ("decoder", 1), ("all", 2)])
def test_tying_makes_one_parameter_counted_once(tie, shared):
    model = Seq2Seq(50, 50, tiny(tie))
    e, u, v = model.source_embedding(), model.input_embedding(), model.output_embedding()
    assert (u is v) == (tie != "none") and (e is u) == (tie == "all")
    untied = Seq2Seq(50, 50, tiny("none")).parameter_counts()
    counts = model.parameter_counts()
    assert counts["unique_parameters"] == untied["unique_parameters"] - shared * 50 * 32
    assert counts["embedding_parameters"] == (3 - shared) * 50 * 32
    assert counts["state_dict_entries"] == untied["state_dict_entries"]  # the state_dict names every matrix


def test_the_decoder_never_sees_later_target_pieces():
    torch.manual_seed(0)
    model = Seq2Seq(40, 40, tiny()).eval()
    src = torch.randint(4, 40, (2, 7))
    tgt = torch.randint(4, 40, (2, 9))
    changed = tgt.clone()
    changed[:, 5:] = torch.randint(4, 40, changed[:, 5:].shape)
    a, b = model(src, tgt), model(src, changed)
    torch.testing.assert_close(a[:, :5], b[:, :5], atol=0, rtol=0)
    assert not torch.equal(a[:, 5:], b[:, 5:])


def test_padding_the_source_changes_nothing():
    torch.manual_seed(0)
    model = Seq2Seq(40, 40, tiny()).eval()
    src = torch.randint(4, 40, (1, 6))
    padded = torch.cat([src, torch.zeros(1, 4, dtype=torch.long)], dim=1)
    tgt = torch.randint(4, 40, (1, 5))
    torch.testing.assert_close(model(src, tgt), model(padded, tgt), atol=1e-6, rtol=1e-5)


def test_cached_decoding_equals_the_full_forward_and_beam_one_is_greedy():
    torch.manual_seed(0)
    model = Seq2Seq(40, 40, tiny()).eval()
    src = pad_batch([[5, 6, 7, 8, EOS], [9, 10, EOS]])
    hyps = greedy(model, src, 12)
    assert beam_search(model, src, 1, 12, len_penalty=0.0) == hyps
    for row, hyp in zip(src, hyps):  # the greedy output is the argmax of a full (uncached) forward at every step
        prefix = [2]
        for piece in hyp:
            logits = model(row[None], torch.tensor([prefix]))[0, -1]
            assert int(logits.argmax()) == piece
            prefix.append(piece)


def test_beam_search_finds_a_hypothesis_at_least_as_probable_as_greedy():
    torch.manual_seed(3)
    model = Seq2Seq(30, 30, tiny()).eval()
    src = pad_batch([[5, 6, 7, EOS], [8, 9, 10, 11, 12, EOS]])

    def logprob(row, hyp):
        tgt_in = torch.tensor([[2, *hyp]])
        logp = torch.log_softmax(model(row[None], tgt_in)[0], -1)
        return float(sum(logp[i, t] for i, t in enumerate([*hyp, EOS])))

    for row, g, b in zip(src, greedy(model, src, 10), beam_search(model, src, 4, 10, len_penalty=0.0)):
        if len(g) < 10:  # greedy ended by itself: its hypothesis is one the beam also scored
            assert logprob(row, b) >= logprob(row, g) - 1e-4


def test_a_tiny_model_learns_to_translate_its_training_set(tmp_path, pair_files):
    cfg = tiny("all", epochs=12, lr=5e-3, d_model=64, ff=128, vocab_size=80)
    data = prepared(pair_files, cfg)
    data.src["test"], data.tgt["test"] = data.src["train"][:8], data.tgt["train"][:8]
    data.references["test"] = DE
    with run_dir(tmp_path / "run", data) as run:
        summary = nmt.train_nmt(cfg, data, run)
    assert summary["test_bleu"] > 50, summary  # memorised: these are its training sentences
    assert "case:mixed" in summary["bleu_signature"] and summary["test_chrf"] > 50
    hyps = (tmp_path / "run" / "test.hyp.txt").read_text(encoding="utf-8").splitlines()
    assert len(hyps) == 8


def test_resume_after_an_interrupt_is_bit_exact(tmp_path, pair_files):
    cfg = tiny("decoder", epochs=2, dropout=0.1)
    data = prepared(pair_files, cfg)
    with run_dir(tmp_path / "straight", data) as run:
        nmt.train_nmt(cfg, data, run)
    with run_dir(tmp_path / "stopped", data) as run:
        trainer = nmt.NMTTrainer(cfg, data, run)
        steps = trainer.steps()
        for _ in range(trainer.n_batches + 3):  # into the second epoch, as a SIGTERM would stop it
            next(steps)
        trainer.interrupt("SIGTERM")
    with RunDir.open(tmp_path / "stopped") as run:
        nmt.train_nmt(cfg, data, run, resume=True)
    a = torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=True)
    b = torch.load(tmp_path / "stopped" / "checkpoint.pt", weights_only=True)
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    sa = json.loads((tmp_path / "straight" / "summary.json").read_text())
    sb = json.loads((tmp_path / "stopped" / "summary.json").read_text())
    assert sa["test_bleu"] == sb["test_bleu"] and sa["valid_ppl"] == sb["valid_ppl"]


@pytest.mark.parametrize("tie, roles", [("none", ["source", "input", "output"]), ("decoder", ["source", "tied"]),
                                        ("all", ["tied"])])  # fmt: skip
def test_exports_every_piece_and_a_word_view_of_the_english_side(tmp_path, pair_files, tie, roles):
    cfg = tiny(tie, epochs=1, max_batches=2, max_eval_sentences=4)
    data = prepared(pair_files, cfg)
    with run_dir(tmp_path / "run", data) as run:
        nmt.train_nmt(cfg, data, run)
    exported = load_run_embeddings(tmp_path / "run")
    assert [e.role for e in exported] == [r for r in roles if r in ("source", "tied")] or tie == "none"
    source = next(e for e in exported if e.role in ("source", "tied"))
    english = {w for s in EN for w in s.split()}
    assert source.words and set(source.words) <= english  # whole English words only, no "▁" left
    for role in roles:
        pieces = np.load(tmp_path / "run" / "subwords" / f"{role}.npz")
        assert pieces["vectors"].shape[0] == len(data.tgt_sp)
    if tie == "none":  # en->de: the decoder's rows of pieces that never occur in German are left out (untrained)
        decoder = {e.role: e for e in exported}["input"]
        german = {i for ids in data.tgt["train"] for i in ids}
        assert decoder.words and all(data.tgt_sp.encode([w])[0][0] in german for w in decoder.words)
        assert len(decoder.words) < len(source.words)


def test_misaligned_files_name_both_files_and_counts(tmp_path):
    a, b = tmp_path / "a.en", tmp_path / "b.de"
    a.write_text("one\ntwo\nthree\n", encoding="utf-8")
    b.write_text("eins\nzwei\n", encoding="utf-8")
    with pytest.raises(EmbedevalError) as err:
        read_pairs(a, b)
    assert "a.en has 3 lines" in str(err.value) and "b.de has 2" in str(err.value)


@pytest.mark.parametrize("content, line", [(b"one\n\nthree\n", 2), (b"one\ntwo\n\xff\xfe bad\n", 3)])
def test_empty_and_non_utf8_lines_are_reported_by_file_and_line(tmp_path, content, line):
    path = tmp_path / "bad.en.gz"
    path.write_bytes(gzip.compress(content))
    with pytest.raises(EmbedevalError) as err:
        read_pairs(path, path)
    assert err.value.line == line and str(path) in str(err.value)


def test_a_vocabulary_larger_than_the_data_allows_is_refused_with_the_limit():
    with pytest.raises(EmbedevalError, match=r"--vocab-size 5,000 is larger .* at most \d+"):
        train_subwords(EN, 5000, "training text")


def test_three_way_tying_needs_a_joint_vocabulary():
    with pytest.raises(EmbedevalError, match="joint"):
        make_config("nmt-tiny", "all", vocab="separate")


def test_cli_trains_a_run_and_refuses_bad_input_without_a_traceback(tmp_path, pair_files):
    runner = CliRunner()
    base = ["train", "nmt", "--train-files", str(pair_files[0]), str(pair_files[1]), "--config", "nmt-tiny",
            "--vocab-size", "60", "--threads", "1"]  # fmt: skip
    result = runner.invoke(cli, [*base, "--tie", "decoder", "--dry-run", "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["config"]["tie"] == "decoder"
    short = tmp_path / "short.de"
    short.write_text("nur eine zeile\n", encoding="utf-8")
    code, _, err = run_cli(
        "train", "nmt", "--train-files", str(pair_files[0]), str(short), "--out", str(tmp_path / "bad")
    )
    assert code == 2 and "not aligned" in err and "short.de has 1" in err and "Traceback" not in err
    assert not (tmp_path / "bad").exists()  # nothing written for bad input
    code, _, err = run_cli(*base, "--dropout", "1.5", "--out", str(tmp_path / "bad"))
    assert code == 2 and "--dropout" in err and not (tmp_path / "bad").exists()


def test_a_decoder_tied_and_an_untied_pair_are_tracked_in_lockstep(tmp_path, pair_files):
    from embedeval.dynamics import TrackConfig, read_dynamics, track

    untied, tied = tiny("none", epochs=1), tiny("decoder", epochs=1)
    data = prepared(pair_files, untied)
    summary = track(untied, tied, data, tmp_path / "track", TrackConfig(every=5, geometry=False))
    records = read_dynamics(tmp_path / "track")
    assert summary["steps"] == records[-1]["step"] > 0 and records[0]["step"] == 0
    last = records[-1]
    assert {"S", "U", "V"} <= set(last["drift"]) and last["grad"]["S"]["sampled_steps"] > 0
    config = json.loads((tmp_path / "track" / "tied" / "config.json").read_text())
    assert config["trainer"] == "nmt" and (tmp_path / "track" / "tied" / "subword.model").is_file()
    with pytest.raises(EmbedevalError, match="tie none vs tie decoder"):
        track(untied, tiny("all", epochs=1), data, tmp_path / "other")


def test_a_single_run_can_record_its_decoder_dynamics(tmp_path, pair_files):
    code, _, err = run_cli("train", "nmt", "--train-files", str(pair_files[0]), str(pair_files[1]), "--config",
                           "nmt-tiny", "--vocab-size", "60", "--threads", "1", "--tie", "decoder", "--dry-run",
                           "--track", "--track-every", "2", "--out", str(tmp_path / "run"))  # fmt: skip
    assert code == 0, err
    lines = (tmp_path / "run" / "dynamics.jsonl").read_text().splitlines()
    assert len(lines) >= 3 and json.loads(lines[-1])["step"] == 5


def test_compare_reports_bleu_with_intervals_and_paired_tests(tmp_path, pair_files):
    from embedeval.data.registry import load_benchmarks
    from embedeval.report.build import CompareSettings, build_report
    from embedeval.report.html import render_html
    from embedeval.report.sources import collect

    data = prepared(pair_files, tiny())
    for tie in ("none", "all"):
        cfg = tiny(tie, epochs=2)
        with run_dir(tmp_path / tie, data) as run:
            run.write_config(cfg, "nmt", from_files("en", "de", (str(pair_files[0]), str(pair_files[1]))).describe())
            nmt.train_nmt(cfg, data, run)
    sources = collect([tmp_path / "none", tmp_path / "all"])
    report = build_report(sources, load_benchmarks(["simlex999"]), CompareSettings(figures=False))
    rows, notes = report.translation()
    by_tie = {r["tie"]: r for r in rows}
    assert by_tie["none"]["bleu_low"] <= by_tie["none"]["test_bleu"] + 1e-6 or by_tie["none"]["test_bleu"] == 0
    assert by_tie["all"]["untied"] == "none" and 0 <= by_tie["all"]["p_vs_untied"] <= 1, notes
    assert by_tie["all"]["parameters"] < by_tie["none"]["parameters"]
    page = render_html(report)
    assert "Translation quality" in page and "case:mixed" in page
    assert any(line.startswith("Tying all (all)") for line in report.summary)


def test_eval_averages_multi_piece_words_only_when_asked(tmp_path, pair_files):
    cfg = tiny("all", epochs=1, max_batches=3, max_eval_sentences=4)
    data = prepared(pair_files, cfg)
    with run_dir(tmp_path / "run", data) as run:
        nmt.train_nmt(cfg, data, run)
    bench = tmp_path / "pairs.txt"
    words = sorted({w for s in EN for w in s.split()})
    bench.write_text("".join(f"{a}\t{b}\t{i % 10}\n" for i, (a, b) in enumerate(zip(words, words[1:]))))
    covered = {}
    for mode in ("single", "average"):
        out = tmp_path / f"{mode}.json"
        code, _, err = run_cli("eval", str(tmp_path / "run"), "-b", str(bench), "--pieces", mode, "--bootstrap", "0",
                               "--json", str(out))  # fmt: skip
        assert code == 0, err
        covered[mode] = json.loads(out.read_text())["results"][0]["pairs_used"]
    assert covered["single"] < covered["average"] == len(words) - 1


def test_track_cli_pairs_untied_and_decoder_tied_translation_runs_on_multi30k(tmp_path, data_dir):
    code, _, err = run_cli("track", "--trainer", "nmt", "--config", "nmt-tiny", "--epochs", "1", "--max-batches", "4",
                           "--threads", "1", "--every", "2", "--no-geometry", "--no-plot", "--out", str(tmp_path / "t"),
                           "--data-dir", str(data_dir))  # fmt: skip
    assert code == 0, err[-2000:]
    track = json.loads((tmp_path / "t" / "track.json").read_text())
    assert track["trainer"] == "nmt" and track["untied"]["tie"] == "none" and track["tied"]["tie"] == "decoder"
    assert "de" in track["corpus"]["src"] and (tmp_path / "t" / "tied" / "subword.model").is_file()


def test_load_model_rebuilds_a_translation_model_that_translates_as_the_trained_one(tmp_path, pair_files):
    import embedeval as ee

    cfg = tiny("decoder", epochs=1, max_batches=3, max_eval_sentences=4)
    data = prepared(pair_files, cfg)
    with RunDir.create(tmp_path / "run") as run:  # from Python, no save_subwords: the trainer keeps them itself
        trainer = nmt.NMTTrainer(cfg, data, run)
        for _ in trainer.steps():
            pass
    loaded = ee.load_model(tmp_path / "run")
    assert loaded.trainer == "nmt" and loaded.tied and loaded.vocab == data.tgt_sp.pieces
    assert loaded.model.input_embedding() is loaded.model.output_embedding()
    for name, tensor in trainer.model.state_dict().items():
        assert torch.equal(tensor.cpu(), loaded.model.state_dict()[name]), name

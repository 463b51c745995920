"""Transfer: train on one corpus with another run's vocabulary, then fine-tune from that run's final weights."""

import json

import pytest
import torch

from embedeval.data.corpus import UNK, Vocab, resolve_corpus
from embedeval.errors import EmbedevalError
from embedeval.rundir import RunDir
from embedeval.train.lm import LMTrainer, lm_data_for
from embedeval.train.lm_config import make_config
from tests.conftest import run_cli

SMALL = "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\n"
LARGE = "the cat sat on the mat with a hat\nthe bird sat on the log in the sun\na cat and a dog and a bird\n"


def corpus(folder, text, copies):
    folder.mkdir()
    for split, n in (("train", copies), ("valid", 2), ("test", 2)):
        (folder / f"{split}.txt").write_text(text * n)
    return folder


def train(*args):
    code, out, err = run_cli("train", "lm", "--config", "tiny", "--epochs", "1", "--threads", "1", *args)
    assert code == 0, err
    return out + err


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("transfer")
    small, large = corpus(root / "small", SMALL, 30), corpus(root / "large", LARGE, 40)
    train("--corpus", str(small), "--variant", "wt", "--out", str(root / "small-run"))
    out = train("--corpus", str(large), "--variant", "wt", "--vocab-from", str(root / "small-run"),
                "--out", str(root / "pretrained"))  # fmt: skip
    return root, small, large, out


def test_a_corpus_read_with_another_runs_vocabulary_says_what_became_unk(runs):
    root, _, large, out = runs
    assert Vocab.load(root / "pretrained" / "vocab.tsv").words == Vocab.load(root / "small-run" / "vocab.tsv").words
    mapped = json.loads((root / "pretrained" / "summary.json").read_text())["vocabulary_mapped"]
    # with, hat, bird, in, sun: 5 of the large corpus's words are not the small run's; per copy of LARGE they are
    # 2 + 3 + 1 = 6 tokens ("with ... hat"; "bird ... in ... sun"; "bird")
    assert mapped["corpus_words"] - mapped["corpus_words_kept"] == 5
    assert mapped["train_tokens_now_unk"] == 6 * 40
    assert f"{6 * 40:,} of" in out and "are now <unk>" in out


def test_fine_tuning_starts_from_the_pretrained_runs_final_weights(runs):
    root, small, _, _ = runs
    cfg = make_config("tiny", "wt", epochs=1, threads=1, init_from=str(root / "pretrained"),
                      vocab_from=str(root / "small-run"))  # fmt: skip
    data = lm_data_for(cfg, resolve_corpus(small))
    trainer = LMTrainer(cfg, data, RunDir.create(root / "fine", overwrite=True))
    final = torch.load(root / "pretrained" / "checkpoint.pt", weights_only=True)["model"]
    for name, tensor in trainer.model.state_dict().items():
        assert torch.equal(tensor, final[name]), name
    assert data.vocab.index[UNK] is not None


def test_the_fine_tuning_run_trains_and_resumes_with_its_settings(runs):
    root, small, _, _ = runs
    args = ["--corpus", str(small), "--variant", "wt", "--vocab-from", str(root / "small-run"), "--init-from",
            str(root / "pretrained"), "--out", str(root / "fine-cli")]  # fmt: skip
    out = train(*args)
    assert "starting from the final weights of" in out
    config = json.loads((root / "fine-cli" / "config.json").read_text())["config"]
    assert config["init_from"] == str(root / "pretrained") and config["vocab_from"] == str(root / "small-run")
    out = train(*args[:-2], "--epochs", "2", "--resume", "--out", str(root / "fine-cli"))
    assert "starting from" not in out  # a resumed run continues from its own checkpoint


def test_another_variant_or_vocabulary_is_refused_in_one_line(runs, tmp_path):
    root, small, large, _ = runs
    code, _, err = run_cli("train", "lm", "--config", "tiny", "--epochs", "1", "--corpus", str(small), "--variant",
                           "untied", "--vocab-from", str(root / "small-run"), "--init-from", str(root / "pretrained"),
                           "--out", str(tmp_path / "x"))  # fmt: skip
    assert code == 2 and "variant 'wt' there, 'untied' here" in err and "Traceback" not in err
    code, _, err = run_cli("train", "lm", "--config", "tiny", "--epochs", "1", "--corpus", str(large), "--variant",
                           "wt", "--init-from", str(root / "pretrained"), "--out", str(tmp_path / "y"))  # fmt: skip
    assert code == 2 and "vocabulary" in err and "--vocab-from" in err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()  # refused before any folder was made


def test_a_vocabulary_without_eos_is_refused(tmp_path):
    (tmp_path / "run").mkdir()
    Vocab(["a", "b"], [1, 1]).save(tmp_path / "run" / "vocab.tsv")
    cfg = make_config("tiny", "wt", vocab_from=str(tmp_path / "run"))
    with pytest.raises(EmbedevalError, match="not a language model run's"):
        lm_data_for(cfg, resolve_corpus("builtin"))


def test_the_vocabulary_may_be_a_corpus_s(runs):
    root, small, large, _ = runs
    cfg = make_config("tiny", "wt", vocab_from=str(small))
    data = lm_data_for(cfg, resolve_corpus(large))
    assert data.vocab.words == Vocab.load(root / "small-run" / "vocab.tsv").words
    assert data.mapped["train_tokens_now_unk"] == 6 * 40


def test_text_read_as_ptb_is_written():
    from embedeval.train.lm import ptb_style

    line = "The 1990s @-@ era , in 1 @,@ 200 Towns : ' Valkyria ' <unk> 3.5 km".split()
    assert ptb_style(line) == ["the", "1990s", "era", "in", "N", "N", "towns", "valkyria", "<unk>", "N", "km"]


def test_a_normalised_corpus_keeps_more_of_a_ptb_style_vocabulary(tmp_path):
    folder = tmp_path / "shouty"
    folder.mkdir()
    for split in ("train", "valid", "test"):
        (folder / f"{split}.txt").write_text("The CAT , sat on 12 mats .\n" * 5)
    plain = lm_data_for(make_config("tiny", "wt"), resolve_corpus(folder))
    ptb = lm_data_for(make_config("tiny", "wt", normalise="ptb"), resolve_corpus(folder))
    assert "," in plain.vocab.index and "," not in ptb.vocab.index
    assert {"the", "cat", "N"} <= set(ptb.vocab.words)

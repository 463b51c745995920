"""Pretrained models in a local folder: U and V bit-equal to transformers' accessors for every family, tying from
the weights, the pieces policies, and the bad folders refused in one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

from embedeval.data.builtin import builtin_corpus_path  # noqa: E402
from embedeval.embeddings.pretrained import Pieces, load_pretrained, read_pretrained, word_view  # noqa: E402

VOCAB = 1500  # large enough for common words to be one token


def _texts() -> list[str]:
    return builtin_corpus_path().read_text(encoding="utf-8").splitlines()


def tokenizer(kind: str):
    """A tiny tokenizer of each kind the families use, trained on the Lee corpus (it ships with gensim)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    if kind == "bpe":  # GPT-2, GPT-NeoX, OPT, Qwen: byte-level BPE
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=["<|endoftext|>"],
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())  # fmt: skip
    elif kind == "wordpiece":  # BERT
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tok.normalizer = normalizers.Lowercase()
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece()
        trainer = trainers.WordPieceTrainer(vocab_size=VOCAB, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]",
                                                                               "[MASK]"])  # fmt: skip
    else:  # Llama, T5: SentencePiece-style unigram with the metaspace
        tok = Tokenizer(models.Unigram())
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        trainer = trainers.UnigramTrainer(
            vocab_size=VOCAB, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>"
        )
    tok.train_from_iterator(_texts(), trainer)
    return tok


def family(name: str, rows: int):
    """(model, tokenizer kind, tied) of each family, tiny and random."""
    t = transformers
    small = dict(num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    return {
        "gpt2": (
            lambda: t.GPT2LMHeadModel(t.GPT2Config(vocab_size=rows, n_embd=16, n_layer=1, n_head=2, n_positions=64)),
            "bpe",
            True,
        ),  # fmt: skip
        "gpt_neox": (
            lambda: t.GPTNeoXForCausalLM(
                t.GPTNeoXConfig(vocab_size=rows, hidden_size=16, tie_word_embeddings=False, **small)
            ),
            "bpe",
            False,
        ),
        "llama": (
            lambda: t.LlamaForCausalLM(
                t.LlamaConfig(vocab_size=rows, hidden_size=16, tie_word_embeddings=False, **small)
            ),
            "unigram",
            False,
        ),  # fmt: skip
        "bert": (
            lambda: t.BertForMaskedLM(t.BertConfig(vocab_size=rows, hidden_size=16, **small)),
            "wordpiece",
            True,
        ),  # fmt: skip
        "t5": (
            lambda: t.T5ForConditionalGeneration(
                t.T5Config(vocab_size=rows, d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2)
            ),
            "unigram",
            True,
        ),
        "qwen2": (
            lambda: t.Qwen2ForCausalLM(
                t.Qwen2Config(vocab_size=rows, hidden_size=16, num_key_value_heads=2, tie_word_embeddings=True, **small)
            ),
            "bpe",
            True,
        ),
    }[name]


@pytest.fixture(scope="module")
def tokenizers_by_kind():
    return {kind: tokenizer(kind) for kind in ("bpe", "wordpiece", "unigram")}


def make(folder: Path, name: str, toks, pad: int = 0, **save) -> tuple[object, int]:
    torch.manual_seed(0)
    build, kind, _ = family(name, 0)
    tok = toks[kind]
    size = tok.get_vocab_size(with_added_tokens=True)
    model = family(name, size + pad)[0]()
    model.save_pretrained(folder, **save)
    tok.save(str(folder / "tokenizer.json"))
    return model, size


@pytest.mark.parametrize("name", ["gpt2", "gpt_neox", "llama", "bert", "t5", "qwen2"])
def test_u_and_v_are_bit_equal_to_transformers_accessors(name, tmp_path, tokenizers_by_kind):
    model, size = make(tmp_path, name, tokenizers_by_kind)
    got = read_pretrained(tmp_path, vocab_size=size)
    u = model.get_input_embeddings().weight.detach().float().numpy()[:size]
    v = model.get_output_embeddings().weight.detach().float().numpy()[:size]
    assert np.array_equal(got.input, u)
    assert np.array_equal(got.output, v)
    assert got.tied_by_weights is family(name, 0)[2]
    assert got.tied_by_config is model.config.tie_word_embeddings


def test_reloaded_models_agree_too_and_bin_and_shards_read_the_same(tmp_path, tokenizers_by_kind):
    """The same checkpoint as safetensors, as pytorch_model.bin (weights_only) and sharded: identical matrices, and
    equal to what transformers loads back from the folder."""
    make(tmp_path / "st", "llama", tokenizers_by_kind)
    model, _ = make(tmp_path / "bin", "llama", tokenizers_by_kind)
    # as older transformers wrote it (a pickle of tensors, read here with weights_only=True only)
    torch.save(model.state_dict(), tmp_path / "bin" / "pytorch_model.bin")
    (tmp_path / "bin" / "model.safetensors").unlink()
    make(tmp_path / "shards", "llama", tokenizers_by_kind, max_shard_size="20KB")
    assert (tmp_path / "bin" / "pytorch_model.bin").is_file()
    assert (tmp_path / "shards" / "model.safetensors.index.json").is_file()
    reloaded = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "st")
    ref = read_pretrained(tmp_path / "st")
    assert np.array_equal(ref.input, reloaded.get_input_embeddings().weight.detach().numpy())
    assert np.array_equal(ref.output, reloaded.get_output_embeddings().weight.detach().numpy())
    for other in ("bin", "shards"):
        got = read_pretrained(tmp_path / other)
        assert np.array_equal(got.input, ref.input) and np.array_equal(got.output, ref.output), other


def test_padded_rows_are_left_out_and_counted(tmp_path, tokenizers_by_kind):
    _, size = make(tmp_path, "gpt_neox", tokenizers_by_kind, pad=24)  # as Pythia: 50,304 rows for 50,277 tokens
    got = read_pretrained(tmp_path, vocab_size=size)
    assert got.input.shape[0] == size and got.rows_dropped == 24


def test_a_wrong_tie_flag_is_a_note(tmp_path, tokenizers_by_kind):
    make(tmp_path, "llama", tokenizers_by_kind)
    config = json.loads((tmp_path / "config.json").read_text())
    config["tie_word_embeddings"] = True  # the weights say untied
    (tmp_path / "config.json").write_text(json.dumps(config))
    got = read_pretrained(tmp_path)
    assert got.tied_by_weights is False and got.tied_by_config is True
    assert any("differs from the config" in n for n in got.notes)


def test_pieces_policies_cover_more_words_as_they_allow_more_pieces(tmp_path, tokenizers_by_kind):
    from embedeval.data.registry import load_benchmarks

    make(tmp_path, "gpt2", tokenizers_by_kind)
    bench = load_benchmarks(["men"])[0]
    words = sorted(set(bench.words1) | set(bench.words2))
    counts = {p: len(load_pretrained(tmp_path, words, p)[0].words) for p in ("single", "first", "last", "mean")}
    assert 0 < counts["single"] < counts["first"] == counts["last"] == counts["mean"] <= len(words)
    # the whole-vocabulary view is the single policy: the same words for the benchmark
    whole = set(load_pretrained(tmp_path)[0].words)
    assert {w for w in words if w in whole} == set(load_pretrained(tmp_path, words, "single")[0].words)


def test_a_word_view_is_the_mean_of_its_pieces():
    matrix = np.arange(12, dtype=np.float32).reshape(6, 2)
    words, rows = word_view(matrix, [[1], [2, 4], []], ["a", "b", "c"], "mean")
    assert words == ["a", "b"] and np.array_equal(rows, [[2, 3], [6, 7]])
    assert word_view(matrix, [[1], [2, 4]], ["a", "b"], "single")[0] == ["a"]
    assert np.array_equal(word_view(matrix, [[2, 4]], ["b"], "last")[1], [[8, 9]])


def test_special_tokens_are_never_words(tmp_path, tokenizers_by_kind):
    make(tmp_path, "bert", tokenizers_by_kind)
    tok = Pieces(tmp_path)
    assert tok.special >= {0, 1, 2, 3, 4}
    assert not {"[CLS]", "[SEP]", "[MASK]"} & set(load_pretrained(tmp_path)[0].words)


@pytest.mark.parametrize(
    "damage, message",
    [
        ("no-config", "no config.json"),
        ("no-weights", "no weights"),
        ("no-tokenizer", "no tokenizer"),
        ("unknown-architecture", "cannot find the input embedding"),
        ("missing-shard", "names shards that are not there"),
        ("lying-header", "safetensors header"),
        ("tokenizer-too-big", "do not belong together"),
        ("code-in-pytorch-model-bin", "never unpickles code"),
    ],
)
def test_bad_model_folders_are_one_line(damage, message, tmp_path, tokenizers_by_kind, monkeypatch, capsys):
    from tests.test_hostile import run_main

    folder = tmp_path / "m"
    if damage == "missing-shard":
        make(folder, "llama", tokenizers_by_kind, max_shard_size="20KB")
        next(folder.glob("model-0000*-of-*.safetensors")).unlink()
    else:
        make(folder, "llama", tokenizers_by_kind)
    if damage == "no-config":
        (folder / "config.json").unlink()
        (folder / "config.json.bak").write_text("{}")
    elif damage == "no-weights":
        (folder / "model.safetensors").unlink()
    elif damage == "no-tokenizer":
        (folder / "tokenizer.json").unlink()
    elif damage == "unknown-architecture":
        from safetensors.torch import load_file, save_file

        tensors = load_file(folder / "model.safetensors")
        save_file({k.replace("embed_tokens", "tok_embeddings"): v for k, v in tensors.items()},
                  folder / "model.safetensors", metadata={"format": "pt"})  # fmt: skip
    elif damage == "lying-header":
        raw = bytearray((folder / "model.safetensors").read_bytes())
        raw[:8] = (len(raw) * 2).to_bytes(8, "little")
        (folder / "model.safetensors").write_bytes(bytes(raw))
    elif damage == "code-in-pytorch-model-bin":
        from tests.test_hostile import pickled

        (folder / "model.safetensors").unlink()
        (folder / "pytorch_model.bin").write_bytes(pickled(folder))
    elif damage == "tokenizer-too-big":
        shutil.copy(folder / "tokenizer.json", tmp_path / "t.json")
        bigger = tokenizer("bpe")
        bigger.add_tokens([f"extra{i}" for i in range(VOCAB * 2)])
        bigger.save(str(folder / "tokenizer.json"))
    code, _, err = run_main(["eval", str(folder), "-b", "rg65"], monkeypatch, capsys)
    assert code == 2 and message in err and "Traceback" not in err, err
    assert "weights_only` set to `False" not in err and not (tmp_path / "PWNED").exists() and not Path("PWNED").exists()


def test_eval_and_compare_take_a_model_folder(tmp_path, tokenizers_by_kind, monkeypatch, capsys):
    from tests.test_hostile import run_main

    make(tmp_path / "tied-model", "gpt2", tokenizers_by_kind)
    make(tmp_path / "untied-model", "gpt_neox", tokenizers_by_kind)
    code, out, err = run_main(["eval", str(tmp_path / "untied-model"), "-b", "men", "--pieces", "mean", "--json",
                               str(tmp_path / "r.json")], monkeypatch, capsys)  # fmt: skip
    assert code == 0, err
    results = json.loads((tmp_path / "r.json").read_text())["results"]
    assert {r["embedding"] for r in results} == {"untied-model:input", "untied-model:output"}
    code, out, err = run_main(["compare", str(tmp_path / "tied-model"), str(tmp_path / "untied-model"), "-b", "men",
                               "--out", str(tmp_path / "rep"), "--bootstrap", "0"], monkeypatch, capsys)  # fmt: skip
    assert code == 0, err
    page = (tmp_path / "rep" / "index.html").read_text()
    assert "tied by weights" in page and "gpt_neox" in page
    code, out, err = run_main(["compare", str(tmp_path / "tied-model"), str(tmp_path / "untied-model"), "-b", "men",
                               "--out", str(tmp_path / "rep2"), "--bootstrap", "0", "--pieces", "mean"],
                              monkeypatch, capsys)  # fmt: skip
    assert code == 0, err
    report = json.loads((tmp_path / "rep2" / "results.json").read_text())
    assert {m["pieces_policy"] for m in report["pretrained"]} == {"mean"}
    assert report["benchmarks"][0]["pairs_used"] == 3000  # every MEN word is some mean of pieces

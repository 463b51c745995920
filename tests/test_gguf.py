"""GGUF files: U and V of a small Hugging Face model written with ggml's own GGUFWriter in every type it writes, read
back equal to the folder (float types) or within the format's quantisation error; tying from the missing
output.weight; K-quant blocks built by hand; damaged files refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

transformers = pytest.importorskip("transformers")
gguf = pytest.importorskip("gguf")

from embedeval.embeddings import load  # noqa: E402
from embedeval.embeddings.gguf_export import gguf_from_source, write_gguf  # noqa: E402
from embedeval.embeddings.gguf_model import is_gguf, load_gguf, read_gguf  # noqa: E402
from embedeval.embeddings.pretrained import read_pretrained  # noqa: E402
from embedeval.errors import EmbedevalError  # noqa: E402
from tests.test_pretrained import make, tokenizer  # noqa: E402


@pytest.fixture(scope="module")
def hf_models(tmp_path_factory):
    """A tied GPT-2 and an untied GPT-NeoX, width 32 (a multiple of every block size), with a byte-level BPE."""
    toks = {"bpe": tokenizer("bpe")}
    out = {}
    for name in ("gpt2", "gpt_neox"):
        folder = tmp_path_factory.mktemp(name)
        _, size = make(folder, name, toks)
        out[name] = (folder, size)
    return out


def _to_gguf(folder: Path, target: Path, qtype: str) -> Path:
    """What llama.cpp's converter does for U, V and a byte-level BPE vocabulary (types and merges included)."""
    return gguf_from_source(folder, target, qtype)


@pytest.fixture(scope="module")
def wide_models(tmp_path_factory):
    """Width 32 models: the quantised types need rows that are whole blocks (32 values)."""
    t = transformers
    import torch

    toks = tokenizer("bpe")
    size = toks.get_vocab_size(with_added_tokens=True)
    out = {}
    for name, build in (
        ("gpt2", lambda: t.GPT2LMHeadModel(t.GPT2Config(vocab_size=size, n_embd=32, n_layer=1, n_head=2))),
        (
            "gpt_neox",
            lambda: t.GPTNeoXForCausalLM(
                t.GPTNeoXConfig(
                    vocab_size=size,
                    hidden_size=32,
                    num_hidden_layers=1,
                    num_attention_heads=2,
                    intermediate_size=32,
                    tie_word_embeddings=False,
                )
            ),
        ),  # fmt: skip
    ):
        torch.manual_seed(0)
        folder = tmp_path_factory.mktemp(f"wide-{name}")
        build().save_pretrained(folder)
        toks.save(str(folder / "tokenizer.json"))
        out[name] = folder
    return out


# each value's largest error in the format. Block formats (32 values, one float16 scale d per block): Q8_0 rounds
# x / d with d = amax / 127 (half a step); Q5_0 and Q4_0 take d = (the signed extreme) / -16 or / -8, so a value of
# the other sign as large as the extreme clips one step short (a whole step). The scale's float16 rounding adds up to
# |q| * d * 2^-11. The float formats round to their mantissa (10 bits F16, 7 bits BF16)
STEP = {"Q8_0": (127, 0.5), "Q5_0": (16, 1.0), "Q4_0": (8, 1.0)}
MANTISSA = {"F32": 23, "F16": 10, "BF16": 7}


def _bound(exact: np.ndarray, qtype: str) -> np.ndarray:
    if qtype in MANTISSA:
        return np.abs(exact) * 2.0 ** -(MANTISSA[qtype] + 1) + 1e-7 * (qtype == "F16")  # F16 subnormals: absolute
    levels, steps = STEP[qtype]
    blocks = exact.reshape(exact.shape[0], -1, 32)
    d = np.abs(blocks).max(axis=2, keepdims=True) / levels
    return np.broadcast_to(d * (steps + levels * 2.0**-11) + 1e-8, blocks.shape).reshape(exact.shape)


@pytest.mark.parametrize("qtype", ["F32", "F16", "BF16", "Q8_0", "Q5_0", "Q4_0"])
@pytest.mark.parametrize("name", ["gpt2", "gpt_neox"])
def test_u_and_v_of_a_gguf_file_match_the_folder(name, qtype, wide_models, tmp_path):
    folder = wide_models[name]
    target = _to_gguf(folder, tmp_path / f"{name}-{qtype}.gguf", qtype)
    assert is_gguf(target)
    exact = read_pretrained(folder)
    model, vocab = read_gguf(target)
    assert model.tied_by_weights is exact.tied_by_weights  # gpt2 tied (no output.weight), neox untied
    assert model.input.dtype == qtype.lower()
    for got, want in ((model.input, exact.input), (model.output, exact.output)):
        got, want = np.asarray(got), np.asarray(want)[: len(vocab.tokens)]
        assert got.shape == want.shape
        if qtype == "F32":
            assert np.array_equal(got, want)
        assert (np.abs(got - want) <= _bound(want, qtype)).all(), qtype
    # only the rows asked for are dequantised, and they are the same rows
    some = np.array([5, 1, 77])
    assert np.array_equal(model.input.rows(some), np.asarray(model.input)[some])


def test_f16_is_exactly_the_float16_of_the_folder(wide_models, tmp_path):
    folder = wide_models["gpt_neox"]
    target = _to_gguf(folder, tmp_path / "f16.gguf", "F16")
    model, _ = read_gguf(target)
    want = np.asarray(read_pretrained(folder).output).astype(np.float16).astype(np.float32)
    assert np.array_equal(np.asarray(model.output), want[: model.output.shape[0]])


def test_gguf_word_view_covers_the_same_words_as_the_folder(wide_models, tmp_path):
    """The tokenizer rebuilt from the GGUF vocabulary and merges segments words as the folder's tokenizer does."""
    from embedeval.embeddings.pretrained import load_pretrained

    folder = wide_models["gpt_neox"]
    target = _to_gguf(folder, tmp_path / "m.gguf", "F32")
    words = ["the", "government", "said", "on", "Australia", "xyzzyq", "rainbow"]
    for policy in ("single", "mean"):
        want = {e.role: e for e in load_pretrained(folder, words, policy)}
        got = {e.role: e for e in load_gguf(target, words, policy)}
        assert set(got) == set(want) == {"input", "output"}
        for role in got:
            assert got[role].words == want[role].words
            assert np.array_equal(got[role].vectors, want[role].vectors)
    # ee.load reads a GGUF file too (its whole vocabulary's one-token words)
    loaded = load(target)
    assert {e.role for e in loaded} == {"input", "output"} and all(e.meta["pretrained"]["format"] == "gguf"
                                                                    for e in loaded)  # fmt: skip


def test_k_quant_blocks_built_by_hand_dequantise_to_their_values(tmp_path):
    """A Q6_K tensor written byte by byte: every block with d = 0.5, scales 2 and all quants 0 (stored value 0, minus
    the offset 32) holds 0.5 * 2 * (0 - 32) = -32 in every position."""
    from gguf import GGMLQuantizationType, GGUFWriter
    from gguf.constants import GGML_QUANT_SIZES

    block, size = GGML_QUANT_SIZES[GGMLQuantizationType.Q6_K]  # 256 values in 210 bytes: ql 128, qh 64, scales 16, d 2
    rows, width = 3, 256
    one = np.zeros(size, dtype=np.uint8)
    one[192:208] = 2  # int8 scales
    one[208:210] = np.frombuffer(np.float16(0.5).tobytes(), dtype=np.uint8)
    data = np.tile(one, (rows, width // block))
    path = tmp_path / "q6k.gguf"
    writer = GGUFWriter(str(path), "test")
    writer.add_tokenizer_model("word")
    writer.add_token_list(["a", "b", "c"])
    writer.add_tensor("token_embd.weight", data, raw_dtype=GGMLQuantizationType.Q6_K)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    model, vocab = read_gguf(path)
    assert model.input.dtype == "q6_k" and model.tied_by_weights and vocab.tokens == ["a", "b", "c"]
    assert np.array_equal(np.asarray(model.input), np.full((rows, width), -32.0, dtype=np.float32))


def test_a_run_exported_to_gguf_reads_back_word_for_word(tmp_path):
    rng = np.random.default_rng(0)
    words = ["the", "cat", "sat", "<unk>", "mat"]
    u, v = rng.normal(size=(5, 32)).astype(np.float32), rng.normal(size=(5, 32)).astype(np.float32)
    path = write_gguf(tmp_path / "run.gguf", u, v, words)
    embs = {e.role: e for e in load_gguf(path, ["cat", "mat", "dog"])}
    assert embs["input"].words == ["cat", "mat"]  # an unknown word is covered by no row
    assert np.array_equal(embs["output"]["mat"], v[4])


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda b: b[: len(b) // 2], "GGUF"),  # truncated inside the tensor data
        (lambda b: b"GGUF" + b"\xff" * 20, "not a GGUF file embedeval can read"),
        (lambda b: b"NOPE" + b[4:], "no GGUF magic"),
    ],
)
def test_damaged_gguf_files_are_one_line(damage, message, tmp_path):
    rng = np.random.default_rng(0)
    good = write_gguf(tmp_path / "good.gguf", rng.normal(size=(4, 32)).astype(np.float32), None, list("abcd"))
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(damage(good.read_bytes()))
    with pytest.raises(EmbedevalError, match=message):
        model, _ = read_gguf(bad)
        np.asarray(model.input)


def test_a_vocabulary_shorter_or_longer_than_the_matrix(tmp_path):
    from gguf import GGUFWriter

    path = tmp_path / "v.gguf"
    writer = GGUFWriter(str(path), "test")
    writer.add_tokenizer_model("word")
    writer.add_token_list(["a", "b", "c", "d", "e"])  # 5 tokens, 4 rows
    writer.add_tensor("token_embd.weight", np.zeros((4, 32), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(EmbedevalError, match="5 tokens but token_embd.weight only 4 rows"):
        read_gguf(path)


def test_compare_measures_quantisation_damage_against_the_most_precise_input(wide_models, tmp_path):
    """A folder and its Q8_0 and Q4_0 GGUF files: each quantised U and V against the folder's, row by row (cosine,
    relative error) and in rho on identical pairs; Q4_0 is further from the reference than Q8_0."""
    import embedeval as ee

    folder = wide_models["gpt_neox"]
    files = [_to_gguf(folder, tmp_path / f"m-{q}.gguf", q) for q in ("Q8_0", "Q4_0")]
    report = ee.compare([folder, *files], ["rg65", "ws353"], n_bootstrap=0, add_sum=False, geometry=False)
    rows = {(r["dtype"], r["role"]): r for r in report.tasks["quantisation"]}
    assert set(rows) == {("q8_0", "input"), ("q8_0", "output"), ("q4_0", "input"), ("q4_0", "output")}
    for role in ("input", "output"):
        q8, q4 = rows[("q8_0", role)], rows[("q4_0", role)]
        assert q8["reference"].endswith(f":{role}") and q8["reference_dtype"] == "float32"
        assert 1 > q8["cosine_mean"] > q4["cosine_mean"] > 0.9 and q8["relative_error_mean"] < q4["relative_error_mean"]
        assert q8["bits"] == 8.5 and q4["bits"] == 4.5
        assert {b["benchmark"] for b in q4["benchmarks"]} <= {"rg65", "ws353"}
    page_rows = report.task_sections()
    assert any(s.id == "quantisation" for s in page_rows)


def test_the_gguf_command_writes_a_folder_or_a_run_and_never_into_an_input(wide_models, tmp_path):
    from tests.conftest import run_cli

    folder = wide_models["gpt_neox"]
    code, _, err = run_cli("gguf", str(folder), "--type", "Q8_0", "--out", str(tmp_path / "m.gguf"))
    assert code == 0, err
    model, _ = read_gguf(tmp_path / "m.gguf")
    assert model.input.dtype == "q8_0" and not model.tied_by_weights
    code, _, err = run_cli("gguf", str(folder), "--out", str(tmp_path / "m.gguf"))
    assert code == 2 and "pass --overwrite" in err
    (tmp_path / "notes.gguf").write_text("mine")
    code, _, err = run_cli("gguf", str(folder), "--out", str(tmp_path / "notes.gguf"), "--overwrite")
    assert code == 2 and (tmp_path / "notes.gguf").read_text() == "mine"  # only a GGUF file is replaced
    code, _, err = run_cli("gguf", str(folder), "--out", str(folder / "inside.gguf"))
    assert code == 2 and "nothing is ever written into an input" in err and not (folder / "inside.gguf").exists()
    code, _, err = run_cli("train", "lm", "--corpus", "builtin", "--config", "tiny", "--epochs", "1", "--out",
                           str(tmp_path / "run"))  # fmt: skip
    assert code == 0, err
    code, _, err = run_cli("gguf", str(tmp_path / "run"), "--out", str(tmp_path / "run.gguf"))
    assert code == 0, err
    words = {e.role: e for e in load(tmp_path / "run")}["input"].words
    assert read_gguf(tmp_path / "run.gguf")[1].tokens == words


def _q(embedding, cos, deltas, outside=0):
    return {"embedding": embedding, "cosine_mean": cos, "cosine_min": cos - 1e-3, "relative_error_mean": 1 - cos,
            "benchmarks": [{"benchmark": f"b{i}", "delta": d, "outside_reference_ci": i < outside,
                            "williams_p_holm": 1.0} for i, d in enumerate(deltas)]}  # fmt: skip


def test_the_quantisation_page_states_what_its_tests_show(tmp_path):
    from embedeval.claims import Resolver, check_sentence, sentences
    from embedeval.quantisation_findings import findings, page, seed_rows

    rows = []
    for seed in (1, 2, 3):
        results = {"quantisation": [_q("m-Q4_0.gguf:input", 0.99 - seed / 1000, [0.01, -0.02], outside=1),
                                    _q("m-Q4_0.gguf:output", 0.995, [0.001, 0.002]),
                                    _q("m-Q8_0.gguf:input", 0.9999, [0.0, 0.0]),
                                    _q("m-Q8_0.gguf:output", 0.9999, [0.0, 0.0]),
                                    _q("model:sum", 0.5, [0.3])]}  # fmt: skip
        rows += seed_rows(seed, results)
    assert {(r["type"], r["matrix"]) for r in rows} == {("Q4_0", "U"), ("Q4_0", "V"), ("Q8_0", "U"), ("Q8_0", "V")}
    result = {"seeds": [1, 2, 3], "rows": rows, **findings(rows)}
    tests = {t["key"]: t for t in result["tests"]}
    assert tests["Q4_0:one_minus_cosine"]["mean"] < 0 and "shown" in tests["Q4_0:one_minus_cosine"]["verdict"]
    (tmp_path / "reports" / "quantisation").mkdir(parents=True)
    (tmp_path / "reports" / "quantisation" / "quantisation.json").write_text(json.dumps(result))
    text = page(result)
    assert "in 3 of 12 (seed, matrix, benchmark) cases" in text
    resolver = Resolver(tmp_path)
    assert [(s, w) for _, s in sentences(text) for w in check_sentence(s, resolver)] == []


def test_the_committed_quantisation_page_regenerates_from_its_json():
    from embedeval.quantisation_findings import page

    folder = Path(__file__).resolve().parents[1] / "reports" / "quantisation"
    if not (folder / "quantisation.json").is_file():
        pytest.skip("reports/quantisation is not written yet")
    result = json.loads((folder / "quantisation.json").read_text(encoding="utf-8"))
    assert page(result) == (folder / "README.md").read_text(encoding="utf-8")


def test_a_report_with_the_quantisation_task_is_replaced_by_overwrite(wide_models, tmp_path):
    from tests.conftest import run_cli

    folder = wide_models["gpt_neox"]
    q8 = _to_gguf(folder, tmp_path / "m-Q8_0.gguf", "Q8_0")
    args = ["compare", str(folder), str(q8), "-b", "rg65", "--bootstrap", "0", "--no-geometry", "--out",
            str(tmp_path / "r")]  # fmt: skip
    code, _, err = run_cli(*args)
    assert code == 0 and (tmp_path / "r" / "quantisation.csv").is_file(), err
    code, _, err = run_cli(*args, "--overwrite")  # its own task file is not a stranger's
    assert code == 0, err


def test_a_wordpiece_gguf_vocabulary_is_rebuilt_and_an_unknown_kind_is_one_line(tmp_path):
    """BERT-style GGUF files (tokenizer.ggml.model = bert): a word is one token, '##' pieces continue it; a kind
    embedeval cannot rebuild says which it can, not that some task would work without it."""
    from embedeval.embeddings.gguf_model import load_gguf

    words = ["[PAD]", "[UNK]", "cat", "dog", "tiger", "##s", "car"]
    x = np.random.default_rng(0).normal(size=(len(words), 32)).astype(np.float32)
    write_gguf(tmp_path / "bert.gguf", x, None, words, tokenizer_model="bert")
    (single,) = load_gguf(tmp_path / "bert.gguf", ["cat", "cats", "tiger"], "single")
    assert sorted(single.words) == ["cat", "tiger"]
    (first,) = load_gguf(tmp_path / "bert.gguf", ["cats"], "first")
    assert np.allclose(first.vectors[0], x[2])  # cats = cat ##s: its first piece
    write_gguf(tmp_path / "t5.gguf", x, None, words, tokenizer_model="t5")
    with pytest.raises(
        EmbedevalError, match="not one embedeval rebuilds from a GGUF file \\(gpt2, llama, bert, word\\)"
    ):
        load_gguf(tmp_path / "t5.gguf", ["cat"], "single")

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embedeval.embeddings import Embedding, detect_format, load, load_one, write
from embedeval.embeddings.cache import open_cached
from embedeval.embeddings.formats import read_text
from embedeval.errors import EmbedevalError

FORMATS = [
    ("word2vec", ".txt"),
    ("glove", ".glove"),
    ("word2vec-binary", ".bin"),
    ("npz", ".npz"),
    ("safetensors", ".safetensors"),
]


@pytest.mark.parametrize("fmt,ext", FORMATS)
def test_round_trip_keeps_words_and_float32_values(tmp_path, small_embedding, fmt, ext):
    path = write(small_embedding, tmp_path / f"emb{ext}", fmt)
    assert detect_format(path) == fmt
    back = load_one(path)
    assert back.words == small_embedding.words
    assert back.vectors.dtype == np.float32
    np.testing.assert_array_equal(back.vectors, small_embedding.vectors)


word = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters="\x85\xa0\u1680"),
    min_size=1,
    max_size=8,
)


@settings(max_examples=25, deadline=None)
@given(st.lists(word, min_size=1, max_size=20, unique=True), st.integers(1, 6))
def test_text_round_trip_for_any_unicode_words(tmp_path_factory, words, dim):
    vectors = np.random.default_rng(len(words)).normal(size=(len(words), dim)).astype(np.float32)
    emb = Embedding(words, vectors)
    path = write(emb, tmp_path_factory.mktemp("rt") / "e.txt", "word2vec")
    back = load_one(path)
    assert back.words == words
    np.testing.assert_array_equal(back.vectors, vectors)


def test_npz_keeps_role_bias_and_metadata(tmp_path, small_embedding):
    emb = small_embedding.derive(role="output", model="lstm", step=7, bias=np.arange(10, dtype=np.float32))
    back = load_one(write(emb, tmp_path / "out.npz"))
    assert (back.role, back.model, back.step) == ("output", "lstm", 7)
    np.testing.assert_array_equal(back.bias, emb.bias)


def test_gensim_word2vec_model_gives_input_and_output(tmp_path):
    from gensim.models import Word2Vec

    sentences = [["a", "b", "c", "d"], ["b", "c", "d", "e"]] * 20
    model = Word2Vec(sentences, vector_size=8, min_count=1, negative=5, seed=1, workers=1, epochs=2)
    model.save(str(tmp_path / "w2v.model"))
    model.wv.save(str(tmp_path / "w2v.kv"))
    found = load(tmp_path / "w2v.model")
    assert [e.role for e in found] == ["input", "output"]
    np.testing.assert_array_equal(found[1].vectors, model.syn1neg)
    np.testing.assert_array_equal(load_one(tmp_path / "w2v.kv").vectors, model.wv.vectors)


def test_hierarchical_softmax_model_says_it_has_no_output_embedding(tmp_path):
    from gensim.models import Word2Vec

    model = Word2Vec([["a", "b", "c"]] * 10, vector_size=4, min_count=1, hs=1, negative=0, workers=1, epochs=1)
    model.save(str(tmp_path / "hs.model"))
    assert [e.role for e in load(tmp_path / "hs.model")] == ["input"]
    with pytest.raises(EmbedevalError, match="hierarchical softmax"):
        load_one(tmp_path / "hs.model", role="output")


def test_cached_binary_form_opens_memory_mapped(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBEDEVAL_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    emb = Embedding([f"w{i}" for i in range(2000)], rng.normal(size=(2000, 50)))
    path = write(emb, tmp_path / "big.txt", "word2vec")
    first = load_one(path, cache=True)
    start = time.perf_counter()
    cached = open_cached(path)
    assert time.perf_counter() - start < 1.0
    assert isinstance(cached.vectors, np.memmap)
    np.testing.assert_array_equal(cached.vectors, first.vectors)
    assert load_one(path, cache=True).words == emb.words


# --- bad input: one clear error naming the file and the line ---------------------------------------


def write_text(tmp_path, text, name="bad.txt", mode="w"):
    path = tmp_path / name
    if mode == "wb":
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_row_with_wrong_number_of_values(tmp_path):
    path = write_text(tmp_path, "3 2\na 1 2\nb 1\nc 1 2\n")
    with pytest.raises(EmbedevalError, match=r"bad.txt:3: row for 'b' has 1 values, expected 2"):
        load(path)


def test_header_disagrees_with_body(tmp_path):
    path = write_text(tmp_path, "5 2\na 1 2\nb 1 2\n")
    with pytest.raises(EmbedevalError, match=r"bad.txt:1: header says 5 words but the file holds 2"):
        load(path)


def test_header_dim_disagrees_with_body(tmp_path):
    path = write_text(tmp_path, "2 3\na 1 2\nb 1 2\n")
    with pytest.raises(EmbedevalError, match=r"bad.txt:2: row for 'a' has 2 values, expected 3"):
        load(path)


def test_duplicate_words(tmp_path):
    path = write_text(tmp_path, "3 2\na 1 2\nb 1 2\na 3 4\n")
    with pytest.raises(EmbedevalError, match=r"bad.txt:4: duplicate word 'a' \(first at line 2\)"):
        load(path)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_nan_and_inf_vectors(tmp_path, value):
    path = write_text(tmp_path, f"2 2\na 1 2\nb 1 {value}\n")
    with pytest.raises(EmbedevalError, match=r"bad.txt:3: vector for 'b' contains NaN or inf"):
        load(path)


def test_non_numeric_value(tmp_path):
    path = write_text(tmp_path, "a 1 2\nb 1 x\n")
    with pytest.raises(EmbedevalError, match=r"bad.txt:2: value 'x' for 'b' is not a number"):
        load(path, fmt="glove")


def test_embedding_bytes_that_are_not_utf8(tmp_path):
    path = write_text(tmp_path, b"2 2\na 1 2\ncaf\xe9 1 2\n", mode="wb")
    with pytest.raises(EmbedevalError, match=r"bad.txt:3: bytes that are not UTF-8"):
        read_text(path)


def test_empty_embedding_file(tmp_path):
    path = write_text(tmp_path, "")
    with pytest.raises(EmbedevalError, match="empty"):
        load(path)


def test_embedding_path_that_does_not_exist(tmp_path):
    with pytest.raises(EmbedevalError, match="does not exist"):
        load(tmp_path / "missing.txt")


def test_text_formats_refuse_words_with_spaces(tmp_path):
    emb = Embedding(["new york", "b"], np.ones((2, 2)))
    with pytest.raises(EmbedevalError, match="use npz"):
        write(emb, tmp_path / "x.txt", "word2vec")

import pytest

from embedeval.data.benchmarks import bundled_dir, parse_pairs
from embedeval.data.datadir import sha256_file
from embedeval.data.registry import DEFAULT_BENCHMARKS, REGISTRY, SPECS, load_benchmark, locate
from embedeval.errors import EmbedevalError


def test_every_bundled_benchmark_loads_with_its_pair_count_and_checksum():
    for name in DEFAULT_BENCHMARKS:
        bench = load_benchmark(name)
        assert len(bench) == REGISTRY[name].pairs
        assert bench.sha256 == REGISTRY[name].sha256


def test_bundled_files_match_their_recorded_sha256():
    for spec in SPECS:
        if spec.bundled:
            assert sha256_file(bundled_dir() / spec.relpath) == spec.sha256, spec.name


def test_every_data_dir_benchmark_loads_in_its_original_layout(data_dir):
    from embedeval.data.registry import load_analogy_set

    for spec in SPECS:
        if spec.bundled:
            continue
        if spec.kind == "analogy":
            assert len(load_analogy_set(spec.name, data_dir)) == spec.pairs, spec.name
            continue
        bench = load_benchmark(spec.name, data_dir)
        assert len(bench) == spec.pairs, spec.name
        low, high = spec.scale
        assert low <= bench.scores.min() and bench.scores.max() <= high, spec.name


def test_simlex_full_file_reads_the_simlex999_column_not_pos(data_dir):
    full = load_benchmark("simlex999-full", data_dir)
    bundled = load_benchmark("simlex999")
    assert full.words1 == bundled.words1
    assert (full.scores == bundled.scores).all()
    verbs = load_benchmark("simlex999-verb", data_dir)
    assert len(verbs) == 222 and verbs.words1[0] == "go"


def test_men_lemma_form_strips_pos_suffixes(data_dir):
    lemma = load_benchmark("men-lemma", data_dir)
    assert lemma.words1[:2] == ["sun", "automobile"]
    assert not any(w.endswith(("-n", "-v", "-j")) for w in lemma.words1 + lemma.words2)


def test_missing_data_dir_says_how_to_set_it(monkeypatch):
    monkeypatch.delenv("EMBEDEVAL_DATA", raising=False)
    with pytest.raises(EmbedevalError, match="EMBEDEVAL_DATA"):
        load_benchmark("verb143")
    assert locate(REGISTRY["verb143"]).status == "no data dir"


def test_missing_file_in_data_dir_says_where_to_put_it(tmp_path):
    (tmp_path / "similarity").mkdir()
    with pytest.raises(EmbedevalError, match="missing: put the original file here"):
        load_benchmark("verb143", tmp_path)


def test_checksum_mismatch_names_file_expected_and_found(tmp_path):
    target = tmp_path / REGISTRY["mc30"].relpath
    target.parent.mkdir(parents=True)
    target.write_text("car\tautomobile\t3.9\ngem\tjewel\t3.8\nx\ty\t1\n")
    with pytest.raises(EmbedevalError) as err:
        load_benchmark("mc30", tmp_path)
    message = str(err.value)
    assert str(target) in message and REGISTRY["mc30"].sha256 in message and "found" in message


@pytest.mark.parametrize(
    "text",
    [
        "a\tb\t1.5\nc\td\t2\n",
        "a b 1.5\nc d 2\n",
        "a,b,1.5\nc,d,2\n",
        "w1,w2,score\na,b,1.5\nc,d,2\n",
        "# comment\na\tb\t1.5\n\nc\td\t2\n",
    ],
)
def test_any_pairs_file_by_path(tmp_path, text):
    path = tmp_path / "pairs.txt"
    path.write_text(text)
    bench = parse_pairs(path)
    assert bench.words1 == ["a", "c"] and bench.words2 == ["b", "d"]
    assert list(bench.scores) == [1.5, 2.0]


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(EmbedevalError, match="simlex999"):
        load_benchmark("simlex")


def test_malformed_line_names_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("a\tb\t1\nc\td\n")
    with pytest.raises(EmbedevalError, match=r"bad.txt:2: expected at least 3 fields"):
        parse_pairs(path)


def test_lenient_skips_and_counts_malformed_lines(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("a\tb\t1\nc\td\ne\tf\t2\ng\th\tlots\n")
    bench = parse_pairs(path, lenient=True)
    assert len(bench) == 2 and bench.skipped_lines == 2


def test_non_numeric_score(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("a\tb\t1\nc\td\tten\n")
    with pytest.raises(EmbedevalError, match=r"bad.txt:2: score 'ten' is not a number"):
        parse_pairs(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("")
    with pytest.raises(EmbedevalError, match="no word pairs"):
        parse_pairs(path)


def test_bytes_that_are_not_utf8(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"a\tb\t1\ncaf\xe9\td\t2\n")
    with pytest.raises(EmbedevalError, match=r"latin1.txt:2: bytes that are not UTF-8"):
        parse_pairs(path)


def test_path_that_does_not_exist(tmp_path):
    with pytest.raises(EmbedevalError, match="does not exist"):
        load_benchmark(str(tmp_path / "nope.txt"))


def test_duplicate_pairs_are_counted_and_kept():
    ws = load_benchmark("ws353")
    assert ws.duplicate_pairs == 2  # money-cash and money-bank each occur twice, as in the original
    assert len(ws) == 353

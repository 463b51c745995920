import json

import numpy as np

from embedeval.embeddings import Embedding, write
from tests.conftest import run_cli


def test_eval_prints_a_table_and_writes_json_and_csv(tmp_path):
    rng = np.random.default_rng(0)
    words = ["tiger", "cat", "dog", "car", "automobile", "money", "cash", "bank", "river", "water", "love", "sex"]
    write(Embedding(words, rng.normal(size=(len(words), 5))), tmp_path / "e.txt", "word2vec")
    code, out, err = run_cli(
        "eval",
        str(tmp_path / "e.txt"),
        "-b",
        "ws353",
        "-b",
        "rg65",
        "--json",
        str(tmp_path / "r.json"),
        "--csv",
        str(tmp_path / "r.csv"),
    )
    assert code == 0, err
    assert "ws353" in out and "/353" in out
    data = json.loads((tmp_path / "r.json").read_text())
    assert {r["benchmark"] for r in data["results"]} == {"ws353", "rg65"}
    assert (tmp_path / "r.csv").read_text().startswith("embedding,")


def test_bad_input_is_one_line_exit_2_no_traceback(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("2 3\na 1 2 3\nb 1 2\n")
    for args in (
        ["eval", str(bad)],
        ["eval", str(tmp_path / "missing.txt")],
        ["eval", str(bad), "-b", str(tmp_path / "nope.tsv")],
    ):
        code, out, err = run_cli(*args)
        assert code == 2, (args, err)
        assert "Traceback" not in err and err.strip().count("\n") == 0, err
        assert err.startswith("error: ")


def test_benchmarks_lists_bundled_and_missing(tmp_path):
    code, out, _ = run_cli("benchmarks", "--data-dir", str(tmp_path))
    assert code == 0
    assert "simlex999" in out and "bundled" in out and "missing" in out


def test_help_mentions_every_command():
    code, out, _ = run_cli("--help")
    assert code == 0
    for command in ("benchmarks", "compare", "eval", "plot-dynamics", "reproduce", "track", "train"):
        assert f"  {command} " in out, command
    code, out, _ = run_cli("train", "--help")
    assert code == 0 and "  lm " in out and "  skipgram " in out


def test_eval_sum_adds_u_plus_v_of_a_run_directory(tmp_path):
    from embedeval.rundir import RunDir

    rng = np.random.default_rng(1)
    words = ["tiger", "cat", "dog", "car", "automobile", "money", "cash", "bank", "river", "water", "love", "sex"]
    with RunDir.create(tmp_path / "run") as run:
        for role in ("input", "output"):
            run.save_embedding(role, Embedding(words, rng.normal(size=(len(words), 5)), role=role))
    code, out, err = run_cli("eval", str(tmp_path / "run"), "--sum", "-b", "ws353", "--json", str(tmp_path / "r.json"))
    assert code == 0, err
    names = {r["embedding"] for r in json.loads((tmp_path / "r.json").read_text())["results"]}
    assert names == {"run:input", "run:output", "run:sum"}


def test_provenance_holds_no_machine_paths(tmp_path):
    from embedeval.data.corpus import resolve_corpus
    from embedeval.data.registry import load_benchmark

    assert load_benchmark("ws353").path == "bundled:wordsim353.tsv"
    assert resolve_corpus("builtin").describe()["files"] == {"train": "gensim:lee_background.cor"}


def test_eval_writes_the_pairs_the_tests_and_the_oov_words(tmp_path):
    import csv

    rng = np.random.default_rng(2)
    words = ["tiger", "cat", "dog", "car", "automobile", "money", "cash", "bank", "river", "water", "love", "sex"]
    for name, known in (("a", words), ("b", words[:-2])):
        write(Embedding(known, rng.normal(size=(len(known), 5))), tmp_path / f"{name}.txt", "word2vec")
    code, _, err = run_cli(
        "eval", str(tmp_path / "a.txt"), str(tmp_path / "b.txt"), "-b", "ws353",
        "--pairs-csv", str(tmp_path / "pairs.csv"), "--tests-csv", str(tmp_path / "tests.csv"),
        "--json", str(tmp_path / "r.json"),
    )  # fmt: skip
    assert code == 0, err
    rows = list(csv.DictReader(open(tmp_path / "pairs.csv")))
    # a file's embedding is named after the file, as in compare's report
    assert len(rows) == 353 and set(rows[0]) == {"benchmark", "word1", "word2", "gold", "a.txt", "b.txt", "used"}
    love_sex = next(r for r in rows if {r["word1"], r["word2"]} == {"love", "sex"})
    assert love_sex["a.txt"] and not love_sex["b.txt"] and love_sex["used"] == "0"  # b lacks "love": not scored
    used = [r for r in rows if r["used"] == "1"]
    assert all(r["a.txt"] and r["b.txt"] for r in used)
    tests = list(csv.DictReader(open(tmp_path / "tests.csv")))
    assert len(tests) == 1 and tests[0]["embedding_a"] in ("a.txt", "b.txt") and tests[0]["n"] == str(len(used))
    oov = json.loads((tmp_path / "r.json").read_text())["oov_words"]
    assert "love" in oov["b.txt"]["ws353"] and "love" not in oov["a.txt"]["ws353"]


def test_the_command_line_starts_without_torch_scipy_sklearn_or_the_model_readers():
    import subprocess
    import sys

    heavy = ("torch", "scipy", "sklearn", "transformers", "tokenizers", "safetensors")
    probe = f"import sys, embedeval.cli; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "[]"


def test_the_lm_progress_bar_restarts_its_clock_each_epoch():
    import io

    from tqdm import tqdm

    from embedeval.cli.progress import lm_progress

    bar = tqdm(total=None, file=io.StringIO())
    progress = lm_progress(bar)
    record = {"epoch": 1, "epochs": 2, "batch": 100, "batches": 136, "train_ppl": 300.0, "tokens_per_s": 1.0}
    progress(record)
    bar.start_t -= 600  # ten minutes into the first epoch
    progress({**record, "epoch": 2, "batch": 1})
    assert bar.n == 1 and bar.total == 136
    assert bar.format_dict["elapsed"] < 60  # not the job's clock


def test_a_resumed_epoch_counts_only_the_batches_it_ran_in_its_rate():
    import io

    from tqdm import tqdm

    from embedeval.cli.progress import lm_progress

    bar = tqdm(total=None, file=io.StringIO())
    progress = lm_progress(bar)
    record = {"epoch": 4, "epochs": 13, "batch": 1452, "batches": 2323, "train_ppl": 80.0, "tokens_per_s": 1.0}
    progress(record)  # the first report after a resume, 1,452 batches into the epoch
    bar.start_t -= 10
    progress({**record, "batch": 1552})
    shown = bar.format_dict
    assert shown["n"] - shown["initial"] == 100  # batches this process ran: 10 per second, not 155
    # the meter at exactly 10 s (the real clock adds the few ms this test took: no timing in a pass/fail test)
    assert "10.00batch/s" in tqdm.format_meter(**{**shown, "elapsed": 10.0, "rate": None, "unit": "batch"})


def test_the_format_option_offers_every_reader():
    from embedeval.cli.options import FORMATS as OFFERED
    from embedeval.embeddings.formats import FORMATS

    assert OFFERED == FORMATS


def test_the_recorded_command_line_names_embedeval_not_a_machine_path(tmp_path):
    from embedeval.rundir import _command

    assert _command(["/some/venv/lib/embedeval/__main__.py", "train", "lm"]) == "embedeval train lm"
    assert _command(["/home/me/.venv/bin/embedeval", "eval", "x"]) == "embedeval eval x"
    assert _command(["benchmarks/sgns_quality.py", "torch"]) == "benchmarks/sgns_quality.py torch"


def test_a_reader_that_stops_early_costs_no_output_file(tmp_path):
    """`embedeval eval ... | head -1`: the command still writes its --json and exits 0, without a traceback."""
    import subprocess
    import sys

    from tests.test_hostile import ROWS

    (tmp_path / "e.txt").write_text(ROWS)
    cmd = f"{sys.executable} -m embedeval.cli eval e.txt -b rg65 -b ws353 --json r.json | head -c 10"
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr
    assert json.loads((tmp_path / "r.json").read_text())["results"]


def test_progress_in_a_log_is_whole_lines(tmp_path):
    """Piped to a file, a training run's progress is plain lines (no carriage-return redraws), and the messages
    around it start on lines of their own."""
    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat sat on the mat and the dog sat on the log\n" * 400)
    code, _, err = run_cli("train", "lm", "--corpus", str(corpus), "--config", "tiny", "--out", str(tmp_path / "r"),
                           "--epochs", "2", "--threads", "1")  # fmt: skip
    assert code == 0, err
    assert "\r" not in err
    lines = [line for line in err.splitlines() if line.startswith("epoch ")]
    assert lines and lines[-1].startswith("epoch 2/2") and "100%" in lines[-1]


def test_compare_names_the_input_that_empties_the_shared_pairs_and_offers_no_intersect(tmp_path):
    from embedeval.data.registry import load_benchmarks

    rg65 = load_benchmarks(["rg65"])[0]
    words = sorted(set(rg65.words1) | set(rg65.words2))
    rng = np.random.default_rng(0)
    write(Embedding(words, rng.normal(size=(len(words), 8))), tmp_path / "wide.txt", "word2vec")
    write(Embedding(["cord", "smile"], rng.normal(size=(2, 8))), tmp_path / "tiny.txt", "word2vec")
    args = [str(tmp_path / "wide.txt"), str(tmp_path / "tiny.txt"), "-b", "rg65", "--bootstrap", "0"]
    code, _, err = run_cli("compare", *args, "--out", str(tmp_path / "a"))
    assert code == 0, err
    assert "rg65: tiny.txt covers 1 of 65 pairs (the others up to 65)" in err and "--no-intersect" in err
    code, out, err = run_cli("compare", *args, "--out", str(tmp_path / "b"), "--no-intersect")
    assert code == 0, err
    result = {r["embedding"]: r for r in json.loads((tmp_path / "b" / "results.json").read_text())["results"]}
    assert result["wide.txt"]["pairs_used"] == 65 and result["tiny.txt"]["pairs_used"] == 1
    assert "each on its own covered pairs" in out


def test_a_log_gets_no_empty_bar_line_before_the_work_starts():
    import io

    from embedeval.cli.progress import LogBar

    log = io.StringIO()
    bar = LogBar(unit="batch", total=None, file=log)
    assert log.getvalue() == ""
    bar.reset(total=10)
    assert log.getvalue() == ""  # nor one for the empty bar of a new epoch
    bar.update(3)
    bar.close()
    assert "3/10" in log.getvalue().splitlines()[-1]


def test_long_embedding_names_are_folded_in_the_table_never_cut(tmp_path):
    rng = np.random.default_rng(0)
    words = ["tiger", "cat", "dog", "car", "automobile", "money", "cash", "bank", "river", "water"]
    paths = []
    for step in range(143001, 143007):  # six columns: wider than the console, where rich cut each header
        path = tmp_path / f"pythia-160m-deduped-checkpoint-step-{step}.txt"
        write(Embedding(words, rng.normal(size=(len(words), 8))), path, "glove")
        paths.append(str(path))
    import os
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "embedeval", "eval", *paths, "-b", "ws353"], capture_output=True,
                          text=True, env={**os.environ, "COLUMNS": "60"})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    header = proc.stdout + proc.stderr
    header = header[header.index("Spearman") : header.index("benchmark") + 2000]
    for step in range(143001, 143007):  # the ends of the names, where they differ, are on screen (folded, not cut)
        assert f"{step}" in header, header

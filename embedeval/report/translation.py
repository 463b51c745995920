"""The translation runs of a report: BLEU with a bootstrap 95% interval, chrF, parameter counts, and sacreBLEU's
paired bootstrap of every tied run against the untied run of the same language pair and seed.

The intervals and tests need the test references. Multi30k's stay in the data directory (a run directory holds only
its own translations, ``test.hyp.txt``): without the data directory the table shows each run's stored BLEU and says
why the intervals are missing. A run on the user's own files keeps its references as ``test.ref.txt``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from embedeval.data.datadir import data_dir, sha256_file
from embedeval.errors import EmbedevalError
from embedeval.layout import TEST_HYP, TEST_REF

BOOTSTRAP_SAMPLES = 1000


def _references(run: Any) -> tuple[list[str] | None, str | None]:
    """The run's test references: its own test.ref.txt (a corpus of the user's files), else the data directory's
    file, checked against the sha256 the run was trained with."""
    own = Path(run.path) / TEST_REF
    if own.is_file():
        return _lines(own), None
    files = (run.corpus.get("files") or {}).get("test")
    if not files:
        return None, "the run does not say which test files it used"
    rel = files[1]
    if not rel.startswith("data:"):
        path = Path(rel)
        expected = (run.corpus.get("sha256") or {}).get(rel)
    else:
        try:
            root = data_dir()
        except EmbedevalError:
            root = None
        if root is None:
            return None, "the test references are read from the data directory, which is not set (EMBEDEVAL_DATA)"
        path = root / rel.removeprefix("data:")
        stem = Path(path.name).with_suffix("").name  # test_2016_flickr.de
        expected = (run.corpus.get("sha256") or {}).get(stem)
    if not path.is_file():
        return None, f"the test references are missing ({path})"
    if expected and sha256_file(path) != expected:
        return None, f"the test references differ from those the run was scored on (sha256 of {path})"
    from embedeval.data.parallel import read_sentences

    return read_sentences(path), None


def _hypotheses(run: Any) -> list[str] | None:
    path = Path(run.path) / TEST_HYP
    if not path.is_file():
        return None
    return _lines(path)


def _lines(path: Path) -> list[str]:
    """The lines of a run's translation file; bytes that are not UTF-8 are a one-line error naming the line."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8").split("\n")[:-1]
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise EmbedevalError("bytes that are not UTF-8: the run's translation file is damaged", path, line) from None


def translation_rows(runs: list[Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """One row per translation run, and notes on what could not be computed."""
    from sacrebleu.metrics import BLEU

    rows, notes = [], []
    for run in runs:
        if not run.is_translation:
            continue
        s = run.summary
        row = {
            "run": run.name,
            "tie": run.config.get("tie"),
            "pair": s.get("language_pair", "?"),
            "seed": run.config.get("seed"),
            "parameters": s.get("unique_parameters"),
            "embedding_parameters": s.get("embedding_parameters"),
            "epochs": f"{len(run.history)}/{run.config.get('epochs', '?')}",
            "valid_bleu": s.get("valid_bleu"),
            "test_bleu": s.get("test_bleu"),
            "bleu_low": None,
            "bleu_high": None,
            "test_chrf": s.get("test_chrf"),
            "signature": s.get("bleu_signature"),
            "status": run.status,
            "p_vs_untied": None,
            "untied": None,
        }
        hyps = _hypotheses(run)
        refs, why = _references(run) if hyps is not None else (None, "no test.hyp.txt (training has not finished)")
        if refs is not None and hyps is not None and len(hyps) == len(refs):
            score = BLEU().corpus_score(hyps, [refs], n_bootstrap=BOOTSTRAP_SAMPLES)
            row["bleu_low"], row["bleu_high"] = score._mean - score._ci, score._mean + score._ci
            row["_hyps"], row["_refs"] = hyps, refs
        elif refs is not None and hyps is not None:
            notes.append(
                f"{run.name}: no BLEU interval, test.hyp.txt has {len(hyps):,} lines but the references have "
                f"{len(refs):,} (the run's translation file is incomplete or damaged)"
            )
        elif why:
            notes.append(f"{run.name}: no BLEU interval, {why}")
        rows.append(row)
    _paired_tests(rows, notes)
    for row in rows:
        row.pop("_hyps", None)
        row.pop("_refs", None)
    return rows, notes


def _paired_tests(rows: list[dict[str, Any]], notes: list[str]) -> None:
    from sacrebleu.metrics import BLEU
    from sacrebleu.significance import PairedTest

    untied = {(r["pair"], r["seed"]): r for r in rows if r["tie"] == "none" and "_hyps" in r}
    other_refs = []
    for row in rows:
        base = untied.get((row["pair"], row["seed"]))
        if row["tie"] == "none" or base is None or "_hyps" not in row:
            continue
        if base["_refs"] != row["_refs"]:
            other_refs.append(f"{row['run']} vs {base['run']}")
            continue
        test = PairedTest([(base["run"], base["_hyps"]), (row["run"], row["_hyps"])], {"BLEU": BLEU()},
                          [base["_refs"]], test_type="bs", n_samples=BOOTSTRAP_SAMPLES)  # fmt: skip
        _, scores = test()
        row["p_vs_untied"] = float(scores["BLEU"][1].p_value)
        row["untied"] = base["run"]
    if other_refs:
        notes.append(f"no paired test for {', '.join(other_refs)}: their test references differ")
    elif rows and not any(r["p_vs_untied"] is not None for r in rows):
        if any(r["tie"] != "none" for r in rows) and untied:
            notes.append("no paired test: no tied run shares a language pair and seed with an untied run")

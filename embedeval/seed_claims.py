"""What the tying explainers claim, tested across seeds (docs/methods.md, section 10.1): one page,
``reports/seed-claims/README.md``, regenerated from committed run summaries and histories by ``embedeval reproduce
tying-claims`` (the runs are those of the ``tying-data-size`` and ``lstm-bias`` tables, and the committed runs of
Table 6, the Transformer, the biLM and translation).

Every verdict comes from a test row here; the page's sentences only restate them (the claims check of
``tests/test_claims.py`` holds it to that).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

from embedeval.evaluate.stats import holm, paired_seed_test
from embedeval.layout import METRICS, SUMMARY

FRACTIONS = (10, 25, 50, 100)
LOG_MARGIN = 0.02  # equality of tying's benefit in log perplexity, stated before the runs (methods 10.1)


def _read(folder: Path) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """A finished run's summary and its per-epoch history (None when it has not finished)."""
    try:
        summary = json.loads((folder / SUMMARY).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None, []
    if summary.get("status") != "complete":
        return None, []
    history = []
    if (folder / METRICS).is_file():
        for line in (folder / METRICS).read_text(encoding="utf-8").splitlines():
            if line.strip():
                history.append(json.loads(line))
    return summary, history


def _verdict(test: dict[str, Any], what: str, margin: float | None = None) -> str:
    if test["n"] < 2:
        return "one seed only, no test" if test["n"] == 1 else "no seed finished"
    if test.get("p_holm") is not None and test["p_holm"] < 0.05:
        shown = "< 0.001" if test["p_holm"] < 0.001 else f"{test['p_holm']:.3f}"
        return f"{what}: {'positive' if test['mean'] > 0 else 'negative'}, shown (Holm p {shown})"
    if margin is not None and test.get("equivalent"):
        return f"equal within ±{margin:g} (TOST, 90% interval inside)"
    p = test.get("p_holm", test.get("p"))
    return f"not shown (Holm p {p:.2f})" + (f"; equality within ±{margin:g} not shown" if margin is not None else "")


def _family(tests: list[dict[str, Any]], what: str, margin: float | None = None) -> list[dict[str, Any]]:
    tested = [t for t in tests if t["p"] is not None]
    for t, adjusted in zip(tested, holm([t["p"] for t in tested]) if tested else []):
        t["p_holm"] = float(adjusted)
    for t in tests:
        t["verdict"] = _verdict(t, what, margin)
    return tests


TABLE6 = "reports/press-wolf/seeds"  # Table 6's committed runs (config, metrics, summary), under the repository


def _folder(runs: Path, repo: Path, variant: str, fraction: int, seed: int) -> Path:
    """A run of the data-size table: the fractions' runs under ``runs``, the full-data rows Table 6's own."""
    if fraction == 100:
        return repo / TABLE6 / f"ptb-pw-small-{variant}-s{seed}"
    return runs / f"ptb-pw-small-{variant}-f{fraction}-s{seed}"


def data_size(root: Path, repo: Path, seeds: tuple[int, ...]) -> dict[str, Any]:
    """Families A (tying's benefit at each fraction), B (the benefit at f minus at 100%) and C (the generalisation
    gap, untied minus WT), on log perplexity."""
    rows, d, gap = [], {}, {}
    for f in FRACTIONS:
        d[f], gap[f] = {}, {}
        for seed in seeds:
            untied, _ = _read(_folder(root, repo, "untied", f, seed))
            tied, _ = _read(_folder(root, repo, "wt", f, seed))
            if untied is None or tied is None:
                continue
            d[f][seed] = math.log(untied["test_ppl"]) - math.log(tied["test_ppl"])
            rows.append({"fraction": f, "seed": seed, "untied_test": untied["test_ppl"], "wt_test": tied["test_ppl"],
                         "untied_valid": untied["valid_ppl"], "wt_valid": tied["valid_ppl"],
                         "untied_train_final": untied.get("train_ppl_final"),
                         "wt_train_final": tied.get("train_ppl_final"), "train_tokens": untied.get("train_tokens")})  # fmt: skip
            if untied.get("train_ppl_final") and tied.get("train_ppl_final"):
                g_u = math.log(untied["valid_ppl"]) - math.log(untied["train_ppl_final"])
                g_t = math.log(tied["valid_ppl"]) - math.log(tied["train_ppl_final"])
                gap[f][seed] = g_u - g_t
    zero = lambda values: {s: 0.0 for s in values}  # noqa: E731 - a test of a mean difference against 0
    family_a = _family([{"fraction": f, **asdict(paired_seed_test(zero(d[f]), d[f]))} for f in FRACTIONS],
                       "tying's benefit ln(untied) − ln(WT)")  # fmt: skip
    family_b = _family([{"fraction": f, **asdict(paired_seed_test(d[100], d[f], LOG_MARGIN))} for f in FRACTIONS[:-1]],
                       "benefit at this fraction minus at 100%", LOG_MARGIN)  # fmt: skip
    family_c = _family([{"fraction": f, **asdict(paired_seed_test(zero(gap[f]), gap[f]))} for f in FRACTIONS
                        if gap[f]], "gap untied − gap WT")  # fmt: skip
    return {"runs": rows, "benefit": family_a, "benefit_vs_full": family_b, "gap": family_c}


def first_reach(history: list[dict[str, Any]], target: float, key: str, lower_better: bool) -> tuple[float, bool]:
    """The (fractional) epoch at which ``history[key]`` first reaches ``target`` (linear between epochs); the last
    epoch and True (censored) when it never does."""
    previous_epoch, previous = 0.0, None
    for record in history:
        value = record.get(key)
        if value is None:
            continue
        reached = value <= target if lower_better else value >= target
        if reached:
            if previous is None or previous == value:
                return float(record["epoch"]), False
            return previous_epoch + (previous - target) / (previous - value) * (record["epoch"] - previous_epoch), False
        previous_epoch, previous = float(record["epoch"]), value
    return (float(history[-1]["epoch"]) if history else float("nan")), True


# (family, untied folder pattern, tied folder pattern, seeds, history key, lower is better); folders under the repo
CONVERGENCE = (
    ("LSTM pw-small (untied vs WT)", "reports/press-wolf/seeds/ptb-pw-small-untied-s{s}",
     "reports/press-wolf/seeds/ptb-pw-small-wt-s{s}", (1, 2, 3), "valid_ppl", True),
    ("LSTM pw-small (PR vs WT+PR)", "reports/press-wolf/seeds/ptb-pw-small-pr-s{s}",
     "reports/press-wolf/seeds/ptb-pw-small-wt+pr-s{s}", (1, 2, 3), "valid_ppl", True),
    ("Transformer tf-small (untied vs WT)", "reports/transformer/ptb-tf-small-untied-s{s}",
     "reports/transformer/ptb-tf-small-wt-s{s}", (1, 2, 3), "valid_ppl", True),
    ("biLM, shared softmax (untied vs WT)", "reports/bilm/ptb-bilm-small-shared-untied-s{s}",
     "reports/bilm/ptb-bilm-small-shared-wt-s{s}", (1, 2, 3), "valid_ppl", True),
    ("translation nmt-small (none vs decoder)", "reports/nmt/m30k-en-de-none-s{s}",
     "reports/nmt/m30k-en-de-decoder-s{s}", (1, 2), "valid_bleu", False),
)  # fmt: skip


def convergence(repo: Path) -> dict[str, Any]:
    rows, tests = [], []
    for family, untied_pattern, tied_pattern, seeds, key, lower in CONVERGENCE:
        saved = {}
        for seed in seeds:
            _, untied = _read(repo / untied_pattern.format(s=seed))
            _, tied = _read(repo / tied_pattern.format(s=seed))
            if not untied or not tied:
                continue
            target = untied[-1][key]
            epoch, censored = first_reach(tied, target, key, lower)
            saved[seed] = float(untied[-1]["epoch"]) - epoch
            rows.append({"family": family, "seed": seed, "metric": key, "untied_final": target,
                         "untied_epochs": untied[-1]["epoch"], "tied_epoch_reaching": epoch, "censored": censored})  # fmt: skip
        test = paired_seed_test({s: 0.0 for s in saved}, saved)
        tests.append({"family": family, **asdict(test)})
    three = [t for t in tests if t["n"] >= 3]
    _family(three, "epochs saved by tying")
    for t in tests:
        if t["n"] < 3:
            t["verdict"] = f"{t['n']} seeds: outside the family of tests (three seeds needed)"
    return {"runs": rows, "tests": tests}


def rare_words(root: Path, repo: Path, seeds: tuple[int, ...]) -> dict[str, Any]:
    """Per training-count band, ln(untied) − ln(WT) test perplexity per seed, at the largest fraction where every
    seed of both rows has the breakdown; Holm over the bands."""
    for f in reversed(FRACTIONS):
        per_seed = {}
        for seed in seeds:
            untied, _ = _read(_folder(root, repo, "untied", f, seed))
            tied, _ = _read(_folder(root, repo, "wt", f, seed))
            if untied and tied and untied.get("test_ppl_by_frequency") and tied.get("test_ppl_by_frequency"):
                per_seed[seed] = (untied["test_ppl_by_frequency"], tied["test_ppl_by_frequency"])
        if len(per_seed) == len(seeds) and per_seed:
            break
    else:
        return {"fraction": None, "tests": []}
    bands = list(next(iter(per_seed.values()))[0])
    tests = []
    for band in bands:
        d = {s: math.log(u[band]["ppl"]) - math.log(t[band]["ppl"]) for s, (u, t) in per_seed.items()
             if band in u and band in t}  # fmt: skip
        tokens = next(iter(per_seed.values()))[0][band]["tokens"]
        tests.append({"band": band, "tokens": tokens, **asdict(paired_seed_test({s: 0.0 for s in d}, d))})
    return {"fraction": f, "tests": _family(tests, "tying's benefit in this band")}


def lstm_bias(root: Path, repo: Path, seeds: tuple[int, ...] = (1, 2, 3)) -> dict[str, Any]:
    """TensorFlow's LSTM bias against the default runs (methods 10.1, item 5): seed 1 of untied and WT+PR, and, once
    either moved by more than 1.0, every Table-6 row over the seeds, with its test across them."""
    runs, tests = [], []
    for variant in ("untied", "wt", "pr", "wt+pr"):
        per_seed = {}
        for seed in seeds:
            default, _ = _read(repo / TABLE6 / f"ptb-pw-small-{variant}-s{seed}")
            tf, _ = _read(root / f"ptb-pw-small-{variant}-tfbias-s{seed}")
            if default is None or tf is None:
                continue
            change = tf["test_ppl"] - default["test_ppl"]
            per_seed[seed] = change
            runs.append({"variant": variant, "seed": seed, "default_test": default["test_ppl"],
                         "tf_test": tf["test_ppl"], "default_valid": default["valid_ppl"], "tf_valid": tf["valid_ppl"],
                         "change": change, "tf_train_final": tf.get("train_ppl_final")})  # fmt: skip
        tests.append({"row": variant, **asdict(paired_seed_test({s: 0.0 for s in per_seed}, per_seed, 1.0))})
    _family(tests, "TF bias − default, test perplexity", 1.0)
    seed1 = [r for r in runs if r["seed"] == 1 and r["variant"] in ("untied", "wt+pr")]
    return {"runs": runs, "tests": tests, "triggered": any(abs(r["change"]) > 1.0 for r in seed1)}


def parameters(repo: Path, seeds: tuple[int, ...]) -> list[dict[str, Any]]:
    """Parameter counts and training speed, tied / untied, per pair of full-data runs with a history."""
    out = []
    for untied_variant, tied_variant in (("untied", "wt"), ("pr", "wt+pr")):
        ratios, counts = {}, None
        for seed in seeds:
            u, hu = _read(repo / TABLE6 / f"ptb-pw-small-{untied_variant}-s{seed}")
            t, ht = _read(repo / TABLE6 / f"ptb-pw-small-{tied_variant}-s{seed}")
            if not (u and t and hu and ht):
                continue
            counts = (u.get("unique_parameters"), t.get("unique_parameters"))
            speed = lambda h: sum(r["tokens_per_s"] for r in h) / len(h)  # noqa: E731
            ratios[seed] = speed(ht) / speed(hu)
        if counts:
            test = paired_seed_test({s: 1.0 for s in ratios}, ratios)
            out.append({"pair": f"{untied_variant} / {tied_variant}", "untied_parameters": counts[0],
                        "tied_parameters": counts[1], "speed_ratio": asdict(test)})  # fmt: skip
    return out


def _best_and_last(history: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Validation perplexity at a run's best epoch (and which) and at its last: descriptive, to tell a model that
    overfits its small training text late in the schedule from one that starts worse."""
    scored = [h for h in history if isinstance(h.get("valid_ppl"), (int, float))]
    if not scored:
        return None
    best = min(scored, key=lambda h: h["valid_ppl"])
    return {"best": best["valid_ppl"], "best_epoch": best.get("epoch"), "last": scored[-1]["valid_ppl"]}


def transfer(root: Path, seeds: tuple[int, ...]) -> dict[str, Any]:
    """Family D (methods 10.1, item 6): pretraining's gain for each variant, ln(from scratch) − ln(fine-tuned) test
    perplexity per seed, and the claim, gain(WT) − gain(untied); Holm over the three."""
    rows, gain = [], {"untied": {}, "wt": {}}
    for seed in seeds:
        for variant in ("untied", "wt"):
            scratch, scratch_history = _read(root / f"ptb-pw-small-{variant}-f10-s{seed}")
            tuned, tuned_history = _read(root / f"ptb-pw-small-{variant}-f10-from-wt2-s{seed}")
            pre, _ = _read(root / f"wt2ptb-pw-small-{variant}-s{seed}")
            if scratch is None or tuned is None:
                continue
            gain[variant][seed] = math.log(scratch["test_ppl"]) - math.log(tuned["test_ppl"])
            rows.append({"variant": variant, "seed": seed, "scratch_test": scratch["test_ppl"],
                         "finetuned_test": tuned["test_ppl"], "pretrain_test": pre["test_ppl"] if pre else None,
                         "scratch_valid": _best_and_last(scratch_history),
                         "finetuned_valid": _best_and_last(tuned_history),
                         "pretrain_unk": (pre.get("vocabulary_mapped") or {}).get("train_tokens_now_unk") if pre else None})  # fmt: skip
    zero = lambda values: {s: 0.0 for s in values}  # noqa: E731
    tests = [
        {"test": "gain from pretraining, untied", **asdict(paired_seed_test(zero(gain["untied"]), gain["untied"]))},
        {"test": "gain from pretraining, WT", **asdict(paired_seed_test(zero(gain["wt"]), gain["wt"]))},
        {"test": "gain(WT) − gain(untied)", **asdict(paired_seed_test(gain["untied"], gain["wt"]))},
    ]
    return {"runs": rows, "tests": _family(tests, "ln(from scratch) − ln(fine-tuned), or the WT − untied difference")}


SGNS_BENCHMARKS = ("simlex999", "ws353", "men")  # methods 10.1, item 7
SGNS_MARGIN = 0.02  # equality of tying's benefit in rho, stated before the runs (methods 10.1, item 7)
SGNS_SCORES = "sgns-scores.json"  # beside the page: the scores of every finished run pair (the runs are not kept)


def sgns_pair_scores(untied: Path, tied: Path) -> dict[str, Any]:
    """Spearman's rho of an untied run's U and V and a tied run's S on SIMLEX-999, WS-353 and MEN, on the pairs all
    three cover (no bootstrap: the test is across seeds)."""
    from embedeval.api import score

    results = score([str(untied), str(tied)], list(SGNS_BENCHMARKS), n_bootstrap=0)
    out: dict[str, Any] = {}
    for r in results.similarity.results:
        role = {"input": "U", "output": "V", "tied": "S"}.get(r.role or "")
        if role is None:
            continue
        row = out.setdefault(r.benchmark, {"pairs": r.pairs_used, "total": r.pairs_total})
        row[role] = r.spearman
    return out


def sgns_scores(runs_dir: Path, seeds: tuple[int, ...], known: dict[str, Any]) -> dict[str, Any]:
    """``known`` (the committed scores) with every finished pair of tying-sgns-data-size under ``runs_dir`` scored
    (again): keys ``FRACTION/SEED``."""
    from embedeval.reproduce import get_table

    table = get_table("tying-sgns-data-size")
    out = dict(known)
    for f in FRACTIONS:
        suffix = "" if f == 100 else f"-f{f}"
        for seed in seeds:
            untied, tied = table.build(f"untied{suffix}", seed), table.build(f"tied{suffix}", seed)
            if untied.state(runs_dir) == "complete" and tied.state(runs_dir) == "complete":
                out[f"{f}/{seed}"] = sgns_pair_scores(runs_dir / untied.folder, runs_dir / tied.folder)
    return dict(sorted(out.items(), key=lambda kv: tuple(int(x) for x in kv[0].split("/"))))


def sgns_data_size(scores: dict[str, Any], seeds: tuple[int, ...]) -> dict[str, Any]:
    """Families E (tying's benefit e = mean rho(S) − rho(U) at each fraction) and F (e at f minus e at 100%)."""
    rows, e = [], {f: {} for f in FRACTIONS}
    for key, by_bench in scores.items():
        f, seed = (int(x) for x in key.split("/"))
        if seed not in seeds or f not in e or any(b not in by_bench for b in SGNS_BENCHMARKS):
            continue
        means = {m: sum(by_bench[b][m] for b in SGNS_BENCHMARKS) / len(SGNS_BENCHMARKS) for m in ("U", "V", "S")}
        e[f][seed] = means["S"] - means["U"]
        rows.append({"fraction": f, "seed": seed, **{f"rho_{m}": v for m, v in means.items()},
                     "pairs": {b: [by_bench[b]["pairs"], by_bench[b]["total"]] for b in SGNS_BENCHMARKS}})  # fmt: skip
    zero = lambda values: {s: 0.0 for s in values}  # noqa: E731 - a test of a mean difference against 0
    family_e = _family([{"fraction": f, **asdict(paired_seed_test(zero(e[f]), e[f]))} for f in FRACTIONS],
                       "tying's benefit rho(S) − rho(U)")  # fmt: skip
    family_f = _family([{"fraction": f, **asdict(paired_seed_test(e[100], e[f], SGNS_MARGIN))} for f in FRACTIONS[:-1]],
                       "benefit at this fraction minus at 100%", SGNS_MARGIN)  # fmt: skip
    return {"runs": sorted(rows, key=lambda r: (r["fraction"], r["seed"])), "benefit": family_e,
            "benefit_vs_full": family_f}  # fmt: skip


def tying_claims(runs_dir: Path, repo: Path, seeds: tuple[int, ...] = (1, 2, 3)) -> dict[str, Any]:
    """Every family of the page; the SGNS scores are read from ``SGNS_SCORES`` beside ``runs_dir``."""
    scores_file = runs_dir.parent / SGNS_SCORES
    scores = json.loads(scores_file.read_text(encoding="utf-8")) if scores_file.is_file() else {}
    return {"seeds": list(seeds), "parameters": parameters(repo, seeds), "data_size": data_size(runs_dir, repo, seeds),
            "sgns_data_size": sgns_data_size(scores, seeds), "convergence": convergence(repo),
            "rare_words": rare_words(runs_dir, repo, seeds), "lstm_bias": lstm_bias(runs_dir, repo, seeds),
            "transfer": transfer(runs_dir, seeds)}  # fmt: skip


# --- the page ----------------------------------------------------------------------------------------------------

NONE = "<!-- claim: none: what a test measures, not its result -->"
FIRST_LINE = "<!-- written by `embedeval reproduce tying-claims`; regenerated from the committed runs, do not edit -->"


def _valid_path(v: dict[str, Any] | None) -> str:
    return "—" if not v else f"{v['best']:.1f} (epoch {v['best_epoch']}) → {v['last']:.1f}"


def _num(x: Any, spec: str = ".3f") -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def _ci(t: dict[str, Any], spec: str = "+.3f") -> str:
    return "—" if not t.get("ci95") else f"[{format(t['ci95'][0], spec)}, {format(t['ci95'][1], spec)}]"


def _p(t: dict[str, Any], key: str) -> str:
    value = t.get(key)
    return "—" if value is None else ("< 0.001" if value < 0.001 else f"{value:.3f}")


def _test_table(tests: list[dict[str, Any]], label: str, key: str, spec: str = "+.3f") -> list[str]:
    lines = [f"| {label} | seeds | mean | 95% interval | p | Holm p | verdict |", "|---|---|---|---|---|---|---|"]
    for t in tests:
        lines.append(f"| {t[key]} | {t['n']} | {_num(t['mean'], spec)} | {_ci(t, spec)} | {_p(t, 'p')} | "
                     f"{_p(t, 'p_holm')} | {t['verdict']} |")  # fmt: skip
    return lines


FACTS = """### 7. What the systems actually do

These are facts about published code and papers, read at the sources; they need no test.

- **word2vec's skip-gram does not tie.** Mikolov et al. (2013) train two matrices, the input vectors (`syn0`) and
  the output vectors (`syn1neg` for negative sampling, `syn1` for the hierarchical softmax), and release only the
  input ones; gensim's `Word2Vec` keeps the same two (`wv.vectors` and `syn1neg`). Press & Wolf (2017, Section 3)
  compare exactly these two untied matrices. embedeval's `train skipgram --tie` is an experiment that word2vec does
  not make.
- **FastText does not tie either.** Bojanowski et al. (2017) and fastText's code keep an input matrix (words and
  character n-grams) and a separate output matrix; the supervised classifier's output matrix holds labels, not words.
- **ELMo ties its softmax between the two directions, not to its input.** Peters et al. (2018, Section 3.1) tie "the
  parameters for both the token representation and Softmax layer in the forward and backward direction": one softmax
  shared by the two LSTMs, and one token representation shared by them, but the token representation is a
  character CNN and the softmax has its own word matrix, so the output layer is not tied to the input embeddings.
  embedeval's `bilm-ptb` table trains the ELMo setting (shared softmax, untied), a softmax per direction, and the
  shared softmax tied to the input embedding, which ELMo does not do.
"""


def _sgns_section(sg: dict[str, Any] | None) -> list[str]:
    lines = ["#### The same for skip-gram (SGNS)", "",
             "The torch skip-gram backend with press-wolf-sgns' settings (dim 200, window 5, 5 negatives, min count 5, "
             "5 epochs) on the first 10%, 25%, 50% and 100% of WikiText-2's training tokens, the vocabulary the "
             "fraction's own (methods 10.1, item 7). Spearman's rho, the mean over SimLex-999, WS-353 and MEN, each "
             "run pair on the pairs that the untied U and V and the tied S all cover:", "",
             "| fraction | seed | untied U | untied V | tied S | pairs used / total (SimLex, WS-353, MEN) |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    runs = (sg or {}).get("runs") or []
    for r in runs:
        pairs = ", ".join(f"{used}/{total}" for used, total in r["pairs"].values())
        lines.append(f"| {r['fraction']}% | {r['seed']} | {r['rho_U']:.3f} | {r['rho_V']:.3f} | {r['rho_S']:.3f} | "
                     f"{pairs} |")  # fmt: skip
    if not runs:
        lines.append("| — | — | not finished | — | — | — |")
    lines += ["", f"Family E, tying's benefit at each fraction, e = rho(S) − rho(U) (positive: the tied matrix is "
              f"better): {NONE}", "", *_test_table((sg or {}).get("benefit") or [], "fraction", "fraction"), "",
              "Family F, the claim for SGNS: e at the fraction minus e at 100%, equality within "
              f"±{SGNS_MARGIN:g} rho: {NONE}", "", *_test_table((sg or {}).get("benefit_vs_full") or [], "fraction",
                                                                 "fraction"), "",
              "Within a fraction U, V and S are scored on identical pairs; across fractions the pairs are those each "
              "fraction's vocabulary covers (the columns above), so family F compares benefits measured on "
              "different pairs. <!-- claim: none: how the measure is taken -->", ""]  # fmt: skip
    return lines


def claims_markdown(result: dict[str, Any]) -> str:
    seeds = ", ".join(map(str, result["seeds"]))
    lines = [FIRST_LINE, "", "# The tying claims, tested", "",
             "Two explainer texts that this project started from make claims about weight tying. Each is tested here "
             f"across seeds ({seeds}) with the tests and margins that docs/methods.md (section 10.1) stated before the "
             "runs finished. Every verdict below is the output of a test row on this page; a claim without a "
             "finished test says so.", ""]  # fmt: skip
    lines += ["### 1. Parameters and compute", "",
              "| pair | parameters untied | parameters tied | saved | training tokens/s, tied / untied − 1 (mean over "
              "seeds) | 95% interval | seeds |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for p in result["parameters"]:
        s = p["speed_ratio"]
        saved = 1 - p["tied_parameters"] / p["untied_parameters"]
        lines.append(f"| {p['pair']} | {p['untied_parameters']:,} | {p['tied_parameters']:,} | {saved:.0%} | "
                     f"{_num(s['mean'], '+.3f')} | {_ci(s)} | {s['n']} |")  # fmt: skip
    lines += ["", "Speed is each run's mean tokens/s over its epochs, measured on shared 2-core machines under varying "
              "load, so it carries no verdict; the parameter counts are exact.", ""]  # fmt: skip
    ds = result["data_size"]
    lines += ["### 2. Regularisation with little data", "",
              "pw-small (2 x 200, no dropout, 13 epochs) on the first 10%, 25%, 50% and 100% of PTB's training tokens; "
              "the vocabulary, valid and test sets are always the whole corpus's. Test perplexity per run:", "",
              "| fraction | seed | untied valid | WT valid | untied test | WT test | untied train (final model) | WT train "
              "(final model) |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in ds["runs"]:
        lines.append(f"| {r['fraction']}% | {r['seed']} | {r['untied_valid']:.1f} | {r['wt_valid']:.1f} | "
                     f"{r['untied_test']:.1f} | {r['wt_test']:.1f} | {_num(r['untied_train_final'], '.1f')} | "
                     f"{_num(r['wt_train_final'], '.1f')} |")  # fmt: skip
    lines += ["", "Family A, tying's benefit at each fraction, d = ln(untied test ppl) − ln(WT test ppl) (positive: WT "
              f"is better): {NONE}", "", *_test_table(ds["benefit"], "fraction", "fraction"), "",
              "Family B, the claim (\"tying helps more when data is scarce\"): d at the fraction minus d at 100%, "
              f"equality within ±{LOG_MARGIN:g}: {NONE}", "", *_test_table(ds["benefit_vs_full"], "fraction", "fraction"), "",
              "Family C, the generalisation gap g = ln(valid ppl) − ln(train ppl of the final model on its own "
              f"training text), untied minus WT (positive: tying narrows the gap). {NONE} The full-data runs of Table 6 "
              "predate the final-model training perplexity, so this family has the fractions below 100%:", "",
              *_test_table(ds["gap"], "fraction", "fraction"), ""]  # fmt: skip
    lines += _sgns_section(result.get("sgns_data_size"))
    cv = result["convergence"]
    lines += ["### 3. Faster convergence", "",
              "Epochs the tied run needs to reach the untied run's final validation score (perplexity, or BLEU for "
              "translation), against the untied run's full length; a positive difference means the tied run got "
              "there sooner. This measures when the tied run passes the untied run's end point, so a tied model that "
              f"is better throughout also \"converges faster\" by it. {NONE}", "",
              "| family | seed | untied final | untied epochs | tied reaches it at epoch |", "|---|---|---|---|---|"]  # fmt: skip
    for r in cv["runs"]:
        reached = f"{r['tied_epoch_reaching']:.2f}" + (" (never: censored)" if r["censored"] else "")
        lines.append(f"| {r['family']} | {r['seed']} | {r['untied_final']:.2f} | {r['untied_epochs']} | {reached} |")
    lines += ["", *_test_table(cv["tests"], "family", "family", "+.2f"), ""]
    rw = result["rare_words"]
    lines += ["### 4. Rare words", ""]
    if rw["fraction"] is None:
        lines += ["No fraction has the per-band test perplexity for every seed of both rows yet.", ""]
    else:
        lines += [f"Test perplexity by the target word's count in the training tokens, at {rw['fraction']}% of PTB "
                  "(the largest fraction whose runs all have the breakdown): ln(untied) − ln(WT) per band (positive: "
                  f"WT is better on those words). {NONE}", "", "| band (training count) | test tokens | seeds | mean | 95% "
                  "interval | p | Holm p | verdict |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for t in rw["tests"]:
            lines.append(f"| {t['band']} | {t['tokens']:,} | {t['n']} | {_num(t['mean'], '+.3f')} | {_ci(t)} | "
                         f"{_p(t, 'p')} | {_p(t, 'p_holm')} | {t['verdict']} |")  # fmt: skip
        lines.append("")
    lines += ["### 5. The LSTM's bias as Press & Wolf's code has it", "",
              "TensorFlow's BasicLSTMCell has one bias per layer, initialised to 0, with forget bias 0; PyTorch's "
              "nn.LSTM has two, initialised like every weight. Seed 1 of each row with `--lstm-bias tf`, 13 epochs, "
              "against the same seed's default run (methods 10.1, item 5: a change above 1.0 test perplexity sends "
              "all four Table-6 rows to three seeds).", "",
              "| row | seed | default valid / test | tf bias valid / test | test change | tf bias train (final model) |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    bias = result["lstm_bias"]
    for b in bias["runs"]:
        lines.append(f"| {b['variant']} | {b['seed']} | {b['default_valid']:.1f} / {b['default_test']:.2f} | "
                     f"{b['tf_valid']:.1f} / {b['tf_test']:.2f} | {b['change']:+.2f} | "
                     f"{_num(b['tf_train_final'], '.1f')} |")  # fmt: skip
    if not bias["runs"]:
        lines.append("| — | — | not finished | — | — | — |")
    state = ("A seed-1 row moved by more than 1.0, so every Table-6 row is run with the TF bias over the three seeds; "
             "the test across seeds below fills in as they finish." if bias["triggered"] else
             "No seed-1 row has moved by more than 1.0 so far.")  # fmt: skip
    lines += [
        "",
        f"{state} <!-- claim: none: the state of the rule stated before the runs -->",
        "",
        *_test_table(bias["tests"], "row", "row", "+.2f"),
    ]
    tr = result["transfer"]
    lines += ["", "### 6. Transfer", "",
              "pw-small pretrained (13 epochs) on WikiText-2 read as PTB is written (lower case, numbers as N, "
              "punctuation dropped) with PTB's vocabulary: 13.9% of its training tokens become `<unk>` (methods 10.1, "
              "item 6); then fine-tuned for 13 epochs on the first 10% of PTB, against item 2's 10% runs trained from "
              "scratch. Test perplexity on PTB:", "",
              "| variant | seed | from scratch | fine-tuned | validation, best epoch → last: from scratch | "
              "fine-tuned | pretraining run's own test (WikiText-2 as PTB) |",
              "|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in tr["runs"]:
        lines.append(f"| {r['variant']} | {r['seed']} | {r['scratch_test']:.1f} | {r['finetuned_test']:.1f} | "
                     f"{_valid_path(r.get('scratch_valid'))} | {_valid_path(r.get('finetuned_valid'))} | "
                     f"{_num(r['pretrain_test'], '.1f')} |")  # fmt: skip
    if not tr["runs"]:
        lines.append("| — | — | — | not finished | — | — | — |")
    lines += ["", "The tests score each model after its 13 epochs, as stated before the runs. The validation columns "
              "are descriptive, added after the first fine-tuning finished: they show where each run stood at its best "
              f"epoch, which tells a model that overfits the 10% late in the schedule from one that starts worse. {NONE}"]  # fmt: skip
    lines += ["", f"Family D, ln(test ppl from scratch) − ln(test ppl fine-tuned) (positive: pretraining helped) and the "
              f"claim, WT's gain minus untied's (positive: the tied model is the better starting point): {NONE}", "",
              *_test_table(tr["tests"], "test", "test"), ""]  # fmt: skip
    lines += ["", FACTS]
    return "\n".join(lines).rstrip() + "\n"

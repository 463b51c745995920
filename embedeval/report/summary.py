"""The report's summary: what the numbers say, in sentences, with the tests that back each claim."""

from __future__ import annotations

from typing import Any

from embedeval import trainers

ROLE_WORDS = {
    "input": "input (U)",
    "output": "output (V)",
    "output-backward": "backward output (V of the backward direction)",
    "tied": "tied (S)",
    "sum": "U+V",
    "source": "encoder input (E)",
}
# A sentence that names a winner needs at least this many pairs (and a significant lead): with fewer, a 95% CI of
# rho spans most of [-1, 1] and the ranking says nothing.
MIN_PAIRS_TO_RANK = 30


def _rho(r: Any) -> str:
    if r.spearman is None:
        return "undefined"
    return f"{r.spearman:.3f} [{r.ci_low:.2f}, {r.ci_high:.2f}]" if r.ci_low is not None else f"{r.spearman:.3f}"


def _significant(c: dict[str, Any] | None, alpha: float) -> bool:
    return bool(c and c["williams_p_holm"] is not None and c["williams_p_holm"] < alpha)


def _p(c: dict[str, Any], n_bootstrap: int = 0) -> str:
    """Williams' p (the verdict) and the bootstrap p with its Monte Carlo error, both Holm-corrected."""
    parts = []
    if c["williams_p_holm"] is not None:
        parts.append(f"Williams p = {c['williams_p_holm']:.3g}")
    if c["bootstrap_p_holm"] is not None:
        p = c["bootstrap_p_holm"]
        mc = f" ± {(p * (1 - p) / n_bootstrap) ** 0.5:.2g}" if n_bootstrap else ""
        parts.append(f"bootstrap p = {p:.3g}{mc}")
    return ", ".join(parts) + " (Holm)" if parts else "no test"


def summarise(report: Any, alpha: float = 0.05) -> list[str]:
    ev = report.evaluation
    names, benches = report.names, report.benchmark_names
    lines: list[str] = []
    if report.demonstration:
        lines.append(f"Demonstration, not a result: {report.demonstration}.")
    pairs = ", ".join(f"{b['name']} {b['pairs_used']}/{b['pairs']}" for b in report.benchmarks)
    same = ev.settings.get("intersect", True) or len(names) < 2
    lines.append(
        f"{len(names)} embeddings scored on {len(benches)} benchmarks, "
        + ("all on identical pairs" if same else "each on its own covered pairs (--no-intersect: not comparable)")
        + f" (pairs used/total: {pairs}); OOV policy {ev.settings.get('oov_policy')}."
    )
    thin = [b["name"] for b in report.benchmarks if b["pairs"] and b["pairs_used"] / b["pairs"] < 0.5]
    if thin:
        lines.append(
            f"Coverage is below half on {', '.join(thin)}: those scores rest on the words every embedding knows, "
            "and their confidence intervals are wide."
        )
    scored = [r for r in ev.results if r.spearman is not None]
    noise = [r for r in scored if r.ci_low is not None and r.ci_low <= 0 <= r.ci_high]
    if scored and len(noise) == len(scored):
        lines.append(
            "Every score's 95% confidence interval includes 0: at this scale these scores are noise and rank "
            "nothing (the built-in default trains on a 60k-token corpus to show every stage; real results need "
            "PTB or WikiText-2)."
        )
    n_boot = int(ev.settings.get("n_bootstrap") or 0)
    undecided = []
    if len(names) > 1:
        family = _family_holm(ev.comparisons)
        for bench in benches:
            rows = [ev.result(n, bench) for n in names]
            ranked = sorted((r for r in rows if r.spearman is not None), key=lambda r: -r.spearman)
            if len(ranked) < 2:
                continue
            best, second = ranked[0], ranked[1]
            if best.pairs_used < MIN_PAIRS_TO_RANK:
                lines.append(
                    f"On {bench}, only {best.pairs_used} pairs are covered by every embedding: too few to rank them."
                )
                continue
            # "best" is chosen by its score, so it is a claim against every other embedding, each tested, with Holm
            # over every comparison this report makes (all pairs on all benchmarks): the family the summary counts
            against = [family.get((best.embedding, r.embedding, bench)) for r in ranked[1:]]
            if against and all(p is not None and p < alpha for p in against):
                lines.append(
                    f"On {bench} ({best.pairs_used} pairs), {best.embedding} scores highest, {_rho(best)}, "
                    f"significantly above each of the other {len(against)} (runner-up {second.embedding} "
                    f"{second.spearman:.3f}; largest Williams p {max(against):.3g}, Holm over all {len(family) // 2} "
                    "comparisons in this report)."
                )
            else:
                c = report.comparison(best.embedding, second.embedding, bench)
                undecided.append(f"{bench} ({best.embedding} {best.spearman:.3f} vs {second.embedding} "
                                 f"{second.spearman:.3f}; {_p(c, n_boot) if c else 'no test'})")  # fmt: skip
        if undecided:
            lines.append(
                "No embedding is shown to be the best (significantly above every other one, Holm over all "
                f"comparisons in this report, alpha {alpha}) on: {'; '.join(undecided)}."
            )
    for table in report.model_tables():
        lines.extend(_input_vs_output(report, table, alpha))
        lines.extend(_backward_vs_forward(report, table, alpha))
    lines.extend(_tied_vs_untied(report, alpha))
    lines.extend(_perplexity(report))
    lines.extend(_translation(report))
    lines.extend(_dynamics(report))
    return lines


def _family_holm(comparisons: list[Any]) -> dict[tuple[str, str, str], float]:
    """Williams' p of every comparison in the report, Holm-corrected over all of them, keyed both ways round."""
    from embedeval.evaluate.stats import holm

    tested = [c for c in comparisons if c.williams_p is not None]
    adjusted = holm([c.williams_p for c in tested]) if tested else []
    family: dict[tuple[str, str, str], float] = {}
    for c, p in zip(tested, adjusted):
        family[(c.embedding_a, c.embedding_b, c.benchmark)] = float(p)
        family[(c.embedding_b, c.embedding_a, c.benchmark)] = float(p)
    return family


def _translation(report: Any) -> list[str]:
    """Per tied translation run: BLEU against its untied partner, with the parameters it saved (P&W Section 5:
    decoder tying and three-way tying cut the model by 28% / 52% without hurting BLEU)."""
    rows, _ = report.translation()
    untied = {r["run"]: r for r in rows if r["tie"] == "none"}
    lines = []
    for r in rows:
        base = untied.get(r["untied"] or "")
        if base is None or r["test_bleu"] is None or base["test_bleu"] is None:
            continue
        saved = 1 - r["parameters"] / base["parameters"] if r["parameters"] and base["parameters"] else None
        diff = r["test_bleu"] - base["test_bleu"]
        verdict = "significant" if r["p_vs_untied"] < 0.05 else "not significant"
        lines.append(
            f"Tying {r['tie']} ({r['run']}) changes test BLEU by {diff:+.2f} against {base['run']} ({r['test_bleu']:.2f} vs "
            f"{base['test_bleu']:.2f}; paired bootstrap p = {r['p_vs_untied']:.3f}, {verdict})"
            + (f" with {saved:.0%} fewer parameters." if saved is not None else ".")
        )
    return lines


def _tally(report: Any, a: str, b: str, alpha: float) -> dict[str, int]:
    """Embedding ``a`` against ``b`` over the benchmarks: how many were tested, on how many ``a`` is nominally
    higher, and on how many each is significantly better (Williams, Holm)."""
    n = higher = a_better = b_better = 0
    for bench in report.benchmark_names:
        c = report.comparison(a, b, bench)
        if not c or c["delta"] is None:
            continue
        n += 1
        higher += c["delta"] > 0
        if _significant(c, alpha):
            a_better += c["delta"] > 0
            b_better += c["delta"] < 0
    return {"benchmarks": n, "higher": higher, "better": a_better, "worse": b_better}


def findings(report: Any, alpha: float = 0.05) -> list[dict[str, Any]]:
    """The claims the summary states, as plain data (results.json ``findings``), so that several reports (one per
    seed) can be read side by side: ``output_vs_input`` per run with both embeddings (V against U),
    ``backward_vs_forward_output`` per biLM with a softmax per direction (the backward one against V), and per tied
    run and its untied partner ``tied_vs_untied`` (S against U and V: tallies and the Table-3 correlation, and the
    test perplexity or BLEU of both with the parameters tying saved)."""
    out: list[dict[str, Any]] = []
    for table in report.model_tables():
        by_role = {row["role"]: row["name"] for row in table["rows"]}
        if "input" in by_role and "output" in by_role:
            tally = _tally(report, by_role["output"], by_role["input"], alpha)
            if tally["benchmarks"]:
                out.append({"claim": "output_vs_input", "run": table["group"], "model": table["model"], **tally})
        backward = backward_vs_forward(report, table, alpha)
        if backward is not None:
            out.append({"claim": "backward_vs_forward_output", "run": table["group"], "model": table["model"],
                        **backward})  # fmt: skip
    bleu = {r["run"]: r for r in report.translation()[0]}
    for _label, tied, untied in tied_pairs(report.sources.runs):
        s = tied.roles.get("tied")
        if s is None:
            continue
        f: dict[str, Any] = {"claim": "tied_vs_untied", "tied": tied.name, "untied": untied.name}
        for role, key in (("output", "v"), ("input", "u")):
            other = untied.roles.get(role)
            if other is not None:
                f[f"s_vs_{key}"] = _tally(report, s, other, alpha)
                f[f"corr_s{key}"] = report.correlation(s, other)
        if tied.is_lm and tied.summary.get("test_ppl") is not None and untied.summary.get("test_ppl") is not None:
            f["test_ppl"] = {"untied": untied.summary["test_ppl"], "tied": tied.summary["test_ppl"]}
        row = bleu.get(tied.name)
        if row and row.get("untied") == untied.name and row["test_bleu"] is not None:
            base = bleu[untied.name]
            f["test_bleu"] = {"untied": base["test_bleu"], "tied": row["test_bleu"], "p": row["p_vs_untied"]}
        p_tied, p_untied = tied.summary.get("unique_parameters"), untied.summary.get("unique_parameters")
        if p_tied and p_untied:
            f["parameters"] = {"untied": p_untied, "tied": p_tied}
        out.append(f)
    return out


def _input_vs_output(report: Any, table: dict[str, Any], alpha: float) -> list[str]:
    by_role = {row["role"]: row["name"] for row in table["rows"]}
    if "input" not in by_role or "output" not in by_role:
        return []
    tally = _tally(report, by_role["output"], by_role["input"], alpha)
    n, wins, sig_v, sig_u = tally["benchmarks"], tally["higher"], tally["better"], tally["worse"]
    if n == 0:
        return []
    spec = trainers.for_model(table["model"])
    kind = "language model" if spec is not None and spec.language_model else "model"
    claim = spec.output_vs_input if spec is not None else ""
    if sig_v == 0 and sig_u == 0:
        text = (
            f"In {table['group']} ({kind} {table['model']}), V and U do not differ significantly on any of the {n} "
            f"benchmarks (Williams, Holm, alpha {alpha}; V is nominally higher on {wins})."
        )
    else:
        text = (
            f"In {table['group']} ({kind} {table['model']}), the output embedding V is significantly better than the "
            f"input U on {sig_v} and significantly worse on {sig_u} of {n} benchmarks (Williams, Holm, alpha {alpha}; "
            f"nominally higher on {wins})."
        )
    return [text + (f" For comparison, {claim}." if claim else "")]


def backward_vs_forward(report: Any, table: dict[str, Any], alpha: float) -> dict[str, Any] | None:
    """A biLM with a softmax per direction: the backward one against the forward V (tally over the benchmarks,
    Table-3 correlation); None for any other model."""
    by_role = {row["role"]: row["name"] for row in table["rows"]}
    if "output" not in by_role or "output-backward" not in by_role:
        return None
    backward, forward = by_role["output-backward"], by_role["output"]
    tally = _tally(report, backward, forward, alpha)
    return {**tally, "corr": report.correlation(backward, forward)} if tally["benchmarks"] else None


def _backward_vs_forward(report: Any, table: dict[str, Any], alpha: float) -> list[str]:
    f = backward_vs_forward(report, table, alpha)
    if f is None:
        return []
    corr = "" if f["corr"] is None else f"; Spearman of their cosines over the benchmark pairs {f['corr']:.3f}"
    return [
        f"In {table['group']}, the backward direction's own softmax is significantly better than the forward V on "
        f"{f['better']} and worse on {f['worse']} of {f['benchmarks']} benchmarks (nominally higher on "
        f"{f['higher']}{corr})."
    ]


def tied_pairs(runs: list[Any]) -> list[tuple[str, Any, Any]]:
    """(label, tied run, untied run): a tracked pair, or two runs whose configs differ only in tying (LM
    untied/wt, untied/re, pr/wt+pr, al/real; SGNS tie off/on; translation none/decoder, none/all) on the same
    corpus. Each tied run has at most one partner; an untied run may be the partner of several tied runs."""
    pairs, used = [], set()
    for run in runs:
        partner = next((r for r in runs if r.track == run.track and r.side == "untied"), None)
        if run.track and run.side == "tied" and partner is not None:
            pairs.append((run.track, run, partner))
            used.update({run.name, partner.name})
    for tied in runs:
        if tied.name in used or not _is_tied(tied):
            continue
        for untied in runs:
            if untied.track or untied is tied or _is_tied(untied) or untied.trainer != tied.trainer:
                continue
            same_corpus = untied.corpus.get("sha256") == tied.corpus.get("sha256")
            # settings both configs hold (a field added in a later version is absent from older runs' configs)
            spec = trainers.find(tied.trainer)
            ties = spec.tie_fields if spec is not None else ()
            common = (set(tied.config) & set(untied.config)) - set(ties)
            rest = {k: tied.config[k] for k in common}
            rest_u = {k: untied.config[k] for k in common}
            variants_match = trainers.is_untied_partner(tied.trainer, tied.config, untied.config)
            if same_corpus and rest == rest_u and variants_match:
                pairs.append((f"{untied.name} / {tied.name}", tied, untied))
                break
    return pairs


def _is_tied(run: Any) -> bool:
    return "tied" in run.roles


def _tied_vs_untied(report: Any, alpha: float) -> list[str]:
    lines = []
    for label, tied, untied in tied_pairs(report.sources.runs):
        s = tied.roles.get("tied")
        if s is None:
            continue
        parts, quiet = [], []
        for role in ("output", "input"):
            other = untied.roles.get(role)
            if other is None:
                continue
            tally = _tally(report, s, other, alpha)
            better, worse, n = tally["better"], tally["worse"], tally["benchmarks"]
            if better or worse:
                parts.append(
                    f"vs the untied {ROLE_WORDS[role]} significantly better on {better} and worse on {worse} of {n}"
                )
            elif n:
                quiet.append(ROLE_WORDS[role])
        if quiet:
            parts.append(f"no significant difference from the untied {' or '.join(quiet)} on any benchmark")
        if parts:
            lines.append(f"Tied S of {label}: {'; '.join(parts)}.")
    return lines


def _perplexity(report: Any) -> list[str]:
    rows = [r for r in report.lm_rows() if r["test"] is not None]
    if not rows:
        return []
    parts = ", ".join(f"{r['run']} ({r['variant']}) {r['test']:.1f}" for r in rows)
    lines = [f"Test perplexity: {parts}."]
    held = {r["held_out"] for r in rows if r.get("held_out")}
    for note in held:
        lines.append(f"Perplexity caveat: {note}.")
    for label, tied, untied in tied_pairs(report.sources.runs):
        p_tied, p_untied = tied.summary.get("test_ppl"), untied.summary.get("test_ppl")
        if tied.is_lm and p_tied is not None and p_untied is not None:
            ci_u, ci_t = untied.summary.get("test_ppl_ci"), tied.summary.get("test_ppl_ci")
            spread = ""
            if isinstance(ci_u, list) and isinstance(ci_t, list) and len(ci_u) == len(ci_t) == 2:
                spread = f"; 95% intervals over the test text [{ci_u[0]:.1f}, {ci_u[1]:.1f}] and [{ci_t[0]:.1f}, {ci_t[1]:.1f}]"
            lines.append(
                f"In {label} (one run each, so no test across seeds: `embedeval reproduce` runs several), test "
                f"perplexity is {p_untied:.1f} untied and {p_tied:.1f} tied ({p_tied - p_untied:+.1f}{spread}; P&W: "
                "tying lowers it)."
            )
    return lines


def _dynamics(report: Any) -> list[str]:
    lines = []
    for row in report.dynamics_rows():
        su, sv = row["corr_su"], row["corr_sv"]
        if su is None or sv is None:
            continue
        closer = (
            "about as close to U as to V"
            if abs(sv - su) < 0.02
            else "closer to V (output)"
            if sv > su
            else ("closer to U (input)")
        )
        spec = trainers.find(row["trainer"])
        if spec is None or not spec.language_model:
            agrees = " (P&W's claim that S follows V concerns language models)"
        elif abs(sv - su) < 0.02:
            agrees = ", where P&W find S closer to V"
        else:
            agrees = ", as P&W report" if sv > su else ", unlike P&W, who find S closer to V"
        text = (
            f"Dynamics of {row['track']} (one tracked pair, one seed) at step {row['step']:,}: the tied S correlates with the untied V at "
            f"{sv:.3f} and with U at {su:.3f} (P&W Table 3 measure), so S is {closer}{agrees}."
        )
        if row["share_out"] is not None:
            text += f" The output side supplies {row['share_out']:.0%} of the tied gradient's squared norm."
        halves = [(name, row.get(f"align_{name}") or {}) for name in ("first", "second")]
        if all(h.get("intervals") for _, h in halves):
            text += (
                " Its updates align on average with the untied dU and dV at "
                + "; ".join(
                    f"{h['dS~dU']:.3f} and {h['dS~dV']:.3f} in the {name} half of training (closer to dV in "
                    f"{h['closer_to_dV']} of {h['intervals']} intervals)"
                    for name, h in halves
                )
                + "."
            )
        lines.append(text)
    return lines


# one line for each term the summary may use, given where it is first used (the terminal and the page's summary)
GLOSSARY = (
    ("Williams", "Williams' t: whether two embeddings' Spearman correlations with the same human ratings differ, "
                 "allowing for how much the two embeddings agree with each other (docs/methods.md, section 4)."),
    ("Holm", "Holm: p-values adjusted for making several comparisons at once, so that the chance of any false "
             "'significant' among them stays at alpha."),
    ("Table 3", "Table 3 (Press & Wolf 2017): the Spearman correlation between two embeddings' cosines over the same "
                "benchmark pairs: how alike they judge similarity, whatever the human ratings say."),
    ("bootstrap", "bootstrap: the benchmark's pairs resampled with replacement; the share of resamples in which "
                  "the order of two scores flips gives its p-value."),
)  # fmt: skip


def glossary(lines: list[str]) -> list[str]:
    """The glosses of the terms that ``lines`` use, in GLOSSARY's order."""
    text = " ".join(lines).replace("Table-3", "Table 3")
    return [gloss for term, gloss in GLOSSARY if term in text]

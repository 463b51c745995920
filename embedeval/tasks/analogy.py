"""The analogy task: "a is to b as c is to ?" over the analogy sets among the benchmarks (docs/methods.md, section 11).

It is not asked for by name: the pipeline runs it whenever ``-b`` names an analogy set (Google, MSR or a file in
their format), and the inputs are then read with their own vocabulary, which the answers are searched in. The rows
are results.json's ``analogies`` (one per embedding and set, with its semantic, syntactic and per-section tallies)
and ``analogy_comparisons`` (exact McNemar tests on the shared questions, Holm across each pair's sections).
"""

from __future__ import annotations

from typing import Any

from embedeval.errors import EmbedevalError
from embedeval.tasks.registry import Section, TaskContext


def wanted(inputs: Any) -> bool:
    return bool(getattr(inputs, "analogy_sets", None))


def run(ctx: TaskContext) -> dict[str, list[dict[str, Any]]]:
    from embedeval.evaluate.analogy import evaluate_analogies

    sets = list(getattr(ctx.inputs, "analogy_sets", None) or [])
    if not sets:
        raise EmbedevalError("the analogy task needs an analogy set among the benchmarks: -b google-analogy, "
                             "-b msr-analogy or a file of questions in their format")  # fmt: skip
    embs = ctx.sources.embeddings
    ctx.say(f"answering analogies with {len(embs)} embedding(s)")
    settings = ctx.settings
    found = evaluate_analogies(embs, sets, settings.analogy_method, settings.analogy_vocab, settings.fold_case,
                               intersect=settings.intersect)  # fmt: skip
    return found.to_dict()


def json_fields(rows: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {"analogies": rows["analogies"], "analogy_comparisons": rows["analogy_comparisons"]}


def _all(r: dict[str, Any]) -> dict[str, Any]:
    return {"questions": r["questions_used"], "correct": r["correct"], "accuracy": r["accuracy"],
            "ci_low": r["ci_low"], "ci_high": r["ci_high"]}  # fmt: skip


def csv_rows(rows: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One row per embedding, analogy set and part (all, semantic, syntactic, each section): questions scored,
    correct answers, accuracy and its Wilson interval."""
    out = []
    for r in rows["analogies"]:
        parts = [("all", _all(r)), ("semantic", r["semantic"]), ("syntactic", r["syntactic"]),
                 *((f"section:{sec['section']}", sec) for sec in r["sections"])]  # fmt: skip
        for part, t in parts:
            out.append({"embedding": r["embedding"], "analogy": r["analogy"], "method": r["method"],
                        "restrict_vocab": r["restrict_vocab"], "part": part, "questions": t.get("questions"),
                        "correct": t.get("correct"), "accuracy": t.get("accuracy"), "ci_low": t.get("ci_low"),
                        "ci_high": t.get("ci_high")})  # fmt: skip
    return out


def _pct(tally: dict[str, Any]) -> str:
    if not tally or tally.get("accuracy") is None:
        return "—"
    return (f"{100 * tally['accuracy']:.1f}% [{100 * tally['ci_low']:.1f}, {100 * tally['ci_high']:.1f}] "
            f"{tally['correct']}/{tally['questions']}")  # fmt: skip


def _method(rows: dict[str, list[dict[str, Any]]]) -> tuple[str, int]:
    first = rows["analogies"][0]
    return ("3CosAdd" if first["method"] == "add" else "3CosMul"), first["restrict_vocab"]


def _grid(rows: dict[str, list[dict[str, Any]]]) -> tuple[list[str], list[tuple[str, str, list[str]]]]:
    """The embeddings, and per set and part ('' : all questions) its cells, one per embedding."""
    names = list(dict.fromkeys(r["embedding"] for r in rows["analogies"]))
    lines = []
    for aset in dict.fromkeys(r["analogy"] for r in rows["analogies"]):
        of = {r["embedding"]: r for r in rows["analogies"] if r["analogy"] == aset}
        total = next(iter(of.values()))["questions_total"]
        lines.append((f"{aset} ({total:,} questions)", "", [_pct(_all(of[n])) for n in names]))
        for part in ("semantic", "syntactic"):
            if any(of[n][part].get("questions") for n in names):
                lines.append((aset, part, [_pct(of[n][part]) for n in names]))
    return names, lines


def _mcnemar(c: dict[str, Any]) -> str:
    p = "p < 1e-300" if c["p"] < 1e-300 else f"p = {c['p']:.3g}"
    return (f"{c['analogy']}: {c['embedding_a']} vs {c['embedding_b']} on {c['questions']:,} shared questions: right "
            f"only in {c['embedding_a']} {c['a_only']}, only in {c['embedding_b']} {c['b_only']} (exact McNemar {p})")  # fmt: skip


def table(rows: dict[str, list[dict[str, Any]]], console: Any) -> None:
    """Accuracy with its Wilson 95% interval and correct/questions, per analogy set (all, semantic, syntactic)."""
    from embedeval.evaluate.table import TitledTable

    if not rows["analogies"]:
        return
    method, searched = _method(rows)
    view = TitledTable(title=f"Analogy accuracy [Wilson 95% CI] correct/questions · {method} · {searched:,} most "
                       "frequent words searched", title_justify="left")  # fmt: skip
    names, lines = _grid(rows)
    view.add_column("set")
    for name in names:
        view.add_column(name, justify="right")
    for label, part, cells in lines:
        view.add_row(f"  {part}" if part else label, *cells)
    console.print(view)
    for c in rows["analogy_comparisons"]:
        if c["section"] == "all":
            console.print(_mcnemar(c), highlight=False)


def section(rows: dict[str, list[dict[str, Any]]]) -> Section | None:
    if not rows["analogies"]:
        return None
    method, searched = _method(rows)
    names, lines = _grid(rows)
    return Section(
        id="analogies",
        title="Analogies",
        intro=f'Accuracy of "a is to b as c is to ?" ({method}, searching each embedding\'s {searched:,} most '
        "frequent words; the question words are never the answer), with its Wilson 95% interval and correct / "
        "questions scored. All embeddings answer the same questions: those whose four words all of them cover "
        "(docs/methods.md, section 11).",
        columns=["set", *names],
        rows=[[f"{label}: {part}" if part else label, *cells] for label, part, cells in lines],
        notes=[_mcnemar(c) for c in rows["analogy_comparisons"] if c["section"] == "all"],
    )

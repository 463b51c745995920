"""The quantisation task: when the inputs hold one model at several precisions (a Hugging Face folder and GGUF files
of it, or GGUF files in several types), how much each quantised U, V or S differs from the most precise one.

Inputs are the same model when their token matrices have the same shape and their word views the same words, and the
same tie. Per quantised matrix, against the reference (the input with the most bits per value): the cosine of each
row to its reference row and the relative error |q - r| / |r| of each row, over every row (streamed); and per
benchmark, the change in Spearman's rho on identical pairs with the Holm-corrected Williams test of the scores (the
report's pairwise tests), and whether the quantised rho leaves the reference's 95% interval.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from embedeval.tasks.registry import Section, TaskContext

FLOAT_BITS = {"float64": 64, "float32": 32, "float16": 16, "bfloat16": 16}


def bits_per_value(dtype: str) -> float:
    """Storage bits per matrix entry: a float type's width, a GGUF type's block bytes x 8 / block size."""
    if dtype in FLOAT_BITS:
        return float(FLOAT_BITS[dtype])
    try:
        from gguf import GGMLQuantizationType
        from gguf.constants import GGML_QUANT_SIZES

        block, size = GGML_QUANT_SIZES[GGMLQuantizationType[dtype.upper()]]
        return size * 8 / block
    except (ImportError, KeyError):
        return float("nan")


def row_agreement(a: Any, b: Any) -> dict[str, float]:
    """Per-row cosine and relative error of ``a`` against the reference ``b`` (same shape), streamed."""
    cos, rel = [], []
    for (_, x), (_, r) in zip(a.blocks(), b.blocks()):
        x64, r64 = x.astype(np.float64), r.astype(np.float64)
        rn, xn = np.linalg.norm(r64, axis=1), np.linalg.norm(x64, axis=1)
        ok = (rn > 0) & (xn > 0)
        cos.append(np.where(ok, (x64 * r64).sum(axis=1) / np.where(ok, rn * xn, 1), np.nan))
        rel.append(np.where(rn > 0, np.linalg.norm(x64 - r64, axis=1) / np.where(rn > 0, rn, 1), np.nan))
    c, e = np.concatenate(cos), np.concatenate(rel)
    return {"rows": int(len(c)), "cosine_mean": float(np.nanmean(c)), "cosine_min": float(np.nanmin(c)),
            "cosine_p01": float(np.nanpercentile(c, 1)), "relative_error_mean": float(np.nanmean(e)),
            "relative_error_max": float(np.nanmax(e))}  # fmt: skip


def _groups(embs: list[Any]) -> list[list[Any]]:
    """Token-model embeddings of one role grouped by model: same shape, same words, same role."""
    groups: dict[tuple, list[Any]] = {}
    for e in embs:
        if e.token_matrix is None or "pretrained" not in e.meta or e.role not in ("input", "output", "tied"):
            continue
        key = (e.role, e.token_matrix.shape, hash(tuple(e.words)))
        groups.setdefault(key, []).append(e)
    return [g for g in groups.values() if len(g) > 1]


def run(ctx: TaskContext) -> list[dict[str, Any]]:
    out = []
    ev = ctx.similarity
    for group in _groups(ctx.sources.embeddings):
        ranked = sorted(group, key=lambda e: -bits_per_value(e.token_matrix.dtype))
        reference = ranked[0]
        for other in ranked[1:]:
            ctx.say(f"quantisation: {other.name} against {reference.name}")
            row = {"embedding": other.name, "reference": reference.name, "role": other.role,
                   "dtype": other.token_matrix.dtype, "reference_dtype": reference.token_matrix.dtype,
                   "bits": bits_per_value(other.token_matrix.dtype), **row_agreement(other.token_matrix,
                                                                                     reference.token_matrix),
                   "benchmarks": []}  # fmt: skip
            if ev is not None:
                for bench in dict.fromkeys(r.benchmark for r in ev.results):
                    a, r = ev.result(other.name, bench), ev.result(reference.name, bench)
                    if a.spearman is None or r.spearman is None:
                        continue
                    test = next((c for c in ev.comparisons if c.benchmark == bench
                                 and {c.embedding_a, c.embedding_b} == {other.name, reference.name}), None)  # fmt: skip
                    row["benchmarks"].append({
                        "benchmark": bench, "pairs": a.pairs_used, "rho": a.spearman, "reference_rho": r.spearman,
                        "delta": a.spearman - r.spearman,
                        "outside_reference_ci": bool(r.ci_low is not None and not r.ci_low <= a.spearman <= r.ci_high),
                        "williams_p_holm": None if test is None else test.williams_p_holm,
                    })  # fmt: skip
            out.append(row)
    return out


COLUMNS = ["embedding", "against", "type (bits)", "row cosine mean / 1st pct / min", "relative error mean / max",
           "rho change per benchmark (Holm p)"]  # fmt: skip


def _cells(r: dict[str, Any]) -> list[str]:
    deltas = "; ".join(f"{b['benchmark']} {b['delta']:+.4f}" + (f" (p {b['williams_p_holm']:.2g})"
                       if b["williams_p_holm"] is not None else "") + (" outside CI" if b["outside_reference_ci"] else "")
                       for b in r["benchmarks"]) or "—"  # fmt: skip
    return [r["embedding"], r["reference"], f"{r['dtype']} ({r['bits']:.3g})",
            f"{r['cosine_mean']:.5f} / {r['cosine_p01']:.5f} / {r['cosine_min']:.5f}",
            f"{r['relative_error_mean']:.4f} / {r['relative_error_max']:.4f}", deltas]  # fmt: skip


def table(rows: list[dict[str, Any]], console: Any) -> None:
    if not rows:
        return
    from embedeval.evaluate.table import TitledTable

    view = TitledTable(title="Quantisation: each matrix against the most precise input", title_justify="left")
    for column in COLUMNS:
        view.add_column(column, overflow="fold")
    for r in rows:
        view.add_row(*_cells(r))
    console.print(view)


def section(rows: list[dict[str, Any]]) -> Section | None:
    if not rows:
        return None
    return Section(
        id="quantisation",
        title="Quantisation",
        intro="The same model at several precisions: each quantised U, V or S against the input with the most bits "
        "per value, over every row (cosine of a row with its reference row, and its relative error), and the change "
        "in Spearman's rho on identical pairs with the Holm-corrected Williams test; 'outside CI' marks a rho outside "
        "the reference's 95% interval.",
        columns=COLUMNS,
        rows=[_cells(r) for r in rows],
    )


def csv_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per quantised matrix and benchmark."""
    flat = []
    for r in rows:
        base = {k: v for k, v in r.items() if k != "benchmarks"}
        flat.extend({**base, **b} for b in r["benchmarks"] or [{}])
    return flat

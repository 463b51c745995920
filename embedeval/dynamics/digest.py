"""The few numbers a reader wants from a track's ``dynamics.jsonl``: where S ended up (against U and V), how its
updates aligned with dU and dV in each half of training, and how its gradient split between the two sides.

Plain data in, plain data out, so notebooks, the CLI and the reports state the same numbers (docs/methods.md,
section "Dynamics" defines every metric).
"""

from __future__ import annotations

import math
from typing import Any

PAIRS = ("S~U", "S~V", "U~V")


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def _alignment(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean cos(dS, dU) and cos(dS, dV) over the intervals that end in this list of records, and in how many of them
    dS was closer to dV. An interval without a value (its start was not kept) counts in neither."""
    su, sv, closer_v, counted = [], [], 0, 0
    for record in records:
        align = record.get("align") or {}
        a, b = _finite(align.get("dS~dU")), _finite(align.get("dS~dV"))
        if a is None or b is None:
            continue
        su.append(a)
        sv.append(b)
        counted += 1
        closer_v += b > a
    return {"intervals": counted, "dS~dU": _mean(su), "dS~dV": _mean(sv), "closer_to_dV": closer_v}


def digest(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Summary of a track: ``end`` (Table-3 correlation, linear CKA and k-NN overlap of S, U, V at the last record),
    ``alignment`` for the first and second half of the steps, ``gradient`` (means over the records of the tied
    matrix's softmax-side share, cos(G, G_out) and rows with an input-side gradient; the last record's share per
    frequency bucket) and the last record's benchmark ``scores``."""
    if not records:
        return {"records": 0}
    last = records[-1]
    half = last.get("step", 0) / 2
    intervals = records[1:]  # record i closes the interval that started at record i - 1
    grads = [(r.get("grad") or {}).get("S") or {} for r in records]
    return {
        "records": len(records),
        "step": last.get("step"),
        "epoch": last.get("epoch"),
        "end": {
            measure: {pair: _finite((last.get(measure) or {}).get(pair)) for pair in PAIRS}
            for measure in ("corr", "cka", "knn")
        },
        "alignment": {
            "first_half": _alignment([r for r in intervals if r.get("step", 0) <= half]),
            "second_half": _alignment([r for r in intervals if r.get("step", 0) > half]),
        },
        "gradient": {
            "share_out": _mean([_finite(g.get("share_out")) for g in grads]),
            "cos_g_gout": _mean([_finite(g.get("cos_g_gout")) for g in grads]),
            "frac_rows_in": _mean([_finite(g.get("frac_rows_in")) for g in grads]),
            "share_out_by_bucket": [_finite(b.get("share_out")) for b in grads[-1].get("buckets") or []],
        },
        "scores": {
            bench: {side: _finite(value) for side, value in sides.items()}
            for bench, sides in (last.get("scores") or {}).items()
        },
    }


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def digest_markdown(summary: dict[str, Any]) -> str:
    """The digest as two Markdown tables and a line on the gradient split (what reports/dynamics/README.md shows)."""
    if not summary.get("records"):
        return "no records yet"
    end, names = summary["end"], {"corr": "Table-3 correlation", "cka": "linear CKA", "knn": "mean k-NN overlap"}
    lines = [f"| at the end (step {summary['step']:,}) | S vs U | S vs V | U vs V |", "|---|---|---|---|"]
    lines += [f"| {names[m]} | " + " | ".join(_fmt(end[m][p]) for p in PAIRS) + " |" for m in names]
    lines += ["", "| update alignment, mean over intervals | cos(dS, dU) | cos(dS, dV) | intervals with dS closer to dV |",
              "|---|---|---|---|"]  # fmt: skip
    for name, part in summary["alignment"].items():
        lines.append(
            f"| {name.replace('_', ' ')} | {_fmt(part['dS~dU'])} | {_fmt(part['dS~dV'])} | "
            f"{part['closer_to_dV']} of {part['intervals']} |"
        )
    grad = summary["gradient"]
    if grad["share_out"] is not None:
        buckets = ", ".join(_fmt(b, 2) for b in grad["share_out_by_bucket"])
        lines += ["", f"Gradient of S, mean over the records: {_fmt(grad['share_out'], 2)} of its squared norm from the "
                  f"softmax side, cos(G, G_out) = {_fmt(grad['cos_g_gout'], 2)}, {_fmt(grad['frac_rows_in'], 3)} of rows "
                  f"with an input-side gradient per step; softmax share at the end by bucket (rare to frequent): "
                  f"{buckets or '—'}."]  # fmt: skip
    return "\n".join(lines)

"""Figures of a tracked pair (or a single tracked run), written as PNG and SVG.

correlation   Table-3 correlation, CKA and 10-NN overlap of S with U and with V over training
gradient      share of the tied gradient that comes from the output side, cos(G, G_out), rows with a G_in
alignment     cos(dS, dU) and cos(dS, dV) per frequency bucket
scores        benchmark Spearman of U, V and S over training, and the drift ||X_t - X_0||
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from embedeval.dynamics.records import read_dynamics
from embedeval.errors import EmbedevalError, mathtext_safe
from embedeval.files import atomic_write
from embedeval.layout import TRACK

COLORS = {"S~U": "#1f77b4", "S~V": "#d62728", "U~V": "#7f7f7f", "S": "#2ca02c", "U": "#1f77b4", "V": "#d62728"}


def _get(record: dict[str, Any], *path: str | int) -> float:
    value: Any = record
    for key in path:
        if value is None:
            return np.nan
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            return np.nan
    return np.nan if value is None else float(value)


def _series(records: list[dict[str, Any]], *path: str | int) -> np.ndarray:
    return np.array([_get(r, *path) for r in records])


def _x(records: list[dict[str, Any]]) -> tuple[np.ndarray, str]:
    return np.array([r["step"] for r in records]), "training step"


def _format_steps(fig: Any) -> Any:
    from matplotlib.ticker import FuncFormatter

    for ax in fig.axes:  # 80000 -> 80k: long step counts otherwise collide
        if ax.get_xlim()[1] >= 10000:
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}k"))
    return fig


def _save(fig: Any, out: Path, name: str) -> list[Path]:
    paths = []
    for ext in ("png", "svg"):
        path = out / f"{name}.{ext}"
        atomic_write(path, lambda tmp, ext=ext: fig.savefig(tmp, format=ext, dpi=120, bbox_inches="tight"))
        paths.append(path)
    return paths


def plot_dynamics(source: str | Path, out: str | Path | None = None, title: str | None = None) -> list[Path]:
    """Draw every figure the records support into ``out`` (default: ``source``/figures)."""
    import matplotlib.pyplot as plt

    source = Path(source)
    records = read_dynamics(source)
    if not records:
        raise EmbedevalError("the dynamics file has no records yet", source)
    out = Path(out) if out else (source if source.is_dir() else source.parent) / "figures"
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    folder = source if source.is_dir() else source.parent
    meta_file = folder / TRACK
    try:
        pairs = probe_pairs(json.loads(meta_file.read_text(encoding="utf-8"))) if meta_file.is_file() else None
    except (OSError, ValueError):
        pairs = None
    for name, fig in dynamics_figures(records, title or folder.name, pairs):
        written += _save(fig, out, name)
        plt.close(fig)
    return written


def probe_pairs(meta: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """benchmark -> (pairs scored, pairs in the file), from a track.json's probe."""
    probe = meta.get("probe") or {}
    return {
        b: (u, t)
        for b, u, t in zip(probe.get("benchmarks", []), probe.get("pairs_used", []), probe.get("pairs_total", []))
    }


def dynamics_figures(
    records: list[dict[str, Any]], title: str, pair_counts: dict[str, tuple[int, int]] | None = None
) -> list[tuple[str, Any]]:
    """(name, matplotlib figure) for every figure the records support; the caller saves and closes them."""
    title = mathtext_safe(title)  # a folder named "$x$" must not be parsed as math
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures: list[tuple[str, Any]] = []
    x, xlabel = _x(records)
    buckets = [b["bucket"] for b in records[-1].get("buckets", [])]
    # viridis up to 0.8: its last stretch is yellow, which cannot be read on white
    viridis = plt.get_cmap("viridis")
    n_buckets = max(len(buckets), 2)

    def cmap(i: int) -> Any:
        return viridis(0.8 * i / (n_buckets - 1))

    pairs = [p for p in ("S~U", "S~V", "U~V") if np.isfinite(_series(records, "corr", p)).any()]
    if pairs:
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharex=True)
        for ax, key, label in zip(axes, ("corr", "cka", "knn"), ("Table-3 correlation (Spearman)", "linear CKA",
                                                                 "mean 10-NN overlap")):  # fmt: skip
            for p in pairs:
                ax.plot(x, _series(records, key, p), label=p.replace("~", " vs "), color=COLORS[p], lw=1.8)
            ax.set_title(label, fontsize=10)
            ax.set_xlabel(xlabel)
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize=8)
        fig.suptitle(f"{title}: is the tied S closer to the untied U or V?", fontsize=11)
        figures.append(("correlation", _format_steps(fig)))

    grad_key = "S" if any((r.get("grad") or {}).get("S") for r in records) else "UV"
    share = _series(records, "grad", grad_key, "share_out")
    if np.isfinite(share).any():
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharex=True)
        axes[0].plot(x, share, color="k", lw=2, label="all words")
        for i, b in enumerate(buckets):
            axes[0].plot(x, _series(records, "grad", grad_key, "buckets", i, "share_out"), color=cmap(i), lw=1,
                         label=f"count {b}")  # fmt: skip
        who = "tied S" if grad_key == "S" else "U and V (untied)"
        axes[0].set_title(f"share of |G|^2 from the output side ({who})", fontsize=10)
        axes[0].set_ylim(-0.02, 1.02)
        axes[0].legend(fontsize=7)
        if grad_key == "S":
            axes[1].plot(x, _series(records, "grad", "S", "cos_g_gout"), color="k", lw=2)
            for i, _ in enumerate(buckets):
                axes[1].plot(x, _series(records, "grad", "S", "buckets", i, "cos_g_gout"), color=cmap(i), lw=1)
            axes[1].set_title("cos(G, G_out) of the tied gradient", fontsize=10)
        else:
            axes[1].plot(x, _series(records, "grad", "UV", "norm_in"), label="|G_U|", color=COLORS["U"])
            axes[1].plot(x, _series(records, "grad", "UV", "norm_out"), label="|G_V|", color=COLORS["V"])
            axes[1].legend(fontsize=8)
            axes[1].set_title("gradient norms (RMS over sampled steps)", fontsize=10)
        for i, _ in enumerate(buckets):
            axes[2].plot(x, _series(records, "grad", grad_key, "buckets", i, "frac_rows_in"), color=cmap(i), lw=1)
        axes[2].plot(x, _series(records, "grad", grad_key, "frac_rows_in"), color="k", lw=2)
        axes[2].set_yscale("log")
        axes[2].set_title("fraction of rows with a non-zero G_in per step", fontsize=10)
        for ax in axes:
            ax.set_xlabel(xlabel)
            ax.grid(alpha=0.3)
        fig.suptitle(f"{title}: where the embedding gradient comes from", fontsize=11)
        figures.append(("gradient", _format_steps(fig)))

    if np.isfinite(_series(records, "align", "dS~dV")).any():
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharex=True, sharey=True)
        for ax, key in zip(axes, ("dS~dU", "dS~dV")):
            ax.plot(x, _series(records, "align", key), color="k", lw=2, label="all words")
            for i, b in enumerate(buckets):
                ax.plot(x, _series(records, "buckets", i, "align", key), color=cmap(i), lw=1, label=f"count {b}")
            ax.axhline(0, color="grey", lw=0.5)
            ax.set_title(f"cos({key.replace('~', ', ')}) over the last interval", fontsize=10)
            ax.set_xlabel(xlabel)
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize=7)
        fig.suptitle(f"{title}: does the tied update move like U's or like V's?", fontsize=11)
        figures.append(("alignment", _format_steps(fig)))

    benches = list(records[-1].get("scores", {}))
    if benches:
        # at most three panels a row, so the text stays readable when the page scales the figure to its width;
        # constrained layout keeps each panel's y-tick labels out of its neighbour
        panels = len(benches) + 1
        cols = min(3, panels)
        rows = -(-panels // cols)
        fig, grid = plt.subplots(rows, cols, figsize=(4.3 * cols, 3.4 * rows), sharex=True, layout="constrained")
        grid = np.atleast_1d(grid).ravel()
        for ax in grid[panels:]:
            ax.set_visible(False)
        axes = grid[:panels]
        roles = list(records[-1]["scores"][benches[0]])
        for ax, bench in zip(axes, benches):
            for role in roles:
                ax.plot(x, _series(records, "scores", bench, role), label=role, color=COLORS.get(role), lw=1.6)
            used = (pair_counts or {}).get(bench)
            ax.set_title(
                f"{bench} (Spearman, {used[0]}/{used[1]} pairs)" if used else f"{bench} (Spearman)", fontsize=10
            )
            ax.set_xlabel(xlabel)
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize=8)
        for role in roles:
            axes[-1].plot(x, _series(records, "drift", role), label=role, color=COLORS.get(role), lw=1.6)
        axes[-1].set_title("drift ||X_t - X_0||", fontsize=10)
        axes[-1].set_xlabel(xlabel)
        axes[-1].grid(alpha=0.3)
        fig.suptitle(
            f"{title}: benchmark scores over training, on the pairs the runs' own vocabulary covers (a compare table "
            "uses the pairs every input covers, so its numbers can differ)",
            fontsize=10,
        )
        figures.append(("scores", _format_steps(fig)))

    shaped = [m for m in ("U", "V", "S") if any(np.isfinite(_get(r, "shape", m, "anisotropy")) for r in records)]
    if shaped:  # records written before the shape was measured have none
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharex=True, layout="constrained")
        for m in shaped:
            axes[0].plot(x, _series(records, "shape", m, "anisotropy"), label=m, color=COLORS.get(m), lw=1.6)
            axes[1].plot(x, _series(records, "shape", m, "effective_rank"), label=m, color=COLORS.get(m), lw=1.6)
        axes[0].set_title("anisotropy: mean cosine of random word pairs", fontsize=10)
        axes[1].set_title("effective rank (Roy & Vetterli)", fontsize=10)
        for ax in axes:
            ax.set_xlabel(xlabel)
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize=8)
        fig.suptitle(f"{title}: does a matrix degenerate into a narrow cone?", fontsize=11)
        figures.append(("shape", _format_steps(fig)))

    flagged = [m for m in ("U", "V", "S") if any(np.isfinite(_get(r, "tokens", m, "share")) for r in records)]
    if flagged:  # a checkpoint series with a tokenizer: the under-trained-token indicators at every step
        fig, ax = plt.subplots(figsize=(6.5, 3.6), layout="constrained")
        for m in flagged:
            name = next(r["tokens"][m]["indicator"] for r in records if m in (r.get("tokens") or {}))
            ax.plot(x, 100 * _series(records, "tokens", m, "share"), label=f"{m} ({name.replace('_', ' ')})",
                    color=COLORS.get(m), lw=1.6)  # fmt: skip
        ax.set_ylabel("% of tokens")
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        ax.set_title("tokens at least as suspicious as the median reference token", fontsize=10)
        fig.suptitle(f"{title}: under-trained-token candidates over training", fontsize=11)
        figures.append(("tokens", _format_steps(fig)))
    return figures

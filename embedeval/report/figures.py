"""Report figures, rendered by matplotlib to PNG and embedded as data URIs (the HTML stays one file)."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any

import numpy as np

from embedeval.errors import mathtext_safe
from embedeval.evaluate.similarity import Evaluation


@dataclass
class Figure:
    name: str
    title: str
    caption: str
    png_base64: str

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + self.png_base64


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def encode(fig: Any, dpi: int = 110) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    _pyplot().close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def scores_figure(ev: Evaluation) -> Figure | None:
    """Spearman per benchmark, one bar per embedding, with the 95% CI as error bars."""
    plt = _pyplot()
    names = list(dict.fromkeys(r.embedding for r in ev.results))
    benches = list(dict.fromkeys(r.benchmark for r in ev.results))
    if not names or not benches:
        return None
    width = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(benches) * max(1, len(names) / 3)), 4.2))
    cmap = plt.get_cmap("tab20", max(len(names), 2))
    for i, name in enumerate(names):
        rows = [ev.result(name, b) for b in benches]
        rho = np.array([np.nan if r.spearman is None else r.spearman for r in rows])
        low = np.array([np.nan if r.ci_low is None else r.ci_low for r in rows])
        high = np.array([np.nan if r.ci_high is None else r.ci_high for r in rows])
        err = np.vstack([np.nan_to_num(rho - low), np.nan_to_num(high - rho)])
        x = np.arange(len(benches)) - 0.4 + width * (i + 0.5)
        ax.bar(x, np.nan_to_num(rho), width, yerr=err, capsize=2, label=mathtext_safe(name), color=cmap(i), alpha=0.9)
    ax.axhline(0, color="grey", lw=0.6)
    ax.set_xticks(np.arange(len(benches)), [mathtext_safe(b) for b in benches], rotation=20, ha="right")
    ax.set_ylabel("Spearman rho (95% CI)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, ncol=min(4, len(names)), loc="upper center", bbox_to_anchor=(0.5, -0.22))
    return Figure(
        "scores",
        "Scores with 95% confidence intervals",
        "Spearman's rho between cosine similarity and human ratings, per benchmark; error bars are the 95% CI "
        "(percentile bootstrap over pairs, or Fisher z when bootstrapping is off).",
        encode(fig),
    )


def perplexity_figure(runs: list[Any]) -> Figure | None:
    """Validation (solid) and training (dashed) perplexity per epoch for every LM run."""
    plt = _pyplot()
    lm = [r for r in runs if r.is_lm and r.history]
    if not lm:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    cmap = plt.get_cmap("tab10")
    for i, run in enumerate(lm):
        epochs = [h["epoch"] for h in run.history]
        ax.plot(
            epochs,
            [h["valid_ppl"] for h in run.history],
            "-o",
            ms=3,
            color=cmap(i % 10),
            label=mathtext_safe(f"{run.name} valid"),
        )
        ax.plot(epochs, [h["train_ppl"] for h in run.history], "--", color=cmap(i % 10), alpha=0.6, lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("perplexity (log scale)")
    ax.grid(alpha=0.3, which="both")
    from matplotlib.lines import Line2D

    handles, labels = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], color="grey", ls="--", lw=1))
    labels.append("training (dashed, same colour per run)")
    ax.legend(handles, labels, fontsize=7)
    return Figure(
        "perplexity",
        "Perplexity per epoch",
        "Validation perplexity (solid) and training perplexity (dashed) after each epoch.",
        encode(fig),
    )


DYNAMICS_CAPTIONS = {
    "correlation": "Is the tied S closer to the untied U or V? Table-3 correlation, linear CKA and 10-NN overlap "
    "of S with U and with V at each record.",
    "gradient": "Where the embedding gradient comes from: the share of |G|^2 from the output side, cos(G, G_out) "
    "and the fraction of rows that get an input-side gradient, per frequency bucket.",
    "alignment": "Does the tied update move like U's or V's? cos(dS, dU) and cos(dS, dV) over each interval, per "
    "frequency bucket.",
    "scores": "Benchmark Spearman of U, V and S over training, and each matrix's drift from its start.",
    "shape": "The shape of U, V and S over training: the mean cosine of random word pairs (high: a narrow cone, "
    "the degeneration Gao et al. 2019 blame on tying) and the effective rank.",
}


def dynamics_report_figures(track: Any) -> list[Figure]:
    from embedeval.dynamics.plots import dynamics_figures, probe_pairs

    found = []
    for name, fig in dynamics_figures(track.records, track.name, probe_pairs(track.meta)):
        found.append(
            Figure(f"{track.name}-{name}", f"{track.name}: {name}", DYNAMICS_CAPTIONS.get(name, ""), encode(fig))
        )
    return found

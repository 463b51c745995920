"""The geometry task: the shape of each embedding (docs/methods.md, section 12).

Over what rows is said in every row (``over``): a pretrained model's U, V, S and U+V are measured over their whole
token matrix (streamed, :func:`embedeval.evaluate.geometry.matrix_geometry`), never over the benchmark words their
word view happens to hold; a word embedding (a file, a run) over its first ``geometry_rows`` rows, which are its most
frequent words when the rows are in frequency order (word2vec files, embedeval runs), as before.
"""

from __future__ import annotations

from typing import Any

from embedeval.tasks.registry import Section, TaskContext

WORD_ROWS = 20_000  # a word embedding's rows measured (its most frequent words in a frequency-ordered file or run)


def run(ctx: TaskContext) -> list[dict[str, Any]]:
    from embedeval.evaluate.geometry import geometry, matrix_geometry

    settings = ctx.settings
    rows_limit = getattr(settings, "geometry_rows", WORD_ROWS) or None
    sample = getattr(settings, "geometry_sample", None)
    out = []
    done: dict[int, dict[str, Any]] = {}  # a tied model's S is one matrix: measured once
    for emb in ctx.sources.embeddings:
        if emb.token_matrix is not None:
            key = id(emb.token_matrix)
            if key not in done:
                ctx.say(f"geometry of {emb.name}: {emb.token_matrix.shape[0]:,} token rows")
                done[key] = matrix_geometry(emb.token_matrix, emb.name, sample=sample, seed=settings.seed)
            out.append({**done[key], "embedding": emb.name})
        elif len(emb) > 1:
            g = geometry(emb, seed=settings.seed, max_rows=rows_limit)
            first = "all" if g["rows"] == len(emb) else f"the first {g['rows']:,}"
            g["over"] = f"{first} of its {len(emb):,} words (in the order they are stored: most frequent first in " \
                "word2vec files and embedeval runs)"  # fmt: skip
            out.append(g)
    return out


def csv_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**{k: v for k, v in g.items() if k != "anisotropy"}, "mean_cosine": g["anisotropy"]["mean_cosine"],
             "mean_cosine_ci_low": g["anisotropy"].get("ci_low"), "mean_cosine_ci_high": g["anisotropy"].get("ci_high")}
            for g in rows]  # fmt: skip


def _mean_cosine(a: dict[str, Any]) -> str:
    if a.get("ci_low") is None:
        return f"{a['mean_cosine']:.3f} (exact)"
    return f"{a['mean_cosine']:.3f} [{a['ci_low']:.3f}, {a['ci_high']:.3f}]"


def _cells(g: dict[str, Any]) -> list[str]:
    rho = g.get("norm_vs_rank_spearman")
    return [g["embedding"], f"{g['rows']:,}", _mean_cosine(g["anisotropy"]), f"{g['isotropy']:.3g}",
            f"{g['effective_rank']:.1f} / {g['dim']}", f"{g['first_pc_share']:.3f}", f"{g['mean_norm']:.3g}",
            "—" if rho is None else f"{rho:+.3f}"]  # fmt: skip


COLUMNS = ["embedding", "rows", "mean cosine", "I(W)", "effective rank", "PC1 share", "mean norm", "rho(norm, rank)"]


def table(rows: list[dict[str, Any]], console: Any) -> None:
    from embedeval.evaluate.table import TitledTable

    view = TitledTable(title="Geometry (rows measured: see 'over' in the JSON; token models: the whole matrix)",
                       title_justify="left")  # fmt: skip
    for column in COLUMNS:
        view.add_column(column, justify="left" if column == "embedding" else "right")
    for g in rows:
        view.add_row(*_cells(g))
    console.print(view)
    for over in dict.fromkeys(f"{g['embedding']}: {g.get('over', '')}" for g in rows if g.get("over")):
        console.print(f"[dim]  {over}[/]", highlight=False, markup=True)


def section(rows: list[dict[str, Any]]) -> Section | None:
    if not rows:
        return None
    return Section(
        id="geometry",
        title="Geometry",
        intro="The shape of each embedding: anisotropy as the mean cosine of pairs of distinct rows (near 1: a narrow "
        "cone, the degeneration Gao et al. 2019 blame on tying; for a word embedding from 10,000 random pairs with "
        "its 95% interval, for a model's token matrix exact over all pairs), Mu & Viswanath's isotropy I(W) "
        "(1: isotropic), effective rank (Roy & Vetterli), the first principal component's share of the variance, "
        "the mean norm, and Spearman's rho between a row's norm and its rank (docs/methods.md, section 12). Which "
        "rows each was taken over is listed below the table.",
        columns=COLUMNS,
        rows=[_cells(g) for g in rows],
        notes=list(dict.fromkeys(f"{g['embedding']}: over {g['over']}" for g in rows if g.get("over"))),
    )

"""Terminal tables for evaluation results (rich), readable at a glance."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from embedeval.errors import markup_safe as esc
from embedeval.evaluate.similarity import Evaluation


class TitledTable(Table):
    """A rich Table whose title is one line above it, never wrapped to the table's width (a narrow table of one
    embedding used to split its title over three lines)."""

    def __rich_console__(self, console, options):  # noqa: ANN001 - rich's protocol
        title, self.title = self.title, None
        try:
            if title:
                yield Text(str(title), style="italic", no_wrap=True, overflow="ellipsis")
            yield from super().__rich_console__(console, options)
        finally:
            self.title = title


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def scores_table(ev: Evaluation) -> Table:
    embeddings = list(dict.fromkeys(r.embedding for r in ev.results))
    benchmarks = list(dict.fromkeys(r.benchmark for r in ev.results))
    policy = ev.settings.get("oov_policy", "drop")
    title = f"Spearman rho [95% CI] · pairs used/total · OOV policy {policy}"
    if len(embeddings) > 1 and ev.settings.get("intersect") and policy == "drop":
        title += " · scored on the pairs every embedding covers"
    table = TitledTable(title=title, title_justify="left")
    table.add_column("benchmark", style="bold")
    for name in embeddings:  # folded, never cut: checkpoints' names differ only at their ends (":input", "-143001")
        table.add_column(esc(name), justify="right", overflow="fold")
    by_key = {(r.embedding, r.benchmark): r for r in ev.results}
    for bench in benchmarks:
        cells = []
        for name in embeddings:
            r = by_key[(name, bench)]
            if r.spearman is None:
                cells.append(f"[yellow]undefined[/] {r.pairs_used}/{r.pairs_total}")
            else:
                cells.append(
                    f"{r.spearman:.3f} [{_fmt(r.ci_low, 2)}, {_fmt(r.ci_high, 2)}] {r.pairs_used}/{r.pairs_total}"
                )
        table.add_row(esc(bench), *cells)
    return table


def comparisons_table(ev: Evaluation, alpha: float = 0.05) -> Table:
    table = TitledTable(
        title=f"a vs b on identical pairs: delta rho [95% bootstrap CI], Holm-corrected p (Williams t / paired bootstrap); * p < {alpha}",
        title_justify="left",
    )
    for column in ("benchmark", "a vs b", "n", "delta", "CI", "p Williams", "p bootstrap"):
        table.add_column(column, justify="right" if column not in ("benchmark", "a vs b") else "left")
    for c in ev.comparisons:
        star = " *" if (c.williams_p_holm is not None and c.williams_p_holm < alpha) else ""
        table.add_row(
            esc(c.benchmark),
            esc(f"{c.embedding_a} vs {c.embedding_b}"),
            str(c.n),
            _fmt(c.delta),
            f"[{_fmt(c.delta_low, 2)}, {_fmt(c.delta_high, 2)}]",
            _fmt(c.williams_p_holm, 4) + star,
            _fmt(c.bootstrap_p_holm, 4),
        )
    return table


def correlations_table(ev: Evaluation) -> Table:
    table = TitledTable(
        title="Embedding vs embedding (P&W Table 3): Spearman of cosines over the pairs both cover",
        title_justify="left",
    )
    for column in ("a", "b", "all pairs", "n"):
        table.add_column(column)
    for c in ev.correlations:
        if c.benchmark == "all":
            table.add_row(esc(c.embedding_a), esc(c.embedding_b), _fmt(c.spearman), str(c.n))
    return table


def print_evaluation(ev: Evaluation, console: Console | None = None) -> None:
    console = console or Console()
    console.print(scores_table(ev))
    undefined = [r for r in ev.results if r.undefined_reason]
    for r in undefined:
        console.print(
            f"[yellow]note[/]: {esc(r.embedding)} on {esc(r.benchmark)}: rho undefined ({esc(r.undefined_reason)})"
        )
    if ev.comparisons:
        console.print(comparisons_table(ev))
    if ev.correlations:
        console.print(correlations_table(ev))


def embeddings_table(ev: Evaluation) -> Table:
    """Embeddings as rows, benchmarks as columns (pairs used/total in the header): fits many embeddings."""
    embeddings = list(dict.fromkeys(r.embedding for r in ev.results))
    benchmarks = list(dict.fromkeys(r.benchmark for r in ev.results))
    by_key = {(r.embedding, r.benchmark): r for r in ev.results}
    policy = ev.settings.get("oov_policy", "drop")
    table = TitledTable(title=f"Spearman rho [95% CI] on identical pairs · OOV policy {policy}", title_justify="left")
    table.add_column("embedding", style="bold", overflow="fold")
    best = {}
    for bench in benchmarks:
        first = by_key[(embeddings[0], bench)]
        table.add_column(f"{esc(bench)}\n{first.pairs_used}/{first.pairs_total} pairs", justify="right")
        scored = [by_key[(e, bench)] for e in embeddings if by_key[(e, bench)].spearman is not None]
        best[bench] = max(scored, key=lambda r: r.spearman).embedding if scored else None
    for name in embeddings:
        cells = []
        for bench in benchmarks:
            r = by_key[(name, bench)]
            if r.spearman is None:
                cells.append("[yellow]undefined[/]")
                continue
            text = f"{r.spearman:.3f} [{_fmt(r.ci_low, 2)}, {_fmt(r.ci_high, 2)}]"
            cells.append(f"[green]{text}[/]" if best[bench] == name and len(embeddings) > 1 else text)
        table.add_row(esc(name), *cells)
    return table


def print_geometry(shapes: list[dict], console: Console | None = None) -> None:
    """One row per embedding: the shape measures of :func:`embedeval.evaluate.geometry.geometry`."""
    console = console or Console()
    table = TitledTable(
        title="Geometry (over each embedding's first rows: its most frequent words)", title_justify="left"
    )
    for column in ("embedding", "rows", "mean cos [95% CI]", "I(W)", "eff. rank", "PC1 share", "mean norm",
                   "rho(norm, rank)"):  # fmt: skip
        table.add_column(column, justify="left" if column == "embedding" else "right")
    for g in shapes:
        a = g["anisotropy"]
        rho = g["norm_vs_rank_spearman"]
        table.add_row(
            g["embedding"], f"{g['rows']:,}", f"{a['mean_cosine']:.3f} [{a['ci_low']:.3f}, {a['ci_high']:.3f}]",
            f"{g['isotropy']:.3g}", f"{g['effective_rank']:.1f} / {g['dim']}", f"{g['first_pc_share']:.3f}",
            f"{g['mean_norm']:.3g}", "—" if rho is None else f"{rho:+.3f}",
        )  # fmt: skip
    console.print(table)


def print_model_cards(cards: list[dict], console: Console | None = None) -> None:
    """One row per pretrained model: its format, family, vocabulary, width, dtype and how it ties (by its weights,
    and by its config where it has one), so that what U and V are is on the screen, not only in --json."""
    if not cards:
        return
    console = console or Console()
    table = TitledTable(title="Pretrained models", title_justify="left")
    for column in ("model", "format", "family", "tokens x width", "dtype", "tied (weights / config)", "padded rows"):
        table.add_column(column, justify="left" if column in ("model", "format", "family") else "right")
    for c in cards:
        by_config = {True: "tied", False: "untied", None: "—"}[c.get("tied_by_config")]
        by_weights = {True: "tied", False: "untied", None: "no head"}[c.get("tied_by_weights")]
        dtype = c.get("dtype", "?") + (f" / {c['output_dtype']}" if c.get("output_dtype") not in (None, c.get("dtype"))
                                        else "")  # fmt: skip
        table.add_row(str(c.get("name", c.get("path"))), str(c.get("format", "")), str(c.get("family", "?")),
                      f"{c.get('vocabulary', 0):,} x {c.get('width', 0):,}", dtype, f"{by_weights} / {by_config}",
                      f"{c.get('padded_rows_left_out', 0):,}")  # fmt: skip
    console.print(table)

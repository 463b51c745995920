"""``compare``: score every embedding of the inputs on identical pairs, and gather what the report shows.

The result is plain data (:class:`Report`): the HTML page, results.json and the notebooks all read it.
"""

from __future__ import annotations

import datetime
from dataclasses import asdict, dataclass, field
from typing import Any

from embedeval.data.benchmarks import Benchmark
from embedeval.errors import EmbedevalError
from embedeval.evaluate.similarity import Evaluation
from embedeval.report.figures import Figure
from embedeval.report.sources import Sources
from embedeval.rundir import package_versions

# The paper's five, then WS-353 and SimVerb-3500; bundled copies stand in when there is no data directory.


@dataclass
class CompareSettings:
    benchmarks: list[str] | None = None  # None: COMPARE_BENCHMARKS that can be found
    oov: str = "drop"
    n_bootstrap: int = 1000
    seed: int = 0
    alpha: float = 0.05
    add_sum: bool = True
    figures: bool = True
    title: str | None = None
    intersect: bool = True  # score every embedding on the pairs all cover (False: each on its own covered pairs)
    analogy_vocab: int = 300_000  # analogies: the most frequent words searched (gensim's restrict_vocab)
    geometry: bool = True  # the shape of each embedding (anisotropy, isotropy, effective rank ...)
    tasks: tuple[str, ...] = ()  # registered tasks beyond those compare runs by default (geometry unless off)
    pieces: str = "single"  # subword models: how a benchmark word is covered (embedeval.pipeline.Settings)
    data_dir: str | None = None  # where the benchmarks are (None: $EMBEDEVAL_DATA)
    revision: str | None = None  # of Hugging Face model ids read from the local cache
    task_options: dict[str, Any] = field(default_factory=dict)  # each task's own settings (the token task's corpus)

    def pipeline(self) -> Any:
        """The pipeline's settings for these (:class:`embedeval.pipeline.Settings`)."""
        from embedeval.pipeline import Settings
        from embedeval.tasks import tasks

        default = [t.name for t in tasks() if t.in_compare and (t.name != "geometry" or self.geometry)]
        return Settings(benchmarks=self.benchmarks, data_dir=self.data_dir, oov=self.oov, n_bootstrap=self.n_bootstrap,
                        seed=self.seed, alpha=self.alpha, intersect=self.intersect, pieces=self.pieces,
                        add_sum=self.add_sum, tasks=(*default, *self.tasks), analogy_vocab=self.analogy_vocab,
                        revision=self.revision, task_options=self.task_options,
                        default_tasks=tuple(t for t in default if t not in self.tasks))  # fmt: skip


@dataclass
class Report:
    title: str
    created: str
    command: str
    settings: dict[str, Any]
    evaluation: Evaluation
    sources: Sources
    benchmarks: list[dict[str, Any]]
    vocabulary: dict[str, Any]
    summary: list[str]
    warnings: list[str]
    figures: list[Figure] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    findings: list[dict[str, Any]] = field(default_factory=list)  # the summary's claims as data (summary.findings)
    tasks: dict[str, Any] = field(default_factory=dict)  # registered task -> its rows (plain data)

    @property
    def analogies(self) -> dict[str, list[dict[str, Any]]] | None:
        """The analogy task's rows (``analogies`` and ``analogy_comparisons``), or None when no set was asked for."""
        return self.tasks.get("analogies")

    @property
    def geometry(self) -> list[dict[str, Any]]:
        """The shape of each embedding (the geometry task's rows)."""
        return self.tasks.get("geometry", [])

    def task_sections(self) -> list[Any]:
        """Each task's report section (plain cells: the page escapes them), in the order the tasks ran."""
        from embedeval.tasks import get_task

        found = [get_task(name).call("section", rows) for name, rows in self.tasks.items()]
        return [s for s in found if s is not None]

    # --- views the page and the notebooks share -------------------------------------------------------

    @property
    def demonstration(self) -> str | None:
        """Why this report is a demonstration and not a result (every run trained on the built-in corpus), or None."""
        from embedeval.data.builtin import BUILTIN_CORPUS

        runs = self.sources.runs
        if not runs or any(r.corpus.get("name") != BUILTIN_CORPUS for r in runs):
            return None
        return (
            "every run here trained on the Lee news corpus that ships with gensim (about 60k tokens), to show each "
            "stage of the tool; at this size the scores and perplexities are noise, and which variant looks better "
            "can flip with a seed or a thread count. Real results need PTB or WikiText-2: see the reports under "
            "reports/ in the repository"
        )

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys(r.embedding for r in self.evaluation.results))

    @property
    def benchmark_names(self) -> list[str]:
        return list(dict.fromkeys(r.benchmark for r in self.evaluation.results))

    def model_tables(self) -> list[dict[str, Any]]:
        """P&W-style tables: per model, its input / output / sum / tied rows x benchmarks; a tracked pair's
        untied and tied runs share one table, as in the paper."""
        tables: dict[str, dict[str, Any]] = {}
        role_order = {"source": -1, "input": 0, "output": 1, "output-backward": 1.5, "sum": 2, "tied": 3}
        runs = {r.name: r for r in self.sources.runs}
        for group, members in self.sources.groups.items():
            run = runs.get(group)
            key = run.track if run and run.track else group
            table = tables.setdefault(key, {"group": key, "models": [], "rows": []})
            table["models"].append(run.model if run else "file")
            for name in members:
                results = [self.evaluation.result(name, b) for b in self.benchmark_names]
                role = results[0].role if results else None
                label = role if key == group else f"{role} ({run.model if run else group})"
                table["rows"].append({"name": name, "role": role, "label": label, "results": results})
        for table in tables.values():
            table["rows"].sort(key=lambda row: role_order.get(row["role"], 9))
            table["model"] = " vs ".join(dict.fromkeys(table["models"]))
        return list(tables.values())

    def comparison(self, a: str, b: str, benchmark: str) -> dict[str, Any] | None:
        """a vs b on one benchmark, oriented as asked (delta = rho_a - rho_b)."""
        for c in self.evaluation.comparisons:
            if c.benchmark != benchmark:
                continue
            if (c.embedding_a, c.embedding_b) == (a, b):
                return {**asdict(c), "sign": 1}
            if (c.embedding_a, c.embedding_b) == (b, a):
                flipped = asdict(c)
                for key in ("delta", "delta_low", "delta_high", "williams_t"):
                    if flipped[key] is not None:
                        flipped[key] = -flipped[key]
                flipped["delta_low"], flipped["delta_high"] = flipped["delta_high"], flipped["delta_low"]
                return {**flipped, "sign": -1}
        return None

    def correlation(self, a: str, b: str, benchmark: str = "all") -> float | None:
        for c in self.evaluation.correlations:
            if c.benchmark == benchmark and {c.embedding_a, c.embedding_b} == {a, b}:
                return c.spearman
        return None

    def lm_rows(self) -> list[dict[str, Any]]:
        rows = []
        for run in self.sources.runs:
            if not run.is_lm:
                continue
            last = run.history[-1] if run.history else {}
            directions = run.summary.get("direction_ppl") if isinstance(run.summary.get("direction_ppl"), dict) else {}
            variant = run.config.get("variant")
            for key, value in _shown_settings(run.config).items():  # a biLM's softmax says what it ties
                variant = f"{variant}, {key} {value}"
            rows.append(
                {
                    "run": run.name,
                    "variant": variant,
                    "backward": {split: (directions.get(split) or {}).get("backward") for split in ("valid", "test")}
                    if directions
                    else None,
                    "parameters": run.summary.get("unique_parameters"),
                    "epochs": f"{len(run.history)}/{run.config.get('epochs', '?')}",
                    "valid": run.summary.get("valid_ppl", last.get("valid_ppl")),
                    "test": run.summary.get("test_ppl"),
                    "test_ci": _interval(run.summary.get("test_ppl_ci")),
                    "status": run.status,
                    "corpus": run.corpus.get("name"),
                    "held_out": run.summary.get("held_out"),
                }
            )
        return rows

    def translation(self) -> tuple[list[dict[str, Any]], list[str]]:
        """Translation runs: BLEU with intervals, chrF, parameters, paired tests (computed once)."""
        if "_translation" not in self.__dict__:
            from embedeval.report.translation import translation_rows

            self.__dict__["_translation"] = translation_rows(self.sources.runs)
        return self.__dict__["_translation"]

    def dynamics_rows(self) -> list[dict[str, Any]]:
        from embedeval.dynamics.digest import digest

        rows = []
        for track in self.sources.tracks:
            if not track.records:
                continue
            d = digest(track.records)
            end, halves = d["end"], d["alignment"]
            rows.append(
                {
                    "track": track.name,
                    "trainer": track.trainer,
                    "step": d["step"],
                    "records": d["records"],
                    **{
                        f"{m}_{p[0].lower()}{p[2].lower()}": end[m][p]
                        for m in ("corr", "cka", "knn")
                        for p in ("S~U", "S~V")
                    },
                    "share_out": ((track.records[-1].get("grad") or {}).get("S") or {}).get("share_out"),
                    **{f"align_{h}": halves[f"{h}_half"] for h in ("first", "second")},
                }
            )
        return rows

    def to_dict(self) -> dict[str, Any]:
        """results.json: everything but the figures' pixels. ``settings`` is the report's own (the comparison's and
        the scoring's together), not only the scoring's that ``Evaluation.to_dict`` carries."""
        from embedeval.tasks import json_fields

        return {
            "title": self.title,
            "created": self.created,
            "command": self.command,
            "settings": self.settings,
            "demonstration": self.demonstration,
            "summary": self.summary,
            "findings": self.findings,
            "warnings": self.warnings,
            "vocabulary": self.vocabulary,
            "benchmarks": self.benchmarks,
            **self.evaluation.to_dict(),
            "perplexity": self.lm_rows(),
            "translation": {"runs": self.translation()[0], "notes": self.translation()[1]},
            "dynamics": self.dynamics_rows(),
            "runs": [asdict(r) for r in self.sources.runs],
            "files": [asdict(f) for f in self.sources.files],
            "pretrained": self.sources.models,
            "geometry": self.geometry,
            **json_fields(self.tasks),
            "tracks": [
                {"name": t.name, "path": t.path, "trainer": t.trainer, "meta": t.meta} for t in self.sources.tracks
            ],
            "versions": self.versions,
        } | {"settings": self.settings}


def _shown_settings(config: dict[str, Any]) -> dict[str, Any]:
    """The architecture's own settings a row names: those that say what is tied, and any other set away from its
    default (``--lstm-bias tf``)."""
    from embedeval import trainers

    stored = config.get("arch_options") if isinstance(config.get("arch_options"), dict) else {}
    try:
        options = {o.key: o for o in trainers.arch(config.get("arch", "lstm")).options}
    except EmbedevalError:
        return dict(stored)
    return {k: v for k, v in stored.items() if k not in options or options[k].in_name or v != options[k].default}


def _interval(value: Any) -> list[float] | None:
    """A stored [low, high] when it is two finite numbers (a damaged summary shows no interval, not an error)."""
    from embedeval.rundir import finite

    if isinstance(value, list) and len(value) == 2 and all(finite(v) is not None for v in value):
        return [float(v) for v in value]
    return None


def vocabulary_overlap(sources: Sources, fold_case: bool = True) -> dict[str, Any]:
    """Vocabulary size per source (run or file) and how many words all of them share."""
    by_name = {e.name: e for e in sources.embeddings}
    sizes: dict[str, int] = {}
    distinct: list[int] = []  # words per source after case folding (what lookups see)
    shared: set[str] | None = None
    for group, members in sources.groups.items():
        emb = by_name[members[0]]  # the embeddings of one run share its vocabulary
        sizes[group] = len(emb)
        words = set(emb.folded_words if fold_case else emb.words)
        distinct.append(len(words))
        shared = words if shared is None else shared & words
    n_shared = len(shared or ())
    return {"sizes": sizes, "shared": n_shared, "differ": any(n != n_shared for n in distinct)}


def _narrowest_inputs(ev: Any, benches: list[Any]) -> list[str]:
    """Name the embedding that limits the shared pairs of a benchmark when it covers less than half of what the
    others do: one small-vocabulary input can leave every score undefined, and the user must know which."""
    notes = []
    for b in benches:
        rows = [r for r in ev.results if r.benchmark == b.name]
        if len(rows) < 2:
            continue
        narrowest = min(rows, key=lambda r: r.pairs_covered)
        rest = max(r.pairs_covered for r in rows if r is not narrowest)
        if narrowest.pairs_covered < 0.5 * rest:
            notes.append(
                f"{b.name}: {narrowest.embedding} covers {narrowest.pairs_covered} of {len(b)} pairs (the others up to "
                f"{rest}), so every embedding is scored on {narrowest.pairs_used} shared pairs; leave it out, or pass "
                "--no-intersect to score each on its own pairs"
            )
    return notes


def build_report(
    sources: Sources,
    benches: list[Benchmark],
    settings: CompareSettings | None = None,
    command: str = "",
    bench_notes: list[str] | None = None,
    analogy_sets: list[Any] | None = None,
) -> Report:
    """Score inputs already read (:func:`embedeval.report.sources.collect`) through the pipeline and gather the
    report (:func:`report_from`)."""
    from embedeval.pipeline import Inputs, score

    settings = settings or CompareSettings()
    if not sources.embeddings:
        raise EmbedevalError("nothing to compare: give run directories, track directories or embedding files")
    if not benches:
        raise EmbedevalError("no benchmarks to score on; name some with --benchmark")
    results = score(Inputs(sources, benches, list(analogy_sets or []), list(bench_notes or [])), settings.pipeline())
    return report_from(results, settings, command)


def report_from(results: Any, settings: CompareSettings, command: str = "") -> Report:
    """The report of a pipeline's :class:`embedeval.pipeline.Results`: summary, findings, warnings, figures."""
    from embedeval.report.figures import dynamics_report_figures, perplexity_figure, scores_figure
    from embedeval.report.summary import findings, summarise

    sources, benches, ev = results.inputs.sources, results.inputs.benchmarks, results.similarity
    if ev is None:
        raise EmbedevalError("no benchmarks to score on; name some with --benchmark")
    vocab = vocabulary_overlap(sources)
    warnings = list(sources.warnings) + list(results.inputs.notes) + list(results.notes)
    if settings.intersect:
        warnings.extend(_narrowest_inputs(ev, benches))
    else:
        warnings.append("--no-intersect: each embedding is scored on its own covered pairs, so scores on one benchmark "
                        "rest on different pairs and the pairwise tests are left out")  # fmt: skip
    if vocab["differ"]:
        sizes = ", ".join(f"{n} {s:,}" for n, s in vocab["sizes"].items())
        warnings.append(
            f"different vocabularies ({sizes} words): {vocab['shared']:,} words are in all of them, and every "
            "benchmark is scored on the pairs whose words all embeddings cover"
        )
    bench_info = []
    for b in benches:
        used = min((r.pairs_used for r in ev.results if r.benchmark == b.name), default=0)
        bench_info.append(
            {
                "name": b.name,
                "pairs": len(b),
                "pairs_used": used,
                "path": b.path,
                "sha256": b.sha256,
                "duplicates": b.duplicate_pairs,
                "skipped_lines": b.skipped_lines,
            }  # fmt: skip
        )
    shown = {k: v for k, v in asdict(settings).items() if k not in ("data_dir",)}
    report = Report(
        title=settings.title or _default_title(sources),
        created=datetime.datetime.now().isoformat(timespec="seconds"),
        command=command,
        settings={**shown, **ev.settings},
        evaluation=ev,
        sources=sources,
        benchmarks=bench_info,
        vocabulary=vocab,
        summary=[],
        warnings=warnings,
        versions=package_versions(),
        tasks=dict(results.tasks),
    )
    report.summary = summarise(report, settings.alpha)
    report.findings = findings(report, settings.alpha)
    if settings.figures:
        for fig in (scores_figure(ev), perplexity_figure(sources.runs)):
            if fig is not None:
                report.figures.append(fig)
        for track in sources.tracks:
            if track.records:
                report.figures.extend(dynamics_report_figures(track))
    return report


def _default_title(sources: Sources) -> str:
    groups = list(sources.groups)
    shown = ", ".join(groups[:4]) + (f" and {len(groups) - 4} more" if len(groups) > 4 else "")
    return f"embedeval compare: {shown}"

"""The token-analysis task: per model with a token vocabulary (a pretrained folder, a GGUF file, an embedeval run),
the token categories from the tokenizer alone, the under-trained-token indicators chosen from the weights' own tie,
a ranked candidate list, and, with a corpus (or a run's own training counts), how frequency shows in U, V and S
(docs/methods.md, section 13). An indicator is a candidate list, not a verdict: prompting the model decides.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from embedeval.evaluate.tokens import reference_tokens, seen_in_text, token_categories
from embedeval.tasks.registry import Section, TaskContext

__all__ = ["analyse_model", "count_tokens", "reference_tokens", "seen_in_text", "token_categories"]

TOP = 50  # candidates listed per indicator (all are counted)


def _escaped(text: str) -> str:
    """A token's text as a Python literal (control characters, newlines and odd spaces visible, never raw)."""
    return repr(text)


def analyse_model(name: str, model: Any, tok: Any, types: list[int] | None, counts: np.ndarray | None,
                  corpus_note: str | None, seed: int, init_bound: float | None = None) -> dict[str, Any]:  # fmt: skip
    """``init_bound``: the rows were initialised uniformly in [-init_bound, init_bound] (an embedeval LSTM run): each
    matrix also gets the ``init_box`` indicator (methods.md 13.2)."""
    from embedeval.evaluate.tokens import candidates, frequency_effects, indicator_scores, init_box

    n = model.input.shape[0]
    cats = token_categories(tok, n, types) if tok is not None else {}
    texts = tok.decode_one(list(range(n))) if tok is not None else None
    reference = reference_tokens(cats, tok, n)
    tied = bool(model.tied_by_weights)
    matrices = {"S": model.input} if tied else {"U": model.input, "V": model.output}
    matrices = {which: m for which, m in matrices.items() if m is not None}
    indicators = []
    special = cats.get("special")
    found: list[tuple[str, str, np.ndarray, np.ndarray, float, str]] = []
    for which, matrix in matrices.items():
        scored = indicator_scores(which, matrix, reference)
        if scored is not None:  # None: no reference tokens (a word-level run), nothing for the cosine to point at
            found.append((which, scored[0], scored[1], *candidates(scored[1], reference, exclude=special)))
        if init_bound is not None:
            found.append((which, "init_box", *init_box(matrix, init_bound)))
    for which, indicator, score, ids, threshold, rule in found:
        # the head of the whole ranking, listed or not: the threshold is a convention, and where it lists few
        # tokens (or none) the ranking is still the indicator's answer. The candidates are its prefix (the same
        # order, the scores at or above the threshold), so the listed ones are taken from it
        order = np.argsort(-score, kind="stable")
        if special is not None:
            order = order[~special[order]]
        ranked = [{"id": int(i), "token": _escaped(texts[i]) if texts else str(i),
                   "category": ",".join(k for k, m in cats.items() if m[i]) or "normal", "score": float(score[i]),
                   "candidate": bool(score[i] >= threshold)} for i in order[:TOP]]  # fmt: skip
        top = [{k: v for k, v in t.items() if k != "candidate"} for t in ranked if t["candidate"]]
        indicators.append({"indicator": indicator, "matrix": which, "candidates": int(len(ids)), "threshold": threshold,
                           "rule": rule, "top": top, "ranked": ranked, "scores": score})  # fmt: skip
    frequency = []
    if counts is not None:
        for which, matrix in matrices.items():
            frequency.append(frequency_effects(matrix, which, counts, seed=seed).__dict__)
    return {"model": name, "tied": tied, "tokens": n,
            "categories": {k: int(m.sum()) for k, m in cats.items()},
            "reference": {"tokens": int(len(reference)), "how": "unreachable tokens, a GGUF file's unused ones, and "
                          "byte and special tokens the tokenizer never produced for a sample of ordinary text"
                          if cats else "none: this input has no tokenizer to find them with"},
            "indicators": indicators, "frequency": frequency, "corpus": corpus_note}  # fmt: skip


def run(ctx: TaskContext) -> list[dict[str, Any]]:
    from embedeval.embeddings.gguf_model import REBUILT
    from embedeval.embeddings.readers import get_reader

    corpus = ctx.options.get("corpus")
    out = []
    for card in ctx.sources.models:
        reader = get_reader("gguf" if card.get("format") == "gguf" else "transformers")
        ctx.say(f"token analysis of {card['name']}")
        model, tok = reader.tokens(Path(card["path"]))
        types = None
        if card.get("format") == "gguf":
            types, tok = tok.types, tok.pieces() if tok.model in REBUILT else None
        counts, note = (None, None)
        if corpus and tok is not None:
            counts, note = _corpus_counts(tok, Path(corpus), model.input.shape[0])
        out.append(analyse_model(card["name"], model, tok, types, counts, note, ctx.settings.seed))
    for run_info in ctx.sources.runs:
        out.extend(_run_rows(ctx, run_info))
    return [_plain(r) for r in out]


CORPUS_PIECE = 1 << 20  # characters given to the tokenizer at a time: a file with no line breaks is read in pieces


def _corpus_counts(tok: Any, path: Path, n: int) -> tuple[np.ndarray, str]:
    """Token counts of a text file, read a bounded piece at a time: a line longer than :data:`CORPUS_PIECE` bytes is
    cut before a space (a word is never split), so a file without line breaks costs no more memory than one piece."""
    import codecs

    from embedeval.errors import EmbedevalError
    from embedeval.files import check_regular_file

    check_regular_file(path, "token task's corpus")
    counts = np.zeros(n, dtype=np.int64)
    decoder = codecs.getincrementaldecoder("utf-8")()  # a character cut between two pieces waits for the next
    total, number, carry, batch, size = 0, 1, "", [], 0
    with open(path, "rb") as handle:
        for raw in iter(lambda: handle.readline(CORPUS_PIECE), b""):
            try:
                text = carry + decoder.decode(raw)
            except UnicodeDecodeError:
                raise EmbedevalError(f"line {number:,} of the token task's corpus is not UTF-8 text; convert the file "
                                     "(iconv -f LATIN1 -t UTF-8 FILE) or give another", path) from None  # fmt: skip
            carry = ""
            if text.endswith("\n"):
                number += 1
            else:  # a piece of a long line: what follows its last space goes with the next piece
                cut = max(text.rfind(" "), text.rfind("\t"))
                if cut > 0:
                    text, carry = text[:cut], text[cut:]
            batch.append(text.rstrip("\n"))
            size += len(text)
            if len(batch) == 1000 or size >= CORPUS_PIECE:  # the tokenizer's memory grows with a batch's text
                total += count_tokens(tok, batch, counts)
                batch, size = [], 0
    total += count_tokens(tok, [*batch, carry] if carry else batch, counts)
    if total == 0:
        raise EmbedevalError("the token task's corpus holds no text the tokenizer turns into tokens", path)
    return counts, f"{path.name}: {total:,} tokens, encoded with the model's own tokenizer"


def count_tokens(tok: Any, lines: list[str], counts: np.ndarray) -> int:
    done = 0
    for ids in tok.encode(lines) if lines else []:
        ids = np.asarray([i for i in ids if i < len(counts)], dtype=np.int64)
        np.add.at(counts, ids, 1)
        done += len(ids)
    return done


def _run_rows(ctx: TaskContext, info: Any) -> list[dict[str, Any]]:
    """An embedeval run: its word rows are its tokens, its training counts (vocab.tsv) its frequencies."""
    from embedeval.embeddings.matrix import ArrayMatrix
    from embedeval.layout import VOCAB

    by_role = {
        e.role: e for e in ctx.sources.embeddings if e.run == info.path and e.role in ("input", "output", "tied")
    }
    first = by_role.get("input") or by_role.get("tied")
    vocab_file = Path(info.path) / VOCAB
    if first is None or not vocab_file.is_file():
        return []
    from embedeval.data.corpus import Vocab
    from embedeval.errors import EmbedevalError
    from embedeval.train.lm import trained_counts

    vocab = Vocab.load(vocab_file)
    note = "the run's own training counts"
    try:
        counts_by_word = dict(zip(vocab.words, trained_counts(info.path, ctx.settings.data_dir)))
    except EmbedevalError as err:  # a --train-fraction run whose corpus is not at hand: the whole split's counts
        counts_by_word = dict(zip(vocab.words, vocab.counts))
        note = f"the whole training split's counts (vocab.tsv), not the run's training prefix: {err.message}"
    counts = np.array([counts_by_word.get(w, 0) for w in first.words], dtype=np.int64)

    class _Model:
        input = ArrayMatrix(first.vectors)
        output = ArrayMatrix(by_role["output"].vectors) if "output" in by_role and "tied" not in by_role else None
        tied_by_weights = "tied" in by_role

    if _Model.output is not None and by_role["output"].words != first.words:
        return []  # a run whose U and V rows differ (a translation run's sides): token rows are not shared
    row = analyse_model(info.name, _Model, None, None, counts, note, ctx.settings.seed, uniform_init_bound(info.path))
    for ind in row["indicators"]:
        for t in [*ind["top"], *ind["ranked"]]:
            t["token"] = repr(first.words[t["id"]])
            t["category"] = "never in training" if counts[t["id"]] == 0 else "trained"
    never = np.flatnonzero(counts == 0)
    if len(never) and len(never) < len(counts):
        from embedeval.evaluate.tokens import auroc

        row["never_in_training"] = int(len(never))
        for ind in row["indicators"]:
            ind["auroc_never_in_training"] = auroc(ind["scores"], never)
    return [row]


def uniform_init_bound(folder: str | Path) -> float | None:
    """a when an embedeval run initialised its word rows uniformly in [-a, a] (the LSTMs and the biLM: their
    ``init_scale``), else None (the Transformer's normal initialisation, skip-gram, translation, unknown)."""
    import json

    try:
        config = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return init_bound_of(config) if isinstance(config, dict) else None


def init_bound_of(config: dict[str, Any]) -> float | None:
    """:func:`uniform_init_bound` from a run's config.json already read."""
    cfg = config.get("config")
    if config.get("trainer") != "lm" or not isinstance(cfg, dict) or cfg.get("arch", "lstm") not in ("lstm", "bilstm"):
        return None
    scale = cfg.get("init_scale")
    return float(scale) if isinstance(scale, (int, float)) and scale > 0 and not cfg.get("init_from") else None


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """Per-token score arrays stay out of the results (the top candidates and counts are kept)."""
    row = dict(row)
    row["indicators"] = [{k: v for k, v in ind.items() if k != "scores"} for ind in row["indicators"]]
    return row


def csv_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per listed candidate (model, indicator, rank, id, token as a literal, category, score), one per token
    at the head of the whole ranking (kind ranked, with whether it passes the threshold), then one per frequency
    result (matrix, Spearman, probe R² and its interval): tokens.csv of a report folder."""
    out: list[dict[str, Any]] = []
    for row in rows:
        for ind in row["indicators"]:
            for kind, entries in (("candidate", ind["top"]), ("ranked", ind.get("ranked", []))):
                for rank, t in enumerate(entries, start=1):
                    out.append({"model": row["model"], "kind": kind, "indicator": ind["indicator"],
                                "matrix": ind["matrix"], "rank": rank, "id": t["id"], "token": t["token"],
                                "category": t["category"], "score": t["score"], "threshold": ind["threshold"],
                                "candidate": t.get("candidate", True)})  # fmt: skip
        for f in row.get("frequency") or []:
            ci = f.get("probe_r2_ci") or [None, None]
            out.append({"model": row["model"], "kind": "frequency", "matrix": f["matrix"],
                        "spearman_norm": f["spearman_norm"], "probe_r2": f["probe_r2"], "probe_r2_ci_low": ci[0],
                        "probe_r2_ci_high": ci[1]})  # fmt: skip
    keys = list(dict.fromkeys(k for r in out for k in r))  # one header: a candidate's fields, then frequency's
    return [{k: r.get(k) for k in keys} for r in out]


COLUMNS = ["model", "tied", "tokens", "categories", "indicator", "candidates", "threshold", "top candidates"]


def _cells(row: dict[str, Any]) -> list[list[str]]:
    cats = ", ".join(f"{k} {v:,}" for k, v in row["categories"].items() if v) or "—"
    out = []
    for ind in row["indicators"] or [{"indicator": "—", "matrix": "", "candidates": 0, "threshold": float("nan"),
                                       "top": []}]:  # fmt: skip
        top = ", ".join(f"{t['token']} ({t['id']})" for t in ind["top"][:8])
        if not top and ind.get("ranked"):  # nothing passes the threshold: the ranking's head, said as such
            top = "none passes; ranked first: " + ", ".join(f"{t['token']} ({t['id']})" for t in ind["ranked"][:8])
        extra = f"; AUROC (never in training) {ind['auroc_never_in_training']:.3f}" if "auroc_never_in_training" in ind \
            else ""  # fmt: skip
        out.append([row["model"], "tied" if row["tied"] else "untied", f"{row['tokens']:,}", cats,
                    f"{ind['indicator']} ({ind['matrix']})", f"{ind['candidates']:,}{extra}",
                    f"{ind['threshold']:.4g}", top or "—"])  # fmt: skip
    return out


def _r2(f: dict[str, Any]) -> str:
    """The probe's R² with its interval over the folds, as the table and the report show it."""
    if f["probe_r2"] is None:
        return "—"
    return f"{f['probe_r2']:.3f} [{f['probe_r2_ci'][0]:.3f}, {f['probe_r2_ci'][1]:.3f}]"


def table(rows: list[dict[str, Any]], console: Any) -> None:
    from embedeval.evaluate.table import TitledTable

    view = TitledTable(title="Tokens: under-trained candidates (a ranked list to check by prompting, not a verdict)",
                       title_justify="left")  # fmt: skip
    for column in COLUMNS:
        view.add_column(column, justify="left", overflow="fold")
    for row in rows:
        for cells in _cells(row):
            view.add_row(*cells)
    console.print(view)
    for row in rows:
        for f in row["frequency"]:
            r2 = _r2(f)
            rho = "—" if f["spearman_norm"] is None else f"{f['spearman_norm']:+.3f}"
            console.print(f"  {row['model']} {f['matrix']}: Spearman(log frequency, norm) {rho}; probe R² {r2} "
                          f"({row['corpus']})", highlight=False, markup=False)  # fmt: skip


def section(rows: list[dict[str, Any]]) -> Section | None:
    if not rows:
        return None
    cells = [c for row in rows for c in _cells(row)]
    notes = []
    for row in rows:
        for f in row["frequency"]:
            r2 = _r2(f)
            bands = "; ".join(f"{b['band']}: {b['tokens']:,} tokens, mean cosine {b['mean_cosine']:.3f}, effective rank "
                              f"{b['effective_rank']:.1f}" for b in f["bands"])  # fmt: skip
            notes.append(f"{row['model']} {f['matrix']} ({row['corpus']}): Spearman(log frequency, row norm) "
                         f"{'—' if f['spearman_norm'] is None else format(f['spearman_norm'], '+.3f')}; linear probe "
                         f"R² of log frequency {r2} (5-fold, 95% interval); by frequency band: {bands}")  # fmt: skip
    return Section(
        id="tokens",
        title="Tokens",
        intro="Under-trained token candidates, from the weights and the tokenizer alone (docs/methods.md, section 13): "
        "for an untied model the input row norm (low: never trained as input) and V's cosine to the mean of "
        "reference tokens (tokens no text produces) after removing the first principal component; for a tied model "
        "that cosine on S. A token is listed when its score passes the threshold shown; where none does, the tokens "
        "ranked first are shown instead, said as such (tokens.csv holds the first 50 of the ranking either way). It is "
        "a list to check by prompting the model, not a verdict. Token texts are shown as Python literals.",
        columns=COLUMNS,
        rows=cells,
        notes=notes,
    )

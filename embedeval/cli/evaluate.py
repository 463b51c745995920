"""``embedeval eval``: options in, :mod:`embedeval.pipeline` does the work, tables out."""

from __future__ import annotations

from pathlib import Path

import click

from embedeval.cli.console import console, err_console
from embedeval.cli.options import (
    BENCHMARK_OPTION,
    DATA_DIR_OPTION,
    FORMAT_OPTION,
    OOV_OPTION,
    PIECES_OPTION,
    REVISION_OPTION,
    TASK_OPTION,
    THREADS_OPTION,
    TOKEN_CORPUS_OPTION,
)
from embedeval.errors import EmbedevalError, markup_safe

EXPORT_SUFFIX = {"word2vec": ".txt", "word2vec-binary": ".bin", "glove": ".glove.txt", "npz": ".npz",
                 "safetensors": ".safetensors"}  # fmt: skip


@click.command("eval")
@click.argument("embeddings", nargs=-1, type=click.Path())
@BENCHMARK_OPTION
@OOV_OPTION
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write results as JSON.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="Write results as CSV.")
@click.option(
    "--pairs-csv",
    type=click.Path(dir_okay=False),
    help="Write every benchmark pair: words, gold, each embedding's cosine, and whether it was scored.",
)
@click.option(
    "--tests-csv", type=click.Path(dir_okay=False), help="Write the pairwise tests (Williams, bootstrap, Holm) as CSV."
)
@FORMAT_OPTION
@click.option("--sum", "add_sum", is_flag=True, help="Also score U+V for sources that hold input and output.")
@PIECES_OPTION
@click.option(
    "--bootstrap",
    "n_bootstrap",
    type=click.IntRange(0, 20_000),
    default=1000,
    show_default=True,
    help="Bootstrap resamples for CIs and paired tests (0: Fisher-z CIs only).",
)
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True, help="Seed of the bootstrap.")
@click.option("--no-intersect", is_flag=True, help="Score each embedding on its own covered pairs (or questions).")
@click.option(
    "--analogy-vocab",
    type=click.IntRange(1, 100_000_000),
    default=300_000,
    show_default=True,
    help="Analogies: search the answer among this many of an embedding's first words (a file's or run's most "
    "frequent; a pretrained model's one-token words in token-id order), and count a question only when its four "
    "words are among them (gensim's restrict_vocab).",
)
@click.option(
    "--analogy-method",
    type=click.Choice(["add", "mul"]),
    default="add",
    show_default=True,
    help="Analogies: 3CosAdd (add) or 3CosMul (mul, Levy & Goldberg 2014).",
)
@click.option("--geometry", "with_geometry", is_flag=True, help="Same as --task geometry.")
@TASK_OPTION
@TOKEN_CORPUS_OPTION
@click.option("--case-sensitive", is_flag=True, help="Match words exactly instead of case-folded.")
@click.option("--lenient", is_flag=True, help="Skip (and count) malformed benchmark lines instead of stopping.")
@click.option(
    "--cache/--no-cache",
    default=None,
    help="Keep a memory-mappable copy of large text files (default: for files over 64 MB).",
)
@click.option(
    "--export",
    type=click.Choice(list(EXPORT_SUFFIX)),
    default=None,
    help="Also write every evaluated embedding in this format (see --export-dir).",
)
@click.option("--export-dir", type=click.Path(file_okay=False), default="exported", show_default=True)
@REVISION_OPTION
@THREADS_OPTION
@DATA_DIR_OPTION
def eval_cmd(embeddings, json_path, csv_path, pairs_csv, tests_csv, export, export_dir, with_geometry, tasks,
             token_corpus, case_sensitive, no_intersect, threads, **options) -> None:  # fmt: skip
    """Score EMBEDDINGS (embedding files, run or track folders, pretrained model folders, GGUF files, or Hugging
    Face model ids in the local cache) on word-similarity benchmarks and analogies.

    Prints one row per benchmark and one column per embedding: Spearman's rho with its 95% CI and the
    pairs used out of the total. With several embeddings they are scored on identical pairs, compared
    pairwise (Williams' t and paired bootstrap, Holm-corrected) and correlated with each other (P&W
    Table 3). With no EMBEDDINGS, a built-in example is trained and scored: gensim SGNS input (U) and
    output (V) embeddings on the Lee news corpus that ships with gensim.
    """
    from embedeval.pipeline import Settings, score
    from embedeval.threads import use_threads

    use_threads(threads)

    tasks = (*(("geometry",) if with_geometry else ()), *tasks, *(("tokens",) if token_corpus else ()))
    settings = Settings(**options, intersect=not no_intersect, fold_case=not case_sensitive, tasks=tasks,
                        task_options={"tokens": {"corpus": token_corpus}} if token_corpus else {})  # fmt: skip
    outputs = {"--json": json_path, "--csv": csv_path, "--pairs-csv": pairs_csv, "--tests-csv": tests_csv}
    out = err_console if any(_is_stdout(v) for v in outputs.values()) else console  # `--json - | jq .` works
    inputs = _inputs(embeddings, settings, outputs, out)
    with out.status("scoring..."):
        results = score(inputs, settings, say=lambda text: out.print(f"[dim]{markup_safe(text)}[/]"))
    if results.similarity is None and any((csv_path, pairs_csv, tests_csv)):
        raise EmbedevalError("--csv, --pairs-csv and --tests-csv hold word-pair results: add a similarity benchmark")
    exports = _export_targets(results.embeddings, export, export_dir)
    _check_outputs({**outputs, **exports}, embeddings, settings, inputs.benchmarks)
    _show(results, out)
    _write(results, outputs, exports, export, out)


def _inputs(embeddings, settings, outputs, out):
    from embedeval.pipeline import read_inputs

    if list(outputs.values()).count("-") > 1:
        raise EmbedevalError("only one of --json, --csv, --pairs-csv and --tests-csv can be - (standard output)")
    _check_outputs(outputs, embeddings, settings)  # before any work: an output never replaces an input
    if embeddings:
        with out.status("reading the inputs..."):
            inputs = read_inputs(list(embeddings), settings)
    else:
        from embedeval.examples import example_embeddings

        with out.status("training the built-in example (gensim SGNS on the Lee corpus)..."):
            inputs = read_inputs(example_embeddings(), settings)
        out.print("[dim]built-in example: SGNS U (input) and V (output) trained by gensim on the Lee news corpus "
                  "shipped with gensim; real results need PTB or WikiText-2[/]")  # fmt: skip
    for note in [*inputs.sources.warnings, *inputs.notes]:
        err_console.print(f"[yellow]note[/]: {markup_safe(note)}", highlight=False)
    return inputs


def _check_outputs(outputs: dict, embeddings, settings, benchmarks=()) -> None:
    """An output must never replace an input, lie inside an input folder (a model folder, a cached snapshot, a run)
    or name the same file as another output."""
    from embedeval.embeddings.readers import identify
    from embedeval.files import check_output_files

    read = []
    for given in embeddings:
        try:
            read.append(identify(given, settings.revision).path)
        except EmbedevalError:
            read.append(Path(given))  # reading it will say what is wrong
    read += [b for b in (settings.benchmarks or ()) if Path(b).exists()]
    check_output_files(outputs, tuple(read))


def _export_targets(embs, export, export_dir) -> dict[str, Path]:
    """One file per embedding; two embeddings with one file name (``a/vec.txt`` and ``b/vec.txt``) get ``-2`` ..."""
    if not export:
        return {}
    targets, used = {}, set()
    for emb in embs:
        source, _, role = emb.name.partition(":")  # a file's embedding is named after the file: drop its suffix
        source = Path(emb.source).stem if Path(emb.source or "").is_file() else source
        stem = f"{source}_{role}".replace("/", "_") if role else source.replace("/", "_")
        name, k = stem, 1
        while name in used:
            k += 1
            name = f"{stem}-{k}"
        used.add(name)
        targets[f"--export of {emb.name} (#{len(targets) + 1})"] = Path(export_dir) / (name + EXPORT_SUFFIX[export])
    return targets


def _show(results, out) -> None:
    from embedeval.evaluate.table import print_evaluation, print_model_cards
    from embedeval.tasks import get_task

    print_model_cards(results.inputs.sources.models, out)
    if results.similarity is not None:
        print_evaluation(results.similarity, out)
    for name, rows in results.tasks.items():
        get_task(name).call("table", rows, out)
    for note in results.notes:
        err_console.print(f"[yellow]note[/]: {markup_safe(note)}", highlight=False)


def _write(results, outputs, exports, export, out) -> None:
    import json

    from embedeval.embeddings.formats import write
    from embedeval.evaluate.output import write_csv, write_pairs_csv, write_tests_csv
    from embedeval.files import atomic_write_text

    writers = {"--json": lambda target: atomic_write_text(target, json.dumps(results.to_dict(), indent=2) + "\n"),
               "--csv": lambda target: write_csv(results.similarity, target),
               "--pairs-csv": lambda target: write_pairs_csv(results.similarity, target),
               "--tests-csv": lambda target: write_tests_csv(results.similarity, target)}  # fmt: skip
    for option, target in outputs.items():
        if target:
            written = writers[option](target)
            if str(written) != "-":
                out.print(f"wrote {markup_safe(written)}")
    for emb, target in zip(results.embeddings, exports.values()):
        out.print(f"wrote {markup_safe(write(emb, target, export))}")


def _is_stdout(value: str | None) -> bool:
    """``-``, or a path that is standard output itself (``/dev/stdout``, ``/proc/self/fd/1``)."""
    import os
    import sys

    if value is None:
        return False
    if value == "-":
        return True
    try:
        here, there = os.fstat(sys.stdout.fileno()), os.stat(value)
    except (OSError, ValueError, AttributeError):
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)

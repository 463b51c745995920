"""``embedeval reproduce``: run or resume every run of a paper table, then write the table."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import click

from embedeval.cli.console import console, err_console
from embedeval.cli.options import DATA_DIR_OPTION
from embedeval.cli.types import number
from embedeval.errors import markup_safe
from embedeval.files import writer_pid
from embedeval.ranges import Range


def _seeds(value: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(s) for s in value.split(",") if s.strip())
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a comma-separated list of seeds, e.g. 1,2,3", param_hint="--seeds"
        ) from None
    if not seeds or any(s < 0 for s in seeds):
        raise click.BadParameter("give one or more seeds >= 0, e.g. 1,2,3", param_hint="--seeds")
    twice = sorted({s for s in seeds if seeds.count(s) > 1})
    if twice:
        raise click.BadParameter(
            f"seed {', '.join(map(str, twice))} given twice: each seed is one run per row", param_hint="--seeds"
        )
    return seeds


@click.command("reproduce")
@click.argument("table", metavar="TABLE")
@click.option("--seeds", default="1,2,3", show_default=True, help="Comma-separated seeds: one run per row and seed.")
@click.option(
    "--jobs",
    type=number(Range(int, 1, 64)),
    default=1,
    show_default=True,
    help="Runs at a time (each uses one thread: one per core).",
)
@click.option(
    "--runs-dir",
    type=click.Path(file_okay=False),
    default="runs",
    show_default=True,
    help="Where the run directories live (kept between calls: unfinished runs are resumed).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Where TABLE.md and TABLE.json are written [default: the table's own folder under reports/: press-wolf, "
    "transformer, bilm, nmt, seed-claims].",
)
@click.option("--dry-run", is_flag=True, help="List the runs, their state and their commands; train nothing.")
@click.option(
    "--no-train",
    is_flag=True,
    help="Train nothing: write the table and the reports from the runs finished so far (unfinished rows say so).",
)
@click.option(
    "--report/--no-report",
    default=True,
    show_default=True,
    help="Also write one compare report per seed (OUT/TABLE-sSEED/) over that seed's finished runs: their embeddings "
    "on identical pairs, perplexity or BLEU with tests.",
)
@click.option("--overwrite", is_flag=True, help="Replace a TABLE.md in --out that embedeval did not write.")
@DATA_DIR_OPTION
def reproduce_cmd(table, seeds, jobs, runs_dir, out, dry_run, no_train, report, overwrite, data_dir) -> None:
    """Run or resume every run of TABLE, then write one compare report per seed, then TABLE.md and TABLE.json: mean
    +- sd over the seeds next to the paper's numbers, the tests across seeds, and the claims of each seed's report
    side by side. Finished runs are kept; interrupted ones resume.

    \b
    Tables: press-wolf-table6, inan-small, press-wolf-sgns, transformer-ptb, transformer-wikitext-2, bilm-ptb,
    multi30k-tying, tying-data-size, tying-sgns-data-size, tying-transfer, lstm-bias; tying-claims, the page that
    tests the tying explainers' claims (reports/seed-claims/README.md) from the runs of tying-sgns-data-size,
    tying-data-size, tying-transfer and lstm-bias and the committed runs; and
    planted-tokens, the under-trained-token ground truth and the frequency finding (reports/tokens/README.md);
    gpt2-series, a Hugging Face GPT-2's tied S over its checkpoints against the untied U and V
    (reports/checkpoints/README.md); quantisation, what GGUF types do to that GPT-2's U and V
    (reports/quantisation/README.md, from gpt2-series' untied runs)."""
    import os

    from embedeval.reproduce import (
        TABLES,
        check_something_finished,
        check_table_target,
        get_table,
        summarise_table,
        table_markdown,
        write_table,
    )

    seed_list = _seeds(seeds)
    pages = {"tying-claims": "reports/seed-claims", "gpt2-series": "reports/checkpoints",
             "quantisation": "reports/quantisation", "planted-tokens": "reports/tokens"}  # fmt: skip
    if table in pages:
        page, root = Path(out or pages[table]), Path(runs_dir)
        if not dry_run:
            _check_page_folder(page, root)
        if table == "tying-claims":
            _tying_claims(seed_list, jobs, root, page, dry_run, no_train, data_dir)
        elif table == "gpt2-series":
            _gpt2_series(seed_list, jobs, root, page, dry_run, no_train, data_dir)
        elif table == "quantisation":
            _quantisation(seed_list, root, page, dry_run, data_dir)
        else:
            _planted_tokens(seed_list, jobs, root, page, dry_run, no_train, data_dir)
        return
    if table not in TABLES:
        from embedeval.errors import EmbedevalError

        raise EmbedevalError(
            f"unknown table {table!r}; known tables: {', '.join(dict.fromkeys([*TABLES, 'tying-claims', 'quantisation']))}"
        )
    spec = get_table(table)
    out = out or spec.out
    check_table_target(spec.name, Path(out), overwrite)  # before hours of training
    root = Path(runs_dir)
    runs = spec.runs(seed_list)
    console.print(f"[bold]{markup_safe(spec.title)}[/]: {len(runs)} runs in {markup_safe(root)}")
    states = {run.folder: run.state(root) for run in runs}
    for run in runs:
        state = states[run.folder]
        shown = f"running in another process (pid {writer_pid(root / run.folder)})" if state == "running" else state
        console.print(f"  {run.folder:<28} seed {run.seed}  {shown}", highlight=False)
        if dry_run and state not in ("complete", "running"):
            console.print(f"    embedeval {markup_safe(' '.join(run.command(root)))}", highlight=False)
    if dry_run:
        return
    busy = [run for run in runs if states[run.folder] == "running"]
    if busy and not no_train:
        # Started again here it would only be refused (the folder is claimed); its row fills in when it finishes.
        err_console.print(
            f"not started here, already training: {', '.join(r.folder for r in busy)}; call this command again "
            "when they finish to add them to the table",
            highlight=False,
        )
    env = dict(os.environ, **({"EMBEDEVAL_DATA": data_dir} if data_dir else {}))
    waiting = [] if no_train else [r for r in runs if states[r.folder] not in ("complete", "running")]
    failed = _run_all(waiting, root, jobs, env)
    if report:  # first: the table sets each seed's report findings side by side
        for seed in seed_list:
            _report(spec, seed, root, Path(out), env)
    result = summarise_table(spec, seed_list, root, Path(out))
    check_something_finished(result, Path(out))  # before printing a table of empty rows
    console.print(table_markdown(result), highlight=False)
    paths = write_table(result, Path(out), overwrite)
    console.print(f"wrote {markup_safe(paths[0])}, {markup_safe(paths[1].name)}")
    if failed:
        sys.exit(1)


def _next_ready(waiting: list, root: Path, running: dict) -> object | None:
    """The first waiting run whose prerequisites (``Run.after``) have finished, taken off the list; a run whose
    prerequisite cannot finish any more (failed, or neither waiting nor running) is dropped with a message, and so is
    a run another process began training after the list was made (a second `reproduce` over the same runs folder):
    started here it would only be refused, its folder being claimed."""
    from embedeval.files import writer_pid
    from embedeval.reproduce import Run

    pending = {r.folder for r in waiting} | set(running)
    for run in list(waiting):
        if run.state(root) == "running":
            waiting.remove(run)
            err_console.print(f"{run.folder} not started here: another process (pid {writer_pid(root / run.folder)}) "
                              "is training it; its row fills in when it finishes", highlight=False)  # fmt: skip
            continue
        states = {f: Run(f, 0, f, ()).state(root) for f in run.after}
        if all(s == "complete" for s in states.values()):
            waiting.remove(run)
            return run
        stuck = [f for f, s in states.items() if s not in ("complete", "running") and f not in pending]
        if stuck:
            waiting.remove(run)
            err_console.print(f"[yellow]{run.folder} not started[/]: it needs {', '.join(stuck)} finished first",
                              highlight=False)  # fmt: skip
    return None


def _run_all(waiting: list, root: Path, jobs: int, env: dict) -> list[str]:
    """Train the waiting runs, ``jobs`` at a time (one `embedeval train` process each); the failed folders."""
    running: dict[str, tuple[subprocess.Popen, object]] = {}
    failed: list[str] = []
    waiting = list(waiting)
    if waiting:  # (--no-train, or nothing left to train: no folder is made)
        root.mkdir(parents=True, exist_ok=True)
    # A SIGTERM or SIGHUP (a job scheduler, a closed terminal, `timeout`) reaches this process only; without this its
    # runs would go on training with nobody to collect them. Handled like Ctrl-C: every run checkpoints and stops.
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        while waiting or running:
            while waiting and len(running) < jobs:
                run = _next_ready(waiting, root, running)
                if run is None:
                    break
                (root / run.folder).parent.mkdir(parents=True, exist_ok=True)  # folders like sgns-wikitext-2/torch-s1
                log = open(root / f"{run.folder}.log", "a")  # noqa: SIM115 - closed when the process ends
                cmd = [sys.executable, "-m", "embedeval", *run.command(root)]
                running[run.folder] = (subprocess.Popen(cmd, stdout=log, stderr=log, env=env), log)
                err_console.print(f"started {run.folder} (log {root / (run.folder + '.log')})", highlight=False)
            time.sleep(2)
            for folder, (proc, log) in list(running.items()):
                if proc.poll() is None:
                    continue
                log.close()
                del running[folder]
                if proc.returncode:
                    failed.append(folder)
                    err_console.print(f"[red]{folder} failed[/] (exit {proc.returncode}); see its log", highlight=False)
                else:
                    err_console.print(f"{folder} complete", highlight=False)
    except KeyboardInterrupt:
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)  # a second signal must not cut the wait for the checkpoints short
        for proc, _ in running.values():
            proc.terminate()  # each run checkpoints on SIGTERM; the next call resumes it
        for proc, _ in running.values():
            proc.wait()
        raise KeyboardInterrupt("the running runs checkpointed; call the same command again to resume") from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return failed


def _check_page_folder(out: Path, runs: Path) -> None:
    """A page's folder, checked before any training: its README.md must be one that reproduce wrote (a folder of the
    user's own, the repository's root, keeps its README), and it may neither be the runs directory, nor lie inside
    it, nor hold it (the page copies run files into OUT/runs)."""
    from embedeval.errors import EmbedevalError

    page = out / "README.md"
    if page.is_symlink() or (page.exists() and not page.is_file()):
        raise EmbedevalError("is not a regular file; choose another --out", page)
    if page.is_file():
        with open(page, "rb") as handle:
            first = handle.read(64)
        if not first.startswith(b"<!-- written by `embedeval reproduce"):
            raise EmbedevalError("is not a page embedeval reproduce wrote, and the page would replace it; choose "
                                 "another --out (the default is the table's folder under reports/)", page)  # fmt: skip
    real_out, real_runs = out.resolve(), runs.resolve()
    if real_out == real_runs or real_runs in real_out.parents or real_out / "runs" == real_runs:
        raise EmbedevalError("--out is the runs directory, lies inside it or holds it as its runs/; the page and "
                             "the files it keeps go elsewhere (the default is the table's folder under reports/)",
                             out)  # fmt: skip


def _check_runs(runs, root: Path) -> None:
    """Every finished run is the run of its row and seed (its config says so), and no two seeds of a row hold one
    run (a folder copied over another): else one line, before anything is counted."""
    from embedeval.errors import EmbedevalError
    from embedeval.layout import SUMMARY

    seen: dict[tuple[str, bytes], int] = {}
    for run in runs:
        if run.state(root) != "complete":
            continue
        run.check(root)
        key = (run.label, (root / run.folder / SUMMARY).read_bytes())
        if key in seen:
            raise EmbedevalError(f"row {run.label}: seeds {seen[key]} and {run.seed} hold the same run (identical "
                                 "summaries); one folder was copied over the other", root / run.folder)  # fmt: skip
        seen[key] = run.seed


def _tying_claims(seeds, jobs, root: Path, out: Path, dry_run: bool, no_train: bool, data_dir) -> None:
    """The runs of tying-sgns-data-size, tying-data-size (its fractions: the full-data rows are Table 6's committed
    runs), tying-transfer and lstm-bias, then reports/seed-claims: the finished LM runs' config, metrics and summary
    copied under OUT/runs, the SGNS runs' scores into OUT/sgns-scores.json, and the page and its JSON written from
    them and the committed runs."""
    import json
    import os
    import shutil

    from embedeval.files import atomic_write_json, atomic_write_text
    from embedeval.layout import CONFIG, METRICS, SUMMARY
    from embedeval.reproduce import get_table
    from embedeval.seed_claims import SGNS_SCORES, claims_markdown, sgns_scores, tying_claims

    # methods 10.1, item 7 first (minutes, not hours): the SGNS analogue of item 2 (its full-data rows are
    # press-wolf-sgns' runs)
    runs = get_table("tying-sgns-data-size").runs(seeds)
    runs += [r for r in get_table("tying-data-size").runs(seeds) if "-f" in r.label]
    # methods 10.1, item 6: pretraining on WikiText-2 read as PTB, then fine-tuning on 10% (each waits for its own)
    runs += get_table("tying-transfer").runs(seeds)
    # methods 10.1, item 5: seed 1 of untied and WT+PR first; a change above 1.0 test perplexity (untied moved +2.25 in
    # seed 1) sends every Table-6 row with the TF bias to every seed asked for
    runs += [r for r in get_table("lstm-bias").runs(seeds) if r.label.endswith("-tfbias")]
    states = {r.folder: r.state(root) for r in runs}
    console.print(f"[bold]the tying claims[/]: {len(runs)} runs in {markup_safe(root)} (the full-data rows are Table "
                  "6's committed runs)")  # fmt: skip
    for run in runs:
        console.print(f"  {run.folder:<32} {states[run.folder]}", highlight=False)
        if dry_run and states[run.folder] not in ("complete", "running"):
            console.print(f"    embedeval {markup_safe(' '.join(run.command(root)))}", highlight=False)
    if dry_run:
        return
    env = dict(os.environ, **({"EMBEDEVAL_DATA": data_dir} if data_dir else {}))
    waiting = [] if no_train else [r for r in runs if states[r.folder] not in ("complete", "running")]
    failed = _run_all(waiting, root, jobs, env)
    _check_runs(runs, root)
    kept = out / "runs"
    for run in runs:
        if run.state(root) != "complete" or run.folder.startswith("sgns-"):
            continue  # an SGNS run is kept as its scores (below)
        target = kept / run.folder
        target.mkdir(parents=True, exist_ok=True)
        for name in (CONFIG, METRICS, SUMMARY):
            if (root / run.folder / name).is_file():
                shutil.copyfile(root / run.folder / name, target / name)
    scores_file = out / SGNS_SCORES
    known = json.loads(scores_file.read_text(encoding="utf-8")) if scores_file.is_file() else {}
    atomic_write_json(scores_file, sgns_scores(root, seeds, known))  # the runs are not kept: their scores are
    result = tying_claims(kept, Path.cwd(), seeds)
    atomic_write_json(out / "tying-claims.json", result)
    atomic_write_text(out / "README.md", claims_markdown(result))
    console.print(f"wrote {markup_safe(out / 'README.md')}, tying-claims.json ({len(list(kept.glob('*')))} runs kept)")
    if failed:
        sys.exit(1)


def _planted_tokens(seeds, jobs, root: Path, out: Path, dry_run: bool, no_train: bool, data_dir) -> None:
    """The runs of the planted-tokens table, then reports/tokens: each finished run's analysis (AUROCs, frequency)
    written to OUT/runs/FOLDER.json, and the page and its JSON from those files (a run folder deleted since keeps
    its committed analysis)."""
    import json
    import os

    from embedeval.errors import EmbedevalError
    from embedeval.files import atomic_write_json, atomic_write_text
    from embedeval.reproduce import get_table
    from embedeval.token_findings import analyse_run, findings, page

    spec = get_table("planted-tokens")
    runs = spec.runs(seeds)
    states = {r.folder: r.state(root) for r in runs}
    console.print(f"[bold]{markup_safe(spec.title)}[/]: {len(runs)} runs in {markup_safe(root)}")
    for run in runs:
        console.print(f"  {run.folder:<34} {states[run.folder]}", highlight=False)
        if dry_run and states[run.folder] not in ("complete", "running"):
            console.print(f"    embedeval {markup_safe(' '.join(run.command(root)))}", highlight=False)
    if dry_run:
        return
    env = dict(os.environ, **({"EMBEDEVAL_DATA": data_dir} if data_dir else {}))
    waiting = [] if no_train else [r for r in runs if states[r.folder] not in ("complete", "running")]
    failed = _run_all(waiting, root, jobs, env)
    kept = out / "runs"
    for run in runs:
        if run.state(root) == "complete" and not run.mismatch(root):
            err_console.print(f"analysing {run.folder}", highlight=False)
            kept.mkdir(parents=True, exist_ok=True)
            atomic_write_json(kept / f"{run.folder}.json", analyse_run(root / run.folder, data_dir))
    analysed = [json.loads((kept / f"{r.folder}.json").read_text(encoding="utf-8")) for r in runs
                if (kept / f"{r.folder}.json").is_file()]  # fmt: skip
    if not analysed:
        raise EmbedevalError(f"no run of planted-tokens has finished in {root} and {kept} holds no analysis: train "
                             "them first (this command without --no-train)")  # fmt: skip
    from embedeval.reproduce import PLANTED_TOKENS

    result = {"seeds": list(seeds), "planted": PLANTED_TOKENS, "runs": analysed, **findings(analysed)}
    atomic_write_json(out / "tokens.json", result)
    atomic_write_text(out / "README.md", page(result))
    console.print(f"wrote {markup_safe(out / 'README.md')}, tokens.json ({len(analysed)} runs analysed)")
    if failed:
        sys.exit(1)


def _gpt2_series(seeds, jobs, root: Path, out: Path, dry_run: bool, no_train: bool, data_dir) -> None:
    """The runs of the gpt2-series table, then reports/checkpoints: each seed's tied series scanned against its
    untied one into OUT/gpt2-sSEED (resumable), and the page, its JSON and its figure from those scans (a run
    folder deleted since keeps its committed scan)."""
    import os

    from embedeval.errors import EmbedevalError
    from embedeval.files import atomic_write_json, atomic_write_text
    from embedeval.reproduce import get_table
    from embedeval.series_findings import figure, findings, page, read_records, scan_seed, seed_summary

    spec = get_table("gpt2-series")
    runs = spec.runs(seeds)
    states = {r.folder: r.state(root) for r in runs}
    console.print(f"[bold]{markup_safe(spec.title)}[/]: {len(runs)} runs in {markup_safe(root)}")
    for run in runs:
        console.print(f"  {run.folder:<24} {states[run.folder]}", highlight=False)
        if dry_run and states[run.folder] not in ("complete", "running"):
            console.print(f"    embedeval {markup_safe(' '.join(run.command(root)))}", highlight=False)
    if dry_run:
        return
    env = dict(os.environ, **({"EMBEDEVAL_DATA": data_dir} if data_dir else {}))
    waiting = [] if no_train else [r for r in runs if states[r.folder] not in ("complete", "running")]
    failed = _run_all(waiting, root, jobs, env)
    summaries = []
    for seed in seeds:
        pair = spec.runs((seed,))
        scanned = out / f"gpt2-s{seed}"
        if all(r.state(root) == "complete" and not r.mismatch(root) for r in pair):
            err_console.print(f"scanning seed {seed}: {markup_safe(scanned)}", highlight=False)
            scan_seed(root, seed, scanned)
        if (scanned / "dynamics.jsonl").is_file():
            summaries.append(seed_summary(seed, read_records(scanned)))
    if not summaries:
        raise EmbedevalError(f"no seed of gpt2-series has both runs finished in {root}, and {out} holds no scan: "
                             "train them first (this command without --no-train)")  # fmt: skip
    from embedeval.series_findings import lockstep

    result = {"seeds": summaries, **findings(summaries), "lockstep": lockstep(Path.cwd())}
    atomic_write_json(out / "gpt2-series.json", result)
    figure(result, out / "figure.png")
    atomic_write_text(out / "README.md", page(result))
    console.print(f"wrote {markup_safe(out / 'README.md')}, gpt2-series.json ({len(summaries)} seed(s))")
    if failed:
        sys.exit(1)


def _quantisation(seeds, root: Path, out: Path, dry_run: bool, data_dir) -> None:
    """reports/quantisation from the untied GPT-2 of each seed of gpt2-series (trained by that table): its U and V
    written as GGUF of each type into RUNS/quantisation-sSEED/, one compare report per seed in OUT/sSEED, then the
    page and its JSON from those reports (a seed whose run is gone keeps its committed report)."""
    import json
    import os

    from embedeval.errors import EmbedevalError
    from embedeval.files import atomic_write_json, atomic_write_text
    from embedeval.quantisation_findings import TYPES, findings, page, seed_rows
    from embedeval.reproduce import get_table

    env = dict(os.environ, **({"EMBEDEVAL_DATA": data_dir} if data_dir else {}))
    rows, done = [], []
    for seed in seeds:
        run = get_table("gpt2-series").build("untied", seed)
        report = out / f"s{seed}"
        state = run.state(root)
        console.print(f"  seed {seed}: {run.folder} {state}", highlight=False)
        if dry_run:
            continue
        if state == "complete" and not run.mismatch(root):
            model = root / run.folder / "model"
            files = root / f"quantisation-s{seed}"
            files.mkdir(parents=True, exist_ok=True)
            ggufs = []
            for qtype in TYPES:
                target = files / f"{run.folder}-{qtype}.gguf"
                cmd = [sys.executable, "-m", "embedeval", "gguf", str(model), "--type", qtype, "--out", str(target),
                       "--overwrite"]  # fmt: skip
                if subprocess.call(cmd, env=env):
                    raise EmbedevalError(f"writing {target.name} failed (see above)")
                ggufs.append(str(target))
            cmd = [sys.executable, "-m", "embedeval", "compare", str(model), *ggufs, "--out", str(report),
                   "--overwrite", "--title", f"Quantisation of a GPT-2's U and V (seed {seed})"]  # fmt: skip
            err_console.print(f"writing the compare report of seed {seed}: {markup_safe(report)}")
            if subprocess.call(cmd, env=env):
                raise EmbedevalError(f"the compare report of seed {seed} failed (see above)")
        if (report / "results.json").is_file():
            rows += seed_rows(seed, json.loads((report / "results.json").read_text(encoding="utf-8")))
            done.append(seed)
    if dry_run:
        return
    if not rows:
        raise EmbedevalError(f"no untied run of gpt2-series has finished in {root} and {out} holds no report: "
                             "run `embedeval reproduce gpt2-series` first")  # fmt: skip
    result = {"seeds": done, "rows": rows, **findings(rows)}
    atomic_write_json(out / "quantisation.json", result)
    atomic_write_text(out / "README.md", page(result))
    console.print(f"wrote {markup_safe(out / 'README.md')}, quantisation.json ({len(done)} seed(s))")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _report(spec, seed: int, root: Path, out: Path, env: dict) -> None:
    """``embedeval compare`` over the finished runs of one seed (the same command a user would type)."""
    done = [root / r.folder for r in spec.runs((seed,)) if r.state(root) == "complete"]
    if len(done) < 2:
        err_console.print(f"no compare report: {len(done)} finished run(s) of seed {seed}, two are needed")
        return
    target = out / f"{spec.name}-s{seed}"
    cmd = [sys.executable, "-m", "embedeval", "compare", *map(str, done), "--out", str(target), "--overwrite",
           "--title", f"{spec.title} (seed {seed})"]  # fmt: skip
    err_console.print(f"writing the compare report of seed {seed}: {markup_safe(target)}")
    code = subprocess.call(cmd, env=env)
    if code:
        err_console.print(f"[red]the compare report failed[/] (exit {code})")

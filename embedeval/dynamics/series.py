"""The tied matrix over training for any model that saved checkpoints: a series of checkpoints scanned step by step
(``embedeval track --series``), reading only U and V of each.

A series is a folder of ``checkpoint-N/`` (Hugging Face's ``Trainer``) or a list file of ``STEP SOURCE`` lines,
a source being a checkpoint folder, a ``.safetensors`` or GGUF file, or a URL (``https://``, ``hf://``). Each step
is one independent task (its matrices, the first step's, the previous step's and the last step's are read again
where it runs, from the cache for remote files), so the steps run on an executor: local processes by default, Ray
when asked. A step's record is written as soon as it is done (``steps/STEP.json``); a scan started again skips them,
and a tensor fetched halfway continues from the cache, so an interrupted scan resumes to the same output.

Records follow the tracker's ``dynamics.jsonl`` schema (drift, Table-3 correlation, CKA, k-NN overlap, benchmark
scores, update alignment for a tied/untied pair) plus what only a series has: the distance of each step to the last
one and the Procrustes distance to the first and last steps.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embedeval.errors import EmbedevalError

RECORD_SETTINGS = ("benchmarks", "k", "knn_queries", "seed", "geometry", "tokenizer")  # what a record depends on
LIST_LIMIT = 16 << 20  # bytes of a series list file (a million checkpoints' lines)
URL_SCHEMES = ("http", "https", "hf")  # what fsspec reads by byte ranges here
PROCRUSTES_ROWS = 20_000  # rows (seeded) over which the Procrustes distances are computed


@dataclass(frozen=True)
class Checkpoint:
    step: int
    source: str  # a checkpoint folder, a .safetensors or .gguf file, or a URL


def discover(spec: str | Path) -> list[Checkpoint]:
    """The checkpoints of a series, by step: a folder of ``checkpoint-N/`` or a list file of ``STEP SOURCE``."""
    path = Path(spec)
    if path.is_dir():
        found = []
        for child in path.iterdir():
            m = re.fullmatch(r"checkpoint-(\d+)", child.name)
            if m and child.is_dir():
                found.append(Checkpoint(int(m.group(1)), str(child)))
        if not found:
            raise EmbedevalError("no checkpoint-N/ folders here (a Trainer's output_dir holds them); or give a list "
                                 "file of STEP SOURCE lines", path)  # fmt: skip
        return sorted(found, key=lambda c: c.step)
    if not path.is_file():
        raise EmbedevalError("neither a folder of checkpoint-N/ nor a list file", path)
    from embedeval.files import check_regular_file

    info = check_regular_file(path, "series list file")
    if info.st_size > LIST_LIMIT:
        raise EmbedevalError(f"a series list file of {info.st_size:,} bytes: more than a list of checkpoints holds "
                             "(one 'STEP SOURCE' line per checkpoint)", path)  # fmt: skip
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise EmbedevalError(f"not a text file (byte {err.start:,} is not UTF-8); a series is a folder of "
                             "checkpoint-N/ or a list file of 'STEP SOURCE' lines", path) from None  # fmt: skip
    found, seen = [], {}
    for number, line in enumerate(text.removeprefix("\ufeff").splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        parts = text.split(None, 1)
        if len(parts) != 2 or not parts[0].isdigit():
            raise EmbedevalError(f"expected 'STEP SOURCE', got {line.strip()!r}", path, number)
        step, source = int(parts[0]), parts[1].strip()
        if step in seen:
            raise EmbedevalError(f"step {step} is listed twice (lines {seen[step]} and {number})", path, number)
        seen[step] = number
        scheme = source.split("://", 1)[0].lower() if "://" in source else None
        if scheme == "file":
            source, scheme = source[len("file://") :], None  # a local path written as a URL
        if scheme is not None and scheme not in URL_SCHEMES:
            raise EmbedevalError(f"{scheme}:// is not a source a series reads; give a local path or an https:// or "
                                 "hf:// URL", path, number)  # fmt: skip
        if "://" not in source and not Path(source).is_absolute():
            source = str(path.parent / source)  # relative to the list file, wherever the scan starts
        found.append(Checkpoint(step, source))
    if not found:
        raise EmbedevalError("the list names no checkpoint", path)
    return sorted(found, key=lambda c: c.step)


def load_matrices(cp: Checkpoint, cache: Path | None = None) -> tuple[dict[str, np.ndarray], int]:
    """U and V (or S when tied) of one checkpoint as float32, and the bytes reading them takes (headers and the
    tensors' byte ranges; GGUF: the tensors)."""
    from embedeval.embeddings.pretrained import INPUT_NAMES, OUTPUT_NAMES
    from embedeval.embeddings.ranged import RangedFile, checkpoint_files, default_cache

    source = cp.source
    if source.endswith(".gguf"):
        from embedeval.embeddings.gguf_model import read_gguf

        model, _ = read_gguf(source)
        u = np.asarray(model.input)
        if model.tied_by_weights:
            return _finite({"S": u}, cp), model.input.nbytes
        return _finite({"U": u, "V": np.asarray(model.output)}, cp), model.input.nbytes + model.output.nbytes
    files = [RangedFile(f, cache or default_cache()) for f in checkpoint_files(source)]
    where: dict[str, RangedFile] = {}
    for f in files:
        for name in f.header():
            where.setdefault(name, f)
    input_name = next((n for n in INPUT_NAMES if n in where), None)
    if input_name is None:
        raise EmbedevalError(f"step {cp.step}: no input embedding among the checkpoint's tensors", source)
    output_name = next((n for n in OUTPUT_NAMES if n in where), None)
    u = where[input_name].tensor(input_name)
    mats = {"S": u}
    cost = where[input_name].span(input_name)
    if output_name is not None:
        v = where[output_name].tensor(output_name)
        if v.shape != u.shape or not np.array_equal(u, v):
            mats = {"U": u, "V": v}
        cost += where[output_name].span(output_name)
    # what reading this step costs (its headers and its two tensors), the same whether the bytes came from the
    # network or from the cache: a record must not depend on which worker fetched what first
    return _finite(mats, cp), cost + sum(f.header_bytes for f in files)


def _finite(mats: dict[str, np.ndarray], cp: Checkpoint) -> dict[str, np.ndarray]:
    """The matrices, refused in one line when a row holds NaN or infinity (a diverged step has no geometry)."""
    for role, m in mats.items():
        bad = int(np.count_nonzero(~np.isfinite(m).all(axis=1)))
        if bad:
            raise EmbedevalError(f"step {cp.step}: {role} has {bad:,} row{'s' * (bad != 1)} with NaN or infinite values (did training "
                                 "diverge?); leave this step out of the series (a list file of STEP SOURCE lines names "
                                 "the steps to scan)", cp.source)  # fmt: skip
    return mats


def _same_shape(mats: dict[str, np.ndarray], other: dict[str, np.ndarray], cp: Checkpoint, ref: Checkpoint) -> None:
    """Two steps compared row by row must share one vocabulary and width."""
    for role, m in mats.items():
        if role in other and other[role].shape != m.shape:
            a, b = m.shape, other[role].shape
            raise EmbedevalError(f"step {cp.step}'s {role} is {a[0]:,} x {a[1]:,} but step {ref.step}'s is "
                                 f"{b[0]:,} x {b[1]:,}: a series compares rows step by step, so every checkpoint must "
                                 "keep one vocabulary and width (scan the steps before and after a resize apart)",
                                 cp.source)  # fmt: skip


@dataclass
class SeriesConfig:
    benchmarks: tuple[str, ...] = ("simlex999", "ws353", "men", "rw")
    k: int = 10
    knn_queries: int = 2_000
    seed: int = 0
    geometry: bool = False  # the whole-matrix shape at every step (costly at real sizes)
    workers: int = 1
    executor: str = "local"  # local | ray
    address: str | None = None  # a Ray cluster to join (None: a local Ray instance)
    cache: str | None = None  # where remote tensors are kept (None: $EMBEDEVAL_CACHE/ranged)
    tokenizer: str | None = None  # a folder with the series' tokenizer, when its checkpoints hold none

    def validate(self) -> None:
        """Every setting checked before any work (the Python API refuses what the command line does)."""
        from embedeval.ranges import Range, check_ranges

        check_ranges(self, {"k": Range(int, 1, 1_000), "knn_queries": Range(int, 1, 1_000_000),
                            "seed": Range(int, 0, 2**32 - 1), "workers": Range(int, 1, 1_024)})  # fmt: skip
        if isinstance(self.benchmarks, str) or not all(isinstance(b, str) and b for b in self.benchmarks):
            raise EmbedevalError(f"benchmarks {self.benchmarks!r}: a tuple of benchmark names or files")
        if self.executor not in ("local", "ray"):
            raise EmbedevalError(f"executor {self.executor!r}: must be local or ray")
        if self.address is not None and self.executor != "ray":
            raise EmbedevalError("--address names a Ray cluster; it needs --executor ray (the local executor would "
                                 "ignore it)")  # fmt: skip


@dataclass
class _Task:
    index: int
    tied: list[Checkpoint]
    untied: list[Checkpoint] | None
    words: list[str]
    cfg: SeriesConfig
    out: str
    extra: dict[str, Any] = field(default_factory=dict)
    reference: list[int] = field(default_factory=list)  # token ids known to be under-trained (from the tokenizer)
    special: list[int] = field(default_factory=list)  # special tokens: never candidates


def _procrustes(a: np.ndarray, b: np.ndarray, rows: np.ndarray) -> float:
    """min over orthogonal R of |A R - B| / |B| over the sampled rows (scale of B)."""
    from scipy.linalg import orthogonal_procrustes

    x, y = a[rows].astype(np.float64), b[rows].astype(np.float64)
    r, _ = orthogonal_procrustes(x, y)
    norm = np.linalg.norm(y)
    return float(np.linalg.norm(x @ r - y) / norm) if norm > 0 else float("nan")


def _row_cos(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    ok = (na > 0) & (nb > 0)
    return float(np.mean((a[ok] * b[ok]).sum(axis=1) / (na[ok] * nb[ok]))) if ok.any() else float("nan")


def _mats_at(task: _Task, i: int, cache: Path) -> tuple[dict[str, np.ndarray], int]:
    mats, read = load_matrices(task.tied[i], cache)
    if task.untied is not None:
        if "S" not in mats:
            raise EmbedevalError(
                f"step {task.tied[i].step}: the tied series' checkpoint is not tied", task.tied[i].source
            )
        other, more = load_matrices(task.untied[i], cache)
        if "U" not in other:
            raise EmbedevalError(f"step {task.untied[i].step}: the --untied series' checkpoint is tied",
                                 task.untied[i].source)  # fmt: skip
        if other["U"].shape != mats["S"].shape:
            a, b = mats["S"].shape, other["U"].shape
            raise EmbedevalError(f"step {task.tied[i].step}: the tied S is {a[0]:,} x {a[1]:,} but the --untied "
                                 f"series' U is {b[0]:,} x {b[1]:,}; the two series must be trained alike",
                                 task.untied[i].source)  # fmt: skip
        mats = {"S": mats["S"], "U": other["U"], "V": other["V"]}
        read += more
    return mats, read


def step_record(task: _Task) -> dict[str, Any]:
    """One step's record (run where the executor puts it; everything it needs is in ``task``). One BLAS and torch
    thread per step, whatever the executor set: sums taken in another order would differ in the last bits, and the
    same series must give the same file on any executor and worker count (the workers are the parallelism)."""
    import sys

    from threadpoolctl import threadpool_limits

    # torch is not imported for this (a worker would spend seconds loading it): a step only touches torch to copy
    # the tensors of a pytorch_model.bin, exact at any thread count; a process that has torch already gets one thread
    torch = sys.modules.get("torch")
    threads = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            return _rounded(_step_record(task))
    finally:
        if torch is not None and threads is not None:
            torch.set_num_threads(threads)


SIGNIFICANT = 12  # digits a record keeps: BLAS kernels chosen by memory alignment differ in the last bits


def _rounded(value: Any) -> Any:
    """Floats to 12 significant digits, recursively: a step computed in another process (whose arrays lie at other
    alignments, so its BLAS sums differ in the 16th digit) writes the same record."""
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, float) and value == value and value not in (float("inf"), float("-inf")):
        return float(f"{value:.{SIGNIFICANT}g}")
    return value


def _step_record(task: _Task) -> dict[str, Any]:
    from embedeval.data.registry import load_benchmarks
    from embedeval.dynamics.buckets import frequency_buckets
    from embedeval.dynamics.metrics import compare_states, knn_queries, pair_probe
    from embedeval.embeddings.ranged import default_cache

    cache = Path(task.cfg.cache) if task.cfg.cache else default_cache()
    i, last = task.index, len(task.tied) - 1
    mats, read = _mats_at(task, i, cache)
    first = mats if i == 0 else _mats_at(task, 0, cache)[0]
    previous = {} if i == 0 else (first if i == 1 else _mats_at(task, i - 1, cache)[0])
    final = mats if i == last else _mats_at(task, last, cache)[0]
    for j, other in ((0, first), (i - 1, previous), (last, final)):
        _same_shape(mats, other, task.tied[i], task.tied[j])
    n = next(iter(mats.values())).shape[0]
    buckets = frequency_buckets(np.ones(n))  # no counts for a checkpoint: one bucket of every token
    probe = pair_probe(task.words, buckets, load_benchmarks(list(task.cfg.benchmarks)))
    queries = knn_queries(buckets, task.cfg.knn_queries, task.cfg.seed)
    record = {"step": task.tied[i].step, **compare_states(mats, previous, first, buckets, probe, queries, task.cfg.k,
                                                         task.cfg.geometry)}  # fmt: skip
    record["score_ci"] = _score_intervals(record["scores"], mats, probe)
    rows = np.sort(np.random.default_rng(task.cfg.seed).choice(n, size=min(n, PROCRUSTES_ROWS), replace=False))
    record["to_last"] = {m: float(np.linalg.norm(mats[m] - final[m])) for m in mats}
    record["row_cos"] = {m: {"first": _row_cos(mats[m], first[m]), "last": _row_cos(mats[m], final[m])} for m in mats}
    record["procrustes"] = {m: {"first": _procrustes(mats[m], first[m], rows), "last": _procrustes(mats[m], final[m], rows)}
                            for m in mats}  # fmt: skip
    if task.reference:
        record["tokens"] = _token_indicators(mats, task)
    record["bytes_read"] = read
    record["source"] = task.tied[i].source
    return record


def _score_intervals(scores: dict[str, dict[str, float]], mats: dict[str, np.ndarray],
                     probe: Any) -> dict[str, dict[str, Any]]:  # fmt: skip
    """Each benchmark's Spearman at this step with its 95% Fisher interval (Bonett & Wright's variance, as ``eval``)
    over the pairs the tokenizer's whole words cover."""
    from embedeval.dynamics.metrics import probe_cosines
    from embedeval.evaluate.stats import fisher_ci

    scored = {role: np.isfinite(probe_cosines(matrix, probe)) for role, matrix in mats.items()}  # once per matrix
    out: dict[str, dict[str, Any]] = {}
    for i, bench in enumerate(probe.benchmarks):
        mask = probe.bench == i
        entry: dict[str, Any] = {}
        for role, finite in scored.items():
            pairs = int(finite[mask].sum())
            entry[role] = {"pairs": pairs, "ci": list(fisher_ci(scores[bench][role], pairs))}
        out[bench] = entry
    return out


def _token_indicators(mats: dict[str, np.ndarray], task: _Task) -> dict[str, dict[str, Any]]:
    """Per matrix, the under-trained-token indicator of methods.md section 13 at this step: how many tokens pass its
    threshold (more suspicious than the median reference token), special tokens left out."""
    from embedeval.embeddings.matrix import ArrayMatrix
    from embedeval.evaluate.tokens import candidates, indicator_scores

    reference = np.asarray(task.reference, dtype=np.int64)
    n = next(iter(mats.values())).shape[0]
    special = np.zeros(n, dtype=bool)
    special[[i for i in task.special if i < n]] = True
    out = {}
    for role, matrix in mats.items():
        found = indicator_scores(role, ArrayMatrix(matrix), reference)
        if found is None:
            continue
        name, score = found
        ids, threshold, _ = candidates(score, reference, exclude=special)
        out[role] = {"indicator": name, "candidates": int(len(ids)), "share": len(ids) / n, "threshold": threshold}
    return out


TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "vocab.txt", "tokenizer.model", "spiece.model")


def _vocabulary(cp: Checkpoint, n: int, cache: Path | None,
                tokenizer: str | None = None) -> tuple[list[str], list[int], list[int]]:  # fmt: skip
    """The whole-word token of each row (empty for other tokens), the reference tokens of the token indicators and
    the special tokens, from the series' tokenizer: ``tokenizer`` when given, else the first checkpoint's (a local
    folder's, or a remote folder's tokenizer.json fetched once into the cache), else the folder holding the
    checkpoints (where a Trainer's ``save_model`` puts it) or the ``model/`` beside that folder (an embedeval
    hf-gpt2 run); without one, no benchmark pair can be found and the scores and token indicators are left out
    (the summary says so: ``words`` 0)."""
    import hashlib

    from embedeval.embeddings.pretrained import Pieces, vocabulary_words
    from embedeval.embeddings.ranged import default_cache, is_url

    folder = Path(tokenizer) if tokenizer else Path(cp.source)
    if not tokenizer and not is_url(cp.source) and folder.is_dir():
        # the checkpoint's own folder, the folder holding the checkpoints (a Trainer's save_model), and the model/
        # beside it (an `embedeval train hf-gpt2` run: RUN/checkpoints/checkpoint-N and RUN/model)
        for place in (folder, folder.parent, folder.parent.parent / "model"):
            if any((place / name).exists() for name in TOKENIZER_FILES):
                folder = place
                break
    if not tokenizer and is_url(cp.source) and not cp.source.endswith((".safetensors", ".gguf")):
        import fsspec

        url = cp.source.rstrip("/") + "/tokenizer.json"
        folder = (cache or default_cache()) / ("tokenizer-" + hashlib.sha256(url.encode()).hexdigest()[:24])
        if not (folder / "tokenizer.json").is_file():
            try:
                fs, _ = fsspec.core.url_to_fs(url)
                data = fs.cat_file(url)
            except Exception:  # noqa: BLE001 - no tokenizer there: the scan goes on without scores
                return [""] * n, [], []
            folder.mkdir(parents=True, exist_ok=True)
            from embedeval.files import atomic_write

            atomic_write(folder / "tokenizer.json", lambda tmp: Path(tmp).write_bytes(data))
    if not folder.is_dir():
        return [""] * n, [], []
    try:
        tok = Pieces(folder)
    except EmbedevalError as err:
        if tokenizer:  # asked for by name: say why it cannot be read rather than scan without scores
            raise EmbedevalError(f"--tokenizer: {err.message}", tokenizer) from None
        return [""] * n, [], []
    words, ids = vocabulary_words(tok, n)
    out = [""] * n
    for w, i in zip(words, ids):
        out[i] = w
    from embedeval.evaluate.tokens import reference_tokens, token_categories

    cats = token_categories(tok, n, None)
    return out, [int(i) for i in reference_tokens(cats, tok, n)], [int(i) for i in np.flatnonzero(cats["special"])]


def scan(series: str | Path, out: str | Path, cfg: SeriesConfig | None = None, untied: str | Path | None = None,
         overwrite: bool = False, progress: Any = None) -> dict[str, Any]:  # fmt: skip
    """Scan a series (and, with ``untied``, pair it with an untied series trained alike, step by step) into ``out``:
    ``steps/STEP.json`` as each finishes, then ``dynamics.jsonl``, ``series.json`` and ``figures/``."""
    from embedeval.files import OutputDir, atomic_write_json, atomic_write_text

    cfg = cfg or SeriesConfig()
    cfg.validate()
    tied = discover(series)
    paired = None
    if untied is not None:
        other = {c.step: c for c in discover(untied)}
        common = [c for c in tied if c.step in other]
        if not common:
            raise EmbedevalError("the two series share no step", untied)
        tied, paired = common, [other[c.step] for c in common]
    from embedeval.data.registry import load_benchmarks

    load_benchmarks(list(cfg.benchmarks))  # a benchmark that is not there is refused before --out is made
    out = Path(out)
    from embedeval.embeddings.ranged import is_url
    from embedeval.files import check_out_folder

    local = [c.source for c in tied + (paired or []) if not is_url(c.source)]
    given = [s for s in (series, untied) if s is not None and Path(s).is_dir()]
    check_out_folder(out, tuple(given + local), replacing=overwrite)  # a checkpoint is an input: never written into
    resume = (out / "series.json").is_file() and not overwrite
    claim = OutputDir(out, "series", overwrite, exist_ok=resume)
    with claim:
        folder = claim.publish()
        first, _ = load_matrices(tied[0], Path(cfg.cache) if cfg.cache else None)
        n = next(iter(first.values())).shape[0]
        words, reference, special = _vocabulary(tied[0], n, Path(cfg.cache) if cfg.cache else None, cfg.tokenizer)
        meta = {"schema": 1, "kind": "series", "series": str(series), "untied": None if untied is None else str(untied),
                "steps": [c.step for c in tied], "sources": [c.source for c in tied],
                "untied_sources": None if paired is None else [c.source for c in paired],
                "roles": sorted(first) if paired is None else ["S", "U", "V"], "rows": n,
                "config": dataclasses.asdict(cfg)}  # fmt: skip
        if resume:
            old = json.loads((folder / "series.json").read_text(encoding="utf-8"))
            if old.get("steps") != meta["steps"] or old.get("sources") != meta["sources"] or \
                    old.get("untied_sources") != meta["untied_sources"]:  # fmt: skip
                raise EmbedevalError("this folder holds a scan of another series; choose another --out or pass "
                                     "--overwrite", folder)  # fmt: skip
            before, now = old.get("config") or {}, meta["config"]
            changed = [k for k in RECORD_SETTINGS if before.get(k, now[k]) != now[k] and
                       not (isinstance(now[k], tuple) and list(now[k]) == before.get(k))]  # fmt: skip
            if changed:
                raise EmbedevalError(f"this folder holds a scan of this series made with other settings ("
                                     f"{', '.join(changed)}); its steps would mix two kinds of record. Choose another "
                                     "--out, or pass --overwrite to scan again", folder)  # fmt: skip
        atomic_write_json(folder / "series.json", meta)
        steps_dir = folder / "steps"
        steps_dir.mkdir(exist_ok=True)
        todo = [i for i, c in enumerate(tied) if not (steps_dir / f"{c.step}.json").is_file()]
        tasks = [_Task(i, tied, paired, words, cfg, str(folder), reference=reference, special=special) for i in todo]
        for record in _run(tasks, cfg):
            atomic_write_json(steps_dir / f"{record['step']}.json", record)
            if progress is not None:
                progress(record)
        records = [json.loads((steps_dir / f"{c.step}.json").read_text(encoding="utf-8")) for c in tied]
        from embedeval.dynamics.records import clean

        atomic_write_text(folder / "dynamics.jsonl", "".join(json.dumps(clean(r)) + "\n" for r in records))
        _figures(folder, records, Path(series).name)
    return {"steps": len(tied), "bytes_read": sum(r.get("bytes_read", 0) for r in records), "out": str(folder),
            "words": sum(1 for w in words if w)}  # fmt: skip


def _run(tasks: list[_Task], cfg: SeriesConfig):
    """The step records, as they finish, on the executor asked for (never a scheduler of our own)."""
    if not tasks:
        return
    if cfg.executor == "ray":
        try:
            import ray
        except ImportError:
            raise EmbedevalError("--executor ray needs Ray: pip install 'embedeval[ray]'") from None
        started = not ray.is_initialized()
        if started:
            ray.init(address=cfg.address, num_cpus=None if cfg.address else cfg.workers, include_dashboard=False,
                     log_to_driver=False)  # fmt: skip
        try:
            remote = ray.remote(num_cpus=1)(step_record)
            pending = [remote.remote(t) for t in tasks]
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                try:
                    record = ray.get(done[0])
                except ray.exceptions.RayTaskError as err:
                    if isinstance(err.cause, EmbedevalError):
                        raise err.cause from None  # the step's own one-line message, not Ray's traceback of it
                    raise
                yield record
        finally:
            if started:
                ray.shutdown()
        return
    if cfg.workers == 1:
        for task in tasks:
            yield step_record(task)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn, not fork: a forked child of a process that already ran torch's thread pool can hang
    with ProcessPoolExecutor(cfg.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for future in as_completed([pool.submit(step_record, t) for t in tasks]):
            yield future.result()


def _figures(folder: Path, records: list[dict[str, Any]], title: str) -> None:
    """Every dynamics figure the records support, as the tracker draws them (PNG and SVG, written atomically)."""
    from embedeval.dynamics.plots import plot_dynamics

    plot_dynamics(folder, folder / "figures", title)


scan_series = scan  # the name the package exports (ee.scan_series)

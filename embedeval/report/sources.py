"""What ``embedeval compare`` reads: run directories, track directories and embedding files, with what each
one is missing said plainly."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embedeval.data.datadir import sha256_file
from embedeval.embeddings.embedding import Embedding
from embedeval.errors import EmbedevalError, one_line
from embedeval.layout import CONFIG, DYNAMICS, EMBEDDINGS, METRICS, SUMMARY, TRACK
from embedeval.rundir import checked_summary, read_metrics, read_run_file
from embedeval.trainers import model_name

_HASH_LIMIT = 256 << 20  # larger embedding files are not hashed (say so instead of waiting minutes)


@dataclass
class RunInfo:
    """One training run directory: its configuration, status and learning curve."""

    name: str
    path: str
    trainer: str | None
    model: str
    status: str  # complete | incomplete | unknown
    problems: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    corpus: dict[str, Any] = field(default_factory=dict)
    command: str | None = None
    created: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    embeddings: list[str] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)  # role (input, output, tied, sum) -> embedding name
    track: str | None = None
    side: str | None = None  # "untied" or "tied" within a track directory

    @property
    def spec(self) -> Any:
        """The registered family of this run (None for a trainer this version does not know)."""
        from embedeval import trainers

        return trainers.find(self.trainer)

    @property
    def is_lm(self) -> bool:
        return self.spec is not None and self.spec.language_model

    @property
    def is_translation(self) -> bool:
        return self.spec is not None and self.spec.translation


@dataclass
class TrackInfo:
    """A dynamics record: a tied/untied pair (``embedeval track``) or one tracked run (``train --track``)."""

    name: str
    path: str
    trainer: str | None
    records: list[dict[str, Any]]
    meta: dict[str, Any]


@dataclass
class FileInfo:
    name: str
    path: str
    sha256: str | None
    size: int
    embeddings: list[str]


@dataclass
class Sources:
    embeddings: list[Embedding] = field(default_factory=list)
    groups: dict[str, list[str]] = field(default_factory=dict)  # model (run or file) -> its embedding names
    runs: list[RunInfo] = field(default_factory=list)
    tracks: list[TrackInfo] = field(default_factory=list)
    files: list[FileInfo] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    models: list[dict[str, Any]] = field(default_factory=list)  # pretrained models' cards


def _describe_incomplete(summary: dict[str, Any], config: dict[str, Any]) -> str:
    epochs = config.get("epochs")
    if "error" in summary:
        return f"stopped with an error: {summary['error']}"
    if "interrupted" in summary:
        where = f" at epoch {summary.get('epoch', '?')}" + (f" of {epochs}" if epochs else "")
        return f"interrupted ({summary['interrupted']}){where}"
    return "training has not finished" + (f" ({epochs} epochs planned)" if epochs else "")


def read_run(
    path: Path, name: str, track: str | None = None, side: str | None = None
) -> tuple[RunInfo, list[Embedding]]:
    """A run directory and its embeddings; an incomplete run is kept, with what it lacks in ``problems``."""
    from embedeval.embeddings.runs import load_run_embeddings

    cfg_file = read_run_file(path / CONFIG)
    summary, problems = checked_summary(read_run_file(path / SUMMARY) or {}, path / SUMMARY)
    if cfg_file is None:
        problems.append("no config.json: its configuration and command line are unknown")
        cfg_file = {}
    config = cfg_file.get("config", {})
    trainer = cfg_file.get("trainer")
    status = summary.get("status", "unknown")
    history, damaged = read_metrics(path / METRICS)
    problems += damaged
    if status == "incomplete":
        from embedeval.files import writer_pid

        done, pid = len(history), writer_pid(path)
        if pid is not None:  # a resume now would be refused: the folder is claimed
            problems.append(
                f"still training ({'process ' + str(pid) if pid > 0 else 'another process'} is training it now); "
                f"{done} epoch(s) finished, so its embeddings are from the last checkpoint and it has no test "
                "perplexity yet: score it again when it has finished"
            )
        else:
            problems.append(
                f"incomplete: {_describe_incomplete(summary, config)}; {done} epoch(s) finished, so its embeddings "
                "are from the last checkpoint and it has no test perplexity (continue it with 'embedeval train ... "
                "--resume')"
            )
    elif status == "unknown":
        problems.append("no summary.json: whether training finished is unknown")
    if not (path / "embeddings").is_dir() or not any((path / "embeddings").glob("*.npz")):
        raise EmbedevalError(
            "run directory has no embeddings/*.npz: training never reached its first checkpoint "
            f"(status {status}); train it further or leave it out",
            path,
        )
    embs = [e for e in load_run_embeddings(path) if e.role != "projection"]
    for emb in embs:
        emb.name = f"{name}:{emb.role or emb.name.rsplit(':', 1)[-1]}"
    info = RunInfo(
        name=name,
        path=str(path),
        trainer=trainer,
        model=model_name(trainer, config),
        status=status,
        problems=problems,
        config=config,
        corpus=cfg_file.get("corpus", {}),
        command=cfg_file.get("command"),
        created=cfg_file.get("created"),
        versions=cfg_file.get("versions", {}),
        summary={k: v for k, v in summary.items() if k != "config"},
        history=history,
        embeddings=[e.name for e in embs],
        roles={e.role: e.name for e in embs if e.role},
        track=track,
        side=side,
    )
    return info, embs


def _read_track(path: Path, name: str) -> TrackInfo | None:
    from embedeval.dynamics.records import read_dynamics

    file = path / DYNAMICS
    if not file.is_file():
        return None
    records = read_dynamics(file)
    meta = read_run_file(path / TRACK, "track file") or {}
    return TrackInfo(name, str(path), meta.get("trainer"), records, meta)


def is_track_dir(path: Path) -> bool:
    return (path / TRACK).is_file() and (path / "untied").is_dir() and (path / "tied").is_dir()


def is_run_dir(path: Path) -> bool:
    return (path / CONFIG).is_file() or (path / EMBEDDINGS).is_dir() or (path / SUMMARY).is_file()


def collect(
    paths: list[str | Path | Embedding],
    fmt: str | None = None,
    add_sum: bool = True,
    words: list[str] | None = None,
    pieces: str = "single",
    vocabulary: bool = False,
    revision: str | None = None,
    cache: bool | None = None,
) -> Sources:
    """Read every input (:func:`embedeval.embeddings.readers.identify` says what each is): a track directory gives
    its two runs and its dynamics, a run its embeddings and history, a pretrained model (folder, GGUF file, cached hub
    id) its card and its U and V (or tied S) over ``words`` under the ``pieces`` policy (with ``vocabulary``, or
    without ``words``, its vocabulary's one-token words first), a file its embeddings. ``pieces="mean"`` also
    averages a translation run's multi-piece words."""
    from embedeval.embeddings.readers import identify

    src = Sources()
    seen: set[Path] = set()
    for raw in paths:
        if isinstance(raw, Embedding):  # an embedding already in memory (the API, the built-in example)
            src.embeddings.append(raw)
            src.groups.setdefault(raw.run or raw.name, []).append(raw.name)
            continue
        found = identify(raw, revision)
        path = found.path
        if path.resolve() in seen:
            src.warnings.append(f"{found.given} was given twice; read once")
            continue
        seen.add(path.resolve())
        kind = found.reader.kind
        if kind == "track":
            track = _read_track(path, found.name)
            for side in ("untied", "tied"):
                info, embs = read_run(path / side, f"{found.name}/{side}", track=found.name, side=side)
                _add_run(src, info, _averaged(embs, words, pieces), add_sum)
            if track is not None:
                src.tracks.append(track)
        elif kind == "run":
            # a run of a track is named after the track too: two tracks' untied runs must not share a name
            name = f"{one_line(path.parent.name)}/{found.name}" if is_track_dir(path.parent) else found.name
            info, embs = read_run(path, name)
            _add_run(src, info, _averaged(embs, words, pieces), add_sum)
            track = _read_track(path, found.name)
            if track is not None:
                src.tracks.append(track)
        else:
            embs = found.reader.load_words(path, words, pieces, fmt, cache, vocabulary)
            if any("pretrained" in e.meta for e in embs):  # a pretrained model: its card, and U and V (or S)
                for emb in embs:
                    emb.name = f"{found.name}:{emb.role}"
                card = {**embs[0].meta["pretrained"], "name": found.name}
                if found.name != path.name:
                    card["hub_id"] = found.given
                group = _unused(src, found.name, path)
                if group != found.name:
                    for emb in embs:
                        emb.name = f"{group}:{emb.role}"
                card["name"] = group
                src.models.append(card)
                src.warnings.extend(f"{group}: {note}" for note in card["notes"])
            else:
                group = _unused(src, found.name, path)
                for emb in embs:
                    emb.name = f"{group}:{emb.role}" if len(embs) > 1 and emb.role else group
                size = path.stat().st_size
                digest = sha256_file(path) if size <= _HASH_LIMIT else None
                src.files.append(FileInfo(group, str(path), digest, size, [e.name for e in embs]))
            src.embeddings.extend(embs)
            src.groups[group] = [e.name for e in embs]
            for emb in embs:
                if "no_output" in emb.meta:
                    src.warnings.append(f"{found.given}: no output embedding ({emb.meta['no_output']})")
            if add_sum:
                _add_sum(src, group, embs)
    for run in src.runs:
        src.warnings.extend(f"run {run.name}: {p}" for p in run.problems)
    if src.runs and src.files:
        src.warnings.append(
            f"mixing {len(src.runs)} run(s) and {len(src.files)} embedding file(s): the files have no training "
            "provenance, and perplexity exists only for the LM runs"
        )
    return src


def _unused(src: Sources, name: str, path: Path) -> str:
    """``name``, or, when another input already took it (``a/vec.txt`` and ``b/vec.txt``), its folder too, then a
    number: every embedding keeps a name of its own."""
    if name not in src.groups:
        return name
    longer = f"{path.parent.name}/{name}"
    k = 2
    candidate = longer
    while candidate in src.groups:
        candidate = f"{longer} ({k})"
        k += 1
    return candidate


def _averaged(embs: list[Embedding], words: list[str] | None, pieces: str) -> list[Embedding]:
    """A translation run's word view with the multi-piece ``words`` added as the mean of their pieces (``--pieces
    mean``); any other run as it is."""
    if pieces != "mean" or not words:
        return embs
    from embedeval.embeddings.runs import average_pieces
    from embedeval.layout import SUBWORDS

    return [average_pieces(e, words) if e.run and (Path(e.run) / SUBWORDS / f"{e.role}.npz").is_file() else e
            for e in embs]  # fmt: skip


def _add_run(src: Sources, info: RunInfo, embs: list[Embedding], add_sum: bool) -> None:
    src.runs.append(info)
    src.embeddings.extend(embs)
    src.groups[info.name] = [e.name for e in embs]
    if add_sum:
        _add_sum(src, info.name, embs)


def _add_sum(src: Sources, group: str, embs: list[Embedding]) -> None:
    from embedeval.embeddings import input_plus_output

    total = input_plus_output(embs, f"{group}:sum")
    if total is not None:
        src.embeddings.append(total)
        src.groups[group].append(total.name)

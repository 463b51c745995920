"""Every data file embedeval knows (corpora, translation pairs, benchmarks, analogy sets): where it goes in the data
directory, its sha256, and where to get it. ``embedeval data`` lists them, checks them and fetches them.

Fetching downloads from an address (the entry's own, or ``--url`` for a mirror) into the data directory with HTTP
range requests, so an interrupted download continues where it stopped; an archive (``.zip``, ``.tar.gz``,
``.tgz``) is opened and the entry's member taken out; the file is checked against its sha256 before it takes its
place, and a file that does not match is left aside (``NAME.mismatch``) with both checksums named. Several of the
benchmark files embedeval checks are a cleaned form of the original release (a stray line removed, a uniform
layout); for those the original download cannot match, and the entry says so (``note``).
"""

from __future__ import annotations

import os
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from embedeval.data.datadir import sha256_file
from embedeval.errors import EmbedevalError


@dataclass(frozen=True)
class DataFile:
    name: str  # what `embedeval data fetch NAME` takes: the corpus / benchmark name, with the split for a corpus
    relpath: str  # inside the data directory
    sha256: str
    kind: str  # corpus | parallel | similarity | analogy
    url: str = ""  # where the original is distributed ("" when no single source is known)
    member: str = ""  # the file's path inside the archive at ``url``
    note: str = ""  # what to know before fetching


PTB_URL = "http://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz"
WIKITEXT_URL = "https://wikitext.smerity.com/wikitext-2-v1.zip"
MULTI30K_URL = "https://raw.githubusercontent.com/multi30k/dataset/master/data/task1/raw/"


def catalogue() -> list[DataFile]:
    """Every known file, from the registries that read them (one list, so it cannot drift from them)."""
    from embedeval.data.corpus import KNOWN_CORPORA
    from embedeval.data.parallel import MULTI30K, MULTI30K_SHA256
    from embedeval.data.registry import SPECS

    files = []
    for corpus, splits in KNOWN_CORPORA.items():
        for split, (rel, digest) in splits.items():
            if corpus == "ptb":
                url, member = PTB_URL, f"./simple-examples/data/ptb.{split}.txt"
            else:
                url, member = WIKITEXT_URL, f"wikitext-2/wiki.{split}.tokens"
            files.append(DataFile(f"{corpus}:{split}", rel, digest, "corpus", url, member))
    for stem, digest in MULTI30K_SHA256.items():
        files.append(DataFile(f"{MULTI30K}:{stem}", f"parallel/{MULTI30K}/{stem}.gz", digest, "parallel",
                              MULTI30K_URL + f"{stem}.gz"))  # fmt: skip
    for spec in SPECS:
        if spec.bundled:
            continue
        files.append(DataFile(spec.name, spec.relpath, spec.sha256, spec.kind, "", "",
                              "the file embedeval checks may be a cleaned copy of the original release (see the "
                              "benchmark's citation); fetch it with --url from a copy you trust"))  # fmt: skip
    return files


def find(name: str) -> list[DataFile]:
    """The entries ``name`` means: one file (``ptb:train``), or every file of a corpus or set (``ptb``)."""
    files = catalogue()
    exact = [f for f in files if f.name == name]
    if exact:
        return exact
    group = [f for f in files if f.name.split(":")[0] == name]
    if group:
        return group
    raise EmbedevalError(f"unknown data {name!r}; known: {', '.join(sorted({f.name.split(':')[0] for f in files}))}")


def status(entry: DataFile, root: Path, check: bool = True) -> str:
    """ok, missing, mismatch (with ``check``: the sha256 read and compared), or present (without)."""
    path = root / entry.relpath
    if not path.is_file():
        return "missing"
    if not check:
        return "present"
    return "ok" if sha256_file(path) == entry.sha256 else "mismatch"


def fetch(entry: DataFile, root: Path, url: str | None = None, progress=None) -> Path:
    """Download ``entry`` into ``root`` (continuing a partial download), take its member out of an archive, check
    its sha256, and only then put it in place."""
    source = url or entry.url
    if not source:
        raise EmbedevalError(f"{entry.name}: no address is known for it ({entry.note}); pass --url with one")
    target = root / entry.relpath
    target.parent.mkdir(parents=True, exist_ok=True)
    download = root / ".downloads" / (Path(source.split("?")[0]).name or entry.name)
    download.parent.mkdir(parents=True, exist_ok=True)
    _download(source, download, progress)
    member = entry.member if (url is None or _is_archive(source)) else ""
    data = _extract(download, member) if member or _is_archive(source) else download.read_bytes()
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    found = sha256_file(tmp)
    if found != entry.sha256:
        aside = target.with_name(target.name + ".mismatch")
        os.replace(tmp, aside)
        raise EmbedevalError(f"{entry.name}: the download's sha256 is {found}, not the known {entry.sha256}; it is "
                             f"left at {aside.name} and nothing was replaced" + (f" ({entry.note})" if entry.note else ""),
                             source)  # fmt: skip
    os.replace(tmp, target)
    return target


def _is_archive(source: str) -> bool:
    return source.split("?")[0].endswith((".zip", ".tar.gz", ".tgz"))


def _extract(archive: Path, member: str) -> bytes:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            names = z.namelist()
            name = member if member in names else next((n for n in names if n.endswith(member.lstrip("./"))), None)
            if name is None:
                raise EmbedevalError(f"the archive has no {member}", archive)
            return z.read(name)
    try:
        with tarfile.open(archive) as t:
            for info in t.getmembers():
                if info.isfile() and (info.name == member or info.name.endswith(member.lstrip("./"))):
                    handle = t.extractfile(info)
                    return handle.read() if handle else b""
    except tarfile.TarError as err:
        raise EmbedevalError(f"not a readable archive ({err})", archive) from None
    raise EmbedevalError(f"the archive has no {member}", archive)


def _download(source: str, target: Path, progress=None) -> None:
    """``source`` into ``target``, continuing from a ``.part`` file with a range request."""
    import http.client
    import urllib.error
    import urllib.request

    part = target.with_name(target.name + ".part")
    if target.is_file() and not part.exists():
        return  # downloaded earlier (the sha256 check of the extracted file decides whether it is the right one)
    have = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(source, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - the user's or the catalogue's URL
            if have and response.status != 206:
                have = 0  # the server ignored the range: start again
            with open(part, "ab" if have else "wb") as handle:
                while block := response.read(1 << 20):
                    handle.write(block)
                    if progress is not None:
                        progress(len(block))
            if response.length:  # the connection ended before the bytes the server announced
                raise EmbedevalError(f"the download stopped {response.length:,} bytes short; the partial download is "
                                     "kept and the same command continues it", source)  # fmt: skip
    except urllib.error.HTTPError as err:
        if err.code == 416 and have:  # the range starts at the end: the .part is whole
            os.replace(part, target)
            return
        raise EmbedevalError(f"the server answered {err.code} ({err.reason})", source) from None
    except (urllib.error.URLError, OSError, TimeoutError, http.client.HTTPException) as err:
        reason = getattr(err, "reason", err)
        raise EmbedevalError(f"cannot download ({reason}); offline? The partial download is kept and the same command "
                             "continues it", source) from None  # fmt: skip
    os.replace(part, target)


__all__ = ["DataFile", "catalogue", "fetch", "find", "status"]

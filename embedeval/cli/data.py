"""``embedeval data``: what the data directory holds, checked by sha256, and fetching what is missing."""

from __future__ import annotations

import click

from embedeval.cli.console import console, err_console
from embedeval.cli.options import DATA_DIR_OPTION
from embedeval.errors import EmbedevalError, markup_safe


def _root(data_dir):
    from embedeval.data.datadir import data_dir as resolve

    root = resolve(data_dir, required=True)
    return root


@click.group("data", invoke_without_command=True)
@DATA_DIR_OPTION
@click.pass_context
def data_group(ctx, data_dir: str | None) -> None:
    """The data directory ($EMBEDEVAL_DATA or --data-dir): list what is present and missing (`embedeval data list`,
    the default), check every file's sha256 (`verify`), and download a missing one (`fetch NAME`)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_cmd, data_dir=data_dir)
    elif data_dir is not None:
        ctx.default_map = {name: {"data_dir": data_dir} for name in ("list", "verify", "fetch")}


@data_group.command("list")
@click.option("--verify/--no-verify", default=False, help="Also read every present file and check its sha256.")
@DATA_DIR_OPTION
def list_cmd(verify: bool = False, data_dir: str | None = None) -> None:
    """Every file embedeval knows: where it goes, whether it is there (and with --verify, whether it is the known
    file), and where it comes from."""
    from rich.table import Table

    from embedeval.data.catalogue import catalogue, status
    from embedeval.data.datadir import data_dir as resolve

    root = resolve(data_dir)
    table = Table(title=f"Data directory: {markup_safe(root) if root else 'not set (EMBEDEVAL_DATA, --data-dir)'}",
                  title_justify="left")  # fmt: skip
    for column in ("name", "kind", "path", "status", "source"):
        table.add_column(column, overflow="fold")
    colour = {"ok": "green", "present": "green", "missing": "yellow", "mismatch": "red", "no data dir": "yellow"}
    for entry in catalogue():
        state = status(entry, root, verify) if root else "no data dir"
        table.add_row(entry.name, entry.kind, entry.relpath, f"[{colour[state]}]{state}[/]",
                      markup_safe(entry.url or "see the citation (--url to fetch)"))  # fmt: skip
    console.print(table)


@data_group.command("verify")
@DATA_DIR_OPTION
def verify_cmd(data_dir: str | None) -> None:
    """Check the sha256 of every known file present; exit 1 when one differs."""
    from embedeval.data.catalogue import catalogue, status

    root = _root(data_dir)
    bad = []
    for entry in catalogue():
        state = status(entry, root)
        if state == "mismatch":
            bad.append(entry)
            err_console.print(f"[red]mismatch[/]: {markup_safe(root / entry.relpath)} (expected sha256 {entry.sha256})")
    found = sum(1 for e in catalogue() if (root / e.relpath).is_file())
    console.print(f"{found} known files present, {len(bad)} differ from the known release")
    if bad:
        raise SystemExit(1)


@data_group.command("fetch")
@click.argument("name")
@click.option("--url", default=None, help="Download from this address instead (a mirror, or a copy you trust).")
@DATA_DIR_OPTION
def fetch_cmd(name: str, url: str | None, data_dir: str | None) -> None:
    """Download NAME (a corpus such as ptb or wikitext-2, one of its splits as ptb:train, multi30k, a benchmark)
    into the data directory: resumed if interrupted, checked by sha256 before it takes its place."""
    from embedeval.data.catalogue import fetch, find, status

    root = _root(data_dir)
    entries = find(name)
    if url and len(entries) > 1:
        raise EmbedevalError(f"--url names one file, and {name} is {len(entries)}: fetch them one by one "
                             f"({', '.join(e.name for e in entries)})")  # fmt: skip
    for entry in entries:
        if status(entry, root) == "ok":
            console.print(f"{entry.name}: already there and checked")
            continue
        with err_console.status(f"fetching {entry.name}..."):
            path = fetch(entry, root, url)
        console.print(f"{entry.name}: {markup_safe(path)} (sha256 checked)")

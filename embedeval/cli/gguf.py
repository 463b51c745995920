"""``embedeval gguf``: write a model's (or a run's) U and V as a GGUF file, quantised as llama.cpp stores them."""

from __future__ import annotations

import click

from embedeval.cli.console import err_console
from embedeval.embeddings.gguf_export import WRITABLE
from embedeval.errors import markup_safe


@click.command("gguf")
@click.argument("source", type=click.Path(exists=True, file_okay=False))
@click.option("--type", "qtype", type=click.Choice(WRITABLE), default="F32", show_default=True,
              help="The GGML type of both matrices (the quantised ones need a width that is a multiple of 32).")  # fmt: skip
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="The .gguf file to write.")
@click.option("--overwrite", is_flag=True, help="Replace --out when it is a GGUF file.")
def gguf_cmd(source, qtype, out, overwrite) -> None:
    """Write SOURCE's U (token_embd.weight) and V (output.weight; none when tied) as a GGUF file of --type, with its
    vocabulary: a model folder with a byte-level BPE tokenizer.json, or an embedeval run. What a quantisation does
    to them is then `embedeval compare SOURCE OUT.gguf ...` (the quantisation task)."""
    from pathlib import Path

    from embedeval.embeddings.gguf_export import gguf_from_source
    from embedeval.embeddings.gguf_model import is_gguf
    from embedeval.errors import EmbedevalError

    target = Path(out)
    if target.suffix != ".gguf":
        raise EmbedevalError("--out must end in .gguf", target)
    if target.exists() and not target.is_file():
        raise EmbedevalError("--out is not a regular file (a folder, FIFO or device); name a .gguf file", target)
    if target.exists() and not (overwrite and is_gguf(target)):
        if overwrite:
            raise EmbedevalError("--out exists and is not a GGUF file; --overwrite replaces only a GGUF file", target)
        raise EmbedevalError("--out exists; pass --overwrite to replace it (only a GGUF file is replaced)", target)
    if Path(source).resolve() in target.resolve().parents:
        raise EmbedevalError("--out is inside the model folder SOURCE: nothing is ever written into an input", target)
    written = gguf_from_source(source, target, qtype)
    err_console.print(
        f"wrote {markup_safe(written)} ({qtype}, {written.stat().st_size / 2**20:.1f} MB)", highlight=False
    )

"""``embedeval series``: the tied matrix over training for a model that saved checkpoints (the command-line face of
:mod:`embedeval.dynamics.series`)."""

from __future__ import annotations

import click

from embedeval.cli.console import console, err_console
from embedeval.cli.options import BENCHMARK_OPTION, DATA_DIR_OPTION
from embedeval.cli.types import number
from embedeval.errors import markup_safe
from embedeval.ranges import Range


@click.command("series")
@click.argument("series", metavar="SERIES")
@click.option("--untied", default=None, metavar="SERIES", help="An untied series trained alike: pairs each step's "
              "tied S with its U and V (P&W's Table-3 correlations over training).")  # fmt: skip
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder to write (resumed if it holds "
              "an earlier scan of the same series).")  # fmt: skip
@click.option("--overwrite", is_flag=True, help="Replace --out when it is a series folder embedeval wrote.")
@BENCHMARK_OPTION
@click.option("--workers", type=number(Range(int, 1, 1_024)), default=1, show_default=True,
              help="Steps scanned at a time (one process each; with --executor ray, CPUs of a local Ray).")  # fmt: skip
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="local processes, or Ray (pip install 'embedeval[ray]'; --address joins a cluster).")  # fmt: skip
@click.option("--address", default=None, help="Ray: the address of a running cluster (ray start --head ...).")
@click.option("--geometry", is_flag=True, help="Also the whole matrix's shape at every step (costly at real sizes).")
@click.option("--seed", type=number(Range(int, 0, 2**32 - 1)), default=0, show_default=True,
              help="Seed of the sampled k-NN queries and Procrustes rows.")  # fmt: skip
@click.option("--tokenizer", type=click.Path(exists=True, file_okay=False), default=None,
              help="A folder with the series' tokenizer, when its checkpoints hold none (default: the first "
              "checkpoint's, else the folder holding the checkpoints).")  # fmt: skip
@DATA_DIR_OPTION
def series_cmd(
    series, untied, out, overwrite, benchmarks, workers, executor, address, geometry, seed, tokenizer, data_dir
) -> None:
    """Scan SERIES, checkpoints saved over training, reading only U and V of each: a folder of checkpoint-N/
    (Hugging Face's Trainer) or a list file of 'STEP SOURCE' lines, a source being a checkpoint folder, a
    .safetensors or GGUF file, or a URL (https://, hf://; read by byte ranges, cached, resumed).

    \b
    Per step, into OUT/dynamics.jsonl (the tracker's schema) and OUT/figures: drift from the first step and to the
    last, row cosines and Procrustes distance to both, Table-3 correlation, CKA and 10-NN overlap between the
    matrices (U~V, or with --untied S~U and S~V), update alignment, benchmark scores.

    \b
    Examples:
      embedeval series trainer-out/ --out scans/mine
      embedeval series tied-run/ --untied untied-run/ --out scans/pair --workers 2
      embedeval series pythia-160m.txt --out scans/pythia --executor ray --address auto
    """
    import os

    from embedeval.dynamics.series import SeriesConfig, scan

    if data_dir:
        os.environ["EMBEDEVAL_DATA"] = data_dir  # the workers read the benchmarks too
    cfg = SeriesConfig(benchmarks=tuple(benchmarks) or SeriesConfig.benchmarks, workers=workers, executor=executor,
                       address=address, geometry=geometry, seed=seed, tokenizer=tokenizer)  # fmt: skip

    def progress(record: dict) -> None:
        err_console.print(
            f"step {record['step']:,}: {record.get('bytes_read', 0) / 2**20:,.1f} MB read", highlight=False
        )

    summary = scan(series, out, cfg, untied=untied, overwrite=overwrite, progress=progress)
    console.print(f"{summary['steps']} steps, {summary['bytes_read'] / 2**20:,.1f} MB read -> "
                  f"{markup_safe(summary['out'])} (dynamics.jsonl, figures/)")  # fmt: skip
    if not summary["words"]:
        err_console.print("note: no tokenizer was found beside the checkpoints, so the records have no benchmark "
                          "scores, Table-3 correlations or token indicators; pass --tokenizer FOLDER (a folder with "
                          "tokenizer.json) to have them", highlight=False)  # fmt: skip

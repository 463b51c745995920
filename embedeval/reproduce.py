"""Paper tables as lists of runs: which runs a table needs, where each lives, how far it got, and the table itself
(mean +- sd over seeds beside the paper's numbers) once they are done.

``embedeval reproduce TABLE`` runs or resumes every run (the CLI starts ``embedeval train`` processes, ``--jobs`` at
a time, one thread each) and then prints and writes the table. Run directories are the ordinary ones, so
``embedeval compare`` reads them too.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embedeval.errors import EmbedevalError
from embedeval.files import FolderLock, atomic_write_json, atomic_write_text, writer_pid
from embedeval.layout import CHECKPOINT, SUMMARY
from embedeval.rundir import checked_summary, read_run_file


@dataclass(frozen=True)
class Run:
    """One training run of a table: its folder and the ``embedeval`` arguments that train it."""

    label: str  # the row (a variant)
    seed: int
    folder: str  # under the runs directory
    args: tuple[str, ...]  # embedeval arguments, without --out / --resume / --overwrite; {runs}: the runs directory
    after: tuple[str, ...] = ()  # folders of runs that must have finished first (a fine-tuning run's pretraining)

    def state(self, runs_dir: Path) -> str:
        """complete, running (another process trains it now), incomplete (resumable), failed (stopped with an
        error), or absent."""
        if writer_pid(runs_dir / self.folder) is not None:
            return "running"
        summary = runs_dir / self.folder / SUMMARY
        if not summary.is_file():
            return "absent"
        try:
            data = read_run_file(summary, "summary.json")
        except EmbedevalError:
            return "failed"
        if data.get("status") == "complete":
            return "complete" if not checked_summary(data, summary)[1] else "failed"
        if "error" in data:
            return "failed"
        return "incomplete" if (runs_dir / self.folder / CHECKPOINT).is_file() else "absent"

    def mismatch(self, runs_dir: Path) -> str | None:
        """Why the finished run in this folder is not this row's run for this seed (its config.json says another
        variant, seed, corpus or setting), or None: a folder copied over another must not count as that seed."""
        from embedeval.layout import CONFIG

        try:
            stored = read_run_file(runs_dir / self.folder / CONFIG, "config.json") or {}
        except EmbedevalError as err:
            return str(err)
        config = stored.get("config") if isinstance(stored.get("config"), dict) else {}
        corpus = (stored.get("corpus") or {}).get("name") if isinstance(stored.get("corpus"), dict) else None
        wanted = _expected(self.args)
        found = {"seed": config.get("seed"), "corpus": corpus, **{k: _stored(config, k) for k in wanted if k not in
                 ("seed", "corpus")}}  # fmt: skip
        wrong = [f"{k} {found.get(k)!r} (the row needs {v!r})" for k, v in wanted.items() if found.get(k) != v]
        return "; ".join(wrong) or None

    def check(self, runs_dir: Path) -> None:
        """Refuse a finished run whose config is not this row's and seed's (a folder copied or renamed)."""
        wrong = self.mismatch(runs_dir)
        if wrong:
            raise EmbedevalError(f"row {self.label}, seed {self.seed}: the run in {self.folder} is not this row's run "
                                 f"for this seed ({wrong}); a folder copied or renamed? Put the right run there",
                                 runs_dir / self.folder)  # fmt: skip

    def command(self, runs_dir: Path) -> list[str]:
        out = str(runs_dir / self.folder)
        state = self.state(runs_dir)
        args = [a.replace("{runs}", str(runs_dir)) for a in self.args]
        return [*args, "--out", out, *(["--resume"] if state == "incomplete" else ["--overwrite"])]


# a table's command-line options -> (config field, how its value is stored)
_CHECKED = {"--seed": ("seed", int), "--variant": ("variant", str), "--corpus": ("corpus", str), "--tie": ("tie", str),
            "--train-fraction": ("train_fraction", float), "--lstm-bias": ("arch_options.bias", str),
            "--bilm-softmax": ("arch_options.softmax", str), "--backend": ("backend", str), "--arch": ("arch", str),
            "--loss-chunk": ("loss_chunk", int), "--vocab-from": ("vocab_from", str),
            "--normalise": ("normalise", str), "--plant-tokens": ("planted_tokens", int),
            "--epochs": ("epochs", int), "--dropout-kernel": ("dropout_kernel", int),
            "--optimizer-kernel": ("optimizer_kernel", int)}  # fmt: skip


def _expected(args: tuple[str, ...]) -> dict[str, Any]:
    """What a run's config.json must say, read from the arguments that train it."""
    out: dict[str, Any] = {}
    for flag, value in zip(args, args[1:]):
        if flag in _CHECKED:
            key, kind = _CHECKED[flag]
            out[key] = kind(value)
    if "--pr-bias" in args:
        out["pr_bias"] = True
    if "--no-pr-bias" in args:
        out["pr_bias"] = False
    if "--tie" in args and "--backend" in args:  # skip-gram's --tie is a flag
        out["tie"] = True
    return out


def _stored(config: dict[str, Any], key: str) -> Any:
    if key.startswith("arch_options."):
        options = config.get("arch_options") if isinstance(config.get("arch_options"), dict) else {}
        name = key.split(".", 1)[1]
        return options.get(name, "torch" if name == "bias" else None)  # runs from before the bias option: torch's
    value = config.get(key)
    if key == "train_fraction" and value is None:
        return 1.0
    if key == "loss_chunk" and value is None:
        return 0  # runs from before the fused loss: the unfused one
    if key in ("dropout_kernel", "optimizer_kernel") and value is None:
        return 1  # runs from before the option: PyTorch's dropout and AdamW loop
    return value


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    rows: tuple[str, ...]
    paper: dict[str, tuple[float, float]]  # row -> (valid, test) as published
    source: str
    build: Any = field(repr=False, default=None)  # (row, seed) -> Run
    metric: str = "perplexity"  # what valid / test hold: perplexity (lower is better) or BLEU (higher)
    keys: tuple[str, str] = ("valid_ppl", "test_ppl")  # where summary.json holds them
    contrasts: tuple[tuple[str, str], ...] = ()  # (A, B): is B's test score different from A's, or equal?
    margin: float = 1.0  # of the equivalence test, in the metric's units
    by_row: bool = False  # train row by row (every seed of the first row first): rows ordered cheapest first
    out: str = "reports/press-wolf"  # where reproduce writes TABLE.md and TABLE.json unless --out says otherwise

    def runs(self, seeds: tuple[int, ...]) -> list[Run]:
        if self.by_row:
            return [self.build(row, seed) for row in self.rows for seed in seeds]
        return [self.build(row, seed) for seed in seeds for row in self.rows]


# The committed LM runs were trained with PyTorch's unfused cross-entropy; the fused one (the default since) agrees
# only to float32 rounding, so a table's runs keep the unfused loss and a re-run gives the committed numbers
UNFUSED = ("--loss-chunk", "0")
# and the committed Transformer runs drew their dropout masks with PyTorch's dropout and stepped with its AdamW loop
# (kernel 1 of each; the LSTMs' dropout is always PyTorch's, and they train with SGD)
TORCH_KERNELS = ("--dropout-kernel", "1", "--optimizer-kernel", "1")


def _pw_small(row: str, seed: int) -> Run:
    """A row is a variant; the projection rows train P with its bias, as Press & Wolf's published code does, and
    ``-nobias`` rows are the ablation without it."""
    variant = row.removesuffix("-nobias")
    bias = (("--no-pr-bias",) if row.endswith("-nobias") else ("--pr-bias",)) if variant in ("pr", "wt+pr") else ()
    args = ("train", "lm", "--corpus", "ptb", "--config", "pw-small", "--variant", variant, *bias, "--seed", str(seed))
    return Run(row, seed, f"ptb-pw-small-{row}-s{seed}", (*args, *UNFUSED, "--threads", "1"))


def _pw_small_claims(row: str, seed: int) -> Run:
    """The tying-claims runs of pw-small: a row is VARIANT with ``-fNN`` (trained on the first NN% of PTB's training
    tokens) and/or ``-tfbias`` (TensorFlow's one LSTM bias, initialised to 0); a plain VARIANT is Table 6's own run
    (the same folder, so a runs directory holding Table 6 serves both)."""
    parts = row.split("-")
    variant, extra = parts[0], []
    for part in parts[1:]:
        if part.startswith("f") and part[1:].isdigit():
            extra += ["--train-fraction", str(int(part[1:]) / 100)]
        elif part == "tfbias":
            extra += ["--lstm-bias", "tf"]
        else:
            raise EmbedevalError(f"internal: unknown row part {part!r} in {row!r}")
    if variant in ("pr", "wt+pr"):
        extra.append("--pr-bias")
    args = ("train", "lm", "--corpus", "ptb", "--config", "pw-small", "--variant", variant, *extra, "--seed", str(seed))
    return Run(row, seed, f"ptb-pw-small-{row}-s{seed}", (*args, *UNFUSED, "--threads", "1"))


def _transfer(row: str, seed: int) -> Run:
    """A row is VARIANT-pretrain (pw-small on WikiText-2 read with PTB's vocabulary) or VARIANT-finetune (that run
    trained again on the first 10% of PTB, optimiser and schedule afresh); from scratch is tying-data-size's f10."""
    variant, stage = row.rsplit("-", 1)
    pretrained = f"wt2ptb-pw-small-{variant}-s{seed}"
    common = ("--config", "pw-small", "--variant", variant, "--seed", str(seed), *UNFUSED, "--threads", "1")
    if stage == "pretrain":
        return Run(
            row,
            seed,
            pretrained,
            ("train", "lm", "--corpus", "wikitext-2", "--normalise", "ptb", "--vocab-from", "ptb", *common),
        )
    args = (
        "train",
        "lm",
        "--corpus",
        "ptb",
        "--train-fraction",
        "0.1",
        "--init-from",
        f"{{runs}}/{pretrained}",
        *common,
    )
    return Run(row, seed, f"ptb-pw-small-{variant}-f10-from-wt2-s{seed}", args, after=(pretrained,))


PLANTED_TOKENS = 100  # tokens added to each planted-tokens run's vocabulary that never occur in its training text


def _planted(row: str, seed: int) -> Run:
    """A row is ARCH-VARIANT: pw-small (LSTM) or tf-small (Transformer) on the first 25% of PTB, or a small Hugging
    Face GPT-2 with a byte-level BPE tokenizer learnt from that text, each with tokens no training text holds."""
    arch, variant = row.split("-", 1)
    common = ("--corpus", "ptb", "--train-fraction", "0.25", "--plant-tokens", str(PLANTED_TOKENS), "--seed", str(seed),
              "--threads", "1")  # fmt: skip
    if arch == "gpt2":
        args = ("train", "hf-gpt2", "--variant", variant, "--epochs", "4", "--save-steps", "50", *common)
        return Run(row, seed, f"ptb25-gpt2-{variant}-planted-s{seed}", args)
    config, epochs = {"lstm": ("pw-small", "4"), "tf": ("tf-small", "3")}[arch]
    args = ("train", "lm", *(("--arch", "transformer") if arch == "tf" else ()), "--config", config, "--variant",
            variant, "--epochs", epochs, *common, *UNFUSED, *(TORCH_KERNELS if arch == "tf" else ()))  # fmt: skip
    return Run(row, seed, f"ptb25-{config}-{variant}-planted-s{seed}", args)


def _gpt2_series(row: str, seed: int) -> Run:
    """A row is a variant of the small Hugging Face GPT-2 on WikiText-2, one epoch, a checkpoint every 60 steps
    (~20 per run): the series ``embedeval series`` pairs, tied against untied, seed by seed."""
    args = ("train", "hf-gpt2", "--corpus", "wikitext-2", "--variant", row, "--epochs", "1", "--save-steps", "60",
            "--seed", str(seed), "--threads", "1")  # fmt: skip
    return Run(row, seed, f"wt2-gpt2-{row}-s{seed}", args)


def _multi30k(row: str, seed: int) -> Run:
    args = ("train", "nmt", "--corpus", "multi30k", "--src", "en", "--tgt", "de", "--tie", row, "--seed", str(seed))
    return Run(row, seed, f"m30k-en-de-{row}-s{seed}", (*args, "--threads", "1"))


def _tf_small(corpus: str) -> Any:
    def build(row: str, seed: int) -> Run:
        folder = f"{corpus}-tf-small-{row}-s{seed}"
        args = ("train", "lm", "--arch", "transformer", "--config", "tf-small", "--corpus", corpus, "--variant", row,
                "--seed", str(seed), *UNFUSED, *TORCH_KERNELS, "--threads", "1")  # fmt: skip
        return Run(row, seed, folder, args)

    return build


def _bilm(row: str, seed: int) -> Run:
    """A row is SOFTMAX-VARIANT: the biLM's softmax (separate per direction, or shared as ELMo) and its tying."""
    softmax, variant = row.split("-")
    args = ("train", "lm", "--arch", "bilstm", "--config", "bilm-small", "--bilm-softmax", softmax, "--corpus", "ptb",
            "--variant", variant, "--seed", str(seed), *UNFUSED, "--threads", "1")  # fmt: skip
    return Run(row, seed, f"ptb-bilm-small-{row}-s{seed}", args)


def _sgns(row: str, seed: int) -> Run:
    backend = (
        ("--backend", "gensim")
        if row == "gensim"
        else ("--backend", "torch", *(("--tie",) if row == "torch-tied" else ()))
    )
    args = ("train", "skipgram", "--corpus", "wikitext-2", *backend, "--dim", "200", "--window", "5", "--negative", "5",
            "--min-count", "5", "--epochs", "5", "--seed", str(seed), "--workers", "1")  # fmt: skip
    return Run(row, seed, f"sgns-wikitext-2/{row}-s{seed}", args)


def _sgns_claims(row: str, seed: int) -> Run:
    """A row is ``untied`` or ``tied`` with ``-fNN`` (the first NN% of WikiText-2's training tokens); without it, the
    press-wolf-sgns run of the same seed (the same folder, so one runs directory serves both tables)."""
    variant, _, fraction = row.partition("-f")
    base = _sgns("torch" if variant == "untied" else "torch-tied", seed)
    if not fraction:
        return Run(row, seed, base.folder, base.args)
    folder = base.folder.replace(f"-s{seed}", f"-f{fraction}-s{seed}")
    return Run(row, seed, folder, (*base.args, "--train-fraction", str(int(fraction) / 100)))


TABLES = {
    "press-wolf-table6": Table(
        "press-wolf-table6",
        "Press & Wolf 2017, Table 6: PTB, small LSTM (2 x 200) without dropout, 13 epochs",
        ("untied", "wt", "pr", "wt+pr", "pr-nobias", "wt+pr-nobias"),
        {
            "untied": (120.7, 114.5),
            "wt": (117.5, 112.4),
            "pr": (116.0, 111.7),
            "wt+pr": (104.9, 100.9),
            "pr-nobias": (116.0, 111.7),
            "wt+pr-nobias": (104.9, 100.9),
        },  # fmt: skip
        "Press & Wolf (2017), Using the Output Embedding to Improve Language Models, Table 6",
        _pw_small,
        contrasts=(
            ("untied", "wt"),
            ("untied", "pr"),
            ("wt", "wt+pr"),
            ("untied", "wt+pr"),
            ("pr-nobias", "pr"),
            ("wt+pr-nobias", "wt+pr"),
        ),  # fmt: skip
    ),
    "inan-small": Table(
        "inan-small",
        "Inan et al. 2017's variants in Press & Wolf's small setting (PTB, 2 x 200, no dropout, 13 epochs; augmented "
        "loss tau 20, gamma 0.5)",
        ("untied", "wt", "al", "re", "real"),
        {},  # Inan et al. report them with variational dropout and far longer training: no row to match here
        "Inan, Khosravi & Socher (2017), Tying Word Vectors and Word Classifiers, Table 1 (other setting)",
        _pw_small,
        contrasts=(("untied", "al"), ("untied", "re"), ("wt", "re"), ("re", "real")),
    ),
    "press-wolf-sgns": Table(
        "press-wolf-sgns",
        "Press & Wolf 2017, claim 1 (SGNS: the input embedding U at least as good as V), on WikiText-2",
        ("gensim", "torch", "torch-tied"),
        {},
        "Press & Wolf (2017), Section 3 / Table 2 (word2vec SGNS: U slightly better than V); the scores are in the "
        "compare report",
        _sgns,
        metric="",  # no single number per run: the compare report scores U, V and S on identical pairs
        keys=("", ""),
    ),
    **{
        f"transformer-{corpus}": Table(
            f"transformer-{corpus}",
            f"Press & Wolf's LM claims for a Transformer: tf-small (2 x 256, 4 heads, context 128) on {name}, untied, "
            "WT (tied, output bias) and RE (tied, no output bias)",
            ("untied", "wt", "re"),
            {},  # no published Transformer row at this size: the aim is the tied LSTM's 117.5 valid (P&W, PTB)
            "no published row; the aim: below Press & Wolf's small tied LSTM on PTB (valid 117.5) at a similar "
            "parameter count",
            _tf_small(corpus),
            contrasts=(("untied", "wt"), ("untied", "re"), ("wt", "re")),
            out="reports/transformer",
        )
        for corpus, name in (("ptb", "PTB"), ("wikitext-2", "WikiText-2"))
    },
    "bilm-ptb": Table(
        "bilm-ptb",
        "An ELMo-style biLM on PTB (forward and backward 2 x 200 LSTMs over one input embedding, no dropout, 13 "
        "epochs): softmax separate per direction, shared between the directions (ELMo), shared and tied to the input",
        ("separate-untied", "shared-untied", "shared-wt"),
        {},  # ELMo (Peters et al. 2018) reports no PTB row at this size; perplexity is the forward direction's
        "Peters et al. (2018), Deep contextualized word representations, Section 3.1 (ties the token representation "
        "and the softmax between the two directions); no published row at this size",
        _bilm,
        contrasts=(("separate-untied", "shared-untied"), ("shared-untied", "shared-wt")),
        out="reports/bilm",
    ),
    "tying-data-size": Table(
        "tying-data-size",
        "Does tying regularise more when data is scarce? pw-small (2 x 200, no dropout, 13 epochs) on the first 10%, "
        "25%, 50% and all of PTB's training text (vocabulary, valid and test always the whole corpus's), untied vs WT",
        ("untied-f10", "wt-f10", "untied-f25", "wt-f25", "untied-f50", "wt-f50", "untied", "wt"),
        {},
        "the claim of the tying explainers (tying regularises, especially in data-constrained settings); Press & "
        "Wolf (2017) Table 6 for the full-data rows",
        _pw_small_claims,
        contrasts=(("untied-f10", "wt-f10"), ("untied-f25", "wt-f25"), ("untied-f50", "wt-f50"), ("untied", "wt")),
        by_row=True,
        out="reports/seed-claims",
    ),
    "tying-sgns-data-size": Table(
        "tying-sgns-data-size",
        "The SGNS analogue: the torch skip-gram backend (press-wolf-sgns' settings) on the first 10%, 25%, 50% and all "
        "of WikiText-2's training tokens, untied vs tied",
        ("untied-f10", "tied-f10", "untied-f25", "tied-f25", "untied-f50", "tied-f50", "untied", "tied"),
        {},
        "the claim of the tying explainers (tying regularises, especially in data-constrained settings), for SGNS",
        _sgns_claims,
        metric="",  # no single number per run: the page scores U, V and S on identical pairs
        keys=("", ""),
        by_row=True,
        out="reports/seed-claims",
    ),
    "tying-transfer": Table(
        "tying-transfer",
        "Are tied models better starting points for transfer? pw-small pretrained on WikiText-2 read with PTB's "
        "vocabulary (other words as <unk>), then fine-tuned on the first 10% of PTB, untied vs WT",
        ("untied-pretrain", "wt-pretrain", "untied-finetune", "wt-finetune"),
        {},
        "the claim of the tying explainers (models pretrained with tied weights transfer better)",
        _transfer,
        contrasts=(("untied-finetune", "wt-finetune"),),
        out="reports/seed-claims",
    ),
    "lstm-bias": Table(
        "lstm-bias",
        "The LSTM's biases as Press & Wolf's TensorFlow code has them (one bias per layer, initialised to 0, forget "
        "bias 0) against PyTorch's two uniformly initialised ones: pw-small, the four Table-6 rows, 13 epochs",
        ("untied", "untied-tfbias", "wt", "wt-tfbias", "pr", "pr-tfbias", "wt+pr", "wt+pr-tfbias"),
        {
            "untied": (120.7, 114.5),
            "untied-tfbias": (120.7, 114.5),
            "wt": (117.5, 112.4),
            "wt-tfbias": (117.5, 112.4),
            "pr": (116.0, 111.7),
            "pr-tfbias": (116.0, 111.7),
            "wt+pr": (104.9, 100.9),
            "wt+pr-tfbias": (104.9, 100.9),
        },  # fmt: skip
        "Press & Wolf (2017), Table 6; their code's BasicLSTMCell(size, forget_bias=0.0)",
        _pw_small_claims,
        contrasts=(("untied", "untied-tfbias"), ("wt", "wt-tfbias"), ("pr", "pr-tfbias"), ("wt+pr", "wt+pr-tfbias")),
        out="reports/seed-claims",
    ),
    "planted-tokens": Table(
        "planted-tokens",
        "Under-trained tokens, planted: LSTM, Transformer and Hugging Face GPT-2, untied and tied, on the first 25% of "
        f"PTB with {PLANTED_TOKENS} tokens the text never holds",
        ("lstm-untied", "lstm-wt", "tf-untied", "tf-wt", "gpt2-untied", "gpt2-tied"),
        {},
        "the token issue's ground truth (Land & Bartolo 2024's indicators; docs/methods.md, section 13.1)",
        _planted,
        out="reports/tokens",
    ),
    "gpt2-series": Table(
        "gpt2-series",
        "The tied matrix over training in a Hugging Face GPT-2 (transformers' Trainer, 2 layers, width 128, byte-level "
        "BPE of 8,000 tokens) on WikiText-2, one epoch, tied and untied, a checkpoint every 60 steps",
        ("untied", "tied"),
        {},
        "the checkpoint-series issue's finding (docs/methods.md, section 14)",
        _gpt2_series,
        out="reports/checkpoints",
    ),
    "multi30k-tying": Table(
        "multi30k-tying",
        "Press & Wolf 2017, Section 5 on Multi30k en->de: no tying, decoder tying, three-way tying (nmt-small)",
        ("none", "decoder", "all"),
        {},  # P&W report WMT, not Multi30k: the claim to test is "tying cuts parameters without hurting BLEU"
        "Press & Wolf (2017), Section 5 (claim: decoder and three-way tying keep BLEU with 28% / 52% fewer parameters)",
        _multi30k,
        metric="BLEU",
        keys=("valid_bleu", "test_bleu"),
        contrasts=(("none", "decoder"), ("none", "all")),
        out="reports/nmt",
    ),
}


def get_table(name: str) -> Table:
    if name not in TABLES:
        raise EmbedevalError(f"unknown table {name!r}; known tables: {', '.join(TABLES)}")
    return TABLES[name]


def _mean_sd(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else None)


def summarise_table(
    table: Table, seeds: tuple[int, ...], runs_dir: Path, reports_dir: Path | None = None
) -> dict[str, Any]:
    """Per row: the finished seeds' valid and test scores (perplexity or BLEU), their mean and sd, the parameter
    count, and the gap to the paper; with ``reports_dir``, the claims of each seed's compare report
    (``reports_dir/TABLE-sSEED/results.json``) side by side."""
    rows = []
    for row in table.rows:
        found, stopped = [], []
        seen: dict[str, int] = {}
        for seed in seeds:
            run = table.build(row, seed)
            state = run.state(runs_dir)
            if state == "failed":  # stopped by the trainer (diverging, non-finite loss): a result too, not in the means
                stopped.append({"seed": seed, "error": _error_of(runs_dir / run.folder)})
            if state != "complete":
                continue
            run.check(runs_dir)
            summary = read_run_file(runs_dir / run.folder / SUMMARY, "summary.json")
            fingerprint = json.dumps([summary.get(table.keys[0] or "-"), summary.get(table.keys[1] or "-"),
                                      summary.get("updated")])  # fmt: skip
            if fingerprint in seen:
                raise EmbedevalError(f"row {row}: seeds {seen[fingerprint]} and {seed} hold the same run (identical "
                                     "results); one folder was copied over the other", runs_dir / run.folder)  # fmt: skip
            seen[fingerprint] = seed
            found.append({"seed": seed, "valid": summary.get(table.keys[0] or "-"), "test": summary.get(table.keys[1] or "-"),
                          "parameters": summary.get("unique_parameters"),
                          "directions": _directions(summary.get("direction_ppl"))})  # fmt: skip
        valid_mean, valid_sd = _mean_sd([f["valid"] for f in found if f["valid"] is not None])
        test_mean, test_sd = _mean_sd([f["test"] for f in found if f["test"] is not None])
        paper = table.paper.get(row)
        rows.append(
            {
                "row": row,
                "seeds": found,
                "valid_mean": valid_mean,
                "valid_sd": valid_sd,
                "test_mean": test_mean,
                "test_sd": test_sd,
                "paper_valid": paper[0] if paper else None,
                "paper_test": paper[1] if paper else None,
                "test_gap": (test_mean - paper[1]) if (paper and test_mean is not None) else None,
                "parameters": found[0]["parameters"] if found else None,
                "stopped": stopped,
                "directions": _direction_means(found),
            }
        )
    claims = seed_claims(table, seeds, reports_dir) if reports_dir is not None else []
    return {"table": table.name, "title": table.title, "source": table.source, "seeds": list(seeds),
            "metric": table.metric, "rows": rows, "claims": claims, "tests": seed_tests(table, rows),
            "claim_tests": claim_tests(claims), "geometry_tests": geometry_tests(claims)}  # fmt: skip


def _directions(stored: Any) -> dict[str, float] | None:
    """A biLM's per-direction perplexities as flat ``"test backward"`` keys (None for a one-directional model)."""
    if not isinstance(stored, dict):
        return None
    flat = {f"{split} {direction}": value for split, values in stored.items() if isinstance(values, dict)
            for direction, value in values.items() if isinstance(value, (int, float))}  # fmt: skip
    return flat or None


def _direction_means(found: list[dict[str, Any]]) -> dict[str, list[float | None]] | None:
    """Mean and sd over the seeds of each per-direction perplexity (None unless every finished seed has them)."""
    if not found or any(not f.get("directions") for f in found):
        return None
    keys = [k for k in found[0]["directions"] if all(k in f["directions"] for f in found)]
    return {k: list(_mean_sd([f["directions"][k] for f in found])) for k in keys}


def _tested(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Holm over every test in ``found`` (the family one section counts), and a verdict for each."""
    from embedeval.evaluate.stats import holm

    tested = [f for f in found if f["p"] is not None]
    for f, adjusted in zip(tested, holm([f["p"] for f in tested]) if tested else []):
        f["p_holm"] = float(adjusted)
    for f in found:
        if f["n"] < 2:
            f["verdict"] = "one seed only, no test" if f["n"] == 1 else "no seed"
        elif f.get("p_holm") is not None and f["p_holm"] < 0.05:
            b, a = f["what"].removeprefix("Table 3: ").split(",")[0].split(" − ")
            f["verdict"] = f"{b} {'above' if f['mean'] > 0 else 'below'} {a} (Holm p {_p(f['p_holm'])})"
        else:
            f["verdict"] = f"not shown (Holm p {f.get('p_holm', f['p']):.2f})"
    return found


def geometry_tests(claims: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Is the tied S shaped differently from the untied U and V (Gao et al. 2019's degeneration question)? Per tied
    pair and geometry measure, S − U and S − V paired over the seeds, Holm over every test of this list."""
    from dataclasses import asdict

    from embedeval.evaluate.stats import paired_seed_test

    found = []
    for row in claims:
        if row["claim"] != "geometry: mean cosine / effective rank":
            continue
        for measure, name in GEOMETRY.items():
            for other in ("u", "v"):
                values = {side: {int(seed): d["geometry"][side][measure] for seed, d in row["data"].items()
                                 if measure in d["geometry"][side]} for side in ("s", other)}  # fmt: skip
                test = paired_seed_test(values[other], values["s"])
                found.append({"variant": row["variant"], "measure": name,
                              "what": f"S − {other.upper()}, {name}", **asdict(test)})  # fmt: skip
    return _tested(found)


def claim_tests(claims: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The embedding claims of the seeds' reports tested across seeds (docs/methods.md, section 10): per seed one
    number (an embedding's Spearman averaged over the report's benchmarks, or a Table-3 correlation), B - A paired
    over the seeds, Holm over every test in this list (the family the claims section counts)."""
    from dataclasses import asdict

    from embedeval.evaluate.stats import paired_seed_test

    def per_seed(row: dict[str, Any], get: Any) -> dict[int, float]:
        out = {}
        for seed, data in row["data"].items():
            value = get(data)
            if isinstance(value, (int, float)) and math.isfinite(value):
                out[int(seed)] = float(value)
        return out

    wanted = {
        "V against U (untied run)": [("V − U, mean Spearman", "u", "v")],
        "backward softmax against the forward V": [("backward V − V, mean Spearman", "v", "vb")],
        "S against the untied V and U (significant, Holm)": [("S − V, mean Spearman", "v", "s"),
                                                              ("S − U, mean Spearman", "u", "s")],
    }  # fmt: skip
    found = []
    for row in claims:
        for what, a, b in wanted.get(row["claim"], []):
            pa = per_seed(row, lambda d, k=a: (d.get("mean_rho") or {}).get(k))
            pb = per_seed(row, lambda d, k=b: (d.get("mean_rho") or {}).get(k))
            found.append({"variant": row["variant"], "what": what, **asdict(paired_seed_test(pa, pb))})
        if row["claim"] == "Table 3: S~V / S~U":
            pa, pb = per_seed(row, lambda d: d.get("corr_su")), per_seed(row, lambda d: d.get("corr_sv"))
            found.append({"variant": row["variant"], "what": "Table 3: S~V − S~U", **asdict(paired_seed_test(pa, pb))})
    return _tested(found)


def seed_tests(table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The table's contrasts tested across seeds (docs/methods.md, the claims rule): B - A in test score per seed,
    paired t with Holm over the contrasts of the table (the family its sentences count), and an equivalence test
    within +-``table.margin``. A verdict names a difference only when Holm's p < 0.05, equality only when the 90%
    interval lies inside the margin, and says "one seed" when only one seed has both."""
    from dataclasses import asdict

    from embedeval.evaluate.stats import holm, paired_seed_test

    test_of = {r["row"]: {f["seed"]: f["test"] for f in r["seeds"] if f["test"] is not None} for r in rows}
    found = []
    for a, b in table.contrasts:
        if a in test_of and b in test_of:
            found.append({"a": a, "b": b, **asdict(paired_seed_test(test_of[a], test_of[b], table.margin))})
    # a model that reads backward too (a biLM): the same contrasts on the backward direction, in the same Holm family
    backward = {r["row"]: {f["seed"]: f["directions"]["test backward"] for f in r["seeds"]
                           if "test backward" in (f.get("directions") or {})} for r in rows}  # fmt: skip
    for a, b in table.contrasts:
        if backward.get(a) and backward.get(b):
            found.append({"a": f"{a} (backward)", "b": f"{b} (backward)",
                          **asdict(paired_seed_test(backward[a], backward[b], table.margin))})  # fmt: skip
    tested = [f for f in found if f["p"] is not None]
    for f, adjusted in zip(tested, holm([f["p"] for f in tested]) if tested else []):
        f["p_holm"] = float(adjusted)
    lower_better = table.metric != "BLEU"
    for f in found:
        f["verdict"] = _verdict(f, lower_better, table.metric)
    return found


def _p(p: float) -> str:
    return f"{p:.3f}" if p >= 0.001 else "< 0.001"


def _verdict(f: dict[str, Any], lower_better: bool, metric: str) -> str:
    if f["n"] == 0:
        return "no seed has both"
    if f["n"] == 1:
        return f"one seed only: {f['mean']:+.2f}, no test"
    if f.get("p_holm") is not None and f["p_holm"] < 0.05:
        better = (f["mean"] < 0) == lower_better
        return f"{f['b']} {'better' if better else 'worse'} than {f['a']} (Holm p {_p(f['p_holm'])})"
    if f["equivalent"]:
        return f"equal within ±{f['margin']:g} {metric} (TOST, 90% interval inside)"
    return f"no difference shown (Holm p {f.get('p_holm', f['p']):.2f}), and equality not shown at ±{f['margin']:g}"


def seed_claims(table: Table, seeds: tuple[int, ...], reports_dir: Path) -> list[dict[str, Any]]:
    """The findings of each seed's compare report (embedeval.report.summary.findings), one row per claim and
    variant, one cell per seed; a seed without a report has no cell."""
    label = {Path(run.folder).name: run.label for run in table.runs(seeds)}
    # reports written before run folders had one naming scheme name them as they were then
    label.update({_legacy_name(run.folder): run.label for run in table.runs(seeds)})
    rows: dict[tuple[str, str], dict[str, Any]] = {}

    def cell(claim: str, what: str, seed: int, text: str, data: dict[str, Any]) -> None:
        row = rows.setdefault((claim, what), {"claim": claim, "variant": what, "seeds": {}, "data": {}})
        row["seeds"][str(seed)], row["data"][str(seed)] = text, data

    for seed in seeds:
        path = reports_dir / f"{table.name}-s{seed}" / "results.json"
        if not path.is_file():
            continue
        report = read_run_file(path, "report results.json") or {}
        found = report.get("findings", [])
        if not isinstance(found, list) or not all(isinstance(f, dict) for f in found):
            raise EmbedevalError("damaged report results.json ('findings' is not a list of objects)", path)
        try:
            _seed_cells(found, label, seed, cell, _mean_rho(report.get("results", [])),
                        _geometry(report.get("geometry", [])))  # fmt: skip
        except (KeyError, TypeError, ValueError) as err:
            raise EmbedevalError(
                f"damaged report results.json (a finding lacks or mangles {err}); write the report again with "
                "`embedeval compare`",
                path,
            ) from None
    return list(rows.values())


def _legacy_name(folder: str) -> str:
    """A run folder's name before the one scheme (``CORPUS-CONFIG-ROW-sSEED``): seed 1 had no suffix, and the
    Transformer's folders were ``tf-small-CORPUS-ROW``."""
    name = folder.removesuffix("-s1")
    for corpus in ("ptb", "wikitext-2"):
        if name.startswith(f"{corpus}-tf-small-"):
            name = f"tf-small-{corpus}-" + name.removeprefix(f"{corpus}-tf-small-")
    return name


def _mean_rho(results: Any) -> dict[str, float]:
    """Each embedding's Spearman averaged over the report's benchmarks (all on identical pairs in one report)."""
    scores: dict[str, list[float]] = {}
    for r in results if isinstance(results, list) else []:
        if isinstance(r, dict) and isinstance(r.get("spearman"), (int, float)) and math.isfinite(r["spearman"]):
            scores.setdefault(str(r.get("embedding")), []).append(float(r["spearman"]))
    return {name: sum(v) / len(v) for name, v in scores.items()}


GEOMETRY = {  # report field -> what the geometry section calls it (docs/methods.md, section 12)
    "mean_cosine": "anisotropy (mean cosine of random pairs)",
    "isotropy": "isotropy I(W)",
    "effective_rank": "effective rank",
    "first_pc_share": "variance share of PC1",
}


def _geometry(rows: Any) -> dict[str, dict[str, float]]:
    """Each embedding's geometry measures from a report (nothing for reports written before it had them)."""
    out = {}
    for r in rows if isinstance(rows, list) else []:
        if not isinstance(r, dict):
            continue
        values = {k: r.get(k) for k in GEOMETRY}
        values["mean_cosine"] = (r.get("anisotropy") or {}).get("mean_cosine")
        out[str(r.get("embedding"))] = {k: float(v) for k, v in values.items() if isinstance(v, (int, float))}
    return out


def _seed_cells(found: list[dict[str, Any]], label: dict[str, str], seed: int, cell: Any,
                mean_rho: dict[str, float], geometry: dict[str, dict[str, float]]) -> None:  # fmt: skip
    for f in found:
        if f["claim"] == "output_vs_input" and f["run"] in label:
            text = (
                f"V higher on {f['higher']}/{f['benchmarks']}; significantly better {f['better']}, worse {f['worse']}"
            )
            rho = {k: mean_rho.get(f"{f['run']}:{role}") for k, role in (("u", "input"), ("v", "output"))}
            cell("V against U (untied run)", label[f["run"]], seed, text, {**f, "mean_rho": rho})
        if f["claim"] == "backward_vs_forward_output" and f["run"] in label:
            text = (f"backward higher on {f['higher']}/{f['benchmarks']}; significantly better {f['better']}, "
                    f"worse {f['worse']}")  # fmt: skip
            if f.get("corr") is not None:
                text += f"; Table 3 V~backward {f['corr']:.3f}"
            rho = {k: mean_rho.get(f"{f['run']}:{role}") for k, role in (("v", "output"), ("vb", "output-backward"))}
            cell("backward softmax against the forward V", label[f["run"]], seed, text, {**f, "mean_rho": rho})
        if f["claim"] != "tied_vs_untied" or f["tied"] not in label or f["untied"] not in label:
            continue
        pair = f"{label[f['tied']]} vs {label[f['untied']]}"
        sides = [f"vs {k.upper()} +{f[f's_vs_{k}']['better']} / -{f[f's_vs_{k}']['worse']} of "
                 f"{f[f's_vs_{k}']['benchmarks']}" for k in ("v", "u") if f"s_vs_{k}" in f]  # fmt: skip
        rho = {"s": mean_rho.get(f"{f['tied']}:tied"), "u": mean_rho.get(f"{f['untied']}:input"),
               "v": mean_rho.get(f"{f['untied']}:output")}  # fmt: skip
        if sides:
            cell(
                "S against the untied V and U (significant, Holm)", pair, seed, "; ".join(sides), {**f, "mean_rho": rho}
            )
        shapes = {k: geometry.get(name) for k, name in (("s", f"{f['tied']}:tied"), ("u", f"{f['untied']}:input"),
                                                         ("v", f"{f['untied']}:output"))}  # fmt: skip
        if all(shapes.values()):
            text = "; ".join(f"{k.upper()} {shapes[k].get('mean_cosine', float('nan')):.3f} / "
                             f"{shapes[k].get('effective_rank', float('nan')):.0f}" for k in "suv")  # fmt: skip
            cell("geometry: mean cosine / effective rank", pair, seed, text, {"geometry": shapes})
        if f.get("corr_sv") is not None and f.get("corr_su") is not None:
            cell("Table 3: S~V / S~U", pair, seed, f"{f['corr_sv']:.3f} / {f['corr_su']:.3f}", f)
        saved = ""
        if f.get("parameters"):
            saved = f", {f['parameters']['tied'] / f['parameters']['untied'] - 1:+.0%} parameters"
        if f.get("test_ppl"):
            t = f["test_ppl"]
            cell("test perplexity, untied -> tied", pair, seed, f"{t['untied']:.1f} -> {t['tied']:.1f}{saved}", f)
        if f.get("test_bleu"):
            t = f["test_bleu"]
            text = f"{t['untied']:.2f} -> {t['tied']:.2f} (p {t['p']:.2f}){saved}"
            cell("test BLEU, untied -> tied", pair, seed, text, f)


def _error_of(folder: Path) -> str:
    try:
        summary = read_run_file(folder / SUMMARY, "summary.json") or {}
    except EmbedevalError as err:
        return str(err)
    if "error" in summary:
        return str(summary["error"])
    bad = checked_summary(summary, folder / SUMMARY)[1]
    return "; ".join(bad) if bad else "no reason recorded"


def _fmt(mean: float | None, sd: float | None) -> str:
    if mean is None:
        return "—"
    return f"{mean:.1f}" + (f" ± {sd:.1f}" if sd is not None else "")


def table_markdown(result: dict[str, Any]) -> str:
    metric = result.get("metric", "perplexity")
    if not metric:
        return _runs_markdown(result)
    lines = [
        f"## {result['title']}",
        "",
        f"Seeds asked for: {', '.join(map(str, result['seeds']))}; a row shows the seeds finished so far. Paper: "
        f"{result['source']}.",
        "",
        f"| variant | seeds done | parameters | valid {metric} (ours) | test {metric} (ours) | valid (paper) | "
        "test (paper) | test − paper |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        gap = "—" if r["test_gap"] is None else f"{r['test_gap']:+.1f}"
        params = "—" if not r.get("parameters") else f"{r['parameters']:,}"
        lines.append(
            f"| {r['row']} | {len(r['seeds'])} | {params} | {_fmt(r['valid_mean'], r['valid_sd'])} | "
            f"{_fmt(r['test_mean'], r['test_sd'])} | {r['paper_valid'] or '—'} | {r['paper_test'] or '—'} | {gap} |"
        )
    directions = [r for r in result["rows"] if r.get("directions")]
    if directions:
        keys = list(directions[0]["directions"])
        lines += [
            "",
            f"Perplexity per direction ({metric} of each direction's own next word, batch 1, windows of max(bptt, 100) tokens; the "
            "forward direction carries its state across windows as in the table above, the backward one starts each "
            "window afresh, as in training):",
            "",
            "| variant | seeds done | " + " | ".join(keys) + " |",
            "|---|---|" + "---|" * len(keys),
        ]
        for r in directions:
            cells = " | ".join(_fmt(*r["directions"].get(k, [None, None])) for k in keys)
            lines.append(f"| {r['row']} | {len(r['seeds'])} | {cells} |")
    stopped = [(r["row"], s) for r in result["rows"] for s in r.get("stopped", [])]
    if stopped:
        lines += ["", "Stopped by the trainer, not in the means:", ""]
        lines += [f"- {row}, seed {s['seed']}: {s['error']}" for row, s in stopped]
    return "\n".join(lines) + "\n" + _tests_markdown(result) + _claims_markdown(result)


def _count_word(n: int) -> str:
    return {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}.get(n, str(n))


def _tests_markdown(result: dict[str, Any]) -> str:
    """The contrasts tested across seeds (nothing for tables without contrasts or for older JSON)."""
    tests = result.get("tests") or []
    if not tests:
        return ""
    metric = result.get("metric") or "score"
    lines = [
        "",
        "### Tests across seeds",
        "",
        f"B − A in test {metric}, per seed, then a paired t-test over the seeds both finished (Holm over the "
        f"{len(tests)} contrasts of this table) and an equivalence test (TOST: the 90% interval of the mean difference "
        f"inside the margin). With {_count_word(len(result.get('seeds') or []))} seeds only large, consistent differences "
        "can be shown.",
        "",
        "| A | B | seeds | B − A (mean) | 95% interval | p | Holm p | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t in tests:
        mean = "—" if t["mean"] is None else f"{t['mean']:+.2f}"
        ci = "—" if t["ci95"] is None else f"[{t['ci95'][0]:+.2f}, {t['ci95'][1]:+.2f}]"
        p = "—" if t["p"] is None else _p(t["p"])
        holm_p = "—" if t.get("p_holm") is None else _p(t["p_holm"])
        lines.append(f"| {t['a']} | {t['b']} | {t['n']} | {mean} | {ci} | {p} | {holm_p} | {t['verdict']} |")
    return "\n".join(lines) + "\n"


def _claims_markdown(result: dict[str, Any]) -> str:
    """The seeds' compare-report findings side by side (nothing when no report was read)."""
    claims = result.get("claims") or []
    if not claims:
        return ""
    seeds = [str(s) for s in result["seeds"]]
    lines = [
        "",
        "### Claims, seed by seed",
        "",
        "From each seed's compare report (`TABLE-sSEED/results.json`, `findings`): embeddings on identical pairs, "
        "Williams' t with Holm over the benchmarks (alpha 0.05); Table 3 is Spearman between two embeddings' cosines "
        "over the unique pairs of all benchmarks.",
        "",
        "| claim | variant | " + " | ".join(f"seed {s}" for s in seeds) + " |",
        "|---|---|" + "---|" * len(seeds),
    ]
    for c in claims:
        cells = " | ".join(c["seeds"].get(s, "—") for s in seeds)
        lines.append(f"| {c['claim']} | {c['variant']} | {cells} |")
    tests = result.get("claim_tests") or []
    if tests:
        lines += [
            "",
            "The same claims tested across seeds: one number per seed (the embedding's Spearman averaged over the "
            "report's benchmarks, or the Table-3 correlation), B − A paired over the seeds (t-test), Holm over the "
            f"{sum(t['p'] is not None for t in tests)} tests of this list with a p.",
            "",
            "| variant | B − A | seeds | mean | 95% interval | p | Holm p | verdict |",
            "|---|---|---|---|---|---|---|---|",
        ]
        lines += _test_rows(tests, "+.3f")
    shapes = result.get("geometry_tests") or []
    if shapes:
        lines += [
            "",
            "### Geometry across seeds: is the tied S shaped differently from the untied U and V?",
            "",
            "From each seed's compare report (`geometry`, docs/methods.md section 12): S − U and S − V per seed, a "
            f"paired t-test over the seeds, Holm over the {sum(t['p'] is not None for t in shapes)} tests of this list with a p. A narrow cone (Gao et al. "
            "2019) shows as a higher mean cosine, a lower I(W) and effective rank, a larger PC1 share.",
            "",
            "| pair | B − A | seeds | mean | 95% interval | p | Holm p | verdict |",
            "|---|---|---|---|---|---|---|---|",
        ]
        lines += _test_rows(shapes, "+.4g")
    return "\n".join(lines) + "\n"


def _test_rows(tests: list[dict[str, Any]], number: str) -> list[str]:
    """One Markdown row per test across seeds: variant, what, seeds, mean, 95% interval, p, Holm p, verdict."""
    rows = []
    for t in tests:
        mean = "—" if t["mean"] is None else format(t["mean"], number)
        ci = "—" if t["ci95"] is None else f"[{format(t['ci95'][0], number)}, {format(t['ci95'][1], number)}]"
        p = "—" if t["p"] is None else _p(t["p"])
        holm_p = "—" if t.get("p_holm") is None else _p(t["p_holm"])
        rows.append(f"| {t['variant']} | {t['what']} | {t['n']} | {mean} | {ci} | {p} | {holm_p} | {t['verdict']} |")
    return rows


def _runs_markdown(result: dict[str, Any]) -> str:
    """A table whose runs have no single number (SGNS): which seeds are done; the compare reports hold the scores."""
    lines = [f"## {result['title']}", "", f"Paper: {result['source']}.", "", "| run | seeds done |", "|---|---|"]
    lines += [f"| {r['row']} | {', '.join(str(f['seed']) for f in r['seeds']) or '—'} |" for r in result["rows"]]
    return "\n".join(lines) + "\n" + _claims_markdown(result)


def _table_is_ours(md: Path, json_path: Path, name: str) -> bool:
    """A table file reproduce wrote (its first line says so; tables from before that line have the JSON twin)."""
    try:
        with open(md, encoding="utf-8", errors="replace") as handle:
            if handle.readline().strip() == _FIRST_LINE.format(name=name):
                return True
        twin = read_run_file(json_path, "table JSON")
    except (OSError, EmbedevalError):
        return False
    return twin is not None and twin.get("table") == name


_FIRST_LINE = "<!-- written by `embedeval reproduce {name}`; regenerated from the runs, do not edit -->"


def check_table_target(name: str, folder: Path, overwrite: bool = False) -> tuple[Path, Path]:
    """``TABLE.md`` and ``TABLE.json`` in ``folder``, refused (before any training) when they are not regular files,
    or when the ``TABLE.md`` there is not one reproduce wrote and ``overwrite`` is off."""
    md, json_path = folder / f"{name}.md", folder / f"{name}.json"
    for path in (md, json_path):
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise EmbedevalError("is not a regular file; move it or choose another --out", path)
    if md.exists() and not overwrite and not _table_is_ours(md, json_path, name):
        raise EmbedevalError(f"{md.name} is not a table embedeval wrote; pass --overwrite to replace it", md)
    return md, json_path


def check_something_finished(result: dict[str, Any], folder: Path) -> None:
    """Refuse a table none of whose runs has finished: a table of empty rows says nothing and would replace the
    committed one."""
    if not any(r["seeds"] for r in result["rows"]):
        raise EmbedevalError(
            f"no run of {result['table']} has finished (see --runs-dir); nothing to write, and the existing table is "
            "kept",
            folder,
        )


def write_table(result: dict[str, Any], folder: Path, overwrite: bool = False) -> tuple[Path, Path]:
    """``TABLE.json`` and ``TABLE.md`` in ``folder`` (claimed with a lock while writing). Refused when no run of
    the table has finished (a table of empty rows would replace the committed one), or when a ``TABLE.md`` there
    is not one reproduce wrote, unless ``overwrite``."""
    name = result["table"]
    check_something_finished(result, folder)
    md, json_path = check_table_target(name, folder, overwrite)
    folder.mkdir(parents=True, exist_ok=True)
    with FolderLock(folder, "--out"):
        json_out = atomic_write_json(json_path, result)
        md_out = atomic_write_text(md, _FIRST_LINE.format(name=name) + "\n\n" + table_markdown(result))
    return json_out, md_out

"""Options shared by several commands, declared once."""

from __future__ import annotations

from pathlib import Path

import click

import embedeval.cli.console  # noqa: F401 - first: a plugin that fails to load while the options list the tasks is one line

# the readers' formats (embedeval.embeddings.formats.FORMATS), spelled out so --help does not import NumPy
FORMATS = ("word2vec", "word2vec-binary", "glove", "npz", "safetensors", "gensim")


def _existing_folder(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An explicit --data-dir must be a folder (a typo must not pass silently because the benchmarks asked for
    happen to be bundled). $EMBEDEVAL_DATA is read only where data is needed, so a stale value never blocks the
    bundled benchmarks."""
    if value is not None and not Path(value).expanduser().is_dir():
        raise click.BadParameter(f"{value!r} is not a folder (the data directory holds corpora/ and similarity/)")
    return value


DATA_DIR_OPTION = click.option(
    "--data-dir",
    type=click.Path(),
    default=None,
    callback=_existing_folder,
    help="Data directory holding corpora/ and similarity/ (default: $EMBEDEVAL_DATA).",
)

OOV_OPTION = click.option(
    "--oov",
    type=click.Choice(["drop", "zero", "mean"]),
    default="drop",
    show_default=True,
    help="Pairs with an unknown word: drop them (the only policy with significance tests), score them 0, or use "
    "the mean vector.",
)

FORMAT_OPTION = click.option(
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),
    default=None,
    help="Embedding file format (default: detected from the name and content). 'gensim' unpickles the file, which "
    "runs any code it holds: use it only for files you trust (.model and .kv files are read as gensim too); a pickle "
    "under any other name is refused.",
)

BENCHMARK_OPTION = click.option(
    "-b",
    "--benchmark",
    "benchmarks",
    multiple=True,
    metavar="NAME|PATH",
    help="Benchmark name (see 'embedeval benchmarks') or a word1 word2 score file; repeatable. Default: "
    "SimLex-999, Verb-143, MEN, RW, MTurk-771 (P&W's five), WS-353 and SimVerb-3500, those that can be found.",
)


def arch_params() -> list[tuple[str, object]]:
    """(click parameter name, ArchOption) for every setting a registered LM architecture has of its own."""
    from embedeval import trainers

    seen: dict[str, object] = {}
    for arch in trainers.archs():
        for option in arch.options:
            seen.setdefault(option.flag.lstrip("-").replace("-", "_"), option)
    return list(seen.items())


def arch_help() -> str:
    from embedeval import trainers

    return "; ".join(f"{a.name}: {a.about}" for a in trainers.archs()) + "."


def arch_setting_options(command: click.Command) -> click.Command:
    """The LM architectures' own settings (``--bilm-softmax`` ...), one option each, from the registry."""
    for name, option in reversed(arch_params()):
        command = click.option(
            option.flag, name, type=click.Choice(list(option.choices)), default=None, help=option.help
        )(command)
    return command


def take_arch_settings(values: dict, arch: str | None, config_name: str) -> dict[str, str] | None:
    """Remove the architecture settings from a command's ``values`` and return those given as the config's
    ``arch_options`` (None: none given); one given for another architecture than ``arch`` (else the config's) is
    refused, naming its flag."""
    from embedeval import trainers
    from embedeval.errors import EmbedevalError
    from embedeval.train.lm_config import arch_of

    chosen = trainers.arch(arch or arch_of(config_name))
    given: dict[str, str] = {}
    for name, option in arch_params():
        value = values.pop(name, None)
        if value is None:
            continue
        if option not in chosen.options:
            owners = [a.name for a in trainers.archs() if option in a.options]
            raise EmbedevalError(f"{option.flag} is for --arch {' or '.join(owners)}, not {chosen.name}; leave it out")
        given[option.key] = value
    return given or None


def needs_corpus(given, trainer: str):
    """The corpus of a pair that trains on one (``--corpus``), resolved."""
    from embedeval.data.corpus import resolve_corpus
    from embedeval.errors import EmbedevalError

    if given.corpus is None:
        raise EmbedevalError(f"--corpus is needed for --trainer {trainer} (ptb, wikitext-2, builtin or a text file)")
    return resolve_corpus(given.corpus, given.data_dir)


def _task_names() -> list[str]:
    from embedeval.tasks import tasks

    return [t.name for t in tasks() if not t.wanted]  # a task the inputs call for (analogies) is not asked for


def _task_help() -> str:
    from embedeval.tasks import tasks

    asked = "; ".join(f"{t.name}: {t.about}" for t in tasks() if not t.wanted)
    return f"Also run a task (repeatable): {asked}. Analogies run whenever -b names an analogy set."


TASK_OPTION = click.option(
    "--task",
    "tasks",
    multiple=True,
    type=click.Choice(_task_names()),
    help=_task_help(),
)

REVISION_OPTION = click.option(
    "--revision",
    default=None,
    metavar="REV",
    help="For a Hugging Face model id (ORG/NAME) read from the local cache: the branch, tag or commit (default: main).",
)

PIECES_OPTION = click.option(
    "--pieces",
    type=click.Choice(["single", "first", "last", "mean", "average"]),
    default="single",
    show_default=True,
    help="Subword models (pretrained models, GGUF files, translation runs): a word is covered when it is one piece "
    "(single), or also when it is several: its first or last piece, or the mean of their rows (mean; 'average' is "
    "the same). The policy and its coverage go into the results.",
)


def _corpus_file(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """The token corpus checked before any work: a readable regular file (a FIFO or device would never end)."""
    if value is not None:
        from pathlib import Path

        from embedeval.errors import EmbedevalError
        from embedeval.files import check_regular_file

        try:
            check_regular_file(Path(value), "corpus file")
        except EmbedevalError as err:
            raise click.BadParameter(str(err)) from None
    return value


TOKEN_CORPUS_OPTION = click.option(
    "--corpus",
    "token_corpus",
    type=click.Path(dir_okay=False),
    default=None,
    callback=_corpus_file,
    help="Token task (implies --task tokens): a text file, encoded with each model's own tokenizer; its token counts "
    "give the frequency analysis (a run uses its own training counts).",
)

THREADS_OPTION = click.option(
    "--threads",
    type=click.IntRange(1, 1_024),
    default=None,
    help="Threads to compute with (torch, BLAS) [default: OMP_NUM_THREADS where set, else 1: on a machine shared "
    "with other work more threads were several times slower (docs/performance.md, Threads)].",
)

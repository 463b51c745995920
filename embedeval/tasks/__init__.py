"""The registry of evaluation tasks beyond the word-pair scores: each is one module plus one :func:`register_task`.

A task says what it needs (the inputs' word embeddings, their whole token matrices, the benchmark scores), computes
plain rows (one dict per embedding or model), and supplies everything a front end shows of it: the terminal table,
the CSV file of a report folder, the results.json field and the report section (a table of plain cells, escaped by
the page, so a plugin can never inject markup). ``eval`` and ``compare`` offer every registered task as ``--task
NAME``; the report renders every section it is given. An installed package adds a task through the
``embedeval.tasks`` entry point group (:mod:`embedeval.plugins`).

Word similarity is the pipeline's own step (every front end scores it); the analogy task runs whenever ``-b`` names
an analogy set (its ``wanted`` hook); geometry, token analysis and quantisation are asked for with ``--task`` (or
run by ``compare`` by default: ``in_compare``).
"""

from embedeval.layout import REPORT_CSV
from embedeval.tasks.registry import (
    Section,
    Task,
    TaskContext,
    get_task,
    json_fields,
    register_task,
    registered,
    tasks,
    to_run,
)

__all__ = ["Section", "Task", "TaskContext", "get_task", "json_fields", "register_task", "registered", "tasks",
           "to_run"]  # fmt: skip

register_task(
    Task(
        name="analogies",
        about="word analogies (3CosAdd or 3CosMul) with Wilson intervals and McNemar tests; runs whenever -b names an "
        "analogy set",
        run="embedeval.tasks.analogy:run",
        json_key="analogies",
        csv_name=REPORT_CSV["analogies"],
        csv_rows="embedeval.tasks.analogy:csv_rows",
        table="embedeval.tasks.analogy:table",
        section="embedeval.tasks.analogy:section",
        wanted="embedeval.tasks.analogy:wanted",
        json_fields="embedeval.tasks.analogy:json_fields",
    )
)

register_task(
    Task(
        name="geometry",
        about="the shape of each embedding: anisotropy, isotropy I(W), effective rank, PC1 share, norms (over a "
        "pretrained model's whole token matrix)",
        run="embedeval.tasks.geometry:run",
        json_key="geometry",
        csv_name=REPORT_CSV["geometry"],
        csv_rows="embedeval.tasks.geometry:csv_rows",
        table="embedeval.tasks.geometry:table",
        section="embedeval.tasks.geometry:section",
        in_compare=True,
    )
)
register_task(
    Task(
        name="tokens",
        about="token analysis of models with a token vocabulary: categories, under-trained candidates, frequency "
        "(with --corpus FILE, or a run's training counts)",
        run="embedeval.tasks.tokens:run",
        json_key="tokens",
        csv_name=REPORT_CSV["tokens"],
        csv_rows="embedeval.tasks.tokens:csv_rows",
        table="embedeval.tasks.tokens:table",
        section="embedeval.tasks.tokens:section",
        nothing="no input has a token vocabulary (it reads model folders, GGUF files and embedeval runs; a word "
        "embedding file has words, not tokens)",
    )
)
register_task(
    Task(
        name="quantisation",
        about="one model at several precisions (a folder and its GGUF files): each quantised U, V or S against the most "
        "precise, row by row and in rho",
        run="embedeval.tasks.quantisation:run",
        json_key="quantisation",
        csv_name=REPORT_CSV["quantisation"],
        csv_rows="embedeval.tasks.quantisation:csv_rows",
        table="embedeval.tasks.quantisation:table",
        section="embedeval.tasks.quantisation:section",
        in_compare=True,
        nothing="no two inputs are one model at two precisions (the same token matrix shape, vocabulary and tie: a "
        "model folder and GGUF files made from it, e.g. by `embedeval gguf`)",
    )
)

"""The names of embedeval's on-disk layouts (a leaf module: everything that reads or writes them imports it).

Reading and writing is :mod:`embedeval.rundir` (runs, tracks) and :mod:`embedeval.embeddings.runs` (their embeddings).

A run directory (``embedeval train``)::

    RUN_DIR/.embedeval              marker: which kind of folder embedeval wrote (see embedeval.files)
    RUN_DIR/config.json             full config, seed, package versions, corpus name + sha256, command line, schema
    RUN_DIR/vocab.tsv               word <tab> count, most frequent first
    RUN_DIR/embeddings/<role>.npz   input / output / tied (/ source: a translation model's encoder input;
                                    output-backward: a biLM's backward softmax when each direction has its own):
                                    words, vectors, bias where present, meta
    RUN_DIR/subwords/<role>.npz     translation runs: every subword piece's row (embeddings/ holds the word view)
    RUN_DIR/subword.model           translation runs: the SentencePiece model (subword.src/.tgt.model if separate)
    RUN_DIR/projection.npz          the PR projection (LSTM pr, wt+pr)
    RUN_DIR/metrics.jsonl           one JSON object per epoch
    RUN_DIR/summary.json            final numbers, "status": "complete" | "incomplete", schema
    RUN_DIR/checkpoint.pt           language models: tensors and plain numbers (torch.load weights_only=True)
    RUN_DIR/last-good/              LM runs, only while training and validation perplexity rose in the last epoch:
                                    the checkpoint and embeddings of the epoch before, put back if the run diverges

A track directory (``embedeval track``) holds ``untied/`` and ``tied/`` run directories, ``track.json``
(settings, buckets, probe), ``dynamics.jsonl`` (one record per interval), ``summary.json``, ``snapshots/`` and
``figures/``. ``schema`` in config.json, summary.json and results.json is the version of these layouts; files
without it (written before it existed) are schema 1 too and still load.
"""

SCHEMA = 1
MARKER = ".embedeval"
CONFIG = "config.json"
VOCAB = "vocab.tsv"
EMBEDDINGS = "embeddings"
SUBWORDS = "subwords"  # translation runs: every subword piece's row, per role
PROJECTION = "projection.npz"
METRICS = "metrics.jsonl"
SUMMARY = "summary.json"
CHECKPOINT = "checkpoint.pt"
LAST_GOOD = "last-good"
TRACK = "track.json"
DYNAMICS = "dynamics.jsonl"
PREVIOUS = "previous.npz"  # a track's last record's full matrices, kept at each checkpoint
RESULTS = "results.json"
# translation runs: the subword models (one joint, or one per side) and the decoded and reference text
JOINT_SUBWORD_MODEL, SRC_SUBWORD_MODEL, TGT_SUBWORD_MODEL = "subword.model", "subword.src.model", "subword.tgt.model"
VALID_HYP, TEST_HYP, TEST_REF = "valid.hyp.txt", "test.hyp.txt", "test.ref.txt"
# a report folder's files besides results.json
REPORT_HTML = "index.html"
# in a report folder while its files are written in place (a resumed built-in default): left there, it says the
# writing stopped part-way (a full disk, a kill) and which files may be from the run before
REPORT_INCOMPLETE = "INCOMPLETE.txt"
# (the built-in tasks' files too: --overwrite replaces a report only when it holds nothing but these)
REPORT_CSV = {"csv": "results.csv", "pairs": "pairs.csv", "tests": "tests.csv", "analogies": "analogies.csv",
              "geometry": "geometry.csv", "quantisation": "quantisation.csv", "tokens": "tokens.csv"}  # fmt: skip
# output-backward: a second output embedding, the backward direction's softmax of a biLM with one per direction
ROLE_ORDER = ("source", "input", "output", "output-backward", "tied", "sum", "projection")

HF_MODEL = "model"  # train hf-gpt2: the model folder (save_pretrained and its tokenizer)
HF_CHECKPOINTS = "checkpoints"  # train hf-gpt2: the Trainer's output_dir of checkpoint-N/ folders

# What embedeval writes at the top of each kind of folder: ``--overwrite`` replaces a folder only when it holds
# nothing else (plus the temporary names of an interrupted write, ``.NAME.PID.tmp``).
OWN_ENTRIES = {
    "run": {
        MARKER, CONFIG, VOCAB, EMBEDDINGS, SUBWORDS, PROJECTION, METRICS, SUMMARY, CHECKPOINT, LAST_GOOD,
        JOINT_SUBWORD_MODEL, SRC_SUBWORD_MODEL, TGT_SUBWORD_MODEL, VALID_HYP, TEST_HYP, TEST_REF,
        HF_MODEL, HF_CHECKPOINTS,
    },
    "track": {MARKER, "untied", "tied", TRACK, DYNAMICS, SUMMARY, PREVIOUS, "snapshots", "figures"},
    "report": {MARKER, REPORT_HTML, RESULTS, *REPORT_CSV.values(), "runs", REPORT_INCOMPLETE},
    "series": {MARKER, "series.json", DYNAMICS, "steps", "figures"},
}  # fmt: skip

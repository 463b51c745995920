import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

if "PYTEST_XDIST_WORKER" in os.environ:
    # one thread per test process (and the commands it starts): pytest-xdist already runs one process per core,
    # and torch's default of one thread per core in each would oversubscribe them
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import numpy as np
import pytest

from embedeval.embeddings import Embedding

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def data_dir() -> Path:
    """The shared data directory (CI sets EMBEDEVAL_DATA); tests that need it skip without it."""
    value = os.environ.get("EMBEDEVAL_DATA") or str(ROOT.parent / "shared" / "data")
    if not Path(value, "similarity").is_dir():
        pytest.skip("no data directory (set EMBEDEVAL_DATA)")
    return Path(value)


@pytest.fixture
def small_embedding() -> Embedding:
    rng = np.random.default_rng(0)
    words = ["tiger", "cat", "dog", "car", "automobile", "money", "cash", "bank", "river", "water"]
    return Embedding(words, rng.normal(size=(len(words), 8)), name="small")


@pytest.fixture
def toy_corpus(tmp_path):
    """A 40-word corpus with train/valid/test files: language models train on it in a second."""
    from embedeval.data.corpus import resolve_corpus

    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(40)]
    lines = [" ".join(rng.choice(words, size=rng.integers(3, 12))) for _ in range(400)]
    folder = tmp_path / "toy"
    folder.mkdir()
    for split, part in (("train", lines[:300]), ("valid", lines[300:350]), ("test", lines[350:])):
        (folder / f"{split}.txt").write_text("\n".join(part) + "\n")
    return resolve_corpus(folder)


def run_cli(*args: str) -> tuple[int, str, str]:
    """Run the embedeval CLI in a subprocess: (exit code, stdout, stderr)."""
    import subprocess

    proc = subprocess.run(
        [sys.executable, "-m", "embedeval.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    return proc.returncode, proc.stdout, proc.stderr


@contextlib.contextmanager
def held_by_another_process(folder: str | Path) -> Iterator[subprocess.Popen]:
    """A child process that claims ``folder`` as a training run does (its FolderLock) and holds it until the block
    ends: what a second `train` or `reproduce` over the same folder meets."""
    holder = subprocess.Popen(
        [sys.executable, "-c", f"from embedeval.files import FolderLock; import time; FolderLock({str(folder)!r})"
         ".acquire(); print('held', flush=True); time.sleep(120)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.kill()
        holder.wait()


# The fast lane (`pytest -m "not slow"`, under 90 s on an idle 2-core machine) leaves out the end-to-end runs: several
# processes, whole notebooks, trainings resumed through the command line, the built-in default, and every other test
# that took 2.5 s or more (`pytest -m "not slow" --durations=60`, 2026-12-07, one core busy with a training).
SLOW_FILES = ("tests/test_distributed.py", "tests/test_main_job.py", "tests/test_series.py", "tests/test_pipeline.py",
              "tests/test_plugins.py", "tests/test_planted_tokens.py", "tests/test_transfer.py")  # fmt: skip
SLOW_TESTS = (
    "tests/test_series.py::test_a_failing_step_on_ray_is_its_own_one_line_error",
    "tests/test_plugins.py::test_a_faulty_plugin_is_one_line_naming_it_and_never_replaces_the_scores",
    "tests/test_fused_loss.py::test_a_run_from_before_the_fused_loss_resumes_with_the_unfused_one",
    "tests/test_memory.py::test_a_trainer_step_reuses_freed_memory_instead_of_faulting_it_in_again",
    "tests/test_kernels.py::test_a_transformer_run_from_before_the_option_resumes_with_kernel_1",
    "tests/test_fused_loss.py::test_a_tiny_run_trains_to_the_unfused_runs_perplexity_within_float_rounding",
    "tests/test_dynamics.py::test_a_resumed_track_says_it_resumes",
    "tests/test_hostile.py::test_a_run_killed_before_it_trained_is_reused_and_resume_says_why_not",
    "tests/test_gguf.py::test_the_gguf_command_writes_a_folder_or_a_run_and_never_into_an_input",
    "tests/test_gguf.py::test_a_report_with_the_quantisation_task_is_replaced_by_overwrite",
    "tests/test_skipgram.py::test_ctrl_c_keeps_finished_epochs_and_marks_the_run_incomplete",
    "tests/test_api.py::test_a_run_started_from_python_has_the_folder_of_one_from_the_cli",
    "tests/test_cli.py::test_progress_in_a_log_is_whole_lines",
    "tests/test_lm.py::test_sigterm_checkpoints_and_resume_finishes",
    "tests/test_bilm.py::test_a_trained_bilm_reports_both_directions",
    "tests/test_dynamics.py::test_plot_dynamics_writes_png_and_svg",
    "tests/test_cli.py::test_bad_input_is_one_line_exit_2_no_traceback",
    "tests/test_report.py::test_cli_says_what_is_wrong_with_a_bad_input",
    "tests/test_skipgram.py::test_torch_backend_resumes_bit_exactly_from_an_interrupt_mid_epoch",
    "tests/test_skipgram.py::test_torch_backend_is_bit_exact_for_a_seed",
    "tests/test_nmt.py::test_cli_trains_a_run_and_refuses_bad_input_without_a_traceback",
    "tests/test_nmt.py::test_eval_averages_multi_piece_words_only_when_asked",
    "tests/test_nmt.py::test_a_tiny_model_learns_to_translate_its_training_set",
    "tests/test_analogy.py::test_correct_answers_equal_gensims_evaluate_word_analogies",
    "tests/test_analogy.py::test_eval_and_compare_score_analogies_and_geometry",
    "tests/test_hostile_models.py::test_a_closed_stdout_and_an_ascii_terminal_are_no_tracebacks",
    "tests/test_lm.py::test_cli_refuses_a_non_empty_out_without_overwrite",
    "tests/test_dynamics.py::test_a_pair_killed_mid_epoch_resumes_to_the_records_of_an_uninterrupted_pair",
    "tests/test_new_architecture.py::test_a_setting_of_one_architecture_is_refused_for_another",
    "tests/test_api.py::test_compare_from_python_is_the_compare_command",
    "tests/test_notebooks.py::test_notebook_runs",
    "tests/test_reproduce.py::test_reproduce_runs_resumes_and_writes_the_table",
    "tests/test_reproduce.py::test_a_run_another_process_is_training_is_shown_and_left_alone",
    "tests/test_reproduce.py::test_a_terminated_reproduce_stops_and_checkpoints_its_runs",
    "tests/test_lm.py::test_resume_refuses_other_settings_but_may_add_epochs_and_threads",
    "tests/test_lm.py::test_pw_small_dry_run_on_ptb",
    "tests/test_nmt.py::test_track_cli_pairs_untied_and_decoder_tied_translation_runs_on_multi30k",
    "tests/test_nmt.py::test_a_single_run_can_record_its_decoder_dynamics",
    "tests/test_report.py::test_cli_refuses_an_existing_report_folder",
    "tests/test_dynamics.py::test_track_refuses_an_option_of_another_trainer_instead_of_ignoring_it",
    "tests/test_dynamics.py::test_committed_track_directories_still_load_and_plot",
    "tests/test_dynamics.py::test_cli_track_and_single_run_track",
    "tests/test_dynamics.py::test_train_lm_track_records_the_split_of_one_tied_run",
    "tests/test_skipgram.py::test_cli_resumes_a_torch_run_and_refuses_gensim",
    "tests/test_cli.py::test_compare_names_the_input_that_empties_the_shared_pairs_and_offers_no_intersect",
)


def pytest_collection_modifyitems(config, items):  # noqa: ARG001 - pytest's hook signature
    import pytest

    for item in items:
        if item.nodeid.startswith(SLOW_FILES) or item.nodeid.split("[")[0] in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)

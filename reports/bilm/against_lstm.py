"""The biLM's forward direction against the one-directional pw-small LSTM of Table 6 (reports/press-wolf/seeds).

The two families' seeds are not paired, so this is Welch's t-test over the finished seeds' test perplexities.
Run from the repository root: python reports/bilm/against_lstm.py (prints the table; with --write also writes
against_lstm.json, the test rows the RESULTS.md sentences reference).
"""

import json
import sys
from pathlib import Path

from scipy import stats

from embedeval.evaluate.stats import holm
from embedeval.layout import SUMMARY
from embedeval.reproduce import get_table
from embedeval.rundir import read_run_file

ROOT = Path(__file__).resolve().parents[2]
SEEDS = (1, 2, 3)
PAIRS = [("separate-untied", "untied"), ("shared-untied", "untied"), ("shared-wt", "wt")]


def finished_test_ppl(table: str, row: str, runs_dir: Path) -> list[float]:
    """The test perplexity of each finished seed of a reproduce table's row, its runs read from ``runs_dir``."""
    runs = [get_table(table).build(row, seed) for seed in SEEDS]
    return [read_run_file(runs_dir / r.folder / SUMMARY)["test_ppl"] for r in runs if r.state(runs_dir) == "complete"]


rows = []
for bilm, lstm in PAIRS:
    a = finished_test_ppl("bilm-ptb", bilm, ROOT / "reports" / "bilm")
    b = finished_test_ppl("press-wolf-table6", lstm, ROOT / "reports" / "press-wolf" / "seeds")
    p = stats.ttest_ind(a, b, equal_var=False).pvalue if len(a) > 1 and len(b) > 1 else float("nan")
    rows.append((bilm, lstm, a, b, sum(a) / len(a) - sum(b) / len(b), p))
adjusted = holm([row[-1] for row in rows])  # over the three contrasts of this table

print("| biLM row (forward) | LSTM row | biLM test ppl | LSTM test ppl | difference | Welch p | Holm p |")
print("|---|---|---|---|---|---|---|")
for (bilm, lstm, a, b, diff, p), p_holm in zip(rows, adjusted):
    fmt = ", ".join(f"{x:.2f}" for x in a), ", ".join(f"{x:.2f}" for x in b)
    print(f"| `{bilm}` | `{lstm}` | {fmt[0]} | {fmt[1]} | {diff:+.2f} | {p:.4f} | {p_holm:.4f} |")

tests = []
for (bilm, lstm, a, b, diff, p), p_holm in zip(rows, adjusted):
    shown = p_holm < 0.05
    verdict = (f"{bilm} {'worse' if diff > 0 else 'better'} than {lstm} (Holm p {p_holm:.4f})" if shown
               else f"no difference shown (Holm p {p_holm:.2f})")  # fmt: skip
    tests.append({"a": lstm, "b": bilm, "n": min(len(a), len(b)), "mean": diff, "p": p, "p_holm": float(p_holm),
                  "test": "Welch t over the finished seeds (not paired)", "verdict": verdict})  # fmt: skip
if "--write" in sys.argv:
    out = ROOT / "reports" / "bilm" / "against_lstm.json"
    out.write_text(json.dumps({"tests": tests}, indent=1) + "\n", encoding="utf-8")

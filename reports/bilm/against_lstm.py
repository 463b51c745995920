"""The biLM's forward direction against the one-directional pw-small LSTM of Table 6 (reports/press-wolf/seeds).

The two families' seeds are not paired, so this is Welch's t-test over the finished seeds' test perplexities.
Run from the repository root: python reports/bilm/against_lstm.py
"""

import json
from pathlib import Path

from scipy import stats

from embedeval.evaluate.stats import holm

ROOT = Path(__file__).resolve().parents[2]
PAIRS = [("separate-untied", "untied"), ("shared-untied", "untied"), ("shared-wt", "wt")]


def test_ppl(folder: Path) -> list[float]:
    found = []
    for summary in sorted(folder.parent.glob(folder.name + "-s[0-9]*/summary.json")):
        data = json.loads(summary.read_text())
        if data.get("status") == "complete":
            found.append(data["test_ppl"])
    return found


rows = []
for bilm, lstm in PAIRS:
    a = test_ppl(ROOT / "reports" / "bilm" / f"ptb-bilm-small-{bilm}")
    b = test_ppl(ROOT / "reports" / "press-wolf" / "seeds" / f"ptb-pw-small-{lstm}")
    p = stats.ttest_ind(a, b, equal_var=False).pvalue if len(a) > 1 and len(b) > 1 else float("nan")
    rows.append((bilm, lstm, a, b, sum(a) / len(a) - sum(b) / len(b), p))
adjusted = holm([row[-1] for row in rows])  # over the three contrasts of this table

print("| biLM row (forward) | LSTM row | biLM test ppl | LSTM test ppl | difference | Welch p | Holm p |")
print("|---|---|---|---|---|---|---|")
for (bilm, lstm, a, b, diff, p), p_holm in zip(rows, adjusted):
    fmt = ", ".join(f"{x:.2f}" for x in a), ", ".join(f"{x:.2f}" for x in b)
    print(f"| `{bilm}` | `{lstm}` | {fmt[0]} | {fmt[1]} | {diff:+.2f} | {p:.4f} | {p_holm:.4f} |")

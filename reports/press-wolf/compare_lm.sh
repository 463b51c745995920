#!/usr/bin/env bash
# P&W Table 6 runs (run_table6.sh) compared in one report: perplexity, the input / output / tied tables on P&W's
# five benchmarks + WS-353 + SimVerb-3500, significance and the Table-3 correlations; then RESULTS.md.
#   EMBEDEVAL_DATA=../shared/data bash reports/press-wolf/compare_lm.sh
set -euo pipefail
runs=()
for v in untied wt pr wt+pr; do
  if [ -d "runs/ptb-pw-small-$v" ]; then runs+=("runs/ptb-pw-small-$v"); fi
done
# Inan et al.'s variants in the same setting, once they have finished
for v in al re real; do
  if grep -qs '"complete"' "runs/ptb-pw-small-$v/summary.json"; then runs+=("runs/ptb-pw-small-$v"); fi
done
embedeval compare "${runs[@]}" --out reports/press-wolf --overwrite \
  --title "Press & Wolf Table 6 on PTB: LSTM pw-small (2x200, no dropout, 13 epochs), untied / WT / PR / WT+PR (+ Inan RE / REAL where run)"
python reports/press-wolf/summarise.py

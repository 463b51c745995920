#!/usr/bin/env bash
# pw-small runs on PTB (13 epochs, one thread each): P&W Table 6 (untied wt pr wt+pr) and Inan et al.'s variants
# (al re real) in the same setting; resumes any run left incomplete. SEED (default 1) picks the seed; seed 1
# writes runs/ptb-pw-small-VARIANT, others runs/ptb-pw-small-VARIANT-sSEED.
#   EMBEDEVAL_DATA=../shared/data bash reports/press-wolf/run_table6.sh untied pr &
#   SEED=2 EMBEDEVAL_DATA=../shared/data bash reports/press-wolf/run_table6.sh wt wt+pr &
set -u
seed="${SEED:-1}"
suffix=""
[ "$seed" = 1 ] || suffix="-s$seed"
for v in "$@"; do
  out="runs/ptb-pw-small-$v$suffix"
  if [ -f "$out/checkpoint.pt" ] && grep -q '"incomplete"' "$out/summary.json"; then
    embedeval train lm --corpus ptb --config pw-small --variant "$v" --seed "$seed" --threads 1 --out "$out" --resume
  elif ! grep -q '"complete"' "$out/summary.json" 2>/dev/null; then
    embedeval train lm --corpus ptb --config pw-small --variant "$v" --seed "$seed" --threads 1 --out "$out" --overwrite
  fi
done

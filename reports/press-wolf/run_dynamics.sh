#!/usr/bin/env bash
# Issue 7 step 3: the full-length dynamics pair (untied vs wt, pw-small, 13 epochs) on PTB, resumable; then its
# records, figures and run summaries are copied to reports/dynamics/ptb-pw-small-full (checkpoints and
# snapshots stay in runs/).
#   EMBEDEVAL_DATA=../shared/data bash reports/press-wolf/run_dynamics.sh
set -euo pipefail
out=runs/track-ptb-pw-small-full
args=(--trainer lm --corpus ptb --config pw-small --threads "${THREADS:-2}" --out "$out")
if [ -f "$out/tied/checkpoint.pt" ] && ! [ -f "$out/summary.json" ]; then
  embedeval track "${args[@]}" --resume
elif ! [ -f "$out/summary.json" ]; then
  embedeval track "${args[@]}" --overwrite
fi
dest=reports/dynamics/ptb-pw-small-full
mkdir -p "$dest"
cp "$out"/{dynamics.jsonl,track.json,summary.json} "$dest"/
cp -r "$out/figures" "$dest"/
for side in untied tied; do
  mkdir -p "$dest/$side"
  cp "$out/$side"/{config.json,metrics.jsonl,summary.json} "$dest/$side"/
done

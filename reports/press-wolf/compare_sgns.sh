#!/usr/bin/env bash
# P&W claim 1 (SGNS: U >= V) on WikiText-2: one compare report per seed over gensim U/V, torch U/V and torch tied S.
# The runs come from benchmarks/sgns_quality.py (dim 200, window 5, negative 5, min_count 5, 5 epochs, seeds 1-3).
#   EMBEDEVAL_DATA=../shared/data bash reports/press-wolf/compare_sgns.sh
set -euo pipefail
for seed in 1 2 3; do
  embedeval compare runs/sgns-wikitext-2/{gensim,torch,torch-tied}-s$seed \
    --out reports/press-wolf/sgns-wikitext-2-s$seed --overwrite \
    --title "P&W claim 1: SGNS on WikiText-2, seed $seed (gensim and torch, untied and tied)"
done

#!/usr/bin/env bash
# `make demo`: musforms on the samples, step by step. Stops at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
MUSFORMS=.venv/bin/musforms
OUT=demo-out

step() { printf '\n== %s\n' "$*"; }

rm -rf "$OUT"
mkdir -p "$OUT"

step "The built-in question sets"
$MUSFORMS sets

step "Each built-in set passes check"
for name in standard kort leder; do
  $MUSFORMS check "$name"
done

step "The question set and settings in config/"
$MUSFORMS check config/questions.yaml

step "The sample roster (samples/roster.csv, saved as Danish Excel does)"
$MUSFORMS roster samples/roster.csv

step "A new round folder with musforms init"
$MUSFORMS init "$OUT/mus2026" --set kort --organisation "Eksempel Kommune"
$MUSFORMS check "$OUT/mus2026/config/questions.yaml"

step "Done"

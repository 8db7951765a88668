#!/usr/bin/env bash
# LFW View 2 protocol: one model per fold of pairs.txt, each trained without that fold's people.
# usage: view2-folds.sh <crops dir> <pairs.txt> <out dir> [epochs] [first fold] [last fold]
# Extra fvtrain arguments (e.g. the v2 distillation: --teacher DIR ... --distill-direct 4) go in
# FVTRAIN_ARGS. Writes <out dir>/fold<k>/model.onnx; evaluate with
#   npm run eval -- --pairs pairs.txt --images <lfw> --fold-models '<out dir>/fold{fold}'
set -euo pipefail
crops=$1 pairs=$2 out=$3 epochs=${4:-8} first=${5:-0} last=${6:-9}
python=${PYTHON:-python3}
cd "$(dirname "$0")/.."
for k in $(seq "$first" "$last"); do
  echo "== fold $k"
  "$python" -m fvtrain --crops "$crops" --exclude-pairs "$pairs" --exclude-fold "$k" \
    --out "$out/fold$k" --epochs "$epochs" --seed 0 --threads 2 ${FVTRAIN_ARGS:-}
done

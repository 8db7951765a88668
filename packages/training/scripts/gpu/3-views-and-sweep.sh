#!/bin/bash
# Step 3 on the GPU machine: the rest of LFW, the four teacher view sets on the GPU (blends in four shards,
# merged), then the jobs of jobs.tsv side by side until BUDGET seconds after this script began,
# then the models and logs packed into $OUT.
set -u
PY=${PY:-python3}
W=${W:-/tmp/w}; DEVICE=${DEVICE:-cuda}; OUT=${OUT:-/tmp/out}; BUDGET=${BUDGET:-470}; PAR=${PAR:-12}
MIX_SHARD=${MIX_SHARD:-20000}
mkdir -p "$OUT"
L=$W/logs3; mkdir -p "$L"
trap 'tar -czf "$OUT/logs.tar.gz" -C "$W" logs3' EXIT
"$PY" -c "import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" .dev/c/lfw-2.tar.gz "$W" || exit 1
n=$(find "$W/lfw" -name '*.jpg' | wc -l); echo "images: $n (${SECONDS}s)"
[ "$n" = "${IMAGES:-13233}" ] || { echo "LFW is incomplete"; exit 1; }
if [ -f "$W/use_mps" ]; then export CUDA_MPS_PIPE_DIRECTORY=/tmp/mps-pipe CUDA_MPS_LOG_DIRECTORY=/tmp/mps-log; echo "MPS on"; fi
cd packages/training || exit 1
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
V="timeout ${VIEWS_TIMEOUT:-240} $PY -m fvtrain.views --crops $W/crops --images $W/lfw --teacher-model $W/model --device $DEVICE --threads 1"
$V --out "$W/views/mild12" --views 12 > "$L/views-mild12.log" 2>&1 &
$V --out "$W/views/strong13" --views 13 --seed 11 --shift 5 --rotate 12 --scale 0.15 --blur-prob 0.4 > "$L/views-strong13.log" 2>&1 &
$V --out "$W/views/xstrong13" --views 13 --seed 23 --shift 7 --rotate 18 --scale 0.22 --blur-prob 0.5 > "$L/views-xstrong13.log" 2>&1 &
for s in 0 1 2 3; do $V --out "$W/views/mix-$s" --mixes "$MIX_SHARD" --seed $((7 + s)) > "$L/views-mix-$s.log" 2>&1 & done
wait
"$PY" - "$W/views" <<'PY'
import json, os, sys
import numpy as np
root = sys.argv[1]
shards = [os.path.join(root, f"mix-{s}") for s in range(4)]
metas = [json.load(open(os.path.join(d, "meta.json"))) for d in shards]
out = os.path.join(root, "mix80k")
os.makedirs(out, exist_ok=True)
np.save(os.path.join(out, "crops.npy"), np.concatenate([np.load(os.path.join(d, "crops.npy")) for d in shards]))
np.save(os.path.join(out, "sources.npy"), np.concatenate([np.load(os.path.join(d, "sources.npy")) for d in shards]))
for f in ("teacher.f32", "lambda.f32"):
    np.concatenate([np.fromfile(os.path.join(d, f), "<f4") for d in shards]).tofile(os.path.join(out, f))
meta = {**metas[0], "mixes": sum(m["mixes"] for m in metas), "seconds": max(m["seconds"] for m in metas),
        "shards": [{"seed": m["augmentation"]["seed"], "mixes": m["mixes"]} for m in metas]}
json.dump(meta, open(os.path.join(out, "meta.json"), "w"), indent=2)
print(f"merged {meta['mixes']} blends from {len(shards)} shards")
PY
for d in mild12 strong13 xstrong13 mix80k; do
  [ -f "$W/views/$d/meta.json" ] || { echo "views $d failed"; tail -5 "$L/views-$d.log"; exit 1; }
  "$PY" -c "import json; m = json.load(open('$W/views/$d/meta.json')); print('$d', m.get('views', m.get('mixes')), m['seconds'], 's', m.get('view0_mean_abs_diff_to_crops', ''))"
done
echo "views done at ${SECONDS}s"
sed "s#@W@#$W#g; s#@DEVICE@#$DEVICE#g" "${JOBS_TMPL:-$OLDPWD/packages/training/scripts/gpu/jobs.tsv}" > "$W/jobs.txt"
LEFT=$((BUDGET - SECONDS - 20))
# Side by side, K jobs each take about max(alone, six * K / 6) seconds per epoch (call 1's
# measurements; GPU-bound beyond saturation): pick the K that finishes the most 128-epoch jobs.
read -r PAR RATE < <("$PY" - "$W" "$LEFT" "$PAR" <<'PY'
import os, sys
w, left, cap = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
def read(name):
    try:
        v = open(os.path.join(w, name)).read().strip()
        return float(v) if v and v != "fail" else None
    except OSError:
        return None
alone = read("alone.epoch")
six = read("mps.median") if os.path.exists(os.path.join(w, "use_mps")) else read("plain.median")
if alone is None or six is None:
    print(cap, 0); sys.exit()
best = (0, -min(cap, 6), max(alone, six * min(cap, 6) / 6) * 1.15)  # when no 128-epoch job fits
for k in range(1, cap + 1):
    rate = max(alone, six * k / 6) * 1.15  # all rows have views here: less CPU work, but leave room
    waves = int(left // (128 * rate + 40))
    best = max(best, (k * waves, -k, rate))
print(-best[1], f"{best[2]:.3f}")
PY
)
echo "training: $LEFT s left, $PAR side by side, expecting ${RATE} s/epoch"
PRIOR=(); [ "$RATE" != 0 ] && PRIOR=(--epoch-seconds "$RATE" --startup-seconds 40)
"$PY" -m fvtrain.sweep --jobs "$W/jobs.txt" --out "$W/runs" --parallel "$PAR" --deadline "$LEFT" "${PRIOR[@]}" | tee "$L/sweep.log"
cp "$W/jobs.txt" "$L/"
cd "$W/runs" || exit 1
cp sweep.json "$L/"
for group in dt t13f v3f; do
  files=$(ls -d ${group}_*/ 2>/dev/null | while read -r d; do for f in model.onnx training.json; do [ -f "$d$f" ] && echo "$d$f"; done; [ -f "${d}model.onnx" ] || { [ -f "${d}model.pt" ] && echo "${d}model.pt"; }; done)
  logs=$(ls ${group}_*.log 2>/dev/null)
  [ -n "$files$logs" ] && tar -czf "$OUT/$group.tar.gz" $files $logs
done
ls -la "$OUT"
echo "call 3 done in ${SECONDS}s"

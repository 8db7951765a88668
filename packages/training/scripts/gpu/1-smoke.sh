#!/bin/bash
# Step 1 on the GPU machine: unpack carry a into $W, then a smoke test of every GPU code path on the people
# carried so far (views, blends, training with both, export), and timings: one training alone,
# six side by side, and six side by side under MPS. Leaves $W/use_mps when MPS pays.
set -u
PY=${PY:-python3}
W=${W:-/tmp/w}; DEVICE=${DEVICE:-cuda}; OUT=${OUT:-/tmp/out}; SMOKE_EPOCHS=${SMOKE_EPOCHS:-3}
mkdir -p "$W" "$OUT"
L=$W/logs1; mkdir -p "$L"
trap 'tar -czf "$OUT/call1-logs.tar.gz" -C "$W" logs1' EXIT
ROOT=$PWD
for f in .dev/a/*.tar*; do "$PY" -c "import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" "$f" "$W" || exit 1; done
echo "unpacked: $(ls "$W/lfw" | wc -l) people, $(find "$W/lfw" -name '*.jpg' | wc -l) images, ${SECONDS}s"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
nproc; free -g | head -2
"$PY" -c "import torch, numpy, onnx, PIL; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'onnx', onnx.__version__, 'numpy', numpy.__version__)"
cd packages/training || exit 1
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
"$PY" - "$W" <<'PY'
import os, sys
w = sys.argv[1]
people = sorted(os.listdir(f"{w}/lfw"))
with open(f"{w}/smoke-pairs.txt", "w") as fh:
    fh.write(f"{len(people)}\n" + "".join(f"{p}\t1\t1\n" for p in people))
PY
V="timeout 150 $PY -m fvtrain.views --crops $W/crops --images $W/lfw --teacher-model $W/model --pairs $W/smoke-pairs.txt --device $DEVICE --threads 1"
t=$SECONDS; $V --out "$W/smoke/v" --views 13 --seed 23 --shift 7 --rotate 18 --scale 0.22 --blur-prob 0.5 2>&1 | tail -2; echo "views: $((SECONDS - t))s"
t=$SECONDS; $V --out "$W/smoke/m" --mixes 3000 --seed 7 2>&1 | tail -2; echo "mixes: $((SECONDS - t))s"
[ -f "$W/smoke/v/meta.json" ] && [ -f "$W/smoke/m/meta.json" ] || { echo "SMOKE FAILED: views"; exit 1; }
T="timeout 120 $PY -m fvtrain --crops $W/crops --exclude-pairs $W/pairs/pairsDevTest.txt --views $W/smoke/v --mixes $W/smoke/m --mix-per-batch 32 --distill-direct 128 --widths 16,32,64+64,128+128 --weights fp16 --epochs $SMOKE_EPOCHS --device $DEVICE --threads 1"
t=$SECONDS; $T --out "$W/smoke/t1" > "$L/smoke-t1.log" 2>&1; rc=$?; tail -6 "$L/smoke-t1.log"; echo "train alone: rc $rc, $((SECONDS - t))s"
[ $rc = 0 ] && [ -f "$W/smoke/t1/model.onnx" ] || { echo "SMOKE FAILED: training"; exit 1; }
grep -oP '^epoch\s+\d+/\d+.*?\K[\d.]+(?=s \(total)' "$L/smoke-t1.log" | tail -1 > "$W/alone.epoch"
echo "alone: $(cat "$W/alone.epoch") s/epoch"
side_by_side() {  # $1 = tag; prints the median seconds of the last epoch over six jobs
  local pids=() i
  for i in 1 2 3 4 5 6; do $T --seed $i --out "$W/smoke/$1-$i" > "$L/smoke-$1-$i.log" 2>&1 & pids+=($!); done
  local ok=1; for p in "${pids[@]}"; do wait "$p" || ok=0; done
  "$PY" - "$L" "$1" "$ok" "$W" <<'PY'
import re, statistics, sys
out, tag, ok = sys.argv[1:4]
secs = []
for i in range(1, 7):
    found = re.findall(r"^epoch\s+\d+/\d+.*?([\d.]+)s \(total", open(f"{out}/smoke-{tag}-{i}.log").read(), re.M)
    if found: secs.append(float(found[-1]))
print(f"{tag}: ok={ok}, last-epoch seconds of 6 side-by-side jobs: {secs}, median {statistics.median(secs) if secs else 'n/a'}")
open(f"{sys.argv[4]}/{tag}.median", "w").write(str(statistics.median(secs)) if secs and ok == "1" and len(secs) == 6 else "fail")
PY
}
t=$SECONDS; side_by_side plain; echo "6 side by side: $((SECONDS - t))s"
if command -v nvidia-cuda-mps-control > /dev/null && [ "$DEVICE" = cuda ]; then
  export CUDA_MPS_PIPE_DIRECTORY=/tmp/mps-pipe CUDA_MPS_LOG_DIRECTORY=/tmp/mps-log
  mkdir -p $CUDA_MPS_PIPE_DIRECTORY $CUDA_MPS_LOG_DIRECTORY
  if nvidia-cuda-mps-control -d; then
    t=$SECONDS; side_by_side mps; echo "6 side by side under MPS: $((SECONDS - t))s"
    if "$PY" -c "import sys; p, m = open('$W/plain.median').read(), open('$W/mps.median').read(); sys.exit(0 if m != 'fail' and (p == 'fail' or float(m) < 0.8 * float(p)) else 1)"; then
      touch "$W/use_mps"; echo "MPS: kept on"
    else
      echo quit | timeout 20 nvidia-cuda-mps-control; sleep 2; echo "MPS: off"
    fi
  else
    echo "MPS: could not start"
  fi
else
  echo "MPS: not available"
fi
timeout 60 "$PY" -c "import torch; print('CUDA after the MPS test:', torch.ones(4, device='$DEVICE').sum().item())"
echo "call 1 done in ${SECONDS}s"

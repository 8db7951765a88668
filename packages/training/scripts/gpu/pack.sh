#!/bin/bash
# Packs what a GPU machine needs for the T13 runs into three folders under .dev/ (ignored by git),
# each under 64 MiB together with the repository's tracked files, for a machine that receives the
# repository by copy with that limit per copy: a = aligned crops (xz), the teacher's weights, the
# pairs lists and the first LFW people; b, c = the rest of LFW (gzip). Run from the repository root.
set -eu
CROPS=${CROPS:-/work/crops/lfw-rigid}
LFW=${LFW:-/work/shared/data/lfw}
PAIRS=${PAIRS:-/work/shared/data/lfw-pairs}
MODEL=node_modules/@vladmandic/face-api/model
rm -rf .dev/a .dev/b .dev/c && mkdir -p .dev/a .dev/b .dev/c
XZ_OPT=-6 tar -cJf .dev/a/crops.tar.xz -C "$(dirname "$CROPS")" --transform "s#^$(basename "$CROPS")#crops#" "$(basename "$CROPS")"
tar -cf .dev/a/model.tar -C node_modules/@vladmandic/face-api --transform 's#^model#model#' \
  model/face_recognition_model-weights_manifest.json model/face_recognition_model.bin
tar -czf .dev/a/pairs.tar.gz -C "$(dirname "$PAIRS")" --transform "s#^$(basename "$PAIRS")#pairs#" "$(basename "$PAIRS")"
used=$(du -cb .dev/a/* | tail -1 | cut -f1)
tracked=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
limit=${LIMIT:-$((66 * 1000 * 1000))}
# Split LFW by person, in name order, filling a, then b, then c.
python3 - "$LFW" "$used" "$tracked" "$limit" <<'PY'
import os, sys
lfw, used, tracked, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
chunks, sizes = [[], [], []], [used, 0, 0]
c = 0
for person in sorted(os.listdir(lfw)):
    d = os.path.join(lfw, person)
    size = sum(os.path.getsize(os.path.join(d, f)) + 300 for f in os.listdir(d)) + 300
    while sizes[c] + size > limit - tracked:
        c += 1
        if c == 3:
            sys.exit("LFW does not fit in three carries")
    chunks[c].append(person)
    sizes[c] += size
for i, people in enumerate(chunks):
    with open(f".dev/lfw-{i}.list", "w") as fh:
        fh.write("\n".join(f"lfw/{p}" for p in people) + "\n")
    print(f"chunk {'abc'[i]}: {len(people)} people, ~{sizes[i] / 1e6:.1f} MB with tracked files {tracked / 1e6:.1f} MB")
PY
for i in 0 1 2; do
  d=.dev/$(echo abc | cut -c$((i + 1)))
  tar -czf "$d/lfw-$i.tar.gz" -C "$(dirname "$LFW")" --transform "s#^$(basename "$LFW")#lfw#" \
    -T <(sed "s#^lfw/#$(basename "$LFW")/#" ".dev/lfw-$i.list")
done
for d in a b c; do echo "$d: $(( $(du -cb .dev/$d | tail -1 | cut -f1) + tracked )) bytes with the tracked files (limit 67108864)"; done

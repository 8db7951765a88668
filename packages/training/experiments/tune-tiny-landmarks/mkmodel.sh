#!/bin/bash
# usage: mkmodel.sh <landmarks.onnx> <outdir>
set -e
src=/work/main/models/siamese-v5-int8
rm -rf "$2"; mkdir -p "$2"
cp $src/model.onnx "$2/"
cp "$1" "$2/landmarks.onnx"
sha=$(sha256sum "$2/landmarks.onnx" | cut -d' ' -f1)
/usr/bin/python3 - "$src/manifest.json" "$2/manifest.json" "$sha" <<'PY'
import json,sys
m=json.load(open(sys.argv[1])); m['preprocessing']['crop']['landmarks']['sha256']=sys.argv[3]
json.dump(m,open(sys.argv[2],'w'),indent=2)
PY
echo "$2 landmarks sha $sha"

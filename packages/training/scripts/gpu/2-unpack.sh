#!/bin/bash
# Step 2 on the GPU machine: unpack folder b (the middle of LFW) into $W.
W=${W:-/tmp/w}; PY=${PY:-python3}
"$PY" -c "import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" .dev/b/lfw-1.tar.gz "$W" && echo "unpacked b: $(find "$W/lfw" -name '*.jpg' | wc -l) images in ${SECONDS}s"

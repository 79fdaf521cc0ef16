#!/usr/bin/env bash
# Copy the latest checkpoint of a generator run into weights/runs/cpu/generator (replacing the
# one there: the repository keeps only the latest), so that the next session resumes from it:
#   cp -r weights/runs/cpu/generator RUNS/ && vidsr train --stage generator --data SET --runs RUNS --resume ...
# Usage: scripts/save_generator_checkpoint.sh RUN_DIR   (e.g. /work/gen-run2/runs/cpu/generator)
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:?usage: $0 RUN_DIR}
DEST=weights/runs/cpu/generator
STEP=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['step'])" "$RUN/checkpoints/latest.json")
NAME=$(printf "%08d" "$STEP")
TMP=$(mktemp -d "weights/runs/cpu/.generator.XXXXXX")
chmod 755 "$TMP" && mkdir -p "$TMP/checkpoints"
cp "$RUN/checkpoints/weights-$NAME.safetensors" "$RUN/checkpoints/state-$NAME.safetensors" "$TMP/checkpoints/"
echo "{\"step\": $STEP}" > "$TMP/checkpoints/latest.json"
cp "$RUN"/options*.json "$TMP/"
# stats up to the saved step only (a resumed run forgets the steps after its checkpoint)
python3 - "$RUN/stats.jsonl" "$STEP" > "$TMP/stats.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    if line.strip() and json.loads(line)["step"] <= int(sys.argv[2]):
        sys.stdout.write(line)
PY
rm -rf "$DEST.old" && { [ ! -d "$DEST" ] || mv "$DEST" "$DEST.old"; } && mv "$TMP" "$DEST" && rm -rf "$DEST.old"
echo "saved step $STEP of $RUN in $DEST"

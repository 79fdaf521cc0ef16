#!/usr/bin/env bash
# Rebuild the default model weights/vidsr-cpu.safetensors from ../shared/data on this CPU.
# Every stage is resumable: run the script again after a kill and it goes on where it stopped.
# Steps per stage default to the cpu preset's (vidsr/models/presets.json); override with env,
# e.g. GEN_STEPS=3000 to match the shipped model card.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
SET=${SET:-data/utkface}
RUNS=${RUNS:-runs/cpu}
steps() { [ -n "${1:-}" ] && echo "--steps $1"; }
resume() { [ -f "$RUNS/$1/checkpoints/latest.json" ] && echo "--resume"; }

[ -f "$SET/meta.json" ] || vidsr prepare "$SHARED/data/utkface" -o "$SET" --kind photos --hr-size 128 --voices-per-person 3
vidsr train --stage generator --data "$SHARED/data/utkface" --runs "$RUNS" $(steps "${GEN_STEPS:-}") $(resume generator)
vidsr train --stage highres   --data "$SHARED/data/utkface" --runs "$RUNS" $(steps "${HIGHRES_STEPS:-}") $(resume highres)
vidsr train --stage lowres    --data "$SET" --runs "$RUNS" $(steps "${LOWRES_STEPS:-}") $(resume lowres)
vidsr train --stage audio     --data "$SET" --runs "$RUNS" $(steps "${AUDIO_STEPS:-}") $(resume audio)
vidsr train --stage fusion    --data "$SET" --runs "$RUNS" $(steps "${FUSION_STEPS:-}") $(resume fusion)
vidsr export --runs "$RUNS" -o weights/vidsr-cpu.safetensors

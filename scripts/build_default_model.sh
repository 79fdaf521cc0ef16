#!/usr/bin/env bash
# Build the cpu model from ../shared/data on this CPU, to $OUT (default
# weights/vidsr-cpu.safetensors). The recipe below is that of the candidate with the gender loss
# (README, "Choices"); it is not yet the shipped default (weights/README.md describes that one).
# Every stage is resumable: run the script again after a kill and it goes on where it stopped. Steps per stage are the recipe's (below); override with
# env, e.g. FUSION_STEPS=1200. Everything runs on one thread; pin it with taskset if you like.
#
# The recipe: G on UTKFace photos (5,100 steps of 16 = 82k images), then on the prepared set of
# UTKFace + UTKFace-more + LFW with real speechocean762 voices: E_h; E_l and E_a warm-started
# from the previous default model (INIT, the weights of commit 1d62e90) and fine-tuned (E_l on
# degraded 8x8 inputs, E_a on real voices with its gender head); C_g (our gender classifier on
# the high-res training faces); F + E_a with eq. (4) plus the gender loss through the frozen C_g.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
SET=${SET:-data/all}
RUNS=${RUNS:-runs/cpu}
INIT=${INIT:-runs/init/vidsr-cpu-1d62e90.safetensors}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
resume() { [ -f "$RUNS/$1/checkpoints/latest.json" ] && echo "--resume"; }
stage() { python scripts/train_stage.py "$@"; }

[ -f "$SET/meta.json" ] || vidsr prepare "$SHARED/data/utkface" "$SHARED/data/utkface-more" "$SHARED/data/lfw" -o "$SET"
if [ ! -f "$INIT" ]; then
  mkdir -p "$(dirname "$INIT")"
  git show 1d62e90:weights/vidsr-cpu.safetensors > "$INIT"
fi
vidsr train --stage generator --data "$SHARED/data/utkface" --runs "$RUNS" --threads 1 --steps "${GEN_STEPS:-5100}" $(resume generator)
vidsr train --stage highres --data "$SET" --runs "$RUNS" --threads 1 --limit 30000 --steps "${HIGHRES_STEPS:-400}" $(resume highres)
vidsr train --stage classifiers --data "$SET" --runs "$RUNS" --threads 1 --steps "${CLASSIFIERS_STEPS:-1000}" $(resume classifiers)
stage lowres --data "$SET" --runs "$RUNS" --steps "${LOWRES_STEPS:-300}" --set init="$INIT" $(resume lowres)
stage audio --data "$SET" --runs "$RUNS" --steps "${AUDIO_STEPS:-200}" --set init="$INIT" $(resume audio)
stage fusion --data "$SET" --runs "$RUNS" --steps "${FUSION_STEPS:-300}" $(resume fusion)
vidsr export --runs "$RUNS" -o "${OUT:-weights/vidsr-cpu.safetensors}"

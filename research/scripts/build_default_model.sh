#!/usr/bin/env bash
# Build a default cpu model from ../shared/data on this CPU, to $OUT (default
# weights/vidsr-cpu.safetensors), in one go: the recipe of the model shipped in session 8 of
# 2026-12-02 (vG: research/candidates/2026-12-02-vG). The model shipped now (vN, session 14 of
# 2026-12-03) was not built end to end: its E_h and E_l were carried through four warm-started
# rounds on newer checkpoints of G (vI, vK, vL, vM), then F trained by this script's fusion recipe;
# weights/README.md lists the rounds and research/candidates/2026-12-03-v*/ their commands. With
# G_COMMIT / G_STEP set to a later checkpoint this script gives vG's recipe on that G. Every stage
# is resumable: run the script
# again after a kill and it goes on where it stopped. Steps per stage are the recipe's (below);
# override with env, e.g. FUSION_STEPS=1200. Everything runs on one thread; pin it with taskset.
#
# The recipe: G = the long run's checkpoint at step 20,000 (320k images of UTKFace + UTKFace-more
# + LFW training people; committed at 1bd38fe, research/generator/README.md); on the prepared set of
# the three photo sources with real speechocean762 voices: E_h (1,500 steps on 30k faces); C_g
# (our gender classifier on the high-res training faces, 1,000 steps); E_l warm-started from the
# model of commit 1d62e90 (INIT) and trained on degraded 8x8 inputs, 600 steps, then trained again
# from those weights 4,000 steps with a fresh optimiser, as the shipped E_l was made (it started
# from the fp16 export of the first 600 steps);
# E_a warm-started from INIT, on real voices with its gender head, 300 steps; F + E_a with eq. (4)
# plus the gender loss through the frozen C_g, balanced over the genders, on clean and degraded
# 8x8 inputs half and half (2,000 steps, lr 3e-4). About 2.5 h on one core.
set -euo pipefail
cd "$(dirname "$0")/../.."
SHARED=${SHARED:-../shared}
SET=${SET:-data/all}
RUNS=${RUNS:-runs/cpu}
INIT=${INIT:-runs/init/vidsr-cpu-1d62e90.safetensors}
G_COMMIT=${G_COMMIT:-1bd38fe}
G_STEP=${G_STEP:-20000}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
resume() { [ -f "$RUNS/$1/checkpoints/latest.json" ] && echo "--resume"; }
stage() { python research/scripts/train_stage.py "$@"; }

[ -f "$SET/meta.json" ] || vidsr prepare "$SHARED/data/utkface" "$SHARED/data/utkface-more" "$SHARED/data/lfw" -o "$SET"
if [ ! -f "$INIT" ]; then
  mkdir -p "$(dirname "$INIT")"
  git show 1d62e90:weights/vidsr-cpu.safetensors > "$INIT"
fi
if [ ! -f "$RUNS/generator/weights.safetensors" ]; then
  # G's checkpoint from git history; resuming it at its own step only writes the stage's weights
  name=$(printf "%08d" "$G_STEP")
  mkdir -p "$RUNS/generator/checkpoints"
  for part in weights state; do
    git show "$G_COMMIT:weights/runs/cpu/generator/checkpoints/$part-$name.safetensors" > "$RUNS/generator/checkpoints/$part-$name.safetensors"
  done
  echo "{\"step\": $G_STEP}" > "$RUNS/generator/checkpoints/latest.json"
  vidsr train --stage generator --data "$SET" --runs "$RUNS" --threads 1 --steps "$G_STEP" --resume
fi
vidsr train --stage highres --data "$SET" --runs "$RUNS" --threads 1 --limit 30000 --steps "${HIGHRES_STEPS:-1500}" $(resume highres)
vidsr train --stage classifiers --data "$SET" --runs "$RUNS" --threads 1 --steps "${CLASSIFIERS_STEPS:-1000}" $(resume classifiers)
if [ ! -f "$RUNS/lowres-first/weights.safetensors" ]; then
  stage lowres --data "$SET" --runs "$RUNS" --steps "${LOWRES_FIRST_STEPS:-600}" --set init="$INIT" $(resume lowres)
  mv "$RUNS/lowres" "$RUNS/lowres-first"
fi
stage lowres --data "$SET" --runs "$RUNS" --steps "${LOWRES_STEPS:-4000}" --set init="$RUNS/lowres-first/weights.safetensors" $(resume lowres)
stage audio --data "$SET" --runs "$RUNS" --steps "${AUDIO_STEPS:-300}" --set init="$INIT" $(resume audio)
stage fusion --data "$SET" --runs "$RUNS" --steps "${FUSION_STEPS:-2000}" --set gender_balance=true --set clean_share=0.5 $(resume fusion)
vidsr export --runs "$RUNS" -o "${OUT:-weights/vidsr-cpu.safetensors}"

#!/usr/bin/env bash
# Small tumour foci on several held-out sets: the sparse demo's slides (tumour 5-15% of the tissue, seed 1) trained
# three ways (region annotations, slide labels only, slide labels refined), then each model classifies the demo's
# held-out set (seed 2, 6 slides per class) and one more set per extra seed (8 slides per class), scored against the
# region truth. One held-out set of 18-24 slides moves 4-6 points a slide, so one seed says little on its own.
# Usage: scripts/sparse-foci.sh [work folder]   (after the setup command has built the CLI; about 25 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
deepslide=${DEEPSLIDE:-$PWD/src/DeepSlide.Cli/bin/Release/net10.0/deepslide}
w=${1:-out/sparse-foci}
seeds=${SEEDS:-"3 4 5 6"}
rm -rf "$w" && mkdir -p "$w"

"$deepslide" demo --sparse --slides-per-class 12 --held-out-per-class 6 -o "$w/demo" > "$w/demo.log"
sets=("$w/demo/held-out")
for s in $seeds; do
  "$deepslide" synth -o "$w/held-out-$s" --slides-per-class 8 --width 2400 --height 1800 --format aperio --sparse \
    --seed "$s" > "$w/synth-$s.log"
  sets+=("$w/held-out-$s")
done

slides="$w/patches/slides.csv"
"$deepslide" tiles -i "$w/demo/slides" -o "$w/patches" --val 0.5 --test 0 --seed 1 > "$w/tiles.log"
"$deepslide" train -p "$w/patches" -o "$w/slide-labels" --seed 1 > "$w/train.log"
"$deepslide" train-mil -m "$w/slide-labels" -s "$slides" > "$w/train-mil.log"
cp -r "$w/slide-labels" "$w/refined"
"$deepslide" tune -m "$w/slide-labels" -s "$slides" > "$w/tune-slide-labels.log"
"$deepslide" refine -m "$w/refined" -s "$slides" > "$w/refine.log"
"$deepslide" tune -m "$w/refined" -s "$slides" > "$w/tune-refined.log"

# One line per model and held-out set: each aggregator's slides right and balanced accuracy, the patch accuracy
# against the regions, and on how many tumour slides the largest focus was found.
for model in annotations:"$w/demo/model" slide-labels:"$w/slide-labels" refined:"$w/refined"; do
  name=${model%%:*}
  for set in "${sets[@]}"; do
    r="$w/results-$name-$(basename "$set")"
    "$deepslide" classify -m "${model#*:}" -i "$set" -o "$r" --pictures false > /dev/null
    "$deepslide" evaluate -r "$r" -l "$set/labels.csv" -o "$r-report" --annotations "$set-truth/annotations" \
      --outside benign --bootstrap 10 > "$r.log"
    n=$(($(wc -l < "$set/labels.csv") - 1))
    awk -v model="$name" -v set="$(basename "$set")" -v n="$n" '
      /^[a-z]+ +accuracy [0-9.]+ +balanced/ { calls = calls sprintf("  %s %d/%d %s", $1, $3 * n + 0.5, n, $5) }
      /^patches against regions/ { patches = $5 }
      /^largest focus found/ { foci = $4 "/" $6 }
      END { printf "%-12s %-12s%s  patches %s  focus %s\n", model, set, calls, patches, foci }' "$r.log"
  done
done | tee "$w/summary.txt"

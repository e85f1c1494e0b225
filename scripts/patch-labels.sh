#!/usr/bin/env bash
# Patch labels against region truth, the three ways a lab can label: slide labels only, slide labels refined by
# attention, and region annotations. Everything runs through the deepslide CLI as a user would, on mixed synthetic
# slides (tumour 20-60% of the tissue) held out by seed, and is scored against the synthetic region truth.
# Usage: scripts/patch-labels.sh [work folder]   (after the setup command has built the CLI)
set -euo pipefail
cd "$(dirname "$0")/.."
deepslide=${DEEPSLIDE:-$PWD/src/DeepSlide.Cli/bin/Release/net10.0/deepslide}
w=${1:-out/patch-labels}
per_class=${PER_CLASS:-9}       # two thirds train, one third validation
test_per_class=${TEST_PER_CLASS:-4}
arms=${ARMS:-"weak refined annotations"}
rm -rf "$w" && mkdir -p "$w"
size=(--width 2400 --height 1800 --format aperio --mixed)

"$deepslide" synth -o "$w/slides" --slides-per-class "$per_class" --seed 1 "${size[@]}" > "$w/synth.log"
"$deepslide" synth -o "$w/test" --slides-per-class "$test_per_class" --seed 2 "${size[@]}" >> "$w/synth.log"

run_arm() {
  local arm=$1 model=$2
  "$deepslide" tune -m "$model" -s "$w/patches-$3/slides.csv" > "$w/$arm-tune.log"
  "$deepslide" classify -m "$model" -i "$w/test" -o "$w/results-$arm" > "$w/$arm-classify.log"
  "$deepslide" evaluate -r "$w/results-$arm" -l "$w/test/labels.csv" -o "$w/report-$arm" \
    --annotations "$w/test-truth/annotations" --outside benign --bootstrap 500 > "$w/$arm-evaluate.log"
  echo "== $arm"
  cat "$w/$arm-evaluate.log"
}

for arm in $arms; do
  case $arm in
    weak|refined)
      if [ ! -d "$w/model-weak" ]; then
        "$deepslide" tiles -i "$w/slides" -o "$w/patches-weak" --val 0.34 --test 0 --seed 1 > "$w/weak-tiles.log"
        "$deepslide" train -p "$w/patches-weak" -o "$w/model-weak" --seed 1 > "$w/weak-train.log"
      fi
      if [ "$arm" = weak ]; then
        run_arm weak "$w/model-weak" weak
      else
        cp -r "$w/model-weak" "$w/model-refined"
        "$deepslide" train-mil -m "$w/model-refined" -s "$w/patches-weak/slides.csv" > "$w/refined-mil.log"
        "$deepslide" refine -m "$w/model-refined" -s "$w/patches-weak/slides.csv" > "$w/refined-refine.log"
        run_arm refined "$w/model-refined" weak
      fi
      ;;
    annotations)
      "$deepslide" tiles -i "$w/slides" -o "$w/patches-annotations" --val 0.34 --test 0 --seed 1 \
        --annotations "$w/slides-truth/annotations" --outside benign > "$w/annotations-tiles.log"
      "$deepslide" train -p "$w/patches-annotations" -o "$w/model-annotations" --seed 1 > "$w/annotations-train.log"
      run_arm annotations "$w/model-annotations" annotations
      ;;
  esac
done

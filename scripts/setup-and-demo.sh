#!/usr/bin/env bash
# One command on a fresh Debian machine: install what is missing, build, then run the main job on an embedded
# default (synthetic labelled slides -> tissue mask and tile plan -> balanced training patches).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/prerequisites.sh
dotnet build DeepSlide.Functions.sln -c Release --nologo -v quiet

deepslide=src/DeepSlide.Cli/bin/Release/net10.0/deepslide
demo=${DEEPSLIDE_DEMO:-out/demo}
rm -rf "$demo"

echo "== synthesize a labelled set of slides (three classes, pyramidal SVS-style TIFFs)"
"$deepslide" synth -o "$demo/slides" --slides-per-class 4 --format aperio --seed 1

echo "== tissue mask and tile plan of one slide"
slide=$(ls "$demo"/slides/squamous/*.svs | head -n 1)
"$deepslide" info "$slide"
"$deepslide" plan "$slide" -o "$demo/plan"

echo "== DeepSlide's training patches: split by slide, balanced classes"
"$deepslide" tiles -i "$demo/slides" -o "$demo/patches" --val 0.25 --test 0.25

echo "done: $demo (slides/, plan/ with plan.json, mask.png and thumbnail.png, patches/)"

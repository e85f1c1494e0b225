#!/usr/bin/python3
"""Cross-checks `deepslide evaluate --annotations` against implementations this project did not write.

Each patch's region truth is recomputed with shapely from the GeoJSON: the exact share of the patch's area inside
each class's polygons, not the product's 16 x 16 point sampling. The metrics are then computed with scikit-learn and
compared with report.json. Patches whose largest share is within 3 points of one half can fall either way under
sampling, so they are counted and left out of the truth comparison.

Usage: scripts/checks/region-metrics.py RESULTS_DIR LABELS_CSV ANNOTATIONS_DIR OUTSIDE_CLASS REPORT_JSON
Needs Debian's python3-sklearn and python3-shapely (a check, not a product dependency).
"""
import csv, glob, json, os, sys
from shapely.geometry import shape, box
from shapely.ops import unary_union
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, roc_auc_score

results, labels_csv, annotations, outside, report_path = sys.argv[1:6]
labels = {os.path.splitext(r["img"])[0]: r["gt"] for r in csv.DictReader(open(labels_csv))}
report = json.load(open(report_path))
classes = report["classes"]

truths, calls, probs, near_half, compared, agree_with_product = [], [], [], 0, 0, 0
for path in sorted(glob.glob(os.path.join(results, "*.json"))):
    r = json.load(open(path))
    if r.get("status") != "classified" or r["slide"] not in labels:
        continue
    size = r["plan"]["window"] * r["plan"]["downsample"]
    geo = os.path.join(annotations, r["slide"] + ".geojson")
    regions = None
    if os.path.exists(geo):
        doc = json.load(open(geo))
        feats = doc["features"] if isinstance(doc, dict) else doc
        by_class = {}
        for f in feats:
            by_class.setdefault(f["properties"]["classification"]["name"], []).append(shape(f["geometry"]))
        regions = {c: unary_union(g) for c, g in by_class.items()}
    for p in r["patches"]:
        if regions is None:
            truth = labels[r["slide"]]
        else:
            square = box(p["x"], p["y"], p["x"] + size, p["y"] + size)
            shares = {c: g.intersection(square).area / square.area for c, g in regions.items()}
            shares[outside] = shares.get(outside, 0) + 1 - sum(shares.values())
            best = max(shares, key=shares.get)
            if abs(shares[best] - 0.5) < 0.03:
                near_half += 1
                continue
            if shares[best] <= 0.5:
                continue
            truth = best
        truths.append(classes.index(truth))
        calls.append(classes.index(p["prediction"]))
        probs.append(p["probabilities"])

m = report["regions"]["metrics"]
ours = {
    "patches": len(truths),
    "accuracy": accuracy_score(truths, calls),
    "balanced accuracy": balanced_accuracy_score(truths, calls),
    "macro F1": f1_score(truths, calls, average="macro"),
    "macro AUC (one-vs-rest)": roc_auc_score(truths, probs, multi_class="ovr", average="macro"),
}
theirs = {
    "patches": m["count"],
    "accuracy": m["accuracy"],
    "balanced accuracy": m["balancedAccuracy"],
    "macro F1": m["macro"]["f1"],
    "macro AUC (one-vs-rest)": m["macroAuc"],
}
print(f"{near_half} patch(es) within 3 points of a half share left out of the shapely truth")
worst = 0.0
for k in ours:
    diff = abs(ours[k] - theirs[k])
    if k != "patches":
        worst = max(worst, diff)
    print(f"{k:26} shapely+sklearn {ours[k]:.4f}   deepslide {theirs[k]:.4f}   difference {diff:.4f}")
sys.exit(0 if worst <= 0.01 else 1)

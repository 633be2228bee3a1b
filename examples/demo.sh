#!/usr/bin/env bash
# The demo behind `make demo` (about four minutes on 2 cores):
#  1. validate every example config; one forward pass of two multimodal ones;
#  2. train the SentencePiece tokenizer examples/digits.yaml uses (it reproduces the committed one);
#  3. train a small image+text model on easy-VQA, then fine-tune only its image pathway from that
#     checkpoint: the loss falls, no other pathway moves (`pathways diff`), and `pathways eval`
#     scores VQA before and after the fine-tune.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${DEMO_OUT:-demo-out}
rm -rf "$OUT"

echo "== registered components =="
pathways plugins

echo; echo "== every example validates =="
pathways validate examples/*.yaml examples/presets/*.yaml | grep ": valid"
for config in examples/image_text.yaml examples/audio_text.yaml; do
  echo; echo "== $config =="
  pathways inspect "$config"
  pathways forward "$config"
done

echo; echo "== train the tokenizer (SentencePiece, on the English prose shipped in the package) =="
pathways tokenizer train --input pathways/data/files/botchan.txt --vocab-size 512 --out "$OUT/tokenizer/english"
cmp "$OUT/tokenizer/english.model" examples/tokenizers/english.model && echo "identical to examples/tokenizers/english.model, which examples/digits.yaml names"

echo; echo "== train an image+text model on easy-VQA (examples/vqa.yaml) =="
pathways train examples/vqa.yaml --out "$OUT/vqa-base" --steps 250

echo; echo "== fine-tune only the image pathway from that checkpoint =="
pathways finetune examples/vqa.yaml --pathway image --from "$OUT/vqa-base" --out "$OUT/vqa-image" --steps 400

echo; echo "== what changed between the two checkpoints =="
pathways diff "$OUT/vqa-base" "$OUT/vqa-image"
pathways plot "$OUT/vqa-base" "$OUT/vqa-image" --out "$OUT/loss.png"

echo; echo "== VQA before and after the image-pathway fine-tune (easy-VQA test split) =="
pathways eval "$OUT/vqa-base" --tasks vqa --limit 300 --out "$OUT/eval-base.json"
pathways eval "$OUT/vqa-image" --tasks vqa --limit 300 --out "$OUT/eval-image.json"
python - "$OUT" <<'PY'
import json, sys
from pathways.train import diff_checkpoints
out = sys.argv[1]
changed = sorted(n for n, r in diff_checkpoints(f"{out}/vqa-base", f"{out}/vqa-image").items() if r["changed"])
assert changed == ["image"], f"expected only the image pathway to change, got {changed}"
def metrics(name):
    return {(r["kind"], r["metric"]): r["value"] for r in json.load(open(f"{out}/eval-{name}.json"))}
base, ft = metrics("base"), metrics("image")
print(f"{'metric':<34} {'base':>7} {'image fine-tuned':>17}")
for key in base:
    print(f"{key[0] + ' ' + key[1]:<34} {base[key]:>7.3f} {ft[key]:>17.3f}")
rows = [json.loads(l) for l in open(f"{out}/vqa-base/metrics.jsonl")]
assert rows[-1]["loss"] < rows[0]["loss"], "training loss did not fall"
print(f"training loss {rows[0]['loss']:.3f} -> {rows[-1]['loss']:.3f}; only the image pathway changed; curves in {out}/loss.png")
PY

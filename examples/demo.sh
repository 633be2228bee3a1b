#!/usr/bin/env bash
# The demo behind `make demo` (a few minutes on 2 cores):
#  1. validate every example config and run one forward pass of the multimodal ones;
#  2. train the SentencePiece tokenizer the digits model uses (check it reproduces the
#     committed one), then a small image+text model on scikit-learn's handwritten digits;
#  3. fine-tune only its image pathway from that checkpoint, and show that the
#     loss fell and that no other pathway moved.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${DEMO_OUT:-demo-out}
rm -rf "$OUT"

echo "== registered components =="
pathways plugins

echo; echo "== every example validates =="
pathways validate examples/*.yaml
for config in examples/image_text.yaml examples/audio_text.yaml examples/late_fusion.yaml examples/two_heads.yaml; do
  echo; echo "== $config =="
  pathways inspect "$config"
  pathways forward "$config"
done

echo; echo "== train the tokenizer (SentencePiece, on the English prose shipped in the package) =="
pathways tokenizer train --input pathways/data/files/botchan.txt --vocab-size 512 --out "$OUT/tokenizer/english"
cmp "$OUT/tokenizer/english.model" examples/tokenizers/english.model && echo "identical to examples/tokenizers/english.model, which examples/digits.yaml names"
pathways tokenizer stats "$OUT/tokenizer/english.model"

echo; echo "== train an image+text model on digits (examples/digits.yaml) =="
pathways train examples/digits.yaml --out "$OUT/base" --steps 300

echo; echo "== fine-tune only the image pathway from that checkpoint =="
pathways finetune examples/digits.yaml --pathway image --from "$OUT/base" --out "$OUT/image-ft" --steps 150

echo; echo "== what changed between the two checkpoints =="
pathways diff "$OUT/base" "$OUT/image-ft"
pathways plot "$OUT/base" "$OUT/image-ft" --out "$OUT/loss.png"
python - "$OUT" <<'PY'
import json, sys
from pathways.train._diff import diff_checkpoints
out = sys.argv[1]
rows = diff_checkpoints(f"{out}/base", f"{out}/image-ft")
changed = sorted(n for n, r in rows.items() if r["changed"])
assert changed == ["image"], f"expected only the image pathway to change, got {changed}"
def losses(run):
    return [json.loads(l) for l in open(f"{out}/{run}/metrics.jsonl")]
base, ft = losses("base"), losses("image-ft")
print(f"base run: loss {base[0]['loss']:.3f} (step {base[0]['step']}) -> {base[-1]['loss']:.3f}; held-out {base[-1].get('eval_loss', float('nan')):.3f}")
print(f"image fine-tune: loss {ft[0]['loss']:.3f} -> {ft[-1]['loss']:.3f}; held-out {ft[-1].get('eval_loss', float('nan')):.3f}")
assert base[-1]["loss"] < base[0]["loss"], "training loss did not fall"
print("only the image pathway changed; loss curves in", f"{out}/loss.png")
PY

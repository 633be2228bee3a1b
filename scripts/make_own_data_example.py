"""Generate examples/own_data/: a small image-caption folder and a text file, the shape of a user's own data.

    .venv/bin/python scripts/make_own_data_example.py

`captions.jsonl` names 24 PNGs under `images/` (32x32 shapes drawn with Pillow:
3 shapes x 4 colours x 2 sizes) relative to itself, one `{"image", "caption"}`
object per line; `notes.txt` is a few lines of plain text; `chats.jsonl` holds
conversations (`{"messages": [{role, content}, ...]}`) asking for the names of
months and weekdays in four languages, answered from babel's CLDR tables.
examples/own_captions.yaml and examples/own_chat.yaml train on the folder as it is
(README "Train on your own data").
"""

from __future__ import annotations

import json
from pathlib import Path

from babel import Locale
from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[1] / "examples" / "own_data"
COLOURS = {"red": (220, 40, 40), "green": (40, 180, 60), "blue": (40, 80, 220), "yellow": (230, 200, 40)}


def main() -> None:
    (OUT / "images").mkdir(parents=True, exist_ok=True)
    lines = []
    for shape in ("circle", "square", "triangle"):
        for colour, rgb in COLOURS.items():
            for size, r in (("small", 7), ("big", 13)):
                img = Image.new("RGB", (32, 32), (255, 255, 255))
                draw = ImageDraw.Draw(img)
                box = (16 - r, 16 - r, 16 + r, 16 + r)
                if shape == "circle":
                    draw.ellipse(box, fill=rgb)
                elif shape == "square":
                    draw.rectangle(box, fill=rgb)
                else:
                    draw.polygon([(16, 16 - r), (16 - r, 16 + r), (16 + r, 16 + r)], fill=rgb)
                name = f"images/{size}-{colour}-{shape}.png"
                img.save(OUT / name, optimize=True)
                lines.append(json.dumps({"image": name, "caption": f"a {size} {colour} {shape}"}))
    (OUT / "captions.jsonl").write_text("\n".join(lines) + "\n")
    (OUT / "notes.txt").write_text(
        "Each line of this file is one record with `dataset: text` and `unit: line`.\n"
        "A circle is round, a square has four equal sides and a triangle has three.\n"
        "The small shapes are half the size of the big ones.\n"
    )
    chats = _chats()
    (OUT / "chats.jsonl").write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in chats))
    print(f"wrote {len(lines)} images and captions and {len(chats)} chats under {OUT}")


def _chats() -> list[dict]:
    """One conversation per (language, month or weekday), every third with a second turn and every fourth with a system message."""
    english = Locale.parse("en")
    out = []
    for code in ("fr", "de", "es", "it"):
        loc = Locale.parse(code)
        names = [(english.months["format"]["wide"][m], loc.months["format"]["wide"][m], "month") for m in range(1, 13)]
        names += [(english.days["format"]["wide"][d], loc.days["format"]["wide"][d], "weekday") for d in range(7)]
        for i, (en, there, kind) in enumerate(names):
            messages = [{"role": "user", "content": f"What is {en} in {loc.english_name}?"}, {"role": "assistant", "content": there}]
            if i % 4 == 0:
                messages.insert(0, {"role": "system", "content": "Answer with the word only."})
            if i % 3 == 0:
                nxt = names[(i + 1) % len(names)]
                messages += [{"role": "user", "content": f"And {nxt[0]}?"}, {"role": "assistant", "content": nxt[1]}]
            out.append({"messages": messages})
    return out


if __name__ == "__main__":
    main()

"""Fetch pathways/data/files/botchan.txt: the English corpus SentencePiece ships for its own tests.

    .venv/bin/python scripts/fetch_botchan.py

Natsume Soseki's *Botchan*, English translation (Project Gutenberg, public
domain, with Gutenberg's header and license kept). It is taken byte for byte,
UTF-8 with a BOM and CRLF line ends, from `test/botchan.txt` in the
sentencepiece 0.2.3 source distribution on PyPI, fetched with

    .venv/bin/pip download --no-binary :all: --no-deps sentencepiece==0.2.3

and checked against the SHA-256 below, so the committed file is exactly what
this script writes. The file is committed so that training a tokenizer or a
small language model needs no network.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "pathways/data/files/botchan.txt"
VERSION = "0.2.3"
MEMBER = "test/botchan.txt"  # inside sentencepiece-<version>/
SHA256 = "464bd5300c24fce16fcc4555d4231a57632caae4d0090ad6aa92854a3b227ba7"


def fetch(version: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps", f"sentencepiece=={version}", "-d", tmp]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        (sdist,) = Path(tmp).glob("sentencepiece-*.tar.gz")
        with tarfile.open(sdist) as tar:
            return tar.extractfile(f"sentencepiece-{version}/{MEMBER}").read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default=VERSION, help=f"sentencepiece sdist to take it from (default {VERSION})")
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to write it (default {OUT})")
    args = parser.parse_args()
    data = fetch(args.version)
    digest = hashlib.sha256(data).hexdigest()
    if args.version == VERSION and digest != SHA256:
        sys.exit(f"sha256 {digest} of {MEMBER} differs from the recorded {SHA256}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    print(f"wrote {args.out} ({len(data)} bytes, sha256 {digest})")


if __name__ == "__main__":
    main()

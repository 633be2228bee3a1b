"""Start-up time of the commands a user types first: `pathways --help`, `plugins`, `schema`, `import pathways`.

    .venv/bin/python benchmarks/startup.py [--runs 7]

Each command runs in a fresh process, interleaved with the others, `runs` times;
the median wall time is printed. `plugins` and `schema` are timed warm (the
plugin snapshot cached, as after their first run in an environment) and cold
(cache emptied before each run). Also prints what `python -X importtime` says
`--help` imports.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    runs = ap.parse_args().runs
    cache = Path(tempfile.mkdtemp(prefix="pathways-bench-cache-"))
    env = {**os.environ, "PATHWAYS_CACHE_DIR": str(cache)}
    commands = {
        "pathways --help": [str(BIN / "pathways"), "--help"],
        "pathways plugins (warm)": [str(BIN / "pathways"), "plugins"],
        "pathways schema (warm)": [str(BIN / "pathways"), "schema"],
        "pathways plugins (cold)": [str(BIN / "pathways"), "plugins"],
        "import pathways": [sys.executable, "-c", "import pathways"],
        "import jax (reference)": [sys.executable, "-c", "import jax"],
    }
    subprocess.run(commands["pathways plugins (warm)"], env=env, capture_output=True, check=True)  # fill the cache
    times: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            if "cold" in name:
                shutil.rmtree(cache, ignore_errors=True)
            t = time.perf_counter()
            subprocess.run(argv, env=env, capture_output=True, check=True)
            times[name].append(time.perf_counter() - t)
    print(f"median of {runs} runs, seconds")
    for name, ts in times.items():
        print(f"  {name:26s} {statistics.median(ts):6.2f}")
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "pathways", "--help"], env=env, capture_output=True, text=True).stderr
    top = {line.rsplit("|", 1)[1].strip() for line in out.splitlines() if "|" in line}
    print(f"`pathways --help` imports jax: {'jax' in top}, equinox: {'equinox' in top}")
    shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()

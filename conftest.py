"""Repository-wide test settings (tests/ and plugins/*/tests): JAX is strict, the plugin
snapshot cache (`pathways plugins`) lives in a directory of the session's own, not the user's,
and each test module's compiled programs are freed when it ends."""

import atexit
import gc
import os
import shutil
import tempfile
from pathlib import Path

import jax
import pytest

# Implicit rank promotion hides broadcasting bugs; make it an error everywhere.
jax.config.update("jax_numpy_rank_promotion", "raise")

if "PATHWAYS_CACHE_DIR" not in os.environ:
    os.environ["PATHWAYS_CACHE_DIR"] = tempfile.mkdtemp(prefix="pathways-cache-")
    atexit.register(shutil.rmtree, os.environ["PATHWAYS_CACHE_DIR"], True)


MAX_MAPS = 30_000  # of the kernel's vm.max_map_count, 65530 by default


@pytest.fixture(autouse=True, scope="module")
def _free_compiled_programs():
    """Drop the compiled programs kept so far when the process holds many memory maps.

    Every XLA:CPU executable holds memory maps of its own; kept for the whole session, the
    suite's thousands of programs passed vm.max_map_count (65530) late in a run and the next
    compile segfaulted (measured 2026-12-04: 37k maps at half the suite). Clearing after every
    module kept it under 10k but made the suite ~30% slower (recompiles), so it is done only
    past MAX_MAPS.
    """
    yield
    maps = Path("/proc/self/maps")
    if maps.exists() and maps.read_text().count("\n") > MAX_MAPS:
        jax.clear_caches()
        gc.collect()

"""Repository-wide test settings (tests/ and plugins/*/tests): JAX is strict, and the plugin
snapshot cache (`pathways plugins`) lives in a directory of the session's own, not the user's."""

import atexit
import os
import shutil
import tempfile

import jax

# Implicit rank promotion hides broadcasting bugs; make it an error everywhere.
jax.config.update("jax_numpy_rank_promotion", "raise")

if "PATHWAYS_CACHE_DIR" not in os.environ:
    os.environ["PATHWAYS_CACHE_DIR"] = tempfile.mkdtemp(prefix="pathways-cache-")
    atexit.register(shutil.rmtree, os.environ["PATHWAYS_CACHE_DIR"], True)

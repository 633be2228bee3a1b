"""Repository-wide test settings (tests/ and plugins/*/tests): JAX is strict."""

import jax

# Implicit rank promotion hides broadcasting bugs; make it an error everywhere.
jax.config.update("jax_numpy_rank_promotion", "raise")

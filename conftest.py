"""Test settings for the whole suite, the chapter notebooks included (nbval kernels inherit them)."""
import os
import tempfile

# Tests and notebook checks run at the `quick` size unless the caller asks otherwise.
os.environ.setdefault("REGUTILS_PROFILE", "quick")
# Runs are cached in a fresh folder, never in the user's own cache.
os.environ.setdefault("REGUTILS_CACHE", tempfile.mkdtemp(prefix="regutils-test-cache-"))
# MPLBACKEND is deliberately left alone: notebook kernels inherit this environment, and with
# MPLBACKEND=Agg they would lose their inline figures. tests/conftest.py picks Agg in-process.

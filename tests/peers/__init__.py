"""xcal against independent clients and their published fixtures (PyPI packages run unmodified)."""

"""Drivers for meters with a remote protocol: one folder per maker, one module per model family."""

"""Thermo Scientific RadEye survey meters."""

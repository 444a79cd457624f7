"""Rad Pro open firmware for Geiger counters."""

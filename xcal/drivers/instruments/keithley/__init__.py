"""Keithley electrometers."""

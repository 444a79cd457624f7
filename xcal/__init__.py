"""xcal: instrument control and calibration for X-ray quality control."""

__version__ = "0.1.0"

"""Standard Imaging electrometers."""

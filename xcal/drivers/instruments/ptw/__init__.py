"""PTW dosimeters (UNIDOS electrometers, DIAMENTOR DAP meters)."""

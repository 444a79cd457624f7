"""GQ Electronics GMC Geiger counters."""

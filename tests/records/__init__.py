"""Tests of the record store, its audit chain, corrections, signatures, export, trend and retention."""

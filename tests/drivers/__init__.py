"""Tests of xcal.drivers (a package, so its helper modules import relatively and cannot collide)."""

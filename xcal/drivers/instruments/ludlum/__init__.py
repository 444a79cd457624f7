"""Ludlum survey meters."""

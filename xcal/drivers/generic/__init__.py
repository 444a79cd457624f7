"""Drivers for meters without a public protocol: typed entry, vendor CSV exports and YAML command maps."""

"""An example of a driver shipped in its own package and found by xcal through the `xcal.drivers` entry point."""

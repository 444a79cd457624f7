"""`python -m xcal` runs the command line, for consoles where the `xcal` script is not on the PATH."""

from .cli import main

if __name__ == "__main__":
    main(prog_name="xcal")

"""The `xcal` command run in this process (click's runner): the same commands and exit codes as the installed
script, without starting an interpreter for each."""

from __future__ import annotations

from types import SimpleNamespace

import pytest


@pytest.fixture
def cli():
    from click.testing import CliRunner

    from xcal.cli import main

    def run(*args: str) -> SimpleNamespace:
        result = CliRunner().invoke(main, list(args), terminal_width=200)
        return SimpleNamespace(returncode=result.exit_code, stdout=result.stdout, stderr=result.stderr)

    return run

"""The console hears a run through every RunObserver method, though it does not inherit them at run time."""

from __future__ import annotations

import inspect

from xcal.console import RunConsole
from xcal.procedures.runner import RunObserver


def test_the_console_defines_every_observer_method_with_the_same_parameters() -> None:
    observed = {name for name, f in vars(RunObserver).items() if inspect.isfunction(f) and not name.startswith("_")}
    assert {"started", "prompt", "exposure", "reading", "finished", "ask", "ask_text"} <= observed
    for name in sorted(observed):
        mine = inspect.getattr_static(RunConsole, name, None)
        assert inspect.isfunction(mine), f"RunConsole lacks {name}: a run would skip what the console should show"
        theirs = inspect.signature(getattr(RunObserver, name))
        assert list(inspect.signature(mine).parameters) == list(theirs.parameters), name

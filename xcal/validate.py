"""`xcal validate`: check procedure, limit-set, site and command-map files; stop at the first error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .yamlfile import YMap, fail, load_yaml

KINDS = ("procedure", "bundle", "limit-set", "site", "command-map", "inputs")


def _kind(path: Path) -> str:
    doc = load_yaml(path)
    data = doc.data
    if not isinstance(data, YMap) or "kind" not in data:
        mark = data.mark if hasattr(data, "mark") else None
        msg = "the file does not say what it is (no top-level `kind:`)"
        fix = f"start the file with `kind:` and one of: {', '.join(KINDS)}"
        if mark:
            raise fail(msg, mark, fix=fix)
        raise ConfigError(msg, file=str(path), line=1, column=1, fix=fix)
    if data["kind"] not in KINDS:
        raise fail(f"unknown kind '{data['kind']}'", data.value_mark("kind"), fix=f"use one of: {', '.join(KINDS)}")
    return str(data["kind"])


def _program_sections(site: Any) -> Any:
    """`site` once the sections the program commands read on their own are valid too: `maintenance:` (the PM
    schedule) and `dosimetry:` (the investigation levels); otherwise the ConfigError they raise."""
    from .program.dosimetry import site_levels
    from .program.pm import load_pm_schedule

    load_pm_schedule(site)
    site_levels(site)
    return site


def validate_paths(paths: list[str], site: str | None = None) -> Iterator[str]:
    """Yield one 'ok' line per valid file; raise ConfigError at the first invalid one."""
    from .drivers.generic.commandmap import load_command_map
    from .limits.sets import Limit, load_library, load_limit_set
    from .procedures.loader import (
        LIBRARY_INDEX,
        find_procedure,
        library_paths,
        load_bundle,
        load_inputs,
        load_procedure,
    )
    from .procedures.model import Bundle
    from .procedures.plan import known_limits
    from .site import load_site

    if not paths:
        sets = load_library()
        for s in sets.values():
            yield f"ok  limit set   {s.id:<28} {s.path}"
        loaded_site = _program_sections(load_site(site, procedures=LIBRARY_INDEX))
        yield f"ok  site        {loaded_site.name:<28} {loaded_site.path}"
        known = known_limits(loaded_site)
        for pid in library_paths():
            p = find_procedure(pid, known)
            kind = "bundle     " if isinstance(p, Bundle) else "procedure  "
            yield f"ok  {kind} {p.id + ' ' + p.version:<28} {p.path}"
        for path in sorted((Path(__file__).parent / "demo" / "instruments").glob("*.yaml")):
            m = load_command_map(path)
            yield f"ok  command map {m.id:<28} <built-in>/demo/instruments/{path.name}"
        return

    files = [(Path(p), _kind(Path(p))) for p in paths]
    extra_sets = [p for p, kind in files if kind == "limit-set"]
    for path in extra_sets:
        s = load_limit_set(path)
        yield f"ok  limit set   {s.id:<28} {path}"
    library = load_library(extra_sets)
    sites = [_program_sections(load_site(p, procedures=LIBRARY_INDEX)) for p, kind in files if kind == "site"]
    for one_site in sites:
        yield f"ok  site        {one_site.name:<28} {one_site.path}"
    base_site = load_site(site, procedures=LIBRARY_INDEX) if site else None
    limits: dict[str, list[Limit]] = {}
    for limit_set in library.values():
        for name, limit in limit_set.limits.items():
            limits.setdefault(name, []).append(limit)
    for one_site in [*sites, *([base_site] if base_site else [])]:
        for name, defs in known_limits(one_site).items():
            limits.setdefault(name, []).extend(d for d in defs if d not in limits.get(name, []))
    for path, kind in files:
        if kind == "procedure":
            p = load_procedure(path, known_limits=limits)
            yield f"ok  procedure   {p.id + ' ' + p.version:<28} {path}"
        elif kind == "inputs":
            values = load_inputs(path)
            yield f"ok  inputs      {len(values)} values{'':<19} {path}"
        elif kind == "bundle":
            b = load_bundle(path)
            yield f"ok  bundle      {b.id + ' ' + b.version:<28} {path}"
        elif kind == "command-map":
            m = load_command_map(path)
            yield f"ok  command map {m.id:<28} {path}"

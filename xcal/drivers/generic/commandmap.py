"""Declarative command maps: a YAML file that says how to talk to a meter whose protocol is not public.

The vendor engineer who holds the protocol writes the map; the declarative driver and the command-map
simulator both read it, so they agree by construction. Templates are a tiny language, not Python format
strings (see `template`). Everything is checked at load time and every error names file:line:column and the
fix.
"""

from __future__ import annotations

import codecs
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import InstrumentError
from ...units import Q_, parse_quantity
from ...yamlfile import Mark, YMap, check_keys, expect_list, expect_map, expect_str, fail, load_yaml, quantity_at
from ..capabilities import CAPABILITIES, READING_UNITS
from ..generic.template import (
    INT_FORMAT_RE,
    NAME_RE,
    NUMBER_FORMAT_RE,
    Placeholder,
    Template,
    TemplateError,
    parse_template,
)

if TYPE_CHECKING:  # pragma: no cover
    import pint

REQUIRED_COMMANDS: dict[str, tuple[str, ...]] = {"KvpMeter": ("identify", "arm", "status", "read")}
"""Commands a map must define for each capability command maps can serve."""
KVP_STATES = ("idle", "armed", "done")
IDENTITY_FIELDS = ("make", "model", "serial", "firmware")
SIMULATOR_ERRORS = ("unknown_command", "bad_parameter", "not_ready")


@dataclass(frozen=True)
class Command:
    """One command: what is sent, what comes back, field units, number formats and parameter ranges."""

    name: str
    send: Template
    reply: Template | None
    fields: Mapping[str, str]
    formats: Mapping[str, str]
    ranges: Mapping[str, tuple[float, float]]

    def out_of_range(self, params: Mapping[str, Any]) -> str | None:
        """Why one of `params` is outside its declared range, or None."""
        for name, (low, high) in self.ranges.items():
            value = params.get(name)
            if isinstance(value, numbers.Real) and not low <= float(value) <= high:
                return f"{name} = {value} is outside {low:g} … {high:g}"
        return None


@dataclass(frozen=True)
class ErrorReplies:
    """How the instrument reports errors: reply template, meaning of each code, codes the simulator sends."""

    reply: Template
    codes: Mapping[str, str]
    simulator: Mapping[str, str]

    def meaning(self, code: str) -> str:
        """The map's text for `code`."""
        return self.codes.get(code, "a code the command map does not list")


@dataclass(frozen=True)
class TransportSettings:
    """Line terminations, timeout and text encoding of the instrument's link."""

    read_termination: str
    write_termination: str
    timeout: pint.Quantity
    encoding: str


@dataclass(frozen=True)
class CommandMap:
    """A validated command map."""

    id: str
    title: str
    make: str
    model: str
    note: str
    capabilities: tuple[str, ...]
    transport: TransportSettings
    commands: Mapping[str, Command]
    states: Mapping[str, str]
    errors: ErrorReplies | None
    path: str
    sha256: str

    def command(self, name: str) -> Command:
        """The command called `name`; InstrumentError naming the map if it has none."""
        try:
            return self.commands[name]
        except KeyError:
            raise InstrumentError(f"the command map {self.path} has no '{name}' command",
                                  fix=f"add a `{name}:` entry under `commands:` in {self.path}") from None

    def match(self, line: str) -> tuple[Command, dict[str, Any]] | None:
        """The command whose send template matches `line`, with its parameters (the simulator's side)."""
        for command in self.commands.values():
            try:
                params = command.send.parse(line)
            except ValueError:
                continue
            if params is not None:
                return command, params
        return None


_TOP_REQUIRED = ("kind", "id", "title", "make", "model", "capabilities", "transport", "commands")
_TOP_OPTIONAL = ("note", "states", "errors")
_ID = re.compile(r"[a-z0-9][a-z0-9._-]*\Z")


def load_command_map(path: str | Path) -> CommandMap:
    """Load and validate a command map; ConfigError with file:line:column and the fix for any fault."""
    doc = load_yaml(path)
    root = expect_map(doc.data, Mark(doc.path, 1, 1), "a command map")
    check_keys(root, "the command map", _TOP_REQUIRED, _TOP_OPTIONAL)
    if root["kind"] != "command-map":
        raise fail(f"kind is '{root['kind']}', not 'command-map'", root.value_mark("kind"),
                   fix="start the file with `kind: command-map`")
    map_id = expect_str(root["id"], root.value_mark("id"), "id")
    if not _ID.match(map_id):
        raise fail(f"id '{map_id}' is not a plain name", root.value_mark("id"),
                   fix="use lower-case letters, digits, '.', '_' and '-', e.g. `example-xr1`")
    capabilities = _capabilities(root)
    transport = _transport(root)
    commands = _commands(root, capabilities, transport)
    states = _states(root, capabilities, commands)
    errors = _errors(root, transport)
    return CommandMap(
        id=map_id,
        title=expect_str(root["title"], root.value_mark("title"), "title"),
        make=expect_str(root["make"], root.value_mark("make"), "make"),
        model=expect_str(root["model"], root.value_mark("model"), "model"),
        note=expect_str(root.get("note", ""), root.value_mark("note"), "note").strip(),
        capabilities=capabilities, transport=transport, commands=commands, states=states,
        errors=errors, path=doc.path, sha256=doc.sha256)


def _capabilities(root: YMap) -> tuple[str, ...]:
    items = expect_list(root["capabilities"], root.value_mark("capabilities"), "capabilities")
    if not items:
        raise fail("capabilities is empty", items.mark,
                   fix="name what the meter does, e.g. `capabilities: [KvpMeter]`")
    names = []
    for i, item in enumerate(items):
        name = expect_str(item, items.item_mark(i), "a capability")
        if name not in CAPABILITIES:
            raise fail(f"unknown capability '{name}'", items.item_mark(i),
                       fix=f"use one of: {', '.join(CAPABILITIES)}")
        if name not in REQUIRED_COMMANDS:
            raise fail(f"command maps cannot yet describe a {name}", items.item_mark(i),
                       fix=f"command maps support: {', '.join(REQUIRED_COMMANDS)}")
        names.append(name)
    return tuple(dict.fromkeys(names))


def _transport(root: YMap) -> TransportSettings:
    node = expect_map(root["transport"], root.value_mark("transport"), "transport")
    check_keys(node, "transport", ("read_termination", "write_termination", "timeout"), ("encoding",))
    terms = []
    for key in ("read_termination", "write_termination"):
        value = expect_str(node[key], node.value_mark(key), key)
        if not value:
            raise fail(f"{key} is empty", node.value_mark(key),
                       fix=f'write the line ending in double quotes, e.g. `{key}: "\\n"`')
        terms.append(value)
    timeout = quantity_at(node, "timeout", "time", "transport timeout")
    if not timeout.magnitude > 0:
        raise fail("the transport timeout must be longer than zero", node.value_mark("timeout"),
                   fix="write a positive time, e.g. `timeout: 2 s`")
    encoding = expect_str(node.get("encoding", "ascii"), node.value_mark("encoding"), "encoding")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise fail(f"unknown encoding '{encoding}'", node.value_mark("encoding"),
                   fix="use ascii, utf-8 or latin-1") from None
    return TransportSettings(terms[0], terms[1], timeout, encoding)


def _template(node: YMap, key: str, what: str, transport: TransportSettings) -> Template:
    source = expect_str(node[key], node.value_mark(key), what)
    mark = node.value_mark(key)
    try:
        template = parse_template(source)
    except TemplateError as exc:
        raise fail(f"{what} {source!r}: {exc} (at character {exc.offset + 1})", mark,
                   fix="write literal text and {name:type} placeholders; types: number, int, word, "
                       "text, list, or options like {state:IDLE|ARMED|DONE}") from None
    for term in {transport.read_termination, transport.write_termination}:
        if any(isinstance(p, str) and term in p for p in template.parts):
            raise fail(f"{what} {source!r} contains the line termination {term!r}", mark,
                       fix="a template is one line: leave the termination to `transport:`")
    return template


def _commands(root: YMap, capabilities: tuple[str, ...],
              transport: TransportSettings) -> dict[str, Command]:
    node = expect_map(root["commands"], root.value_mark("commands"), "commands")
    commands: dict[str, Command] = {}
    for name, value in node.items():
        if not NAME_RE.match(name):
            raise fail(f"command name '{name}' is not a plain name", node.key_mark(name),
                       fix="use letters, digits and _, e.g. `read`")
        commands[name] = _command(name, expect_map(value, node.value_mark(name), f"command '{name}'"),
                                  transport)
    for capability in capabilities:
        for needed in REQUIRED_COMMANDS[capability]:
            if needed not in commands:
                raise fail(f"a {capability} needs a '{needed}' command, and the map has none",
                           root.key_mark("commands"),
                           fix=f"add `{needed}:` with its `send:` and `reply:` under `commands:`")
    if "KvpMeter" in capabilities:
        _check_kvp_commands(commands, node, capabilities)
    return commands


def _command(name: str, node: YMap, transport: TransportSettings) -> Command:
    what = f"command '{name}'"
    check_keys(node, what, ("send",), ("reply", "fields", "formats", "ranges"))
    send = _template(node, "send", f"the send template of {what}", transport)
    reply = _template(node, "reply", f"the reply template of {what}", transport) if "reply" in node else None
    slots = {p.name: p for p in send.placeholders}
    if reply is not None:
        for p in reply.placeholders:
            if p.name in slots:
                raise fail(f"{what}: '{p.name}' is a placeholder of both send and reply",
                           node.value_mark("reply"), fix="give the reply field another name")
            slots[p.name] = p
    fields = _fields(node, what, slots)
    formats = _formats(node, what, slots)
    ranges = _ranges(node, what, send)
    return Command(name, send, reply, fields, formats, ranges)


def _fields(node: YMap, what: str, slots: dict[str, Placeholder]) -> dict[str, str]:
    if "fields" not in node:
        return {}
    fields_node = expect_map(node["fields"], node.value_mark("fields"), f"fields of {what}")
    units = {}
    for name in fields_node:
        mark = fields_node.key_mark(name)
        if name not in slots:
            raise fail(f"{what} has a unit for '{name}', which is not one of its placeholders", mark,
                       fix=f"use one of: {', '.join(slots) or '(none)'}")
        if slots[name].type not in ("number", "int", "list"):
            raise fail(f"'{name}' is {slots[name].spec()}, so it cannot have a unit", mark,
                       fix="give units only to number, int and list placeholders")
        unit = expect_str(fields_node[name], fields_node.value_mark(name), f"the unit of '{name}'")
        unit = unit.strip().replace("μ", "µ")
        try:
            parse_quantity(f"1 {unit}")
        except ValueError as exc:
            raise fail(f"the unit of '{name}': {exc}", fields_node.value_mark(name),
                       fix="write a unit pint knows, e.g. kV, ms, µGy, mA") from None
        units[name] = unit
    return units


def _formats(node: YMap, what: str, slots: dict[str, Placeholder]) -> dict[str, str]:
    if "formats" not in node:
        return {}
    formats_node = expect_map(node["formats"], node.value_mark("formats"), f"formats of {what}")
    formats = {}
    for name in formats_node:
        if name not in slots:
            raise fail(f"{what} has a format for '{name}', which is not one of its placeholders",
                       formats_node.key_mark(name), fix=f"use one of: {', '.join(slots) or '(none)'}")
        slot = slots[name]
        spec = expect_str(formats_node[name], formats_node.value_mark(name), f"the format of '{name}'")
        rule = INT_FORMAT_RE if slot.type == "int" else NUMBER_FORMAT_RE
        if slot.type not in ("number", "int", "list") or not rule.match(spec):
            example = "d or 04d" if slot.type == "int" else ".2f, .3e or .6g"
            raise fail(f"'{spec}' is not a format for {{{name}:{slot.spec()}}}",
                       formats_node.value_mark(name),
                       fix=f"only number, int and list placeholders take a format, like {example}")
        formats[name] = spec
    return formats


def _ranges(node: YMap, what: str, send: Template) -> dict[str, tuple[float, float]]:
    if "ranges" not in node:
        return {}
    ranges_node = expect_map(node["ranges"], node.value_mark("ranges"), f"ranges of {what}")
    ranges = {}
    params = {p.name: p for p in send.placeholders if p.type in ("number", "int")}
    for name, value in ranges_node.items():
        mark = ranges_node.value_mark(name)
        if name not in params:
            raise fail(f"{what} gives a range for '{name}', which is not a number it sends",
                       ranges_node.key_mark(name), fix=f"use one of: {', '.join(params) or '(none)'}")
        bounds = expect_list(value, mark, f"the range of '{name}'")
        if len(bounds) != 2 or not all(isinstance(b, (int, float)) and not isinstance(b, bool)
                                       for b in bounds) or bounds[0] > bounds[1]:
            raise fail(f"the range of '{name}' must be [lowest, highest]", mark,
                       fix=f"write e.g. `{name}: [0, 100]`")
        ranges[name] = (float(bounds[0]), float(bounds[1]))
    return ranges


def _check_kvp_commands(commands: dict[str, Command], node: YMap, capabilities: tuple[str, ...]) -> None:
    """The shape the KvpMeter commands must have for the driver and the simulator to serve them."""
    readings = {r for c in capabilities for r in CAPABILITIES[c] if r in READING_UNITS}
    replies: dict[str, Template] = {}
    for name in ("identify", "arm", "status", "read"):
        reply = commands[name].reply
        if reply is None:
            raise fail(f"the '{name}' command needs a reply template", node.key_mark(name),
                       fix=f"add `reply:` to `{name}:`")
        replies[name] = reply

    def where(name: str) -> Mark:
        return expect_map(node[name], node.value_mark(name), name).value_mark("reply")

    extra = [n for n in replies["identify"].names if n not in IDENTITY_FIELDS]
    if extra:
        raise fail(f"the identify reply has '{extra[0]}', which is not an identity field",
                   where("identify"), fix=f"name its placeholders among: {', '.join(IDENTITY_FIELDS)}")
    if replies["arm"].placeholders:
        raise fail("the arm reply must be a fixed acknowledgement (no placeholders)", where("arm"),
                   fix='write what the meter answers, e.g. `reply: "OK"`')
    if replies["status"].names != ("state",):
        raise fail("the status reply must have exactly one placeholder, named 'state'", where("status"),
                   fix='write e.g. `reply: "{state:IDLE|ARMED|DONE}"`')
    _check_read(commands["read"], node, readings)
    if "waveform" in commands:
        _check_waveform(commands["waveform"], node)


def _check_read(command: Command, node: YMap, readings: set[str]) -> None:
    read_node = expect_map(node["read"], node.value_mark("read"), "read")
    reply = command.reply
    assert reply is not None
    found = [p for p in reply.placeholders if p.name in readings]
    if not found:
        raise fail("the read reply delivers no reading", read_node.value_mark("reply"),
                   fix=f"name its placeholders after readings: {', '.join(sorted(readings))}")
    for p in found:
        if p.type not in ("number", "int"):
            raise fail(f"the reading '{p.name}' is {p.spec()}, not a number", read_node.value_mark("reply"),
                       fix=f"write it as {{{p.name}:number}}")
        if p.name not in command.fields:
            raise fail(f"the reading '{p.name}' has no unit", _fields_mark(node, "read"),
                       fix=f"add `{p.name}: <unit>` under `fields:` of `read:`, e.g. "
                           f"`{p.name}: {READING_UNITS[p.name]}`")
        _check_dimension(command, read_node, p.name, READING_UNITS[p.name], f"the reading '{p.name}'")


def _fields_mark(commands_node: YMap, command: str) -> Mark:
    """Where a command's `fields:` key is, or the command itself when it has none."""
    node = commands_node[command]
    return node.key_mark("fields") if "fields" in node else commands_node.key_mark(command)


def _check_dimension(command: Command, node: YMap, name: str, reference: str, what: str) -> None:
    fields_node = expect_map(node["fields"], node.value_mark("fields"), "fields")
    unit = command.fields[name]
    if Q_(1, unit).dimensionality != Q_(1, reference).dimensionality:
        raise fail(f"{what} is given in {unit}, which is not a unit of the same kind as {reference}",
                   fields_node.value_mark(name), fix=f"use a unit like {reference}")


def _check_waveform(command: Command, node: YMap) -> None:
    wave_node = expect_map(node["waveform"], node.value_mark("waveform"), "waveform")
    reply = command.reply
    mark = wave_node.value_mark("reply") if reply is not None else wave_node.key_mark("send")
    wanted = {"interval": "number", "samples": "list"}
    slots = {p.name: p.type for p in reply.placeholders} if reply is not None else {}
    for name, kind in wanted.items():
        if slots.get(name) != kind:
            raise fail(f"the waveform reply needs {{{name}:{kind}}}", mark,
                       fix='write e.g. `reply: "{interval:number};{count:int};{samples:list}"`')
    if slots.get("count", "int") != "int":
        raise fail("the waveform's count must be {count:int}", mark, fix="write it as {count:int}")
    for name, reference in (("interval", "ms"), ("samples", "kV")):
        if name not in command.fields:
            raise fail(f"the waveform's {name} has no unit", _fields_mark(node, "waveform"),
                       fix=f"add `{name}: {reference}` under `fields:` of `waveform:`")
        _check_dimension(command, wave_node, name, reference, f"the waveform's {name}")


def _states(root: YMap, capabilities: tuple[str, ...], commands: dict[str, Command]) -> dict[str, str]:
    if "KvpMeter" not in capabilities:
        return {}
    if "states" not in root:
        raise fail("a KvpMeter map needs `states:`", root.mark,
                   fix="add `states: {idle: IDLE, armed: ARMED, done: DONE}` with the meter's words")
    node = expect_map(root["states"], root.value_mark("states"), "states")
    check_keys(node, "states", KVP_STATES)
    status = commands["status"].reply
    assert status is not None
    slot = status.placeholder("state")
    states = {}
    for key in KVP_STATES:
        value = expect_str(node[key], node.value_mark(key), f"the state '{key}'")
        try:
            slot.render(value, None)
        except ValueError:
            raise fail(f"the state '{key}' is '{value}', which the status reply "
                       f"{status.source!r} cannot carry", node.value_mark(key),
                       fix="use one of the options of {state:...} in the status reply") from None
        states[key] = value
    if len(set(states.values())) != len(states):
        raise fail("two states have the same word", node.mark, fix="give idle, armed and done distinct words")
    return states


def _errors(root: YMap, transport: TransportSettings) -> ErrorReplies | None:
    if "errors" not in root:
        return None
    node = expect_map(root["errors"], root.value_mark("errors"), "errors")
    check_keys(node, "errors", ("reply", "codes"), ("simulator",))
    reply = _template(node, "reply", "the error reply template", transport)
    if reply.names != ("code",) or reply.placeholders[0].type not in ("int", "word"):
        raise fail("the error reply must have exactly one placeholder, {code:int} or {code:word}",
                   node.value_mark("reply"), fix='write e.g. `reply: "ERR {code:int}"`')
    codes_node = expect_map(node["codes"], node.value_mark("codes"), "errors.codes")
    codes = {}
    for code, meaning in codes_node.items():
        try:
            reply.format({"code": int(code) if reply.placeholders[0].type == "int" else code})
        except ValueError:
            raise fail(f"the error code '{code}' cannot appear in {reply.source!r}",
                       codes_node.key_mark(code), fix="write codes the error reply can carry") from None
        codes[code] = expect_str(meaning, codes_node.value_mark(code), f"the meaning of code {code}")
    simulator = {}
    if "simulator" in node:
        sim_node = expect_map(node["simulator"], node.value_mark("simulator"), "errors.simulator")
        check_keys(sim_node, "errors.simulator", (), SIMULATOR_ERRORS)
        for situation, code in sim_node.items():
            code = expect_str(code, sim_node.value_mark(situation), situation)
            if code not in codes:
                raise fail(f"the code '{code}' for {situation} is not listed under codes",
                           sim_node.value_mark(situation), fix=f"use one of: {', '.join(codes)}")
            simulator[situation] = code
    return ErrorReplies(reply, codes, simulator)

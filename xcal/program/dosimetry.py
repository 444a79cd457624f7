"""Personnel dosimetry: badges and their wearers, dose reports per wear period, and each person's dose of record
against the annual limits (10 CFR 20.1201, 20.1208) and the site's ALARA investigation levels.

Badges (`badge_issued`) and dose rows (`dose_recorded`) are store-level chain entries. A later issue of the same
badge id replaces its wearer details (a declared pregnancy, a new location). A dose row belongs to the quarter
and year its wear period ends in. A person's dose of record for a quantity over a window is the largest, over
the badges that measure it, of that badge's summed doses in the window (the badge nearest the highest exposure,
20.1201(c)): TEDE and skin from whole-body and collar badges (Hp(10), Hp(0.07)), the lens from any badge that
reports a lens dose, extremities from extremity badges (Hp(0.07)). Names and badge ids are personal data:
`anonymous` reports name people "wearer N" (in the order their first badge was issued) and leave badge ids out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..records.chain import BADGE_ISSUED, DOSE_RECORDED
from .doses import to_msv

LIMITS_FILE = Path(__file__).parent / "library" / "dose-limits.yaml"
LOCATIONS = ("whole-body", "collar", "extremity", "lens")
FIELDS = ("tede", "shallow", "lens")
"""What a dose row holds, in mSv: the deep dose Hp(10), the shallow dose Hp(0.07) and the lens dose Hp(3)."""
CLASSES = {"tede": ("tede", ("whole-body", "collar")), "lens": ("lens", LOCATIONS),
           "skin": ("shallow", ("whole-body", "collar")), "extremity": ("shallow", ("extremity",))}
"""Each limit's dose of record: the row field and the badge locations that measure it."""
ASKS = {"I": "ALARA level I: the RSO reviews the dose and the work behind it and initials the record",
        "II": "ALARA level II: the RSO investigates the cause and the means to lower it, and records the "
              "investigation and the actions taken",
        "limit": "above the annual limit: a written report within 30 days (10 CFR 20.2203(a)(2)(i)); the excess "
                 "counts against planned special exposures (20.1201(b))",
        "pregnancy": "above the declared-pregnancy limit: a written report within 30 days (10 CFR 20.2203(a)(2)(iii))"}


@dataclass(frozen=True)
class Limits:
    """The annual limits (mSv, with sections), the pregnancy limit and the investigation levels in force."""

    annual: dict[str, dict[str, Any]]
    pregnancy: dict[str, Any]
    level_i: float
    level_ii: float
    levels_source: str
    levels_verified: bool
    levels_from_site: bool

    def quarter_level(self, cls: str, level: str) -> float:
        """The quarterly investigation level of a limit, in mSv: the level's percent of a quarter of it."""
        percent = self.level_i if level == "I" else self.level_ii
        return self.annual[cls]["msv"] / 4 * percent / 100

    def to_dict(self) -> dict[str, Any]:
        return {"annual": self.annual, "pregnancy": self.pregnancy,
                "investigation_levels": {"level_I_percent": self.level_i, "level_II_percent": self.level_ii,
                                         "per": "quarter", "source": self.levels_source,
                                         "verified": self.levels_verified, "set_in_site_file": self.levels_from_site}}


def load_limits(site: Any = None, path: str | Path = LIMITS_FILE) -> Limits:
    """The limits pack, with the investigation levels of the site file's `dosimetry:` when it sets them."""
    from ..yamlfile import Mark, expect_map, load_yaml

    doc = load_yaml(path, display=f"<built-in>/program/{Path(path).name}" if Path(path) == LIMITS_FILE else None)
    top = expect_map(doc.data, Mark(doc.path, 1, 1), "the dose limits")
    annual = {str(item["id"]): {"msv": to_msv(item["value"], f"limit {item['id']}"), "text": item["text"],
                                "section": item["section"], "verified": item["verified"]} for item in top["limits"]}
    preg = top["pregnancy"]
    pregnancy = {"msv": to_msv(preg["value"], "the pregnancy limit"), "text": preg["text"],
                 "section": preg["section"], "verified": preg["verified"]}
    default = top["investigation_levels"]
    levels = site_levels(site) if site is not None else None
    if levels is None:
        return Limits(annual, pregnancy, float(default["level_I"]), float(default["level_II"]),
                      f"default, not the site's: {default['source']}", bool(default["verified"]), False)
    return Limits(annual, pregnancy, levels[0], levels[1], levels[2], False, True)


def site_levels(site: Any) -> tuple[float, float, str] | None:
    """The site file's `dosimetry: investigation_levels: {level_I, level_II, source}` (percent of the quarterly
    share of each limit), or None when the file sets none; ConfigError naming file, line and fix otherwise."""
    from ..yamlfile import check_keys, expect_map, expect_str, fail, load_yaml
    from .pm import _site_file

    file, display = _site_file(site)
    root = load_yaml(file, display=display).data
    if "dosimetry" not in root:
        return None
    block = expect_map(root["dosimetry"], root.value_mark("dosimetry"), "dosimetry")
    check_keys(block, "dosimetry", (), ("investigation_levels", "note"))
    if "investigation_levels" not in block:
        return None
    node = expect_map(block["investigation_levels"], block.value_mark("investigation_levels"), "investigation_levels")
    check_keys(node, "investigation_levels", ("level_I", "level_II", "source"))
    percents = []
    for key in ("level_I", "level_II"):
        text = str(node[key]).strip().rstrip("%").strip()
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not 0 < value <= 100:
            raise fail(f"dosimetry {key} '{node[key]}' is not a percent between 0 and 100", node.value_mark(key),
                       fix=f"write the percent of the quarterly share of each limit, e.g. `{key}: 10 %`")
        percents.append(value)
    if percents[1] <= percents[0]:
        raise fail(f"dosimetry level_II ({percents[1]} %) is not above level_I ({percents[0]} %)",
                   node.value_mark("level_II"), fix="level II is the higher investigation level")
    return percents[0], percents[1], expect_str(node["source"], node.value_mark("source"), "source")


# --- badges -------------------------------------------------------------------------------------------------

def _location(text: str, where: str) -> str:
    value = (text or "").strip().lower().replace(" ", "-").replace("_", "-")
    if value not in LOCATIONS:
        raise ConfigError(f"{where}: badge location '{text}' is not one of {', '.join(LOCATIONS)}",
                          fix=f"give the body location the badge is worn at: {', '.join(LOCATIONS)}")
    return value


def _day(text: str | None, what: str) -> str | None:
    if text is None or not str(text).strip():
        return None
    try:
        return dt.date.fromisoformat(str(text).strip()).isoformat()
    except ValueError:
        raise ConfigError(f"{what} {text!r} is not a date", fix=f"give {what} as YYYY-MM-DD") from None


def load_badges(store: Any) -> dict[str, dict[str, Any]]:
    """Each badge id with its latest issue: person, location, declared pregnancy (declared_on, ended_on)."""
    badges: dict[str, dict[str, Any]] = {}
    for entry in store.entries_of_kind([BADGE_ISSUED]):
        d = entry.data()
        badges[d["badge"]] = {**d, "issued_at": badges.get(d["badge"], {}).get("issued_at", entry.at)}
    return badges


def _badge_payload(badge: str, person: str, location: str, declared_on: str | None, ended_on: str | None,
                   by: str) -> dict[str, Any]:
    return {"badge": badge, "person": person, "location": location, "declared_pregnant": declared_on is not None,
            "declared_on": declared_on, "pregnancy_ended_on": ended_on, "by": by}


def issue_badge(store: Any, *, badge: str, person: str, location: str, declared_pregnant: str | None = None,
                pregnancy_ended: str | None = None, by: str) -> dict[str, Any]:
    """Record a badge and its wearer (or change them: a declared pregnancy, its end, a new location)."""
    for text, flag in ((badge, "--badge"), (person, "--person"), (by, "--name")):
        if not text or not text.strip():
            raise ConfigError(f"{flag} is empty", fix=f"give {flag}")
    payload = _badge_payload(badge.strip(), person.strip(), _location(location, "--location"),
                             _day(declared_pregnant, "--declared-pregnant"), _day(pregnancy_ended, "--pregnancy-ended"),
                             by.strip())
    store.append_entries(lambda: [(BADGE_ISSUED, payload)])
    return load_badges(store)[payload["badge"]]


# --- dose rows ----------------------------------------------------------------------------------------------

def load_doses(store: Any) -> list[dict[str, Any]]:
    """Every dose row in force (a row another superseded is left out), oldest first, with `recorded_at`."""
    rows = [{**e.data(), "recorded_at": e.at} for e in store.entries_of_kind([DOSE_RECORDED])]
    superseded = {r["supersedes"] for r in rows if r.get("supersedes")}
    return [r for r in rows if r["dose_id"] not in superseded]


def _period(start: str | None, end: str | None, where: str) -> tuple[str, str]:
    first, last = _day(start, f"{where}: period start"), _day(end, f"{where}: period end")
    if first is None or last is None:
        raise ConfigError(f"{where}: the wear period needs a start and an end",
                          fix="give the wear period's first and last day as YYYY-MM-DD")
    if last < first:
        raise ConfigError(f"{where}: the wear period ends ({last}) before it starts ({first})",
                          fix="give the period's first day, then its last")
    return first, last


def record_dose(store: Any, *, badge: str, period_start: str, period_end: str, tede: str | None = None,
                shallow: str | None = None, lens: str | None = None, person: str | None = None,
                location: str | None = None, supersedes: str | None = None, reason: str | None = None,
                by: str) -> dict[str, Any]:
    """Enter one badge's dose for one wear period (doses as text with units); a badge not yet issued needs
    `person` and `location`. A corrected report names the row it `supersedes` and the `reason`."""
    first, last = _period(period_start, period_end, "--from/--to")
    given = {"tede": ("--hp10", tede), "shallow": ("--hp007", shallow), "lens": ("--lens", lens)}
    doses = {f: to_msv(v, flag) if v is not None and str(v).strip() else None for f, (flag, v) in given.items()}
    if all(v is None for v in doses.values()):
        raise ConfigError("no dose given", fix="give at least one of --hp10, --hp007, --lens with its unit")
    row: dict[str, Any] = {"badge": badge.strip(), "person": person, "location": location, "period_start": first,
                           "period_end": last, "doses": doses, "source": {"entered": True}}
    if supersedes:
        old = next((r for r in load_doses(store) if r["dose_id"].lower() == supersedes.strip().lower()), None)
        if old is None:
            raise ConfigError(f"no dose row '{supersedes}' in force", fix="see the rows with `xcal dosimetry list`")
        if not reason or not reason.strip():
            raise ConfigError("--supersedes without --reason", fix="say why the row is replaced, e.g. --reason "
                              "'vendor's corrected report'")
        row.update(supersedes=old["dose_id"], reason=reason.strip())
    return _append_rows(store, [row], by, frozenset({row["supersedes"]}) if supersedes else frozenset())[0]


def _append_rows(store: Any, rows: list[dict[str, Any]], by: str, allow: frozenset[str] = frozenset()
                 ) -> list[dict[str, Any]]:
    """Record dose rows (and the badges they introduce), all or none: each badge known or named with its person
    and location, no wear period of a badge recorded twice unless superseded."""
    who = (by or "").strip()
    if not who:
        raise ConfigError("--name is empty", fix="give who records the doses")
    made: list[dict[str, Any]] = []

    def build() -> list[tuple[str, dict[str, Any]]]:
        badges = load_badges(store)
        existing = {(r["badge"], r["period_start"], r["period_end"]): r["dose_id"] for r in load_doses(store)}
        count = len(store.entries_of_kind([DOSE_RECORDED]))
        entries: list[tuple[str, dict[str, Any]]] = []
        for row in rows:
            where = row.get("where", f"badge {row['badge']}")
            known = badges.get(row["badge"])
            person = (row.get("person") or "").strip()
            if known is None:
                if not person or not row.get("location"):
                    raise ConfigError(f"{where}: badge {row['badge']} is not issued to anyone yet",
                                      fix="issue it with `xcal dosimetry badge`, or give its person and location")
                known = _badge_payload(row["badge"], person, _location(row["location"], where), None, None, who)
                badges[row["badge"]] = known
                entries.append((BADGE_ISSUED, known))
            elif person and person != known["person"]:
                raise ConfigError(f"{where}: badge {row['badge']} is issued to {known['person']}, not {person}",
                                  fix="check the badge id; a badge given to someone else is issued again with "
                                      "`xcal dosimetry badge`")
            key = (row["badge"], row["period_start"], row["period_end"])
            if key in existing and existing[key] not in allow:
                raise ConfigError(f"{where}: badge {row['badge']} already has a dose for {key[1]} to {key[2]} "
                                  f"({existing[key]})", fix=f"a corrected report replaces it with `xcal dosimetry "
                                  f"record --supersedes {existing[key]} --reason ...`; leave the row out otherwise")
            existing[key] = "new"
            count += 1
            payload = {"dose_id": f"D-{count}", "badge": row["badge"], "person": known["person"],
                       "location": known["location"], "period_start": row["period_start"],
                       "period_end": row["period_end"], "doses": row["doses"], "source": row["source"],
                       "supersedes": row.get("supersedes"), "reason": row.get("reason"), "by": who}
            made.append(payload)
            entries.append((DOSE_RECORDED, payload))
        return entries

    store.append_entries(build)
    return made


# --- accumulation and comparison ----------------------------------------------------------------------------

def quarter_of(day: str) -> tuple[int, int]:
    """(year, quarter) of a YYYY-MM-DD day."""
    d = dt.date.fromisoformat(day)
    return d.year, (d.month - 1) // 3 + 1


def dose_of_record(rows: list[dict[str, Any]], cls: str) -> float | None:
    """One person's dose of record for a limit over `rows`: the largest, over the badges that measure it, of the
    badge's summed doses; None when no badge reported it."""
    field_name, locations = CLASSES[cls]
    per_badge: dict[str, float] = {}
    for row in rows:
        value = row["doses"].get(field_name)
        if row["location"] in locations and value is not None:
            per_badge[row["badge"]] = per_badge.get(row["badge"], 0.0) + value
    return max(per_badge.values()) if per_badge else None


def _pseudonyms(store: Any) -> dict[str, str]:
    names: dict[str, str] = {}
    for badge in load_badges(store).values():
        names.setdefault(badge["person"], f"wearer {len(names) + 1}")
    return names


def report(store: Any, site: Any, *, year: int, quarter: int | None = None, anonymous: bool = False,
           limits: Limits | None = None) -> dict[str, Any]:
    """Each person's doses for the year (to the end of `quarter` when given) against the annual limits, each
    quarter's against the investigation levels, a declared pregnancy's against 20.1208; every level reached is a
    flag saying what it asks next."""
    limits = limits or load_limits(site)
    if quarter is not None and quarter not in (1, 2, 3, 4):
        raise ConfigError(f"--quarter {quarter} is not 1 to 4", fix="give the quarter of the year, 1 to 4")
    last_q = quarter or 4
    quarters = [quarter] if quarter else [1, 2, 3, 4]
    badges = load_badges(store)
    rows = load_doses(store)
    names = _pseudonyms(store)
    people = []
    for person in dict.fromkeys(b["person"] for b in badges.values()):
        mine = [r for r in rows if r["person"] == person]
        ytd = [r for r in mine if quarter_of(r["period_end"])[0] == year and quarter_of(r["period_end"])[1] <= last_q]
        flags: list[dict[str, Any]] = []
        annual = {}
        for cls, limit in limits.annual.items():
            dose = dose_of_record(ytd, cls)
            annual[cls] = {"dose_msv": dose, "limit_msv": limit["msv"], "section": limit["section"],
                           "fraction": None if dose is None else dose / limit["msv"]}
            if dose is not None and dose > limit["msv"]:
                flags.append({"level": "limit", "quantity": cls, "period": str(year), "dose_msv": dose,
                              "threshold_msv": limit["msv"], "section": limit["section"], "asks": ASKS["limit"]})
        by_quarter = {}
        for q in quarters:
            in_q = [r for r in ytd if quarter_of(r["period_end"]) == (year, q)]
            cells = {}
            for cls in limits.annual:
                dose = dose_of_record(in_q, cls)
                reached = next((lv for lv in ("II", "I") if dose is not None and dose > limits.quarter_level(cls, lv)),
                               None)
                cells[cls] = {"dose_msv": dose, "level": reached}
                if reached:
                    flags.append({"level": reached, "quantity": cls, "period": f"{year}-Q{q}", "dose_msv": dose,
                                  "threshold_msv": limits.quarter_level(cls, reached),
                                  "section": "ALARA investigation level (site)" if limits.levels_from_site
                                  else "ALARA investigation level (default, set it in the site file)",
                                  "asks": ASKS[reached]})
            by_quarter[f"Q{q}"] = cells
        pregnancy = None
        declared = next((b for b in badges.values() if b["person"] == person and b.get("declared_pregnant")), None)
        if declared is not None:
            ended = declared.get("pregnancy_ended_on") or "9999-12-31"
            during = [r for r in mine if declared["declared_on"] <= r["period_end"] and r["period_start"] <= ended]
            dose = dose_of_record(during, "tede") or 0.0
            pregnancy = {"declared_on": declared["declared_on"], "ended_on": declared.get("pregnancy_ended_on"),
                         "dose_msv": dose, "limit_msv": limits.pregnancy["msv"], "section": limits.pregnancy["section"]}
            if dose > limits.pregnancy["msv"]:
                flags.append({"level": "pregnancy", "quantity": "tede", "period": "pregnancy", "dose_msv": dose,
                              "threshold_msv": limits.pregnancy["msv"], "section": limits.pregnancy["section"],
                              "asks": ASKS["pregnancy"]})
        people.append({"person": names[person] if anonymous else person,
                       "badges": [] if anonymous else sorted(b["badge"] for b in badges.values()
                                                             if b["person"] == person),
                       "simulated": any((r.get("source") or {}).get("simulated") for r in mine),
                       "annual": annual, "quarters": by_quarter, "pregnancy": pregnancy, "flags": flags})
    return {"year": year, "quarter": quarter, "anonymous": anonymous, "limits": limits.to_dict(),
            "people": people, "flagged": sum(1 for p in people if p["flags"])}


def report_lines(doc: dict[str, Any]) -> list[str]:
    """The report as text: one block per person, the year's doses against the limits, then every flag."""
    span = f"{doc['year']}" + (f" to the end of Q{doc['quarter']}" if doc["quarter"] else "")
    lv = doc["limits"]["investigation_levels"]
    where = "set in the site file" if lv["set_in_site_file"] else \
        "DEFAULT, not the site's own: set them under `dosimetry:` in the site file"
    lines = [f"Personnel dose report {span}" + (" (names withheld)" if doc["anonymous"] else ""),
             f"ALARA levels: I at {lv['level_I_percent']:g} %, II at {lv['level_II_percent']:g} % of a quarter of "
             f"each annual limit ({where})"]
    if not doc["people"]:
        lines.append("No badges recorded.")
    for p in doc["people"]:
        badges = f" (badges {', '.join(p['badges'])})" if p["badges"] else ""
        lines.append(f"{p['person']}{badges}" + (" SIMULATED" if p["simulated"] else ""))
        cells = [f"{cls} {('—' if a['dose_msv'] is None else format(a['dose_msv'], '.3g'))} of {a['limit_msv']:g} mSv"
                 for cls, a in p["annual"].items()]
        lines.append(f"  year to date: {'; '.join(cells)}")
        if p["pregnancy"]:
            preg = p["pregnancy"]
            lines.append(f"  declared pregnant {preg['declared_on']}: {preg['dose_msv']:.3g} of "
                         f"{preg['limit_msv']:g} mSv ({preg['section']})")
        for f in p["flags"]:
            name = {"I": "LEVEL I", "II": "LEVEL II", "limit": "ABOVE LIMIT", "pregnancy": "ABOVE LIMIT"}[f["level"]]
            lines.append(f"  {name}: {f['quantity']} {f['dose_msv']:.3g} mSv in {f['period']} above "
                         f"{f['threshold_msv']:.3g} mSv -> {f['asks']}")
    return lines


def export_rows(store: Any, *, year: int | None = None, personal: bool = False) -> list[dict[str, Any]]:
    """The dose rows as they leave the site: without `personal`, the person is 'wearer N' and the badge id is
    left out."""
    names = _pseudonyms(store)
    out = []
    for r in load_doses(store):
        if year is not None and quarter_of(r["period_end"])[0] != year:
            continue
        row = {"dose_id": r["dose_id"], "person": r["person"] if personal else names.get(r["person"], "wearer ?"),
               "location": r["location"], "period_start": r["period_start"], "period_end": r["period_end"],
               "hp10_mSv": r["doses"]["tede"], "hp007_mSv": r["doses"]["shallow"], "lens_mSv": r["doses"]["lens"],
               "simulated": bool((r.get("source") or {}).get("simulated"))}
        if personal:
            row = {"dose_id": r["dose_id"], "person": r["person"], "badge": r["badge"],
                   **{k: v for k, v in row.items() if k not in ("dose_id", "person")}}
        out.append(row)
    return out


def dosimetry_summary(store: Any, site: Any, *, year: int, personal: bool = False) -> dict[str, Any]:
    """What an annual report or the inspection binder shows: the year's report, names withheld unless
    `personal`."""
    return report(store, site, year=year, anonymous=not personal)


def write_export(store: Any, output: str | Path, *, fmt: str = "csv", year: int | None = None,
                 personal: bool = False, force: bool = False) -> Path:
    """Write export_rows to `output` as CSV or JSON (the file checks of `xcal export`); returns the path."""
    import csv
    import json

    from ..records.outputs import check_outputs

    out = Path(output)
    check_outputs([out], store.path, force=force)
    rows = export_rows(store, year=year, personal=personal)
    try:
        if fmt == "json":
            out.write_text(json.dumps({"format": "xcal-doses", "format_version": 1, "personal": personal,
                                       "rows": rows}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        else:
            columns = list(rows[0]) if rows else ["dose_id", "person", "location", "period_start", "period_end",
                                                  "hp10_mSv", "hp007_mSv", "lens_mSv", "simulated"]
            with out.open("w", newline="", encoding="utf-8") as fh:
                writer = csv.DictWriter(fh, fieldnames=columns)
                writer.writeheader()
                writer.writerows(rows)
    except OSError as exc:
        raise ConfigError(f"cannot write {out}: {exc.strerror}", fix="choose a folder that exists and is writable") \
            from None
    return out

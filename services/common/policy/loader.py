"""`load_policy`: YAML text -> a validated `Policy`, or a `PolicyError` listing every issue with its line.

Reading the file is the caller's job; this module only parses the text it is given.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import time as LocalTime
from typing import Any

from .account_loader import load_accounts
from .account_model import NO_ACCOUNTS
from .business_hours import WEEKDAYS, BusinessHours
from .checks import Checker
from .limits import MAX_PATTERNS
from .model import (
    STANDARD_KINDS,
    Fit,
    MqlRule,
    Policy,
    PolicyError,
    Recycle,
    Scoring,
    SizeBand,
    Sla,
    TitleLevel,
)
from .patterns import compile_problem, pattern_problem
from .reason_loader import read_reasons
from .rule_loader import load_rules
from .yaml_reader import parse_yaml

_TOP = {
    "version", "description", "scoring", "topics", "assets", "fit", "rules", "reasons", "sla", "recycle",
    "accounts", "account_rules",
}  # fmt: skip
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


def load_policy(text: str, source: str = "<policy>") -> Policy:
    data, lines, issues = parse_yaml(text)
    if issues:
        raise PolicyError(issues, source)
    c = Checker(lines, issues)
    top = c.mapping(
        data, "", allowed=_TOP, required={"version", "scoring", "topics", "fit", "rules", "reasons"}
    )
    if top is None:
        raise PolicyError(issues, source)
    raw_version = top.get("version")
    if isinstance(raw_version, int | float) and not isinstance(raw_version, bool):
        version: str | None = str(raw_version)  # `version: 3` is a fair thing to write
    else:
        version = c.text(raw_version, "version") if "version" in top else None
    scoring = _scoring(c, top.get("scoring"))
    topics = _topics(c, top.get("topics"))
    assets, asset_paths = _assets(c, top.get("assets", {}), topics)
    fit = _fit(c, top.get("fit"))
    sql, not_sql = read_reasons(c, top.get("reasons"))
    sla = _sla(c, top.get("sla", {}))
    recycle = _recycle(c, top.get("recycle", {}))
    rules: tuple[MqlRule, ...] = ()
    accounts = NO_ACCOUNTS
    if scoring and topics is not None and fit:
        vocabulary = {"topics": topics, "assets": assets, "fit": fit, "scoring": scoring}
        rules = load_rules(c, top.get("rules"), **vocabulary)
        accounts = load_accounts(c, top.get("accounts"), top.get("account_rules"), **vocabulary)
    if (
        issues
        or version is None
        or scoring is None
        or topics is None
        or fit is None
        or sql is None
        or sla is None
        or recycle is None
    ):
        raise PolicyError(sorted(issues, key=lambda i: i.line), source)
    policy = Policy(
        version=version,
        scoring=scoring,
        topics=topics,
        assets=assets,
        asset_paths=asset_paths,
        fit=fit,
        rules=rules,
        sql_reasons=sql,
        not_sql_reasons=not_sql,
        sla=sla,
        recycle=recycle,
        accounts=accounts,
    )
    _compile_matchers(c, policy)
    if issues:
        raise PolicyError(issues, source)
    return policy


def _compile_matchers(c: Checker, policy: Policy) -> None:
    """Compile now what evaluation would compile later: every pattern compiled alone, but their union
    (one program per title level, one for the notable pages) may still exceed RE2's program size."""
    globs = len(policy.notable_page_globs) + len(policy.asset_paths)
    if globs > MAX_PATTERNS:
        c.error(
            "",
            f"{globs} path patterns in all (page points, asset paths, page_visited): at most {MAX_PATTERNS}",
        )
        return
    steps: list[tuple[str, Callable[[], object]]] = [
        ("fit.title_levels", lambda: policy.fit.compiled_levels),
        ("scoring.page_points", lambda: policy.notable_page),
        ("assets", lambda: policy.asset_path_matchers),
        ("scoring.page_points", lambda: policy.scoring.page_point_matchers),
        *((f"accounts.roles.{r.name}.titles", lambda r=r: r.title_matches) for r in policy.accounts.roles),
    ]
    for path, compile_now in steps:
        if (problem := compile_problem(compile_now)) is not None:
            c.error(path, f"these patterns together are too large to match: {problem}")


def _scoring(c: Checker, raw: Any) -> Scoring | None:
    m = c.mapping(
        raw,
        "scoring",
        allowed={"half_life_days", "points", "caps", "page_points"},
        required={"half_life_days", "points"},
    )
    if m is None:
        return None
    half_life = c.number(m.get("half_life_days"), "scoring.half_life_days", strict=True)
    points: dict[str, float] = {}
    raw_points = m.get("points")
    if isinstance(raw_points, dict):
        for kind, value in raw_points.items():
            path = f"scoring.points.{kind}"
            if kind not in STANDARD_KINDS and re.fullmatch(r"[a-z0-9_]+", str(kind)):
                c.error(
                    path,
                    f"unknown activity kind {kind!r} (known: {', '.join(STANDARD_KINDS)}; "
                    "a custom track event is written by its exact name, e.g. 'Demo Requested')",
                )
                continue
            number = c.number(value, path)
            if number is not None:
                points[str(kind)] = number
    else:
        c.mapping(raw_points, "scoring.points", allowed=set())
    caps: dict[str, float] = {}
    for kind, value in (m.get("caps") or {}).items():
        if kind not in points and kind not in STANDARD_KINDS:
            c.error(f"scoring.caps.{kind}", f"cap for unknown activity kind {kind!r}")
        elif (number := c.number(value, f"scoring.caps.{kind}", strict=True)) is not None:
            caps[kind] = number
    page_points = []
    for glob, value in (m.get("page_points") or {}).items():
        path = f"scoring.page_points.{glob}"
        if not str(glob).startswith("/"):
            c.error(path, f"page pattern {glob!r} must be a URL path starting with '/'")
        elif (problem := pattern_problem(str(glob), glob=True)) is not None:
            c.error(path, problem)
        elif (number := c.number(value, path)) is not None:
            page_points.append((str(glob), number))
    if half_life is None:
        return None
    return Scoring(half_life_days=half_life, points=points, caps=caps, page_points=tuple(page_points))


def _topics(c: Checker, raw: Any) -> dict[str, str] | None:
    if not isinstance(raw, dict) or not raw:
        c.error("topics", "must be a non-empty mapping of topic id -> label")
        return None
    out = {}
    for topic, label in raw.items():
        if not _CODE.match(str(topic).replace("-", "_")):
            c.error(f"topics.{topic}", f"topic id {topic!r} must be lower-case words joined by '-' or '_'")
        elif (text := c.label(label, f"topics.{topic}")) is not None:
            out[str(topic)] = text
    return out


def _assets(c: Checker, raw: Any, topics: dict[str, str] | None) -> tuple[dict[str, str], tuple]:
    if c.mapping(raw, "assets", allowed=set(raw) if isinstance(raw, dict) else set()) is None:
        return {}, ()
    ids, paths = {}, []
    for key, topic in raw.items():
        path = f"assets.{key}"
        if c.text(topic, path) is None or (
            topics is not None and not c.member(topic, list(topics), "topic", path)
        ):
            continue
        if str(key).startswith("/"):
            if (problem := pattern_problem(str(key), glob=True)) is not None:
                c.error(path, problem)
                continue
            paths.append((str(key), topic))
        else:
            ids[str(key)] = topic
    return ids, tuple(paths)


def _fit(c: Checker, raw: Any) -> Fit | None:
    m = c.mapping(
        raw,
        "fit",
        allowed={"industries", "target_industries", "title_levels", "company_size_bands"},
        required={"target_industries", "title_levels", "company_size_bands"},
    )
    if m is None:
        return None
    industries = c.texts(m["industries"], "fit.industries") if "industries" in m else []
    targets = c.texts(m.get("target_industries"), "fit.target_industries") or []
    for i, name in enumerate(targets):
        if industries:
            c.member(name, industries, "industry", f"fit.target_industries[{i}]")
    levels = []
    counted = 0
    raw_levels = m.get("title_levels")
    if not isinstance(raw_levels, dict) or not raw_levels:
        c.error("fit.title_levels", "must map each level (lowest first) to its title patterns")
    else:
        for name, patterns in raw_levels.items():
            path = f"fit.title_levels.{name}"
            texts = c.texts(patterns, path) or []
            for i, pattern in enumerate(texts):
                if (problem := pattern_problem(pattern)) is not None:
                    c.error(f"{path}[{i}]", problem)
            counted += len(texts)
            if counted > MAX_PATTERNS:
                c.error(path, f"more than {MAX_PATTERNS} title patterns in all; a policy is smaller")
                break
            levels.append(TitleLevel(name=str(name), patterns=tuple(texts)))
    bands = []
    for name, value in (m.get("company_size_bands") or {}).items():
        path = f"fit.company_size_bands.{name}"
        ok = (
            isinstance(value, list)
            and len(value) == 2
            and isinstance(value[0], int)
            and (value[1] is None or (isinstance(value[1], int) and value[1] >= value[0]))
        )
        if not ok:
            c.error(path, f"must be [min, max] employees (max may be null), got {value!r}")
        else:
            bands.append(SizeBand(name=str(name), min=value[0], max=value[1]))
    return Fit(
        industries=tuple(industries or ()),
        target_industries=tuple(targets),
        title_levels=tuple(levels),
        company_size_bands=tuple(bands),
    )


def _sla(c: Checker, raw: Any) -> Sla | None:
    m = c.mapping(raw, "sla", allowed={"decision_hours", "due_soon_hours", "business_hours"})
    if m is None:
        return None
    hours = c.number(m.get("decision_hours", 48), "sla.decision_hours", strict=True)
    soon = c.number(m.get("due_soon_hours", 8), "sla.due_soon_hours")
    if hours is None or soon is None:
        return None
    if soon >= hours:
        c.error("sla.due_soon_hours", "must be smaller than decision_hours")
    business = _business_hours(c, m["business_hours"]) if m.get("business_hours") is not None else None
    return Sla(decision_hours=hours, due_soon_hours=soon, business_hours=business)


def _business_hours(c: Checker, raw: Any) -> BusinessHours | None:
    """`{days: [mon, ...], start: "09:00", end: "18:00", holidays: JP}`; each key has that default."""
    path = "sla.business_hours"
    m = c.mapping(raw, path, allowed={"days", "start", "end", "holidays"})
    if m is None:
        return None
    bh = BusinessHours()
    days = c.texts(m.get("days", list(bh.days)), f"{path}.days")
    ok = days is not None and all(c.member(d, WEEKDAYS, "weekday", f"{path}.days") for d in days)
    start = _clock(c, m.get("start", "09:00"), f"{path}.start")
    end = _clock(c, m.get("end", "18:00"), f"{path}.end")
    country = m.get("holidays", bh.holidays)
    if country is not None and not (isinstance(country, str) and re.fullmatch(r"[A-Z]{2}", country)):
        c.error(f"{path}.holidays", f"must be a two-letter country code such as JP, got {country!r}")
        ok = False
    if start is not None and end is not None and start >= end:
        c.error(f"{path}.end", "must be later than start")
        ok = False
    if not ok or start is None or end is None or days is None:
        return None
    return BusinessHours(days=tuple(days), start=start, end=end, holidays=country)


def _clock(c: Checker, raw: Any, path: str) -> LocalTime | None:
    text = str(raw)
    if (m := re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", text)) is None:
        c.error(path, f"must be a local time HH:MM, got {raw!r}")
        return None
    return LocalTime(int(m[1]), int(m[2]))


def _recycle(c: Checker, raw: Any) -> Recycle | None:
    m = c.mapping(raw, "recycle", allowed={"min_days_after_decision", "allow_after_rejected"})
    if m is None:
        return None
    days = c.number(m.get("min_days_after_decision", 0), "recycle.min_days_after_decision")
    allow = m.get("allow_after_rejected", True)
    if not isinstance(allow, bool):
        c.error("recycle.allow_after_rejected", "must be true or false")
    return None if days is None else Recycle(min_days_after_decision=days, allow_after_rejected=allow is True)

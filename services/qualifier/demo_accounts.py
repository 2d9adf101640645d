"""Companies for the demo: several people of one company, so account rules (MQAs) have something to find.

Pure and deterministic like demo.py (a seeded `random.Random`, the start time passed in). Each company has
a hidden kind, the ground truth an account rule is judged against:
  buying_group         a target-industry company where 3-5 people with a mix of roles (a director or
                       executive, a manager, staff, sometimes finance or procurement) each read a little on
                       one topic. No lead rule qualifies any of them alone; together they are the signal.
  loud_single          one keen manager-or-above at a target-industry company: seminar and downloads. A lead
                       rule makes them an MQL; one person is not a buying group.
  browsing_colleagues  several people of a target-industry company who only browse general pages.
  wrong_fit_group      a buying group's behaviour at a company outside the target industries.
Half the companies send Segment `group` calls (groupId + name, industry, employees, domain, plan), and one
of their people may then use a free-mail address: the group call still places them. The other half are
known only by the company domain of their people's email.
"""

from __future__ import annotations

import heapq
import random
from datetime import datetime
from typing import Any

from . import demo_ja
from .demo import COMPANY, FIRST, LAST, OTHER, SUFFIX, TARGET, TITLES, TOPICS, _Lead, generate_audience

KINDS = (
    ("buying_group", 0.40),
    ("loud_single", 0.25),
    ("browsing_colleagues", 0.20),
    ("wrong_fit_group", 0.15),
)
# (title, department): the default policy reads these as budget holders (title pattern or department)
BUDGET = [("Accounting Specialist", "Finance"), ("Procurement Manager", "Procurement"), ("CFO", None)]
BUDGET_JA = {
    "Accounting Specialist": "経理部 担当",
    "Procurement Manager": "購買部 課長",
    "CFO": "取締役 財務本部長",
}
DEPARTMENTS_JA = {"Finance": "経理部", "Procurement": "購買部"}
GENERAL = ["/", "/product/overview", "/product/features", "/customers", "/about"]
PLANS = ["free", "team", "business", "enterprise"]


def generate_companies_with_truth(
    n_companies: int, *, seed: int, start: datetime, days: int = 14, language: str = "en"
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Messages sorted by timestamp, and each company's kind keyed by the account id leadstate gives it
    (the groupId, else `domain:<email domain>`)."""
    rng = random.Random(seed * 7919 + 1)  # not the audience's stream: adding companies changes no lead
    names, weights = [k for k, _ in KINDS], [w for _, w in KINDS]
    rows: list[tuple[float, int, dict[str, Any]]] = []
    truth: dict[str, str] = {}
    for c in range(n_companies):
        kind = names[c % len(names)] if c < len(names) else rng.choices(names, weights)[0]
        company = _Company(rng, seed, c, start, days, japanese=language == "ja")
        getattr(company, kind)()
        truth[company.account_id] = kind
        rows.extend(row for member in company.members for row in member.rows)
    rows.sort(key=lambda r: (r[0], r[1]))
    return [r[2] for r in rows], truth


class _Company:
    def __init__(
        self, rng: random.Random, seed: int, index: int, start: datetime, days: int, *, japanese: bool
    ) -> None:
        self.rng, self.seed, self.index, self.start, self.days, self.japanese = (
            rng,
            seed,
            index,
            start,
            days,
            japanese,
        )
        self.prefix, self.suffix = rng.choice(COMPANY), rng.choice(SUFFIX)
        self.name = demo_ja.company(self.prefix, self.suffix) if japanese else f"{self.prefix} {self.suffix}"
        self.domain = f"{self.prefix}-{self.suffix}-co{seed}-{index}.example".lower()
        self.by_group = rng.random() < 0.5
        self.group_id = f"grp-{seed}-{index:04d}"
        self.account_id = self.group_id if self.by_group else f"domain:{self.domain}"
        self.topic = rng.choice(TOPICS)
        # a company's people are active within about ten days of each other: well inside a 30-day window
        self.opens = rng.uniform(0, max(0.0, days - 10)) * 86400
        self.members: list[_Lead] = []
        self.industry = rng.choice(TARGET)
        self.employees = rng.choice([40, 150, 600, 2500, 12000])

    # -- kinds ------------------------------------------------------------------------------------
    def buying_group(self) -> None:
        roles = ["decision_maker", "champion", "user"]
        roles += self.rng.sample(["user", "budget_holder", "champion"], self.rng.randint(0, 2))
        for role in roles:
            self.quiet(self.join(role))

    def wrong_fit_group(self) -> None:
        self.industry = self.rng.choice(OTHER)
        self.buying_group()

    def loud_single(self) -> None:
        member = self.join(self.rng.choice(["decision_maker", "champion"]))
        member.browse(self.rng.randint(2, 5), self.topic)
        member.track("Seminar Attended", **member.seminar(self.topic))
        for _ in range(self.rng.randint(2, 3)):
            member.download(self.topic)

    def browsing_colleagues(self) -> None:
        for role in ["decision_maker", "champion", "user", "user"][: self.rng.randint(2, 4)]:
            member = self.join(role)
            for _ in range(self.rng.randint(2, 5)):
                path = self.rng.choice(GENERAL)
                member.page(path, path.strip("/").replace("/", " ").title() or "Home")

    # -- people -----------------------------------------------------------------------------------
    def quiet(self, member: _Lead) -> None:
        """A little reading on the company's topic: one download or a seminar registration, and a
        seminar attended only by staff (a manager attending would be an MQL on their own)."""
        member.browse(self.rng.randint(1, 3), self.topic)
        if self.rng.random() < 0.7:
            member.download(self.topic)
        else:
            member.track("Seminar Registered", **member.seminar(self.topic))

    def join(self, role: str) -> _Lead:
        k = len(self.members)
        member = _Lead(self.rng, self.seed, 1_000_000 + self.index * 10 + k, self.start, self.days)
        member.japanese = self.japanese
        member.key = f"co{self.index:04d}-{k}"
        member.user_id = f"user-{self.seed}-{member.key}"
        member.clock = self.opens + self.rng.uniform(0, 4 * 86400)
        title, department = self.title(role)
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        free_mail = self.by_group and k > 0 and self.rng.random() < 0.3
        local = f"{first}.{last}{k}"
        traits: dict[str, Any] = {"first_name": first.title(), "last_name": last.title(), "title": title}
        if self.japanese:
            given, family, full, romaji = demo_ja.person(first, last)
            traits |= {"first_name": given, "last_name": family, "name": full}
            local = f"{romaji}{k}"
        traits |= {
            "email": f"{local}@gmail.com" if free_mail else f"{local}@{self.domain}",
            "company": self.name,
            "industry": self.industry,
            "company_size": self.employees,
        }
        if department:
            traits["department"] = department
        member.identified = True
        member.emit({"type": "identify", "traits": traits})
        if self.by_group:
            group = {"name": self.name, "industry": self.industry, "employees": self.employees}
            group |= {"domain": self.domain, "plan": self.rng.choice(PLANS)}
            member.emit({"type": "group", "groupId": self.group_id, "traits": group})
        self.members.append(member)
        return member

    def title(self, role: str) -> tuple[str, str | None]:
        if role == "budget_holder":
            title, department = self.rng.choice(BUDGET)
            if self.japanese:
                return BUDGET_JA[title], DEPARTMENTS_JA.get(department or "")
            return title, department
        level = {"decision_maker": self.rng.choice(["director", "executive"]), "champion": "manager"}
        title = self.rng.choice(TITLES[level.get(role, "staff")])
        return (demo_ja.TITLES[title] if self.japanese else title), None


def generate_demo(
    n_leads: int, n_companies: int, *, seed: int, start: datetime, days: int = 14, language: str = "en"
) -> list[dict[str, Any]]:
    """What `leadstate demo` posts: the single leads (demo.py) and the companies, in time order."""
    leads = generate_audience(n_leads, seed=seed, start=start, days=days, language=language)
    companies, _ = generate_companies_with_truth(
        n_companies, seed=seed, start=start, days=days, language=language
    )
    return list(heapq.merge(leads, companies, key=lambda m: datetime.fromisoformat(m["timestamp"])))

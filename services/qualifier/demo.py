"""A synthetic B2B audience as Segment messages, for demos, benches and tests.

Pure and deterministic: a seeded `random.Random`, and the start time passed in. Each lead has a hidden
intent that drives its behaviour, so a policy can be judged against ground truth:
  hot        target industry, manager or above, attends a seminar or reads deeply on one topic
  curious    browses, sometimes identifies, rarely goes deep
  wrong_fit  engaged, but in a non-target industry or a micro company
  researcher students, job seekers and freelancers reading everything
  ghost      browses (pricing included) and never identifies
The same intent decides what sales would answer to an MQL of that lead (`simulate_sales_outcome`), with
the reason a salesperson would give: the ground truth the policy lab is judged against.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from . import demo_ja

INTENTS = (("hot", 0.12), ("curious", 0.38), ("wrong_fit", 0.18), ("researcher", 0.12), ("ghost", 0.20))
TOPICS = ("lead-management", "marketing-automation", "sales-enablement", "data-integration")
ASSETS = {
    "lead-management": [
        ("wp-lead-scoring", "Lead scoring that sales trusts"),
        ("wp-mql-sql-guide", "Designing MQL and SQL"),
        ("ebook-lead-nurturing", "The lead nurturing handbook"),
    ],
    "marketing-automation": [
        ("ebook-ma-selection", "Choosing a marketing automation tool"),
        ("checklist-ma-migration", "MA migration checklist"),
        ("casestudy-ma-manufacturing", "MA at a mid-size manufacturer"),
    ],
    "sales-enablement": [
        ("playbook-inside-sales", "Inside sales playbook"),
        ("template-sales-handoff", "Marketing-to-sales handoff template"),
    ],
    "data-integration": [
        ("guide-crm-integration", "Connecting CRM and MA"),
        ("wp-cdp-basics", "Customer data platforms explained"),
    ],
}
SEMINARS = {
    "lead-management": ("sem-mql-design", "MQL design with sales"),
    "marketing-automation": ("sem-ma-in-practice", "MA in practice"),
    "sales-enablement": ("sem-sales-handoff", "A handoff sales accepts"),
    "data-integration": ("sem-data-pipeline", "From events to CRM"),
}
BLOG = {
    "lead-management": ["/blog/mql-definition", "/blog/mql-vs-sql", "/blog/lead-scoring-basics"],
    "marketing-automation": ["/blog/ma-first-90-days", "/blog/marketing-automation-roi"],
    "sales-enablement": ["/blog/sales-handoff", "/blog/sales-first-call"],
    "data-integration": ["/blog/integration-crm-sync", "/product/integrations"],
}
GENERAL_PAGES = ["/", "/product/overview", "/product/features", "/customers", "/about", "/blog"]
TARGET = ["manufacturing", "it_services", "software", "financial_services", "logistics"]
OTHER = ["retail", "education", "public_sector", "media", "hospitality", "healthcare", "construction"]
TITLES = {
    "staff": [
        "Marketing Specialist",
        "Sales Representative",
        "Engineer",
        "営業部 主任",
        "マーケティング担当",
        "Business Analyst",
    ],
    "manager": [
        "Sales Manager",
        "Marketing Manager",
        "営業課長",
        "マーケティング マネージャー",
        "Team Lead, Inside Sales",
    ],
    "director": ["Marketing Director", "Head of Sales", "営業部長", "General Manager, Digital"],
    "executive": ["CEO", "VP Marketing", "Chief Revenue Officer", "取締役 営業本部長", "代表取締役社長"],
    "none": ["Student", "学生", "Job seeker", "求職中", "Freelance consultant"],
}
SQL_REASONS = ("problem_confirmed", "project_planned", "decision_maker_engaged", "evaluation_started")
# intent -> [(weight, outcome, reason codes of the default policy)]: what a first sales call finds
SALES_OUTCOMES: dict[str, list[tuple[float, str, tuple[str, ...]]]] = {
    "hot": [
        (0.75, "sql", SQL_REASONS),
        (0.15, "recycled", ("recycle_timing_later",)),
        (0.10, "rejected", ("no_budget", "no_timing")),
    ],
    "curious": [
        (0.10, "sql", ("problem_confirmed",)),
        (0.50, "rejected", ("no_timing", "no_problem", "no_budget")),
        (0.40, "recycled", ("recycle_timing_later", "recycle_wrong_contact")),
    ],
    "wrong_fit": [
        (0.05, "sql", ("problem_confirmed",)),
        (0.80, "rejected", ("no_problem", "not_decision_maker", "no_budget")),
        (0.15, "recycled", ("recycle_wrong_contact",)),
    ],
    "researcher": [(0.85, "rejected", ("student_or_job_seeker",)), (0.15, "rejected", ("competitor",))],
    "ghost": [(1.0, "rejected", ("unreachable",))],
}
NOISE = ["Video Played", "Chat Opened", "Scroll Depth Reached", "Newsletter Opened"]
FIRST = ["haruto", "yui", "sota", "aoi", "ren", "mio", "kenji", "emma", "liam", "olivia", "noah", "sara"]
LAST = ["sato", "suzuki", "takahashi", "tanaka", "ito", "smith", "jones", "garcia", "muller", "kim"]
COMPANY = ["Kanto", "Nippon", "Blue", "North", "Apex", "Sakura", "Vertex", "Harbor", "Summit", "Orion"]
SUFFIX = ["Precision", "Logistics", "Systems", "Works", "Partners", "Foods", "Labs", "Trading"]


def generate_audience(
    n_leads: int, *, seed: int, start: datetime, days: int = 14, language: str = "en"
) -> list[dict[str, Any]]:
    return generate_audience_with_truth(n_leads, seed=seed, start=start, days=days, language=language)[0]


def generate_audience_with_truth(
    n_leads: int, *, seed: int, start: datetime, days: int = 14, language: str = "en"
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Messages sorted by timestamp, and each lead's intent keyed by its userId (or anonymousId).

    `language="ja"`: the same audience with Japanese names, companies, titles and content (demo_ja.py).
    """
    rng = random.Random(seed)
    names = [name for name, _ in INTENTS]
    weights = [weight for _, weight in INTENTS]
    rows: list[tuple[float, int, dict[str, Any]]] = []
    truth: dict[str, str] = {}
    for i in range(n_leads):
        intent = rng.choices(names, weights)[0]
        lead = _Lead(rng, seed, i, start, days, japanese=language == "ja")
        getattr(lead, intent)()
        truth[lead.user_id if lead.identified else lead.anonymous_id] = intent
        rows.extend(lead.rows)
    rows.sort(key=lambda r: (r[0], r[1]))
    return [r[2] for r in rows], truth


def simulate_sales_outcome(intent: str, rng: random.Random) -> tuple[str, str]:
    """(outcome, reason code) a salesperson would record after the first call with a lead of `intent`."""
    choices = SALES_OUTCOMES[intent]
    _, outcome, reasons = rng.choices(choices, [w for w, _, _ in choices])[0]
    return outcome, rng.choice(reasons)


class _Lead:
    def __init__(
        self, rng: random.Random, seed: int, index: int, start: datetime, days: int, *, japanese: bool = False
    ) -> None:
        self.rng, self.seed, self.index, self.start, self.japanese = rng, seed, index, start, japanese
        self.anonymous_id = f"anon-{seed}-{rng.getrandbits(48):012x}"
        self.key = f"{index:06d}"  # in user and message ids; company members have their own (demo_accounts)
        self.user_id = f"user-{seed}-{self.key}"
        self.identified = False
        self.clock = rng.uniform(0, days * 86400 * 0.8)
        self.end = days * 86400.0
        self.rows: list[tuple[float, int, dict[str, Any]]] = []
        self.topic = rng.choice(TOPICS)

    # -- behaviour per intent -------------------------------------------------------------------
    def hot(self) -> None:
        self.browse(self.rng.randint(2, 5), self.topic)
        if self.rng.random() < 0.3:  # gated download first, identify on the follow-up form
            self.download(self.topic)
        level = "manager" if self.rng.random() < 0.45 else self.rng.choice(["director", "executive"])
        if self.rng.random() < 0.12:
            level = "staff"
        self.identify(self.rng.choice(TARGET), level, self.rng.choice([40, 150, 600, 2500, 12000]))
        if self.rng.random() < 0.55:
            self.track("Seminar Registered", **self.seminar(self.topic))
            if self.rng.random() < 0.8:
                self.track("Seminar Attended", **self.seminar(self.topic), gap=(86400, 5 * 86400))
        for _ in range(self.rng.randint(1, 3)):
            self.download(self.topic)
        if self.rng.random() < 0.6:
            self.page("/pricing", "Pricing")
        if self.rng.random() < 0.2:
            self.track("Demo Requested", source="pricing")
        self.noise()

    def curious(self) -> None:
        self.browse(self.rng.randint(3, 9), None)
        if self.rng.random() < 0.55:
            industry = self.rng.choice(TARGET) if self.rng.random() < 0.6 else self.rng.choice(OTHER)
            level = self.rng.choices(["staff", "manager", "director", "executive"], [55, 30, 10, 5])[0]
            self.identify(industry, level, self.rng.choice([5, 30, 150, 800, 3000]))
            if self.rng.random() < 0.35:
                self.download(self.rng.choice(TOPICS))
            if self.rng.random() < 0.15:
                self.track("Seminar Registered", **self.seminar(self.rng.choice(TOPICS)))
            self.browse(self.rng.randint(0, 3), None)
        self.noise()

    def wrong_fit(self) -> None:
        self.browse(self.rng.randint(2, 6), self.topic)
        micro = self.rng.random() < 0.3
        industry = self.rng.choice(TARGET) if micro else self.rng.choice(OTHER)
        # a one-person shop in a target industry is wrong fit too, but only a title can tell the policy
        level = "staff" if micro else self.rng.choice(["staff", "manager", "director", "executive"])
        self.identify(industry, level, self.rng.randint(1, 8) if micro else self.rng.choice([50, 300, 2000]))
        for _ in range(self.rng.randint(1, 3)):
            self.download(self.topic)
        if self.rng.random() < 0.4:
            self.track("Seminar Attended", **self.seminar(self.topic))
        self.noise()

    def researcher(self) -> None:
        self.browse(self.rng.randint(3, 8), None)
        industry = self.rng.choice(["education", None, self.rng.choice(TARGET)])
        self.identify(industry, "none", None)
        for _ in range(self.rng.randint(2, 5)):
            self.download(self.rng.choice(TOPICS))
        if self.rng.random() < 0.3:
            self.track("Seminar Attended", **self.seminar(self.rng.choice(TOPICS)))
        self.noise()

    def ghost(self) -> None:
        self.browse(self.rng.randint(4, 14), self.topic)
        if self.rng.random() < 0.5:
            self.page("/pricing", "Pricing")
        self.noise()

    # -- messages ---------------------------------------------------------------------------------
    def browse(self, n: int, topic: str | None) -> None:
        for _ in range(n):
            pool = (
                BLOG[topic]
                if topic and self.rng.random() < 0.6
                else GENERAL_PAGES + BLOG[self.rng.choice(TOPICS)]
            )
            path = self.rng.choice(pool)
            self.page(path, path.strip("/").replace("-", " ").title() or "Home")

    def page(self, path: str, title: str) -> None:
        title = demo_ja.PAGES.get(path, title) if self.japanese else title
        self.emit(
            {
                "type": "page",
                "name": title,
                "properties": {"path": path, "url": f"https://www.example.com{path}", "title": title},
                "context": {"page": {"path": path, "url": f"https://www.example.com{path}", "title": title}},
            }
        )

    def download(self, topic: str) -> None:
        asset_id, title = self.rng.choice(ASSETS[topic])
        title = demo_ja.ASSETS[asset_id] if self.japanese else title
        self.track("Content Downloaded", asset_id=asset_id, title=title, topic=topic)

    def seminar(self, topic: str) -> dict[str, Any]:
        seminar_id, title = SEMINARS[topic]
        title = demo_ja.SEMINARS[seminar_id] if self.japanese else title
        return {"seminar_id": seminar_id, "title": title, "topic": topic}

    def track(self, event: str, gap: tuple[float, float] = (60, 2 * 86400), **properties: Any) -> None:
        self.emit({"type": "track", "event": event, "properties": properties}, gap)

    def noise(self) -> None:
        for _ in range(self.rng.choice([0, 0, 1, 2])):
            self.track(self.rng.choice(NOISE), seconds=self.rng.randint(5, 600))

    def identify(self, industry: str | None, level: str, employees: int | None) -> None:
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        prefix, suffix = self.rng.choice(COMPANY), self.rng.choice(SUFFIX)
        company, domain = f"{prefix} {suffix}", f"{prefix}-{suffix}".lower()
        title = self.rng.choice(TITLES[level])
        traits: dict[str, Any] = {
            "email": f"{first}.{last}{self.index}@{domain}.example",
            "first_name": first.title(),
            "last_name": last.title(),
            "company": company,
            "title": title,
        }
        if self.japanese:  # the same draws, in Japanese words; the name family name first
            given, family, full, romaji = demo_ja.person(first, last)
            traits |= {"first_name": given, "last_name": family, "name": full, "title": demo_ja.TITLES[title]}
            traits |= {
                "company": demo_ja.company(prefix, suffix),
                "email": f"{romaji}{self.index}@{domain}.example",
            }
        if industry:
            traits["industry"] = industry.replace("_", " ").title() if self.rng.random() < 0.3 else industry
        if employees is not None:
            traits["company_size"] = employees
        self.identified = True
        self.emit({"type": "identify", "traits": traits})

    def emit(self, body: dict[str, Any], gap: tuple[float, float] = (20, 3 * 3600)) -> None:
        self.clock = min(self.clock + self.rng.uniform(*gap), self.end)
        when = self.start + timedelta(seconds=round(self.clock, 3))
        message = {
            "messageId": f"demo-{self.seed}-{self.key}-{len(self.rows):03d}",
            "anonymousId": self.anonymous_id,
            "timestamp": when.isoformat(),
            "context": {"library": {"name": "leadstate-demo"}},
            **body,
        }
        message["context"] = {**message["context"], **body.get("context", {})}
        message.setdefault("properties", {})
        message.setdefault("traits", {})
        if self.identified:
            message["userId"] = self.user_id
        self.rows.append((self.clock, self.index * 1000 + len(self.rows), message))

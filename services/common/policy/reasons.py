"""An MQL reason rendered from its code and parameters, in English or Japanese.

The event carries `{code, params, text}`; `text` is the English rendering made when the MQL was
decided. Consumers (the console, a CRM) render the code in the reader's language with `render_reason`;
a reason without a code (an event written before codes existed) keeps its text.
Pure: no IO, no clock; the topic labels come in as a mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

LANGUAGES = ("ja", "en")

# The default policy's title levels, as a Japanese salesperson says them.
LEVELS_JA = {"staff": "担当者", "manager": "課長クラス", "director": "部長クラス", "executive": "役員クラス"}
BANDS_JA = {"micro": "小規模", "small": "中小", "mid_market": "中堅", "enterprise": "大企業"}
# The default policy's industry vocabulary and scoring kinds; a policy's own words stay as written.
INDUSTRIES_JA = {
    "manufacturing": "製造業",
    "it_services": "ITサービス",
    "software": "ソフトウェア",
    "financial_services": "金融",
    "logistics": "物流",
    "construction": "建設",
    "healthcare": "医療・ヘルスケア",
    "retail": "小売",
    "education": "教育",
    "public_sector": "官公庁・自治体",
    "media": "メディア",
    "hospitality": "宿泊・飲食",
    "consulting": "コンサルティング",
}
KINDS_JA = {
    "page_view": "ページ閲覧",
    "content_download": "資料ダウンロード",
    "seminar_registered": "セミナー申込",
    "seminar_attended": "セミナー参加",
    "form_submitted": "フォーム送信",
}

Labels = Mapping[str, str]


def render_reason(reason: Mapping[str, Any], language: str, topics: Labels | None = None) -> str:
    """The reason as one sentence in `language` (`ja` or `en`); unknown codes keep the stored text."""
    code, params = reason.get("code") or "", reason.get("params") or {}
    table = _JA if language == "ja" else _EN
    render = table.get(code)
    if render is None:
        return str(reason.get("text", ""))
    try:
        return render(params, topics or {})
    except (KeyError, TypeError, ValueError, AttributeError):
        # a consumer must never fail on a reason an older or newer producer wrote
        return str(reason.get("text", ""))


def ja_day(day: str) -> str:
    """`2026-11-15` as `2026年11月15日`."""
    y, m, d = day.split("-")
    return f"{int(y)}年{int(m)}月{int(d)}日"


def _topic(topic: str | None, topics: Labels) -> str:
    return topics.get(topic, topic) if topic else ""


# English: the very sentences conditions.py writes into `text`.
def _en_items(verb: str, p: Mapping[str, Any]) -> str:
    return "; ".join(
        f"{verb} '{i['name']}'" + (f" on {i['topic']}" if i.get("topic") else "") + f" on {i['day']}"
        for i in p["items"]
    )


def _score(
    p: Mapping[str, Any], head: str, sep: str, parts: str, minimum: str, kinds: Labels | None = None
) -> str:
    """The score reason from one language's pieces (`{}` in `parts` and `minimum` take the values)."""
    listed = sep.join(f"{(kinds or {}).get(k, k)} {v:g}" for k, v in p["components"].items() if v)
    text = f"{head} {p['value']:g}" + (parts.format(listed) if listed else "")
    return text if p.get("min") is None else text + minimum.format(f"{p['min']:g}")


def _en_score(p: Mapping[str, Any], _t: Labels) -> str:
    return _score(p, "Engagement score", ", ", " ({})", ", at least {} required")


def _en_size(p: Mapping[str, Any], _t: Labels) -> str:
    size = f"{p['size']} employees, band {p['band']}" if p.get("size") is not None else f"band {p['band']}"
    return f"Company size {size} (one of {', '.join(p['allowed'])})"


def _en_industry(p: Mapping[str, Any], _t: Labels) -> str:
    label = "a target industry" if p.get("target") else f"one of {', '.join(p['allowed'])}"
    return f"Works in {p['industry']} ({label})"


_EN: dict[str, Callable[[Mapping[str, Any], Labels], str]] = {
    "seminar_attended": lambda p, t: _en_items("Attended the seminar", p),
    "seminar_registered": lambda p, t: _en_items("Registered for the seminar", p),
    "content_downloaded": lambda p, t: _en_items("Downloaded", p),
    "downloads_on_topic": lambda p, t: (
        f"Downloaded {p['count']} assets on {p['topic']}: "
        + ", ".join(f"'{i['name']}' ({i['day']})" for i in p["items"])
    ),
    "page_visited": lambda p, t: (
        f"Visited {' or '.join(p['paths'])} {p['count']} time(s), last on {p['last']}"
    ),
    "form_submitted": lambda p, t: "; ".join(
        f"Submitted the form {i['form']} on {i['day']}" for i in p["items"]
    ),
    "event_done": lambda p, t: f"Did '{p['event']}' {p['count']} time(s), last on {p['last']}",
    "industry": _en_industry,
    "title_level": lambda p, t: (
        f"Title '{p['title']}' is at level {p['level']} ({p['required']} or above required)"
    ),
    "company_size": _en_size,
    "score": _en_score,
}


# Japanese: written for a salesperson reading the inbox card before the first call.
def _ja_items(template: str, p: Mapping[str, Any], t: Labels) -> str:
    return "／".join(
        template.format(
            name=i["name"],
            about=f"（{_topic(i.get('topic'), t)}）" if i.get("topic") else "",
            day=ja_day(i["day"]),
        )
        for i in p["items"]
    )


def _ja_score(p: Mapping[str, Any], _t: Labels) -> str:
    return _score(p, "エンゲージメントスコア", "、", "（内訳：{}）", "。条件は{}以上", KINDS_JA)


def _ja_size(p: Mapping[str, Any], _t: Labels) -> str:
    band = BANDS_JA.get(p["band"], p["band"])
    allowed = "・".join(BANDS_JA.get(b, b) for b in p["allowed"])
    size = f"従業員{p['size']}名（{band}）" if p.get("size") is not None else band
    return f"企業規模：{size}。条件は{allowed}"


def _ja_industry(p: Mapping[str, Any], _t: Labels) -> str:
    names = [INDUSTRIES_JA.get(i, i) for i in p["allowed"]]
    label = "重点業種" if p.get("target") else "対象業種：" + "・".join(names)
    return f"業種：{INDUSTRIES_JA.get(p['industry'], p['industry'])}（{label}）"


def _ja_title(p: Mapping[str, Any], _t: Labels) -> str:
    level = LEVELS_JA.get(p["level"], p["level"])
    required = LEVELS_JA.get(p["required"], p["required"])
    return f"役職「{p['title']}」は{level}（条件は{required}以上）"


# The default policy's buying-group roles (accounts.roles); a policy's own roles keep their names.
_ROLES_JA = {
    "decision_maker": "決裁者",
    "budget_holder": "予算責任者",
    "champion": "推進者",
    "user": "利用者",
}


def _ja_breadth(p: Mapping[str, Any], _t: Labels) -> str:
    people = "、".join(str(person["who"]) for person in p.get("people") or [])
    return f"{p['within_days']:g}日以内に{p['count']}名が接触" + (f"：{people}" if people else "")


def _ja_roles(p: Mapping[str, Any], _t: Labels) -> str:
    roles = "、".join(f"{_ROLES_JA.get(r, r)}（{len(who)}名）" for r, who in p["roles"].items())
    return f"接触した人の中に{roles}がいます"


_JA: dict[str, Callable[[Mapping[str, Any], Labels], str]] = {
    "breadth": _ja_breadth,
    "roles": _ja_roles,
    "shared_topic": lambda p, t: f"{p['count']}名が「{_topic(p['topic'], t)}」に接触",
    "account_score": lambda p, t: (
        f"接触者の合計エンゲージメントスコア {p['value']:g}（条件は{p['min']:g}以上）"
    ),
    "seminar_attended": lambda p, t: _ja_items("{day}にセミナー「{name}」{about}に参加", p, t),
    "seminar_registered": lambda p, t: _ja_items("{day}にセミナー「{name}」{about}に申し込み", p, t),
    "content_downloaded": lambda p, t: _ja_items("{day}に資料「{name}」{about}をダウンロード", p, t),
    "downloads_on_topic": lambda p, t: (
        f"「{_topic(p['topic'], t)}」の資料を{p['count']}点ダウンロード："
        + "、".join(f"「{i['name']}」（{ja_day(i['day'])}）" for i in p["items"])
    ),
    "page_visited": lambda p, t: f"{'・'.join(p['paths'])} を{p['count']}回閲覧（最終：{ja_day(p['last'])}）",
    "form_submitted": lambda p, t: "／".join(
        f"{ja_day(i['day'])}にフォーム「{i['form']}」を送信" for i in p["items"]
    ),
    "event_done": lambda p, t: f"「{p['event']}」が{p['count']}回（最終：{ja_day(p['last'])}）",
    "industry": _ja_industry,
    "title_level": _ja_title,
    "company_size": _ja_size,
    "score": _ja_score,
}

"""The policy itself as sentences, one per rule, in English or Japanese: for review (`leadstate policy
check`) and for the console's policy page.

English is written as a clause list ("when it attended a seminar ..., works in ... and has ...");
Japanese as the conditions a salesperson reads on a checklist (体言止め: "セミナーに参加（テーマ問わず）／
重点業種（製造業、…）／役職が課長クラス以上"), with the default policy's industries, title levels and
company sizes in Japanese and topics by their Japanese labels. Conditions are separated by "／"; inside
one, "、または" / "、かつ" join alternatives and combinations, "、" lists names. Pure: no IO, no catalogs.
"""

from __future__ import annotations

from collections.abc import Callable

from .model import (
    AllOf,
    AnyOf,
    Attributes,
    Behaviour,
    ContentDownloaded,
    DownloadsOnOneTopic,
    FormSubmitted,
    MqlRule,
    NamedEvent,
    PageVisited,
    Policy,
    SeminarCondition,
    in_language,
)
from .reasons import BANDS_JA, INDUSTRIES_JA, LEVELS_JA


def describe_policy(policy: Policy, language: str = "en") -> list[str]:
    """Each rule as one sentence in `language` (`ja`; anything else is English)."""
    sentence = _ja_rule if language == "ja" else _en_rule
    return [sentence(rule, policy) for rule in policy.rules]


# English
def _en_rule(rule: MqlRule, policy: Policy) -> str:
    behaviour = describe_behaviour(rule.behaviour)
    if rule.within_days is not None:
        behaviour += f" in the last {rule.within_days:g} days"
    parts = [behaviour, *_en_attributes(rule.attributes, policy)]
    if rule.score_min is not None:
        parts.append(f"has an engagement score of at least {rule.score_min:g}")
    return (
        f"Rule '{rule.name}' makes a known lead an MQL when it {_join(parts)} "
        f"({len(rule.next_checks)} next checks for sales)."
    )


def describe_behaviour(b: Behaviour) -> str:
    if isinstance(b, AnyOf):
        return "either " + " or ".join(describe_behaviour(c) for c in b.conditions)
    if isinstance(b, AllOf):
        return _join([describe_behaviour(c) for c in b.conditions])
    chosen = b.topics if isinstance(b, SeminarCondition | DownloadsOnOneTopic | ContentDownloaded) else None
    topics = "on any topic" if chosen is None else f"on {' or '.join(chosen)}"
    times = f"{b.min} time(s)" if getattr(b, "min", 1) > 1 else ""
    if isinstance(b, SeminarCondition):
        verb = "attended" if b.kind == "seminar_attended" else "registered for"
        return f"{verb} {f'{b.min} seminars' if b.min > 1 else 'a seminar'} {topics}"
    if isinstance(b, DownloadsOnOneTopic):
        return f"downloaded {b.min} different assets on one topic" + (
            "" if b.topics is None else f" ({topics})"
        )
    if isinstance(b, ContentDownloaded):
        what = f"one of {', '.join(b.assets)}" if b.assets else f"content {topics}"
        return f"downloaded {what} {times}".strip()
    if isinstance(b, PageVisited):
        return f"visited {' or '.join(b.paths)} {times}".strip()
    if isinstance(b, FormSubmitted):
        return (
            f"submitted {'a form' if b.forms is None else 'the form ' + ' or '.join(b.forms)} {times}".strip()
        )
    if isinstance(b, NamedEvent):
        return f"did '{b.name}' {times}".strip()
    raise TypeError(b)


def _en_attributes(a: Attributes, policy: Policy) -> list[str]:
    out = []
    if a.industry_is_target:
        out.append(f"works in a target industry ({', '.join(policy.fit.target_industries)})")
    elif a.industry_in is not None:
        out.append(f"works in {' or '.join(a.industry_in)}")
    if a.title_level_at_least:
        out.append(f"has a title at level {a.title_level_at_least} or above")
    if a.company_size_in:
        out.append(f"works at a company of size {' or '.join(a.company_size_in)}")
    return out


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


# Japanese
def _ja_rule(rule: MqlRule, policy: Policy) -> str:
    behaviour = _ja_behaviour(rule.behaviour, lambda t: in_language(policy.topics.get(t, t), "ja"))
    if rule.within_days is not None:
        behaviour = f"過去{rule.within_days:g}日以内に{behaviour}"
    parts = [behaviour, *_ja_attributes(rule.attributes, policy)]
    if rule.score_min is not None:
        parts.append(f"エンゲージメントスコア{rule.score_min:g}以上")
    every = "すべて" if len(parts) > 1 else ""
    return (
        f"ルール「{rule.name}」：既知のリードが次の条件を{every}満たすとMQLになります。"
        f"{'／'.join(parts)}（営業の確認事項{len(rule.next_checks)}件）。"
    )


def _ja_behaviour(b: Behaviour, topic: Callable[[str], str]) -> str:
    if isinstance(b, AnyOf):
        return "、または".join(_ja_behaviour(c, topic) for c in b.conditions)
    if isinstance(b, AllOf):
        return "、かつ".join(_ja_behaviour(c, topic) for c in b.conditions)
    chosen = b.topics if isinstance(b, SeminarCondition | DownloadsOnOneTopic | ContentDownloaded) else None
    about = "（テーマ問わず）" if chosen is None else f"（テーマ：{'、'.join(topic(t) for t in chosen)}）"
    times = f"{b.min}回以上" if getattr(b, "min", 1) > 1 else ""
    if isinstance(b, SeminarCondition):
        verb = "参加" if b.kind == "seminar_attended" else "申し込み"
        return f"セミナーに{times}{verb}{about}"
    if isinstance(b, DownloadsOnOneTopic):
        return f"同じテーマの資料を{b.min}点以上ダウンロード" + ("" if b.topics is None else about)
    if isinstance(b, ContentDownloaded):
        if b.assets:
            return f"資料 {'、'.join(b.assets)} のいずれかを{times}ダウンロード"
        return f"資料を{times}ダウンロード{about}"
    if isinstance(b, PageVisited):
        return f"ページ {'、'.join(b.paths)} を{times}閲覧"
    if isinstance(b, FormSubmitted):
        which = "フォーム" if b.forms is None else f"フォーム {'、'.join(b.forms)} のいずれか"
        return f"{which}を{times}送信"
    if isinstance(b, NamedEvent):
        return f"「{b.name}」が{times}発生"
    raise TypeError(b)


def _ja_attributes(a: Attributes, policy: Policy) -> list[str]:
    out = []
    if a.industry_is_target:
        out.append(f"重点業種（{_ja_list(policy.fit.target_industries, INDUSTRIES_JA)}）")
    elif a.industry_in is not None:
        out.append(f"業種が{_ja_list(a.industry_in, INDUSTRIES_JA)}のいずれか")
    if a.title_level_at_least:
        out.append(f"役職が{LEVELS_JA.get(a.title_level_at_least, a.title_level_at_least)}以上")
    if a.company_size_in:
        out.append(f"企業規模が{_ja_list(a.company_size_in, BANDS_JA)}のいずれか")
    return out


def _ja_list(names: tuple[str, ...], japanese: dict[str, str]) -> str:
    # a policy's own words (not in the default vocabulary) stay as written
    return "、".join(japanese.get(n, n) for n in names)

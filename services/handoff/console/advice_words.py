"""The advisor's suggestions in the viewer's language: the qualifier sends each suggestion's English
sentence and, beside it, its edit as data (`edit: {code, params}`) and the numbers the sentence is made
of; the policy page words them from this catalog, with the policy's levels, industries, size bands,
topics and not-SQL reasons in the viewer's language. A suggestion without `edit` (advice made by an
older qualifier) or with a code this console does not know keeps its English sentence."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.common.policy import Policy
from services.common.policy.model import in_language
from services.common.policy.reasons import BANDS_JA, INDUSTRIES_JA, LEVELS_JA

from .i18n import N_, Viewer

# The edit on a rule, as the head of the sentence ("… would have avoided …").
HEADS = {
    "require_title_level": N_("Requiring title level %(level)s or above on '%(rule)s'"),
    "accept_title_level": N_("Accepting title level %(level)s or above on '%(rule)s'"),
    "drop_title_level": N_("Dropping the title level condition on '%(rule)s'"),
    "require_target_industry": N_("Requiring a target industry on '%(rule)s'"),
    "restrict_industries": N_("Restricting industries to %(industries)s on '%(rule)s'"),
    "accept_any_industry": N_("Accepting any industry on '%(rule)s'"),
    "require_company_size": N_("Requiring a company size of %(sizes)s on '%(rule)s'"),
    "accept_company_size": N_("Accepting a company size of %(sizes)s on '%(rule)s'"),
    "accept_any_company_size": N_("Accepting any company size on '%(rule)s'"),
    "require_topic": N_("Requiring %(behaviour)s on the topic %(topic)s on '%(rule)s'"),
    "higher_count": N_("Requiring %(behaviour)s at least %(min)s times (was %(was)s) on '%(rule)s'"),
    "second_behaviour": N_("Also requiring %(second)s on '%(rule)s'"),
    "shorten_recency": N_("Counting only behaviour of the last %(days)s days on '%(rule)s'"),
    "shorten_recency_was": N_(
        "Counting only behaviour of the last %(days)s days (was %(was)s) on '%(rule)s'"
    ),
    "score_floor": N_(
        "Also requiring an engagement score of at least %(min)s (beside its behaviour and attributes) "
        "on '%(rule)s'"
    ),
    "retire": N_("Retiring '%(rule)s'"),
    # account rules (MQA)
    "require_role": N_("Requiring a %(role)s among the engaged members on '%(rule)s'"),
    "raise_min_members": N_("Requiring at least %(min)s engaged members (was %(was)s) on '%(rule)s'"),
    "require_shared_topic": N_("Requiring at least %(min)s engaged members on one topic on '%(rule)s'"),
    "shorten_engagement_window": N_(
        "Counting only members engaged in the last %(days)s days (was %(was)s) on '%(rule)s'"
    ),
    "account_score_floor": N_(
        "Also requiring a summed engagement score of at least %(min)s (beside its members, roles and "
        "attributes) on '%(rule)s'"
    ),
}
# The policy's behaviour kinds (policy/condition_loader.BEHAVIOURS) as a rule's condition.
BEHAVIOURS = {
    "seminar_attended": N_("seminar attended"),
    "seminar_registered": N_("seminar registered"),
    "downloads_on_one_topic": N_("downloads on one topic"),
    "content_downloaded": N_("content downloaded"),
    "page_visited": N_("page visited"),
    "form_submitted": N_("form submitted"),
    "event": N_("event"),
}
SECOND = {
    "content_downloaded": N_("a content download"),
    "seminar_registered": N_("a seminar registration"),
    "seminar_attended": N_("a seminar attendance"),
    "form_submitted": N_("a form submission"),
}
SENTENCE = N_(
    "%(head)s would have avoided %(avoided)s of %(of)s not-SQL decisions%(detail)s and kept %(kept)s of "
    "%(sqls)s SQLs; SQL rate of %(scope)s %(rate)s [%(low)s, %(high)s] on %(decided)s decided MQLs, "
    "against %(base_rate)s [%(base_low)s, %(base_high)s] on %(base_decided)s."
)
SENTENCE_ACCOUNT = N_(
    "%(head)s would have avoided %(avoided)s of %(of)s not-SQL decisions%(detail)s and kept %(kept)s of "
    "%(sqls)s SQLs; SQL rate of %(scope)s %(rate)s [%(low)s, %(high)s] on %(decided)s decided MQAs, "
    "against %(base_rate)s [%(base_low)s, %(base_high)s] on %(base_decided)s."
)
OBJECTIVE = N_(
    "fewest not-SQL MQLs sent while keeping at least %(target)s of past SQLs; shown only on at least "
    "%(least)s decided MQLs and a 95%% Wilson interval above the baseline's"
)


# Why the qualifier refused to advise (its 409's `code` and `params`).
THIN_HISTORY = {
    "empty_log": N_("the event log is empty: no history to learn from yet"),
    "no_decisions": N_("no sales decisions recorded: nothing to learn from"),
    "too_few_decisions": N_(
        "only %(decided)s decided MQLs in the history, fewer than the minimum of %(least)s: wait for more "
        "sales decisions or lower the minimum"
    ),
    "no_rule_with_enough_decisions": N_(
        "no rule has %(least)s decided MQLs to judge an edit on (%(decided)s)"
    ),
    "not_asked": N_("no rule of this kind was asked for"),
    "no_account_decisions": N_("no sales decisions on MQAs recorded: nothing to learn from"),
    "too_few_account_decisions": N_(
        "only %(decided)s decided MQAs in the history, fewer than the minimum of %(least)s: wait for more "
        "sales decisions or lower the minimum"
    ),
    "no_account_rule_with_enough_decisions": N_(
        "no account rule has %(least)s decided MQAs to judge an edit on (%(decided)s)"
    ),
}
ACCOUNTS_TOO = N_("%(leads)s; for account rules: %(accounts)s")


def refusal_text(problem: Mapping[str, Any], viewer: Viewer) -> str:
    """The qualifier's refusal to advise in the viewer's language, the account rules' gap beside the lead
    rules' (`params.accounts`); its English `detail` for a code this console does not know."""
    params = problem.get("params")
    accounts = params.get("accounts") if isinstance(params, Mapping) else None
    leads = _gap(problem, viewer)
    if isinstance(accounts, Mapping) and leads is not None:
        theirs = _gap(accounts, viewer)
        if theirs is not None:
            return viewer.gettext(ACCOUNTS_TOO, leads=leads, accounts=theirs)
    return leads if leads is not None else str(problem.get("detail") or "")


def _gap(problem: Mapping[str, Any], viewer: Viewer) -> str | None:
    code, params = problem.get("code"), problem.get("params")
    if code not in THIN_HISTORY or not isinstance(params, Mapping):
        return None
    said = {k: v for k, v in params.items() if k != "accounts"}
    if isinstance(said.get("decided"), Mapping):
        each = N_("%(rule)s %(count)s")
        said["decided"] = ("、" if viewer.language == "ja" else ", ").join(
            viewer.gettext(each, rule=r, count=n) for r, n in said["decided"].items()
        )
    try:
        return viewer.gettext(THIN_HISTORY[code], **said)
    except (KeyError, TypeError, ValueError):
        return None


def suggestion_text(s: Mapping[str, Any], viewer: Viewer, policy: Policy) -> str:
    """One suggestion as a sentence in the viewer's language; its English `sentence` when it cannot be."""
    try:
        return _worded(s, viewer, policy)
    except (KeyError, TypeError, ValueError, AttributeError):
        # a page must never fail on advice an older or newer qualifier wrote
        return str(s.get("sentence", ""))


def objective_text(advice: Mapping[str, Any], viewer: Viewer) -> str:
    target, least = advice.get("recall_target"), advice.get("min_decisions")
    if not isinstance(target, int | float) or not isinstance(least, int):
        return str(advice.get("objective", ""))
    return viewer.gettext(OBJECTIVE, target=f"{target:.0%}", least=least)


def _worded(s: Mapping[str, Any], viewer: Viewer, policy: Policy) -> str:
    edit = s.get("edit")
    if not isinstance(edit, Mapping) or edit.get("code") not in HEADS:
        return str(s.get("sentence", ""))
    say, ja = viewer.gettext, viewer.language == "ja"
    code, params = str(edit["code"]), dict(edit.get("params") or {})
    if code == "shorten_recency" and params.get("was") is not None:
        code = "shorten_recency_was"
    head = say(HEADS[code], rule=s["rule"], **_named(params, viewer, policy))
    account = s.get("subject") == "account"
    reasons = policy.account_reason_codes("rejected") if account else policy.not_sql_reasons
    labels = {r.code: r.label for r in reasons}
    avoided = s["not_sql_avoided"]
    parts = [
        say(
            N_("%(avoided)s of %(of)s %(reason)s"),
            avoided=r["avoided"],
            of=r["of"],
            reason=in_language(labels.get(r["code"], r["code"]), viewer.language),
        )
        for r in [r for r in avoided["by_reason"] if r["avoided"]][:3]
    ]
    detail = ("（{}）" if ja else " ({})").format(("、" if ja else ", ").join(parts)) if parts else ""
    if s.get("scope_code", "rule") == "rule":
        scope = say(N_("account rule '%(rule)s'") if account else N_("rule '%(rule)s'"), rule=s["rule"])
    else:
        scope = say(N_("all account rules") if account else N_("the whole policy"))
    rate, base, recall = s["sql_rate"], s["baseline_sql_rate"], s["sql_recall"]
    return say(
        SENTENCE_ACCOUNT if account else SENTENCE,
        head=head,
        avoided=avoided["total"],
        of=avoided["of"],
        detail=detail,
        kept=recall["still_qualified"],
        sqls=recall["past_sqls"],
        scope=scope,
        rate=_pct(rate["rate"], viewer),
        low=_pct(rate["low"], viewer),
        high=_pct(rate["high"], viewer),
        decided=rate["decided"],
        base_rate=_pct(base["rate"], viewer),
        base_low=_pct(base["low"], viewer),
        base_high=_pct(base["high"], viewer),
        base_decided=base["decided"],
    )


def _named(params: Mapping[str, Any], viewer: Viewer, policy: Policy) -> dict[str, Any]:
    """The edit's params as the sentence says them: the policy's names in the viewer's language."""
    ja = viewer.language == "ja"
    comma = "、" if ja else ", "
    out: dict[str, Any] = {}
    for key, value in params.items():
        if key == "level":
            out[key] = LEVELS_JA.get(value, value) if ja else value
        elif key == "industries":
            out[key] = comma.join(INDUSTRIES_JA.get(v, v) if ja else v for v in value)
        elif key == "sizes":
            out[key] = comma.join(BANDS_JA.get(v, v) if ja else v for v in value)
        elif key == "topic":
            out[key] = in_language(policy.topics.get(value, value), viewer.language) if ja else value
        elif key == "behaviour":
            out[key] = viewer.gettext(BEHAVIOURS[value]) if value in BEHAVIOURS else value
        elif key == "second":
            out[key] = viewer.gettext(SECOND[value]) if value in SECOND else value
        elif key == "role":  # a buying-group role: the policy's own label in Japanese
            label = next((r.label for r in policy.accounts.roles if r.name == value), None)
            out[key] = in_language(label, "ja") if ja and label is not None else value.replace("_", " ")
        elif isinstance(value, int | float):
            out[key] = f"{value:g}"
        else:
            out[key] = value
    return out


def _pct(v: float | None, viewer: Viewer) -> str:
    return viewer.gettext(N_("n/a")) if v is None else f"{v * 100:.1f}%"

"""A lead's timeline entry in the viewer's language: the qualifier sends each event's text in English and
its parts by name (`params`); the page words them from this catalog, with the policy's topic and reason
labels in the viewer's language. An entry without parts (an older qualifier) keeps its English text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.common.policy.activity import TRACK_KINDS
from services.common.policy.model import in_language

from .i18n import N_, Viewer
from .inbox import OUTCOMES

# What a lead did, by the scoring kind of its event name (activity.TRACK_KINDS); `%(what)s` is its title.
DID = {
    "content_download": N_("Downloaded “%(what)s”"),
    "seminar_registered": N_("Registered for the seminar “%(what)s”"),
    "seminar_attended": N_("Attended the seminar “%(what)s”"),
    "form_submitted": N_("Submitted the form “%(what)s”"),
}


def entry_text(entry: Any, viewer: Viewer, topics: Mapping[str, Any], reasons: Mapping[str, Any]) -> str:
    p: Mapping[str, str] = entry.params or {}
    if not p:
        return str(entry.text)
    say = viewer.gettext
    if entry.kind == "decision":
        outcome = p.get("outcome", "")
        label = reasons.get(p.get("reason", ""), p.get("reason_label", ""))
        return say(
            N_("Sales decision: %(outcome)s (%(reason)s) by %(who)s"),
            outcome=say(OUTCOMES[outcome]) if outcome in OUTCOMES else outcome,
            reason=in_language(label, viewer.language),
            who=p.get("by", "?"),
        )
    if entry.kind == "page":
        title, path = p.get("title"), p.get("path")
        if title and path:
            return say(N_("Viewed the page “%(title)s” (%(path)s)"), title=title, path=path)
        return say(N_("Viewed the page %(page)s"), page=title or path or "")
    if entry.kind == "identify":
        return _identified(p, viewer)
    kind = TRACK_KINDS.get(p.get("event", ""))
    what = p.get("detail", "")
    text = say(DID[kind], what=what) if kind in DID and what else f"{p.get('event', entry.kind)}: {what}"
    topic = p.get("topic")
    if topic:
        label = in_language(topics.get(topic, topic), viewer.language)
        text = say(N_("%(did)s on %(topic)s"), did=text, topic=label)
    return text.strip().rstrip(":")


def _identified(p: Mapping[str, str], viewer: Viewer) -> str:
    """Who the lead said they are: family name first in Japanese (伊藤 葵), given name first in English."""
    ja = viewer.language == "ja"
    order = ("last_name", "first_name") if ja else ("first_name", "last_name")
    who = " ".join(p[k] for k in order if p.get(k)) or p.get("who", "?")
    about = ("、" if ja else ", ").join(p[k] for k in ("title", "company") if p.get(k))
    if about:
        return viewer.gettext(N_("Identified as %(who)s (%(about)s)"), who=who, about=about)
    return viewer.gettext(N_("Identified as %(who)s"), who=who)

"""What templates call to speak the viewer's language: `_()` / `{% trans %}` bound to the viewer's
catalog, times and ages on the viewer's clock, and the policy's own words (reasons, rule descriptions,
next checks, labels) in the viewer's language where the MQL or the policy file carries them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from babel import Locale
from babel.dates import get_day_names
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from services.common.policy.business_hours import WEEKDAYS
from services.common.policy.model import in_language
from services.common.policy.reasons import render_reason

from .i18n import N_, Viewer, translations

# The scoring kinds of the default policy, as evidence on a card; a custom event keeps its own name.
EVIDENCE_KINDS = {
    "page_view": N_("Page view"),
    "content_download": N_("Download"),
    "seminar_registered": N_("Seminar registration"),
    "seminar_attended": N_("Seminar attended"),
    "form_submitted": N_("Form submitted"),
    "identify": N_("Profile"),  # the traits a lead gave (a form, a sign-up): industry, title, size
}


def _viewer(context: Context) -> Viewer:
    return context["viewer"]


def _marked(context: Context, text: str, params: dict[str, Any]) -> str:
    # As jinja2's own newstyle gettext: in an autoescaped template the translation is markup and the
    # parameters are escaped into it.
    if context.eval_ctx.autoescape:
        return Markup(text) % params if params else Markup(text)
    return text % params if params else text


def template_words(viewer: Viewer) -> dict[str, Callable[..., str]]:
    """`_`, `gettext` and `ngettext` for one page, in the viewer's language (newstyle: `%(name)s`)."""

    @pass_context
    def gettext(context: Context, message: str, **params: Any) -> str:
        return _marked(context, viewer.gettext(message), params)

    @pass_context
    def ngettext(context: Context, singular: str, plural: str, num: int, **params: Any) -> str:
        text = translations(viewer.language).ngettext(singular, plural, num)
        return _marked(context, text, {"num": num, **params})

    return {"_": gettext, "gettext": gettext, "ngettext": ngettext}


@pass_context
def when(context: Context, value: datetime | str | None) -> str:
    return _viewer(context).when(value)


@pass_context
def age(context: Context, seconds: float) -> str:
    return _viewer(context).age(seconds)


@pass_context
def words(context: Context, text: str) -> str:
    """A policy text (a label with one text per language, or a plain string) in the viewer's language."""
    return in_language(text, _viewer(context).language)


@pass_context
def given(context: Context, plain: str, texts: Any, index: int | None = None) -> str:
    """An MQL's stored text where the event carries it per language (`texts`, or `texts[index]` of a
    list of them): the viewer's, else `plain`. Anything else stored there is ignored, never an error."""
    if index is not None:
        texts = texts[index] if isinstance(texts, list) and 0 <= index < len(texts) else None
    found = texts.get(_viewer(context).language) if isinstance(texts, Mapping) else None
    return found if isinstance(found, str) and found else plain


@pass_context
def reason(context: Context, stored: Mapping[str, Any]) -> str:
    """An MQL reason rendered from its code in the viewer's language (its stored text if no code)."""
    language = _viewer(context).language
    topics = {t: in_language(label, language) for t, label in context.get("topic_labels", {}).items()}
    return render_reason(stored, language, topics)


# The default policy's industry vocabulary (fit.industries), as a card shows a lead's industry.
INDUSTRIES = {
    "manufacturing": N_("Manufacturing"),
    "it_services": N_("IT services"),
    "software": N_("Software"),
    "financial_services": N_("Financial services"),
    "logistics": N_("Logistics"),
    "construction": N_("Construction"),
    "healthcare": N_("Healthcare"),
    "retail": N_("Retail"),
    "education": N_("Education"),
    "public_sector": N_("Public sector"),
    "media": N_("Media"),
    "hospitality": N_("Hospitality"),
    "consulting": N_("Consulting"),
}


def _named(context: Context, table: Mapping[str, str], name: str, otherwise: str) -> str:
    """`name` by its catalog entry in `table`, translated; `otherwise` for a name the table lacks."""
    known = table.get(name)
    return _viewer(context).gettext(known) if known else otherwise


@pass_context
def industry(context: Context, name: str) -> str:
    return _named(context, INDUSTRIES, name, str(name).replace("_", " ").capitalize())


@pass_context
def kind(context: Context, name: str) -> str:
    return _named(context, EVIDENCE_KINDS, name, str(name).replace("_", " "))


# The states a webhook endpoint and its deliveries show as badges; an unknown one is shown as it is.
STATES = {
    "enabled": N_("enabled"),
    "paused": N_("paused"),
    "disabled": N_("disabled"),
    "pending": N_("pending"),
    "delivered": N_("delivered"),
    "failed": N_("failed"),
}


@pass_context
def state(context: Context, name: str) -> str:
    return _named(context, STATES, name, str(name))


# A lead's or an account's stage as a badge: MQL, SQL and MQA as they are, the others by name.
STAGES = {
    "anonymous": N_("Anonymous"),
    "known": N_("Known"),
    "open": N_("Open"),
    "rejected": N_("Rejected"),
    "recycled": N_("Recycled (not now)"),
}


@pass_context
def stage(context: Context, name: str) -> str:
    if name in ("mql", "sql", "mqa"):
        return str(name).upper()
    return _named(context, STAGES, name, str(name).replace("_", " ").capitalize())


@pass_context
def weekdays(context: Context, days: tuple[str, ...]) -> str:
    """Working days the viewer's way: `月〜金` / `Mon–Fri`; `月、水、金` / `Mon, Wed, Fri`."""
    language = _viewer(context).language
    names = get_day_names("abbreviated", locale=language)
    numbers = sorted(WEEKDAYS.index(d) for d in days if d in WEEKDAYS)
    runs: list[list[int]] = []
    for n in numbers:
        if runs and runs[-1][-1] == n - 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    dash, comma = ("〜", "、") if language == "ja" else ("–", ", ")
    return comma.join(
        f"{names[r[0]]}{dash}{names[r[-1]]}" if len(r) > 2 else comma.join(names[n] for n in r) for r in runs
    )


@pass_context
def country(context: Context, code: str) -> str:
    """A country code (`JP`) by its name in the viewer's language (日本 / Japan); an unknown code as it is."""
    return Locale(_viewer(context).language).territories.get(str(code).upper(), str(code))


def install_filters(env: Environment) -> None:
    env.add_extension("jinja2.ext.i18n")
    # compiles {% trans %} newstyle (the extension adds this method); each page binds its own callables
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(when=when, age=age, words=words, reason=reason, kind=kind, industry=industry)
    env.filters.update(weekdays=weekdays, country=country, state=state, stage=stage)
    env.globals["given"] = given

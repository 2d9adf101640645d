"""Refusals from the layers below the console in the viewer's language: the account rules (accounts.py),
the sign-on checks (sso.py, identity.py) and the webhook URL checks (webhooks/safety.py) raise with an
English message (for the CLI and the API's problem documents) and a `code` with `params`; the console
words the code from this catalog. A refusal without a code this console knows keeps its English."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .i18n import N_, Viewer
from .pages import sentence

WORDS = {
    # accounts.py
    "not_an_email": N_("'%(email)s' is not an email address."),
    "unknown_role": N_("Unknown role '%(role)s'; roles: %(roles)s."),
    "already_has_account": N_("%(email)s already has an account."),
    "no_active_account": N_("No active account for '%(email)s'."),
    "no_account": N_("No account for '%(email)s'."),
    "password_length": N_("The password needs %(least)s to %(most)s characters."),
    "link_expired": N_("This link is not valid: it was used already or expired; ask an admin for a new one."),
    "locked_address": N_(
        "Too many failed logins from your address. Wait %(minutes)s minutes before trying again."
    ),
    "locked_account": N_(
        "This account is locked after %(failures)s failed logins. Wait %(minutes)s minutes, or ask an admin "
        "to send you a new set-password link."
    ),
    # sso.py: the person's claims against the allowed domains and the role rules
    "no_email_claim": N_(
        "Your identity provider did not tell leadstate your email address (the `email` claim). Ask your "
        "administrator to release it to leadstate."
    ),
    "email_not_verified": N_("Your identity provider says %(email)s is not verified."),
    "domain_not_allowed": N_(
        "%(email)s may not sign in to this leadstate: only people of %(domains)s may. Sign in with your "
        "work account."
    ),
    "account_disabled": N_(
        "The leadstate account of %(email)s is disabled. Ask a leadstate admin to give you a role."
    ),
    "no_role": N_("%(email)s has no role in leadstate. Ask a leadstate admin to give you a role."),
    "no_role_claim": N_(
        "%(email)s has no role in leadstate (claim `%(claim)s`). Ask a leadstate admin to give you a role."
    ),
    # identity.py: the provider's answer
    "code_refused": N_("The identity provider refused the sign-in code (%(error)s)."),
    "no_id_token": N_("The identity provider sent no ID token."),
    "id_token_invalid": N_("The ID token failed its checks (%(why)s)."),
    # webhooks/safety.py: where a webhook may be sent
    "invalid_url": N_("not a valid URL (%(why)s)"),
    "https_only": N_("only https:// URLs are accepted"),
    "https_only_in_production": N_(
        "only https:// URLs are accepted (LEADSTATE_WEBHOOK_ALLOW_PRIVATE=true allows http for development)"
    ),
    "no_host": N_("the URL has no host"),
    "credentials": N_("credentials in the URL are not accepted; put a token in the path instead"),
    "fragment": N_("the URL has a fragment (#...), which is never sent"),
    "loopback_name": N_("%(host)s is a loopback name"),
    "single_label": N_("%(host)s is a single-label name (internal); use a public domain name"),
    "internal_name": N_("%(host)s is an internal name"),
    "invalid_host": N_("%(host)s is not a valid host name"),
    "address": N_("%(address)s is a %(kind)s address"),
    "resolves_to": N_("%(host)s resolves to %(address)s, a %(kind)s address"),
    "unresolvable": N_("%(host)s does not resolve"),
}
ADDRESS_KINDS = {
    "loopback": N_("loopback"),
    "link_local": N_("link-local (cloud metadata lives there)"),
    "unspecified": N_("unspecified"),
    "private": N_("private"),
    "multicast": N_("multicast"),
    "reserved": N_("reserved"),
    "not_public": N_("non-public"),
}


def refusal_text(refused: Exception, viewer: Viewer) -> str:
    """The refusal as a sentence in the viewer's language; its English message when this console does not
    know its code."""
    code: str = getattr(refused, "code", "") or ""
    params: Mapping[str, Any] = getattr(refused, "params", None) or {}
    if code == "no_role" and params.get("claim"):
        code = "no_role_claim"
    if code not in WORDS:
        return sentence(refused)
    comma = "、" if viewer.language == "ja" else ", "
    said = {k: comma.join(map(str, v)) if isinstance(v, list | tuple) else v for k, v in params.items()}
    if "kind" in said:
        said["kind"] = viewer.gettext(ADDRESS_KINDS.get(said["kind"], ADDRESS_KINDS["not_public"]))
    try:
        return viewer.gettext(WORDS[code], **said)
    except (KeyError, TypeError, ValueError):  # params that do not fit the words: the English as it was
        return sentence(refused)

"""The web console at /console: a sales inbox (account cards above the leads), a lead page, an account
page, the marketing funnel and the policy in words, server-rendered from the same application functions
as the API (inbox query, record_decision, funnel)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from services.common.auth import key_id
from services.common.policy import Policy
from services.common.settings import Settings

from ..accounts import SessionLimits, Throttle
from ..identity import IdentityProvider
from ..sso import RoleRules
from . import (
    account_page,
    audit_page,
    funnel,
    inbox,
    lead,
    login,
    people,
    policy_lab,
    policy_page,
    preferences,
    sign_on,
    users_page,
    webhook_detail,
    webhooks_page,
)
from .errors import install_console_errors
from .i18n import load_catalogs
from .pages import ConsoleState, LoginRequired, PageError, error_page, login_redirect
from .session import signer_for_keys

# The console's bodies are small forms, but for a candidate policy pasted or uploaded for the lab.
BODY_LIMITS = {policy_lab.PATH: policy_lab.FORM_MAX_BYTES}


def mount_console(app: FastAPI, settings: Settings, policy: Policy) -> None:
    app.state.console = ConsoleState(
        signer=signer_for_keys(settings.api_keys),
        scopes_by_key_id={key_id(k): frozenset(v) for k, v in settings.api_keys.items()},
        policy=policy,
        limits=SessionLimits.of(settings),
        throttle=Throttle.of(settings),
        identity=IdentityProvider.of(settings),
        role_rules=RoleRules.of(settings),
        default_language=settings.default_language,
        timezone=settings.timezone,
    )
    load_catalogs()  # a catalog that does not compile stops the start-up, not a page later
    for module in (
        login,
        people,
        sign_on,
        users_page,
        preferences,
        inbox,
        lead,
        account_page,
        funnel,
        policy_page,
        policy_lab,
        audit_page,
        webhooks_page,
        webhook_detail,
    ):
        app.include_router(module.router)
    app.add_exception_handler(LoginRequired, login_redirect)
    app.add_exception_handler(PageError, error_page)
    static = StaticFiles(directory=Path(__file__).with_name("static"))
    app.mount("/console/static", static, name="console-static")
    install_console_errors(app)  # last: it wraps the problem+json handlers installed before

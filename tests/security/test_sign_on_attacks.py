"""Attacks on single sign-on, against a real OpenID Connect provider process: a forged or expired ID
token, a wrong `state` or `nonce`, a replayed code, a code bound to another PKCE challenge, an open
redirect in the post-login target. Each is refused with a page (never a 500) and nobody is signed in."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import orjson
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jws
from joserfc.jwk import RSAKey
from sqlalchemy import func, select

from services.handoff.tables import console_sessions, users
from tests.integration.people.conftest import People, PeopleFactory, people_app, provider  # noqa: F401
from tests.integration.people.oidc_provider import (
    Provider,
    authorize,
    b64,
    come_back,
    leave_for_provider,
    man_in_the_middle,
    oidc_settings,
    query,
    running_provider,
    sign_on,
    unb64,
    with_param,
)

pytestmark = pytest.mark.brokers("tansu")  # the broker plays no part: one run is enough
ADMIN = {"oidc_roles": {"it-admins": "admin"}}
REFRESH = re.compile(r'<meta http-equiv="refresh" content="0; url=([^"]+)">')


@pytest.fixture
async def people(people_app: PeopleFactory, provider: Provider) -> AsyncIterator[People]:  # noqa: F811
    """The console with single sign-on, and ann@acme.test an admin at the provider."""
    async with people_app(**oidc_settings(provider.url, **ADMIN)) as started:
        await provider.person("ann@acme.test", groups=["it-admins"])
        yield started


async def nobody_signed_in(people: People, *browsers: object) -> None:
    async with people.app.state.handoff.database.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(console_sessions)) == 0
    for browser in browsers:
        assert (await browser.get("/console/inbox")).status_code == 303  # type: ignore[attr-defined]


async def test_a_wrong_state_a_foreign_callback_and_a_refusal_sign_nobody_in(people: People) -> None:
    browser = people.browser()
    leg = await authorize(await leave_for_provider(browser), "ann@acme.test")
    honest = leg.callback
    leg.callback = with_param(honest, "state", "not-the-state-we-sent")
    wrong = await come_back(browser, leg)
    assert wrong.status_code == 400 and "does not belong to the sign-in this browser started" in wrong.text
    leg.callback = honest  # the refusal spent the flow: the honest answer comes too late
    late = await come_back(browser, leg)
    assert late.status_code == 400 and "expired or was not started in this browser" in late.text

    # A callback carried to another browser (login CSRF: signing a victim in as the attacker)
    theirs = await authorize(await leave_for_provider(people.browser()), "ann@acme.test")
    victim = people.browser()
    foreign = await come_back(victim, theirs)
    assert foreign.status_code == 400 and "not started in this browser" in foreign.text

    for name, value in (("code", "c" * 5000), ("state", "s" * 5000), ("code", "")):
        other = people.browser()
        leg = await authorize(await leave_for_provider(other), "ann@acme.test")
        leg.callback = with_param(leg.callback, name, value)
        assert (await come_back(other, leg)).status_code == 400

    denied = people.browser()
    leg = await leave_for_provider(denied)
    async with httpx.AsyncClient() as person:  # who presses Deny on the provider's page
        leg.callback = (await person.post(leg.authorize, data={"action": "deny"})).headers["location"]
    refused = await come_back(denied, leg)
    assert refused.status_code == 403 and "did not sign you in (access_denied" in refused.text
    await nobody_signed_in(people, browser, victim, denied)


async def test_a_wrong_nonce_and_a_replayed_code_are_refused(people: People) -> None:
    browser = people.browser()
    # The provider signs a token for another nonce than the one this browser's flow holds
    leg = await leave_for_provider(browser)
    leg = await authorize(leg, "ann@acme.test", edit=lambda url: with_param(url, "nonce", "replayed-nonce"))
    refused = await come_back(browser, leg)
    assert refused.status_code == 400 and "ID token failed its checks" in refused.text
    assert "nonce" in refused.text
    await nobody_signed_in(people, browser)

    # A code that worked once is sent again with the same (stolen) flow cookie: the provider refuses
    first = people.browser()
    leg = await authorize(await leave_for_provider(first), "ann@acme.test")
    flow = first.cookies.get("leadstate_console_oidc")
    assert (await come_back(first, leg)).status_code == 200
    thief = people.browser()
    thief.cookies.set("leadstate_console_oidc", flow, path="/console/login/oidc")  # type: ignore[arg-type]
    replayed = await come_back(thief, leg)
    assert replayed.status_code == 400 and "refused the sign-in code (invalid_grant)" in replayed.text
    assert (await thief.get("/console/inbox")).status_code == 303


async def test_an_expired_id_token_is_refused(people_app: PeopleFactory) -> None:  # noqa: F811
    async with running_provider("--token-max-age=-3600") as late:  # its tokens died an hour ago
        async with people_app(**oidc_settings(late.url, **ADMIN)) as people:
            await late.person("ann@acme.test", groups=["it-admins"])
            browser = people.browser()
            refused = await sign_on(browser, "ann@acme.test")
            assert (
                refused.status_code == 400 and "ID token failed its checks (ExpiredTokenError" in refused.text
            )
            await nobody_signed_in(people, browser)


def tampered(id_token: str) -> str:
    """The payload changed to someone else, the provider's signature kept."""
    header, payload, signature = id_token.split(".")
    claims = orjson.loads(unb64(payload))
    return ".".join((header, b64(orjson.dumps({**claims, "email": "boss@acme.test"})), signature))


def unsigned(id_token: str) -> str:
    claims = orjson.loads(unb64(id_token.split(".")[1]))
    header = b64(orjson.dumps({"alg": "none", "typ": "JWT"}))
    return f"{header}.{b64(orjson.dumps({**claims, 'email': 'boss@acme.test'}))}."


def signed_by_another_key(id_token: str) -> str:
    header = orjson.loads(unb64(id_token.split(".")[0]))
    claims = orjson.loads(unb64(id_token.split(".")[1]))
    payload = orjson.dumps({**claims, "email": "boss@acme.test"})
    key = RSAKey.generate_key(2048)
    kid = {"kid": header["kid"]} if "kid" in header else {}  # the provider's key id, if it names one
    return jws.serialize_compact({"alg": "RS256", **kid}, payload, key)


@pytest.mark.parametrize("forge", [tampered, unsigned, signed_by_another_key])
async def test_a_forged_id_token_is_refused(
    people_app: PeopleFactory,  # noqa: F811
    provider: Provider,  # noqa: F811
    forge: object,
) -> None:
    await provider.person("ann@acme.test", groups=["it-admins"])
    async with man_in_the_middle(provider, lambda token: token) as honest_proxy:
        async with people_app(**oidc_settings(honest_proxy, **ADMIN)) as people:
            assert (await sign_on(people.browser(), "ann@acme.test")).status_code == 200  # the path works
    async with man_in_the_middle(provider, forge) as proxy:  # type: ignore[arg-type]
        async with people_app(**oidc_settings(proxy, **ADMIN)) as people:
            browser = people.browser()
            refused = await sign_on(browser, "ann@acme.test")
            assert refused.status_code == 400 and "ID token failed its checks" in refused.text
            async with people.app.state.handoff.database.engine.connect() as conn:
                assert not await conn.scalar(select(users.c.email).where(users.c.email == "boss@acme.test"))
            assert (await browser.get("/console/inbox")).status_code == 303


async def test_a_code_issued_for_another_pkce_challenge_is_refused(
    people_app: PeopleFactory,  # noqa: F811
    provider: Provider,  # noqa: F811
) -> None:
    """PKCE (S256): the code an attacker obtained for their own challenge, slipped into a person's flow
    with that flow's state, is redeemed with the person's verifier, and a provider that enforces PKCE
    refuses it. (The proxy enforces it; the honest sign-on through it shows the console's verifier is
    the one its challenge was made of.)"""
    await provider.person("ann@acme.test", groups=["it-admins"])
    attacker = create_s256_code_challenge("the-attackers-own-verifier-" + "x" * 30)
    async with man_in_the_middle(provider, lambda token: token) as proxy:
        async with people_app(**oidc_settings(proxy, **ADMIN)) as people:
            honest = people.browser()
            assert (await sign_on(honest, "ann@acme.test")).status_code == 200
            assert (await honest.get("/console/inbox")).status_code == 200
            browser = people.browser()
            leg = await leave_for_provider(browser)
            assert query(leg.authorize)["code_challenge_method"] == "S256"
            swapped = await authorize(
                leg, "ann@acme.test", edit=lambda url: with_param(url, "code_challenge", attacker)
            )
            refused = await come_back(browser, swapped)
            assert refused.status_code == 400 and "refused the sign-in code (invalid_grant)" in refused.text
            assert (await browser.get("/console/inbox")).status_code == 303


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/console/inbox",
        "//evil.example/console/inbox",
        "/\\evil.example",
        "javascript:alert(1)",
        "/console/inbox\r\nLocation: https://evil.example",
        '/console/inbox"><script>alert(1)</script>',
        "/console/" + "x" * 5000,  # would not fit in the flow cookie
    ],
)
async def test_the_post_login_target_stays_in_the_console(people: People, target: str) -> None:
    browser = people.browser()
    leg = await leave_for_provider(browser, next=target)
    assert query(leg.authorize)["redirect_uri"] == f"{people.url}/console/login/oidc/callback"
    landed = await come_back(browser, await authorize(leg, "ann@acme.test"))
    assert landed.status_code == 200, landed.text
    found = REFRESH.search(landed.text)
    assert found is not None, landed.text
    assert found.group(1).startswith("/console/") and urlsplit(found.group(1)).netloc == ""
    assert f'<a href="{found.group(1)}">' in landed.text and "<script>" not in landed.text

"""Who a person signed in by single sign-on is in leadstate: their email checked against the allowed
domains, their role read from the ID token's claims (LEADSTATE_OIDC_ROLES), and their account, made on
the first sign-in, so that sessions, decisions and the audit name them as they name a local account."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.settings import Settings

from .accounts import ROLES, AccountError, User, find_user, normal_email
from .tables import users

# When a person's claims name several roles, the one that can do most wins.
RANK = ("admin", "marketing", "sales")
ASK = "Ask a leadstate admin to give you a role."


class SignOnRefused(AccountError):
    """Why this person may not sign in; the page shows it as it is."""


@dataclass(frozen=True)
class RoleRules:
    allowed_domains: tuple[str, ...]  # lower case; "*" for any
    claim: str
    roles: dict[str, str]  # claim value -> role
    default: str | None

    @classmethod
    def of(cls, settings: Settings) -> RoleRules:
        return cls(
            settings.oidc_allowed_domains,
            settings.oidc_roles_claim,
            dict(settings.oidc_roles),
            settings.oidc_default_role,
        )

    def email(self, claims: dict[str, Any]) -> str:
        """The verified email of the ID token, if its domain is allowed."""
        raw = claims.get("email")
        if not isinstance(raw, str) or not raw:
            raise SignOnRefused(
                "Your identity provider did not tell leadstate your email address (the `email` claim). "
                "Ask your administrator to release it to leadstate.",
                "no_email_claim",
            )
        if claims.get("email_verified") is False:
            raise SignOnRefused(
                f"Your identity provider says {raw[:254]} is not verified.",
                "email_not_verified",
                email=raw[:254],
            )
        try:
            email = normal_email(raw)
        except AccountError as exc:
            raise SignOnRefused(f"{exc}.", exc.code, **exc.params) from None
        domain = email.rpartition("@")[2]
        if "*" not in self.allowed_domains and domain not in self.allowed_domains:
            raise SignOnRefused(
                f"{email} may not sign in to this leadstate: only people of "
                f"{', '.join(self.allowed_domains)} may. Sign in with your work account.",
                "domain_not_allowed",
                email=email,
                domains=list(self.allowed_domains),
            )
        return email

    def role(self, claims: dict[str, Any]) -> str | None:
        """The role the claims map to, or None when no value of the claim is mapped."""
        values = claims.get(self.claim)
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list):
            return None
        mapped = {self.roles[v] for v in values[:1000] if isinstance(v, str) and v in self.roles}
        return next((role for role in RANK if role in mapped), None)


async def signed_on(
    session: AsyncSession, claims: dict[str, Any], rules: RoleRules, *, now: datetime
) -> tuple[User, str | None]:
    """The person's account (made on the first sign-in) and what changed: "added", "role" or None.

    With a mapping (LEADSTATE_OIDC_ROLES), the identity provider decides the role at every sign-in;
    without one, the role an admin gave (`leadstate users add`), else LEADSTATE_OIDC_DEFAULT_ROLE."""
    email = rules.email(claims)
    known = await find_user(session, email)
    if known is not None and known.disabled:
        raise SignOnRefused(
            f"The leadstate account of {email} is disabled. {ASK}", "account_disabled", email=email
        )
    role = rules.role(claims) if rules.roles else None
    role = role or (known.role if known is not None and not rules.roles else None) or rules.default
    if role is None or role not in ROLES:
        where = f" (claim `{rules.claim}`)" if rules.roles else ""
        claim = rules.claim if rules.roles else None
        raise SignOnRefused(
            f"{email} has no role in leadstate{where}. {ASK}", "no_role", email=email, claim=claim
        )
    if known is None:
        user_id = str(uuid.uuid4())
        row = {"user_id": user_id, "email": email, "role": role, "created_by": "oidc", "created_at": now}
        # Two first sign-ins at once: one inserts, the other finds that account.
        await session.execute(insert(users).values(**row).on_conflict_do_nothing(index_elements=["email"]))
        made = await find_user(session, email)
        assert made is not None
        return made, "added" if made.user_id == user_id else None
    if known.role == role:
        return known, None
    await session.execute(update(users).where(users.c.user_id == known.user_id).values(role=role))
    return User(user_id=known.user_id, email=email, role=role, disabled=False), "role"

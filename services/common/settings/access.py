"""Who may do what: ingest's write keys and origins, the API keys and their scopes, the console's people
and sessions, single sign-on, and the reverse proxies whose forwarded headers are believed."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode

from .base import SCOPES, Role


class AccessSettings(BaseSettings):
    write_keys: Annotated[tuple[str, ...], NoDecode] = ()
    api_keys: Annotated[dict[str, tuple[str, ...]], NoDecode] = Field(default_factory=dict)
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ("*",)
    rate_limit_per_s: float = Field(0, ge=0, description="per write key; 0 disables")
    # People (services/handoff/accounts.py): personal console accounts, their sessions, the audit trail
    session_idle_s: float = Field(3600.0, gt=0, description="a console session unused this long ends")
    session_absolute_s: float = Field(12 * 3600.0, gt=0, description="every console session ends this late")
    login_window_s: float = Field(900.0, gt=0, description="failed logins are counted over this window")
    login_max_failures: int = Field(5, ge=1, description="per account in the window: then locked")
    login_max_failures_per_address: int = Field(20, ge=1, description="per client address in the window")
    set_password_link_s: float = Field(86400.0, gt=0, description="a one-time set-password link is valid")
    audit_retention_days: float = Field(400.0, gt=0, description="audit rows are kept")
    # Single sign-on (services/handoff/console/oidc.py): OpenID Connect, discovered from the issuer.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_allowed_domains: Annotated[tuple[str, ...], NoDecode] = Field((), description="`*` for any")
    oidc_scopes: str = "openid email profile"
    oidc_roles_claim: str = Field("groups", description="the ID token claim read for the role")
    oidc_roles: Annotated[dict[str, Role], NoDecode] = Field(
        default_factory=dict, description="value -> role"
    )
    oidc_default_role: Role | None = Field(None, description="when no value maps; unset: refused")
    # A reverse proxy whose X-Forwarded-For/-Proto/-Host are believed (addresses or networks, or `*`).
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = ()

    @field_validator("api_keys", mode="before")
    @classmethod
    def _json_object(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip():
                return {}
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not valid JSON ({exc.msg} at position {exc.pos})") from None
        if not isinstance(value, dict):
            raise ValueError('must be a JSON object of key -> list of scopes, e.g. {"k1": ["mql:read"]}')
        for key, scopes in value.items():
            if not isinstance(scopes, list | tuple) or not all(s in SCOPES for s in scopes):
                raise ValueError(f"key {key[:4]}…: scopes must be a list drawn from {', '.join(SCOPES)}")
        return value

    @field_validator("oidc_roles", mode="before")
    @classmethod
    def _roles_object(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else {}
            except json.JSONDecodeError as exc:
                raise ValueError(f"not valid JSON ({exc.msg} at position {exc.pos})") from None
        if not isinstance(value, dict):
            raise ValueError('must be a JSON object of claim value -> role, e.g. {"crm-admins": "admin"}')
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from services.common.proxy import trusted_networks

        trusted_networks(value)  # raises, naming the entry it cannot read
        return value

    @field_validator("oidc_allowed_domains")
    @classmethod
    def _lower_domains(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(domain.lower().removeprefix("@") for domain in value)

    @model_validator(mode="after")
    def _complete_sign_on(self) -> Self:
        if self.oidc_issuer is None:
            return self
        if not self.oidc_issuer.startswith(("https://", "http://")):
            raise ValueError("LEADSTATE_OIDC_ISSUER must be the identity provider's https:// address")
        if not self.oidc_client_id:
            raise ValueError("LEADSTATE_OIDC_CLIENT_ID must be set with LEADSTATE_OIDC_ISSUER")
        if not self.oidc_allowed_domains:
            raise ValueError(
                "LEADSTATE_OIDC_ALLOWED_DOMAINS must be set with LEADSTATE_OIDC_ISSUER: the email domains "
                "whose people may sign in, comma-separated (`*` for any)"
            )
        return self

    @property
    def audit_keep(self) -> timedelta:
        return timedelta(days=self.audit_retention_days)

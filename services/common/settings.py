"""All of leadstate's settings: environment variables prefixed LEADSTATE_, one class for every service.

A setting that cannot be parsed stops the process with one line naming the variable (exit code 2);
`load_settings` is the only place that turns a ValidationError into that line.
"""

from __future__ import annotations

import difflib
import json
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SCOPES = ("mql:read", "decisions:write", "reports:read", "webhooks:admin", "audit:read")
ENV_PREFIX = "LEADSTATE_"
Role = Literal["sales", "marketing", "admin"]  # services/handoff/accounts.py gives each its scopes


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    env: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    ingest_port: int = Field(8000, ge=1, le=65535)
    handoff_port: int = Field(8001, ge=1, le=65535)
    qualifier_port: int = Field(8002, ge=1, le=65535)

    database_url: str | None = None
    kafka_bootstrap: str | None = None
    data_dir: Path = Path(".leadstate")
    embedded_kafka_port: int = Field(19092, ge=1, le=65535)
    # How every Kafka client authenticates (services/common/kafka_security.py builds the client options).
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_ca_file: Path | None = None
    kafka_ssl_cert_file: Path | None = None
    kafka_ssl_key_file: Path | None = None
    kafka_ssl_key_password: SecretStr | None = None
    embedded_broker: Literal["auto", "kafka", "tansu"] = "auto"
    embedded_kafka_controller_port: int | None = Field(None, ge=1, le=65535, description="default: port + 1")
    kafka_home: Path | None = None
    kafka_retention_hours: int = Field(168, ge=1)

    write_keys: Annotated[tuple[str, ...], NoDecode] = ()
    api_keys: Annotated[dict[str, tuple[str, ...]], NoDecode] = Field(default_factory=dict)

    topic_events: str = "lead.events"
    topic_mql: str = "lead.mql"
    topic_decisions: str = "lead.decisions"
    topic_dead_letter: str = "lead.deadletter"
    topic_lead_state: str = Field("lead.state", description="lead.updated; compacted on Kafka")
    topic_partitions: int = Field(6, ge=1, le=1000)

    qualifier_group: str = "leadstate-qualifier"
    handoff_group: str = "leadstate-handoff"
    consumer_batch_max: int = Field(2000, ge=1)
    # The qualifier's in-memory lead state (services/qualifier/cache.py) and its coalesced transactions.
    qualifier_cache_mb: int = Field(512, ge=1, description="budget of the lead states a member caches")
    qualifier_coalesce_ms: int = Field(200, ge=0, le=10_000, description="longest a transaction gathers")
    qualifier_txn_max: int = Field(5_000, ge=1, description="most records one qualifier transaction holds")
    qualifier_sweep_s: float = Field(
        60.0,
        ge=0,
        le=86_400,
        description="how often lead.updated looks for views due with no new event (0: never)",
    )

    policy_path: Path = Path("policies/default.yaml")
    produce_timeout_s: float = Field(5.0, gt=0)
    # Event-time bounds (ingest): see the README's ingest section.
    max_clock_skew_s: float = Field(3 * 86400.0, ge=0, description="larger |receivedAt − sentAt| is ignored")
    max_future_s: float = Field(86400.0, ge=0, description="a later event time is replaced by receivedAt")
    min_event_time: AwareDatetime = Field(datetime(1970, 1, 1, tzinfo=UTC), description="earlier: 400")
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ("*",)
    rate_limit_per_s: float = Field(0, ge=0, description="per write key; 0 disables")
    outbox_poll_s: float = Field(1.0, gt=0)
    # Rows kept only so a retry changes nothing (services/common/retention.py): the envelope ids a
    # consumer applied must outlive any redelivery (the topics' retention), an Idempotency-Key's answer
    # any client's retries.
    processed_retention_days: float = Field(14.0, gt=0, description="processed envelope ids are kept")
    idempotency_retention_days: float = Field(30.0, gt=0, description="Idempotency-Key answers are kept")
    prune_every_s: float = Field(3600.0, gt=0, description="how often expired rows are deleted")

    # Each policy simulation of the HTTP lab runs in a worker process ended at the first of these.
    simulation_timeout_s: float = Field(600.0, gt=0, description="wall-clock limit of one simulation")
    simulation_memory_mb: int = Field(1024, ge=16, description="address space of its worker process")
    simulation_cpu_s: float = Field(600.0, ge=1, description="CPU seconds of its worker process")
    # Webhooks (services/handoff/webhooks/): the dispatcher's consumer group defaults to
    # "<handoff group>-webhooks"; private addresses and plain http are for local development only.
    webhook_group: str | None = None
    webhook_allow_private: bool = False
    webhook_timeout_s: float = Field(10.0, gt=0, le=60)
    webhook_retry_window_s: float = Field(86400.0, gt=0, description="retries stop this long after the event")
    webhook_backoff_base_s: float = Field(5.0, gt=0)
    webhook_backoff_max_s: float = Field(3600.0, gt=0)
    webhook_disable_after_s: float = Field(
        5 * 86400.0, gt=0, description="an endpoint failing continuously this long is disabled"
    )
    webhook_rotation_grace_s: float = Field(86400.0, ge=0, description="the old secret still signs")
    webhook_concurrency: int = Field(32, ge=1, le=1000)
    webhook_poll_s: float = Field(1.0, gt=0)
    webhook_sla_check_s: float = Field(60.0, gt=0, description="how often chat SLA reminders are looked for")
    console_url: str | None = None  # the console's public address, for links in chat alerts
    # The handoff reads the qualifier's API (services/handoff/qualifier_client.py): a lead's timeline for
    # the console with the key below, the policy lab's jobs with the caller's own key.
    qualifier_url: str | None = Field(None, pattern=r"^https?://[^\s/]+(/[^\s]*)?$", description="its API")
    qualifier_api_key: SecretStr | None = Field(
        None, description="the console's key there (mql:read; reports:read for suggestions)"
    )
    qualifier_timeout_s: float = Field(3.0, gt=0, le=60, description="one call, retries included")
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

    # Languages and local time (issue 20): the console's fallback language, the languages the
    # deployment's policy texts must be given in (`leadstate policy check`), the viewer's time zone.
    default_language: Literal["ja", "en"] = "ja"
    languages: Annotated[tuple[Literal["ja", "en"], ...], NoDecode] = ("ja", "en")
    timezone: str = "Asia/Tokyo"

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["auto", "json", "text"] = "auto"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(value)
        except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as Asia/Tokyo)") from exc
        return value

    @field_validator(
        "write_keys", "cors_origins", "languages", "oidc_allowed_domains", "trusted_proxies", mode="before"
    )
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

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

    @field_validator(
        "kafka_sasl_username",
        "kafka_sasl_password",
        "oidc_issuer",
        "oidc_client_id",
        "oidc_client_secret",
        "oidc_default_role",
        "kafka_ssl_ca_file",
        "kafka_ssl_cert_file",
        "kafka_ssl_key_file",
        "kafka_ssl_key_password",
        "qualifier_url",
        "qualifier_api_key",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value  # `VAR=` in a compose file or an .env means "not set"

    @field_validator("kafka_ssl_ca_file", "kafka_ssl_cert_file", "kafka_ssl_key_file")
    @classmethod
    def _existing_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError("no such file" if not value.exists() else "not a file")
        return value

    @model_validator(mode="after")
    def _coherent_kafka_security(self) -> Settings:
        check_kafka_security(self)
        return self

    @model_validator(mode="after")
    def _ids_outlive_the_embedded_log(self) -> Settings:
        # Only the embedded Kafka's retention is known here; for an external one the README says so.
        if self.embedded_kafka and self.processed_retention_days * 24 <= self.kafka_retention_hours:
            raise ValueError(
                "LEADSTATE_PROCESSED_RETENTION_DAYS must be longer than LEADSTATE_KAFKA_RETENTION_HOURS: "
                "a message still on the log could be redelivered after its envelope id was pruned"
            )
        return self

    @model_validator(mode="after")
    def _complete_sign_on(self) -> Settings:
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

    @model_validator(mode="after")
    def _refuse_insecure_production(self) -> Settings:
        if self.env == "production":
            if not self.write_keys:
                raise ValueError("LEADSTATE_WRITE_KEYS must be set in production")
            if not self.api_keys:
                raise ValueError("LEADSTATE_API_KEYS must be set in production")
        return self

    @property
    def embedded_kafka(self) -> bool:
        return self.kafka_bootstrap is None

    @property
    def processed_keep(self) -> timedelta:
        return timedelta(days=self.processed_retention_days)

    @property
    def idempotency_keep(self) -> timedelta:
        return timedelta(days=self.idempotency_retention_days)

    @property
    def audit_keep(self) -> timedelta:
        return timedelta(days=self.audit_retention_days)

    @property
    def webhook_consumer_group(self) -> str:
        return self.webhook_group or f"{self.handoff_group}-webhooks"

    def require_database_url(self) -> str:
        if not self.database_url:
            raise SettingsError("LEADSTATE_DATABASE_URL: not set (required to run this service on its own)")
        return self.database_url

    def require_kafka_bootstrap(self) -> str:
        if not self.kafka_bootstrap:
            raise SettingsError(
                "LEADSTATE_KAFKA_BOOTSTRAP: not set (required to run this service on its own)"
            )
        return self.kafka_bootstrap


def check_kafka_security(settings: Settings) -> None:
    """Refuse a Kafka security setting the chosen protocol would ignore or cannot do without: a client that
    silently connects without the credentials or certificate it was given is worse than one that stops."""
    protocol = settings.kafka_security_protocol
    sasl, tls = protocol.startswith("SASL_"), protocol.endswith("SSL")
    named = f"LEADSTATE_KAFKA_SECURITY_PROTOCOL is {protocol}"
    given = {
        "LEADSTATE_KAFKA_SASL_USERNAME": bool(settings.kafka_sasl_username),
        "LEADSTATE_KAFKA_SASL_PASSWORD": bool(
            settings.kafka_sasl_password and settings.kafka_sasl_password.get_secret_value()
        ),
    }
    for variable, present in given.items():
        if sasl and not present:
            raise ValueError(f"{variable} must be set: {named}")
        if present and not sasl:
            raise ValueError(f"{variable} is set but {named} (SASL_SSL or SASL_PLAINTEXT use it)")
    files = {
        "LEADSTATE_KAFKA_SSL_CA_FILE": settings.kafka_ssl_ca_file,
        "LEADSTATE_KAFKA_SSL_CERT_FILE": settings.kafka_ssl_cert_file,
        "LEADSTATE_KAFKA_SSL_KEY_FILE": settings.kafka_ssl_key_file,
        "LEADSTATE_KAFKA_SSL_KEY_PASSWORD": settings.kafka_ssl_key_password,
    }
    for variable, value in files.items():
        if value is not None and not tls:
            raise ValueError(f"{variable} is set but {named} (SSL or SASL_SSL use it)")
    if settings.kafka_ssl_key_file and not settings.kafka_ssl_cert_file:
        raise ValueError("LEADSTATE_KAFKA_SSL_KEY_FILE is set without LEADSTATE_KAFKA_SSL_CERT_FILE")
    if settings.kafka_ssl_key_password and not settings.kafka_ssl_cert_file:
        raise ValueError("LEADSTATE_KAFKA_SSL_KEY_PASSWORD is set without LEADSTATE_KAFKA_SSL_CERT_FILE")
    clear_password = protocol == "SASL_PLAINTEXT" and settings.kafka_sasl_mechanism == "PLAIN"
    if settings.env == "production" and clear_password:
        raise ValueError(
            "LEADSTATE_KAFKA_SASL_MECHANISM PLAIN over SASL_PLAINTEXT sends the password in clear text: "
            "refused in production (use SASL_SSL, or a SCRAM mechanism)"
        )


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable."""


# LEADSTATE_ variables that are not settings but are read where they are used; anything else prefixed
# LEADSTATE_ that is not a setting is a typo, and a typo silently ignored (LEADSTATE_DATABSE_URL starting
# an embedded database) is worse than a refusal.
NOT_SETTINGS = {
    "LEADSTATE_PARENT_PID": "set by `leadstate dev` on the services it starts (services/common/runtime.py)",
    "LEADSTATE_CHAOS_FULL": "`make chaos`: the full-length fault tests (tests/chaos/harness.py)",
    "LEADSTATE_TEST_BROKERS": "the brokers the test suite runs on (tests/brokers.py)",
    "LEADSTATE_SCREENSHOTS": "where the console browser test saves screenshots (tests/e2e/)",
}


def known_variables() -> set[str]:
    return {f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields} | set(NOT_SETTINGS)


def check_unknown_variables(environ: Mapping[str, str]) -> None:
    """Refuse an environment variable prefixed LEADSTATE_ that nothing reads, naming the nearest known one."""
    known = known_variables()
    for name in sorted(environ):
        upper = name.upper()  # pydantic-settings matches names case-insensitively
        if upper.startswith(ENV_PREFIX) and upper not in known:
            nearest = difflib.get_close_matches(upper, sorted(known), n=1, cutoff=0.6)
            hint = f" (did you mean {nearest[0]}?)" if nearest else " (see the README's settings table)"
            raise SettingsError(f"{name}: not a leadstate setting{hint}")


def load_settings(**overrides: object) -> Settings:
    check_unknown_variables(os.environ)
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = "_".join(str(p) for p in first["loc"]).upper()
        name = f"{ENV_PREFIX}{loc}" if loc else "settings"
        message = first["msg"].removeprefix("Value error, ")
        raw = os.environ.get(name)
        secret = "KEYS" in name or "PASSWORD" in name
        shown = f" (got {raw!r})" if raw is not None and not secret else ""
        if not loc and message.startswith(ENV_PREFIX):  # a rule across settings names its variable itself
            raise SettingsError(message) from None
        raise SettingsError(f"{name}: {message}{shown}") from None


def exit_on_settings_error(error: SettingsError) -> None:
    print(f"leadstate: configuration error: {error}", file=sys.stderr)
    raise SystemExit(2)

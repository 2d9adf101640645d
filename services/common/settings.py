"""All of leadstate's settings: environment variables prefixed LEADSTATE_, one class for every service.

A setting that cannot be parsed stops the process with one line naming the variable (exit code 2);
`load_settings` is the only place that turns a ValidationError into that line.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SCOPES = ("mql:read", "decisions:write", "reports:read")
ENV_PREFIX = "LEADSTATE_"


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
    topic_partitions: int = Field(6, ge=1, le=1000)

    qualifier_group: str = "leadstate-qualifier"
    handoff_group: str = "leadstate-handoff"
    consumer_batch_max: int = Field(2000, ge=1)

    policy_path: Path = Path("policies/default.yaml")
    produce_timeout_s: float = Field(5.0, gt=0)
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ("*",)
    rate_limit_per_s: float = Field(0, ge=0, description="per write key; 0 disables")
    outbox_poll_s: float = Field(1.0, gt=0)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["auto", "json", "text"] = "auto"

    @field_validator("write_keys", "cors_origins", mode="before")
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

    @model_validator(mode="after")
    def _refuse_insecure_production(self) -> Settings:
        if self.env == "production":
            if not self.write_keys:
                raise ValueError("LEADSTATE_WRITE_KEYS must be set in production")
            if not self.api_keys:
                raise ValueError("LEADSTATE_API_KEYS must be set in production")
        return self

    @property
    def embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def embedded_kafka(self) -> bool:
        return self.kafka_bootstrap is None

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


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = "_".join(str(p) for p in first["loc"]).upper()
        name = f"{ENV_PREFIX}{loc}" if loc else "settings"
        message = first["msg"].removeprefix("Value error, ")
        raw = os.environ.get(name)
        shown = f" (got {raw!r})" if raw is not None and "KEYS" not in name else ""
        raise SettingsError(f"{name}: {message}{shown}") from None


def exit_on_settings_error(error: SettingsError) -> None:
    print(f"leadstate: configuration error: {error}", file=sys.stderr)
    raise SystemExit(2)

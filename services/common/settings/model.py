"""`Settings`: every area's settings in one frozen class read from LEADSTATE_* variables, with the
checks that span areas (what is parsed as a list, what empty means, production's refusals)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from .access import AccessSettings
from .base import ENV_PREFIX, SettingsError
from .kafka import KafkaSettings, check_kafka_security
from .outbound import OutboundSettings
from .processing import ProcessingSettings


class Settings(OutboundSettings, ProcessingSettings, AccessSettings, KafkaSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    env: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    ingest_port: int = Field(8000, ge=1, le=65535)
    handoff_port: int = Field(8001, ge=1, le=65535)
    qualifier_port: int = Field(8002, ge=1, le=65535)

    database_url: str | None = None
    data_dir: Path = Path(".leadstate")

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

    @model_validator(mode="after")
    def _coherent_kafka_security(self) -> Settings:
        check_kafka_security(self, production=self.env == "production")
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
    def _refuse_insecure_production(self) -> Settings:
        if self.env == "production":
            if not self.write_keys:
                raise ValueError("LEADSTATE_WRITE_KEYS must be set in production")
            if not self.api_keys:
                raise ValueError("LEADSTATE_API_KEYS must be set in production")
        return self

    @property
    def webhook_consumer_group(self) -> str:
        return self.webhook_group or f"{self.handoff_group}-webhooks"

    def require_database_url(self) -> str:
        if not self.database_url:
            raise SettingsError("LEADSTATE_DATABASE_URL: not set (required to run this service on its own)")
        return self.database_url

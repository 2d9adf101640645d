"""The broker: where it is (or the embedded one), how every client authenticates, the topics and the
consumer groups."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings

from .base import SettingsError


class KafkaSettings(BaseSettings):
    kafka_bootstrap: str | None = None
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

    topic_events: str = "lead.events"
    topic_mql: str = "lead.mql"
    topic_decisions: str = "lead.decisions"
    topic_dead_letter: str = "lead.deadletter"
    topic_lead_state: str = Field("lead.state", description="lead.updated; compacted on Kafka")
    topic_partitions: int = Field(6, ge=1, le=1000)

    qualifier_group: str = "leadstate-qualifier"
    handoff_group: str = "leadstate-handoff"
    consumer_batch_max: int = Field(2000, ge=1)

    @field_validator("kafka_ssl_ca_file", "kafka_ssl_cert_file", "kafka_ssl_key_file")
    @classmethod
    def _existing_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError("no such file" if not value.exists() else "not a file")
        return value

    @property
    def embedded_kafka(self) -> bool:
        return self.kafka_bootstrap is None

    def require_kafka_bootstrap(self) -> str:
        if not self.kafka_bootstrap:
            raise SettingsError(
                "LEADSTATE_KAFKA_BOOTSTRAP: not set (required to run this service on its own)"
            )
        return self.kafka_bootstrap


def check_kafka_security(settings: KafkaSettings, *, production: bool) -> None:
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
    if production and clear_password:
        raise ValueError(
            "LEADSTATE_KAFKA_SASL_MECHANISM PLAIN over SASL_PLAINTEXT sends the password in clear text: "
            "refused in production (use SASL_SSL, or a SCRAM mechanism)"
        )

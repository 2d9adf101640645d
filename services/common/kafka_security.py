"""How leadstate's Kafka clients authenticate: the aiokafka options every producer, consumer and admin
client gets (TLS, SASL PLAIN or SCRAM, mutual TLS), and the one-line reason a broker refuses them.

The reason is found by opening one connection the way the clients would: aiokafka's own start only says
"Unable to bootstrap", which cannot tell a wrong password from a stopped broker. No reason ever holds
a password: the ones written here name settings, never their secret values, and a secret that still
turns up in the broker's or the TLS library's words is masked.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from aiokafka.conn import create_conn
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)
from aiokafka.helpers import create_ssl_context

from .settings import Settings, SettingsError

# Keyword arguments for AIOKafkaProducer, AIOKafkaConsumer and AIOKafkaAdminClient.
KafkaSecurity = dict[str, Any]
PLAINTEXT: KafkaSecurity = {}


def client_security(settings: Settings) -> KafkaSecurity:
    """The options for `settings`; raises SettingsError naming the variable when a certificate or key file
    cannot be loaded (files that do not exist are refused when the settings load)."""
    protocol = settings.kafka_security_protocol
    options: KafkaSecurity = {"security_protocol": protocol}
    if protocol.startswith("SASL_"):
        assert settings.kafka_sasl_password is not None  # checked when the settings loaded
        options |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,  # aiokafka's name for SCRAM's too
            "sasl_plain_password": settings.kafka_sasl_password.get_secret_value(),
        }
    if protocol.endswith("SSL"):
        options["ssl_context"] = _ssl_context(settings)
    return options


def _ssl_context(settings: Settings) -> ssl.SSLContext:
    """The broker's certificate checked against the CA file (the system's CAs without one), its host name
    too; the client certificate (mutual TLS) when one is set."""
    try:
        context = create_ssl_context(cafile=settings.kafka_ssl_ca_file)
    except (ssl.SSLError, OSError, ValueError) as exc:
        problem = f"not a PEM CA certificate ({_ssl_words(exc)})"
        raise SettingsError(f"LEADSTATE_KAFKA_SSL_CA_FILE: {problem}") from None
    if settings.kafka_ssl_cert_file is not None:
        key_password = settings.kafka_ssl_key_password
        try:
            context.load_cert_chain(
                settings.kafka_ssl_cert_file,
                settings.kafka_ssl_key_file,
                key_password.get_secret_value() if key_password else None,
            )
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise SettingsError(
                "LEADSTATE_KAFKA_SSL_CERT_FILE / LEADSTATE_KAFKA_SSL_KEY_FILE: the client certificate and "
                f"key do not load ({_ssl_words(exc)}; encrypted? LEADSTATE_KAFKA_SSL_KEY_PASSWORD)"
            ) from None
    return context


async def connection_problem(
    bootstrap: str, security: KafkaSecurity, *, timeout_s: float = 10.0
) -> str | None:
    """Why no bootstrap server accepts a client with `security` right now, in one line; None when one does
    (it completed the version exchange and, for SASL, the authentication)."""
    problem = f"no bootstrap server in {bootstrap!r}"
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            conn = await asyncio.wait_for(
                create_conn(
                    host or "127.0.0.1",
                    int(port),
                    client_id="leadstate-check",
                    request_timeout_ms=int(timeout_s * 1000),
                    **security,
                ),
                timeout_s,
            )
        except (KafkaError, OSError, TimeoutError, ValueError) as exc:
            problem = _mask(f"{server.strip()}: {explain(exc, security, timeout_s)}", security)
            continue
        conn.close()
        return None
    return problem


def explain(exc: BaseException, security: KafkaSecurity, timeout_s: float) -> str:
    protocol = security.get("security_protocol", "PLAINTEXT")
    check_protocol = f"does the listener speak {protocol}? (LEADSTATE_KAFKA_SECURITY_PROTOCOL)"
    if isinstance(exc, SaslAuthenticationFailed):
        return (
            f"{security['sasl_mechanism']} credentials of user {security['sasl_plain_username']!r} refused: "
            "check LEADSTATE_KAFKA_SASL_USERNAME and LEADSTATE_KAFKA_SASL_PASSWORD"
        )
    if isinstance(exc, UnsupportedSaslMechanismError):
        return f"the broker does not offer {security['sasl_mechanism']}: check LEADSTATE_KAFKA_SASL_MECHANISM"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"TLS: the broker's certificate is not trusted ({exc.verify_message}): check "
            "LEADSTATE_KAFKA_SSL_CA_FILE and that the bootstrap host name is in the certificate"
        )
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed ({_ssl_words(exc)}): {check_protocol}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the broker running, on this port?)"
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout_s:g} s: {check_protocol}"
    if isinstance(exc, OSError):
        return f"unreachable ({exc.strerror or exc})"
    if isinstance(exc, ValueError):
        return "not host:port (LEADSTATE_KAFKA_BOOTSTRAP)"
    if isinstance(exc, KafkaConnectionError):
        # Over TLS 1.3 a broker that refuses the client's certificate (or its absence) just hangs up.
        mtls = "; or it wants a client certificate its CA signed (LEADSTATE_KAFKA_SSL_CERT_FILE)"
        return f"the broker hung up during set-up: {check_protocol}{mtls if protocol.endswith('SSL') else ''}"
    return f"{exc}: {check_protocol}"


def _ssl_words(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None)
    return str(reason or exc)


def _mask(line: str, security: KafkaSecurity) -> str:
    secret = security.get("sasl_plain_password")
    return line.replace(secret, "***") if secret else line

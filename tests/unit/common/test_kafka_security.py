"""Kafka security settings: refused at start when incoherent (naming the variable, never echoing a secret),
and turned into the same aiokafka options for every client."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from services.common.kafka_security import client_security
from services.common.settings import SettingsError, load_settings
from tests.security.secured_kafka import make_ca, make_signed
from tests.support import ROOT

SASL = {
    "kafka_security_protocol": "SASL_SSL",
    "kafka_sasl_mechanism": "SCRAM-SHA-512",
    "kafka_sasl_username": "alice",
    "kafka_sasl_password": "pw-not-for-logs",
}


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({**SASL, "kafka_sasl_username": None}, "LEADSTATE_KAFKA_SASL_USERNAME must be set"),
        ({**SASL, "kafka_sasl_password": ""}, "LEADSTATE_KAFKA_SASL_PASSWORD must be set"),
        ({"kafka_sasl_password": "x"}, "LEADSTATE_KAFKA_SASL_PASSWORD is set but"),
        ({**SASL, "kafka_security_protocol": "SSL"}, "LEADSTATE_KAFKA_SASL_USERNAME is set but"),
        ({"kafka_ssl_ca_file": "/no/such/ca.pem"}, "LEADSTATE_KAFKA_SSL_CA_FILE: no such file"),
        ({"kafka_ssl_cert_file": "/no/such/cert.pem"}, "LEADSTATE_KAFKA_SSL_CERT_FILE: no such file"),
        ({"kafka_security_protocol": "SSL", "kafka_ssl_key_file": __file__}, "KEY_FILE is set without"),
        (
            {**SASL, "kafka_security_protocol": "SASL_PLAINTEXT", "kafka_ssl_ca_file": __file__},
            "LEADSTATE_KAFKA_SSL_CA_FILE is set but",
        ),
        (
            {**SASL, "kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_mechanism": "PLAIN"}
            | {"env": "production", "write_keys": "w", "api_keys": '{"k": ["mql:read"]}'},
            "clear text: refused in production",
        ),
    ],
)
def test_incoherent_security_is_refused_naming_the_variable(settings: dict[str, object], named: str) -> None:
    with pytest.raises(SettingsError, match=named) as refused:
        load_settings(**settings)
    assert "pw-not-for-logs" not in str(refused.value)


def test_a_refused_setting_is_one_line_exit_2_without_the_password() -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LEADSTATE_")}
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "ingest"],
        env={**clean, "LEADSTATE_KAFKA_BOOTSTRAP": "x:1", "LEADSTATE_KAFKA_SASL_PASSWORD": "pw-not-for-logs"},
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("leadstate: configuration error: LEADSTATE_KAFKA_SASL_PASSWORD is set")
    assert "pw-not-for-logs" not in result.stderr and "Traceback" not in result.stderr


def test_plaintext_is_the_default_and_passes_nothing_else() -> None:
    assert client_security(load_settings()) == {"security_protocol": "PLAINTEXT"}
    empty = {"kafka_sasl_username": "", "kafka_sasl_password": "", "kafka_ssl_ca_file": ""}  # `VAR=`
    assert client_security(load_settings(**empty)) == {"security_protocol": "PLAINTEXT"}


def test_sasl_ssl_options_verify_the_broker(tmp_path: Path) -> None:
    ca_file, _, _ = make_ca(tmp_path, "ca")
    settings = load_settings(**SASL, kafka_ssl_ca_file=ca_file)
    options = client_security(settings)
    context = options.pop("ssl_context")
    assert options == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "alice",
        "sasl_plain_password": "pw-not-for-logs",
    }
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert "pw-not-for-logs" not in repr(settings)


def test_mutual_tls_loads_the_client_certificate(tmp_path: Path) -> None:
    ca_file, ca_key, ca_cert = make_ca(tmp_path, "ca")
    client_pem = make_signed(tmp_path / "client.pem", ca_key, ca_cert)  # key and certificate in one file
    settings = load_settings(
        kafka_security_protocol="SSL", kafka_ssl_ca_file=ca_file, kafka_ssl_cert_file=client_pem
    )
    assert isinstance(client_security(settings)["ssl_context"], ssl.SSLContext)


@pytest.mark.parametrize("variable", ["kafka_ssl_ca_file", "kafka_ssl_cert_file"])
def test_a_file_that_is_no_certificate_is_named(tmp_path: Path, variable: str) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    ca_file, _, _ = make_ca(tmp_path, "ca")
    settings = load_settings(
        kafka_security_protocol="SSL", **{"kafka_ssl_ca_file": ca_file, variable: garbage}
    )
    with pytest.raises(SettingsError, match=f"LEADSTATE_{variable.upper()}"):
        client_security(settings)


def test_the_contract_has_a_security_scheme_for_every_mechanism() -> None:
    import typing

    import yaml

    from services.common.settings import Settings

    doc = yaml.safe_load((ROOT / "contracts" / "asyncapi.yaml").read_text())
    schemes = {scheme["type"] for scheme in doc["components"]["securitySchemes"].values()}
    named = {"PLAIN": "plain", "SCRAM-SHA-256": "scramSha256", "SCRAM-SHA-512": "scramSha512"}
    mechanisms = typing.get_args(Settings.model_fields["kafka_sasl_mechanism"].annotation)
    assert {named[mechanism] for mechanism in mechanisms} | {"X509"} <= schemes

"""A real Apache Kafka broker that only lets in SCRAM-SHA-512 users over TLS (and, on a second listener,
clients with a certificate from its CA), for the authentication tests.

Its CA and certificate (for 127.0.0.1) are made here; the SCRAM user is written when the log directory is
formatted, as an operator of a KRaft cluster does. The controller and inter-broker listeners stay
PLAINTEXT on loopback: only the client listener is under test. Small and self-contained on purpose;
the generic embedded broker may absorb it later.
"""

from __future__ import annotations

import datetime
import ipaddress
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from services.common.embedded import port_open
from services.common.kafka_broker import KafkaBroker
from services.common.kafka_dist import ensure_kafka_libs
from tests.conftest import KINDS
from tests.support import free_port

MECHANISM = "SCRAM-SHA-512"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def make_ca(directory: Path, name: str) -> tuple[Path, ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A self-signed CA; returns its PEM certificate file, key and certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(key, hashes.SHA256())
    )
    path = directory / f"{name}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, key, cert


def make_signed(
    path: Path,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    *,
    usage: x509.ObjectIdentifier = ExtendedKeyUsageOID.SERVER_AUTH,
) -> Path:
    """A key and its certificate for 127.0.0.1 signed by the CA, in one PEM file (a broker's keystore, or a
    client's certificate for mutual TLS)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(path.stem))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    path.write_bytes(_pem_key(key) + cert.public_bytes(serialization.Encoding.PEM))
    return path


@dataclass
class SecuredKafka:
    """`start()` returns once the broker listens; `bootstrap` is its SASL_SSL listener."""

    directory: Path
    username: str
    password: str
    port: int = 0
    mtls_port: int = 0  # TLS with a client certificate, no SASL
    ca_file: Path = Path()
    client_pem: Path = Path()  # a client key and certificate the MTLS listener accepts
    broker: KafkaBroker | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.directory / "kafka.log"  # KafkaBroker's own log

    def start(self, timeout_s: float = 120) -> SecuredKafka:
        libs = ensure_kafka_libs(KINDS.kafka_cache, KINDS.kafka_home)  # the session's jar cache
        self.ca_file, ca_key, ca_cert = make_ca(self.directory, "leadstate-test-ca")
        keystore = make_signed(self.directory / "broker.pem", ca_key, ca_cert)
        self.client_pem = make_signed(
            self.directory / "client.pem", ca_key, ca_cert, usage=ExtendedKeyUsageOID.CLIENT_AUTH
        )
        self.port, self.mtls_port = free_port(), free_port()
        properties = {
            "sasl.enabled.mechanisms": MECHANISM,
            f"listener.name.sasl_ssl.{MECHANISM.lower()}.sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
            ),
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(keystore),
            # The MTLS listener knows its clients by their certificate, signed by the same CA.
            "listener.name.mtls.ssl.client.auth": "required",
            "listener.name.mtls.ssl.truststore.type": "PEM",
            "listener.name.mtls.ssl.truststore.location": str(self.ca_file),
            "auto.create.topics.enable": "false",
        }
        scram = f"{MECHANISM}=[name={self.username},password={self.password}]"
        # The embedded broker's own start-up and format, with two secured client listeners beside its
        # PLAINTEXT one (which stays the inter-broker listener)
        self.broker = KafkaBroker(
            free_port(),
            self.directory,
            libs,
            controller_port=free_port(),
            listeners={"SASL_SSL": (self.port, "SASL_SSL"), "MTLS": (self.mtls_port, "SSL")},
            properties=properties,
            format_args=["--add-scram", scram],
        )
        self.broker.start(timeout_s)
        self._wait_listening(timeout_s)
        return self

    def _wait_listening(self, timeout_s: float) -> None:
        """The PLAINTEXT listener is up (KafkaBroker.start waited); the secured ones open with it."""
        deadline = time.monotonic() + timeout_s
        while not (port_open("127.0.0.1", self.port) and port_open("127.0.0.1", self.mtls_port)):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"Kafka's secured listeners not open after {timeout_s}s: {self.log_path}"
                )
            time.sleep(0.1)

    def stop(self) -> None:
        if self.broker is not None:
            self.broker.stop()

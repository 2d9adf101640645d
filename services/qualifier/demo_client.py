"""`leadstate demo`: the synthetic audience posted through the ingest API, as a website would send it."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from services.common.settings import Settings

from .demo_accounts import generate_demo

BATCH = 100


def write_key(settings: Settings, given: str | None) -> str | None:
    if given:
        return given
    if settings.write_keys:
        return settings.write_keys[0]
    try:
        stored = json.loads((settings.data_dir / "dev-keys.json").read_text(encoding="utf-8"))
        return str(stored["write_keys"][0])
    except (OSError, ValueError, KeyError, IndexError):
        return None


def post_demo(args: argparse.Namespace, settings: Settings) -> int:
    key = write_key(settings, args.write_key)
    if key is None:
        print(
            "leadstate: no write key: pass --write-key, set LEADSTATE_WRITE_KEYS, or run `make run` first "
            f"(it writes {settings.data_dir / 'dev-keys.json'})",
            file=sys.stderr,
        )
        return 2
    url = (args.ingest_url or f"http://127.0.0.1:{settings.ingest_port}").rstrip("/")
    seed = args.seed if args.seed is not None else int(time.time()) % 1_000_000
    now = datetime.now(UTC)
    companies = args.leads // 10 if args.companies is None else args.companies
    start = now - timedelta(days=args.days)
    messages = generate_demo(
        args.leads, companies, seed=seed, start=start, days=args.days, language=args.language
    )
    started = time.monotonic()
    try:
        posted = _post(url, key, messages)
    except httpx.HTTPError as exc:
        print(f"leadstate: cannot reach the ingest API at {url}: {exc}", file=sys.stderr)
        return 1
    except RefusedError as exc:
        print(f"leadstate: {exc}", file=sys.stderr)
        return 1
    print(
        f"posted {posted} events of {args.leads} synthetic leads and {companies} companies (seed {seed}) "
        f"to {url}/v1/batch "
        f"in {time.monotonic() - started:.1f} s"
    )
    print(
        f"MQLs appear in the sales inbox: GET http://127.0.0.1:{settings.handoff_port}/v1/mqls; "
        "explain one with `leadstate policy explain LEAD_ID`; buying groups (MQAs): GET /v1/mqas"
    )
    return 0


class RefusedError(Exception):
    pass


def _post(url: str, key: str, messages: list[dict[str, Any]]) -> int:
    posted = 0
    with httpx.Client(timeout=30, auth=(key, "")) as client:
        for start in range(0, len(messages), BATCH):
            chunk = messages[start : start + BATCH]
            for attempt in range(5):
                answer = client.post(f"{url}/v1/batch", json={"batch": chunk})
                if answer.status_code in (429, 503) and attempt < 4:
                    time.sleep(float(answer.headers.get("Retry-After", "1")))
                    continue
                break
            if answer.status_code != 200:
                raise RefusedError(f"ingest answered {answer.status_code} to /v1/batch: {answer.text[:500]}")
            posted += len(chunk)
    return posted

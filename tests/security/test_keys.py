"""Keys are compared in constant time: `find_key` compares the presented key with every configured key
through hmac.compare_digest, with no early exit on a match or a mismatch, and both services' refusals go
through it. The comparison function is wrapped to count its calls; the comparison itself still runs."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator

import httpx
import pytest

from services.common import auth
from services.common.settings import Settings
from services.handoff.app import create_app as create_handoff
from services.ingest.app import create_app as create_ingest
from tests.conftest import API_KEYS
from tests.support import serve_app

KEYS = [f"key-{i}-{'x' * i}" for i in range(8)]


@pytest.fixture
def comparisons(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bytes, bytes]]:
    seen: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", counting)
    return seen


@pytest.mark.parametrize("presented", [KEYS[0], KEYS[3], KEYS[-1], "nope", "", KEYS[2] + "x", KEYS[2][:-1]])
def test_find_key_compares_with_every_key(presented: str, comparisons: list[tuple[bytes, bytes]]) -> None:
    found = auth.find_key(presented, KEYS)
    assert found == (presented if presented in KEYS else None)
    # as many comparisons for the first key as for the last or for none: no early exit
    assert [b.decode() for _, b in comparisons] == KEYS
    assert all(a == presented.encode() for a, _ in comparisons)


def test_find_key_reads_each_key_once_from_any_iterable(comparisons: list[tuple[bytes, bytes]]) -> None:
    assert auth.find_key(KEYS[1], iter(KEYS)) == KEYS[1]
    assert len(comparisons) == len(KEYS)


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[tuple[str, str, Settings]]:
    many_write_keys = settings.model_copy(update={"write_keys": (*settings.write_keys, *KEYS)})
    async with (
        serve_app(create_ingest(many_write_keys)) as ingest,
        serve_app(create_handoff(settings)) as handoff,
    ):
        yield ingest, handoff, many_write_keys


async def test_services_check_keys_through_find_key(
    services: tuple[str, str, Settings], comparisons: list[tuple[bytes, bytes]]
) -> None:
    ingest, handoff, ingest_settings = services
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"{ingest}/v1/track", auth=("wk_wrong", ""), json={"userId": "u", "event": "e", "type": "track"}
        )
        assert answer.status_code == 401
        assert sorted(b.decode() for a, b in comparisons if a == b"wk_wrong") == sorted(
            ingest_settings.write_keys
        )
        answer = await client.get(f"{handoff}/v1/mqls", headers={"Authorization": "Bearer ak_wrong"})
        assert answer.status_code == 401
        assert sorted(b.decode() for a, b in comparisons if a == b"ak_wrong") == sorted(API_KEYS)

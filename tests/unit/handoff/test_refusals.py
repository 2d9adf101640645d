"""Refusals of the layers below the console (accounts, sign-on, webhook URLs) worded in the viewer's
language from their codes. Which codes exist is read from the code that raises them, so a new refusal
without console words fails here the day it is written."""

from __future__ import annotations

import ast
import ipaddress
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from services.handoff.accounts import AccountError
from services.handoff.console.i18n import Viewer
from services.handoff.console.refusals import WORDS, refusal_text
from services.handoff.webhooks.safety import UnsafeUrl, parse_target, refusal

ROOT = Path(__file__).parents[3] / "services/handoff"
RAISERS = {
    "AccountError",
    "UnknownRole",
    "LockedOut",
    "SignOnRefused",
    "SignInRefused",
    "UnsafeUrl",
    "Unresolvable",
}
JA, EN = Viewer("ja", ZoneInfo("Asia/Tokyo")), Viewer("en", ZoneInfo("Asia/Tokyo"))


def raised_codes() -> set[str]:
    """The codes given to every refusal raised in accounts.py, sso.py, identity.py and webhooks/safety.py."""
    codes = set()
    for name in ("accounts.py", "sso.py", "identity.py", "webhooks/safety.py"):
        for node in ast.walk(ast.parse((ROOT / name).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in RAISERS:
                assert len(node.args) >= 2, f"{name}:{node.lineno}: a refusal without a code"
                code = node.args[1]
                if isinstance(code, ast.Constant):
                    codes.add(code.value)
                elif isinstance(code, ast.IfExp):  # "a" if … else "b"
                    codes |= {code.body.value, code.orelse.value}  # type: ignore[attr-defined]
    return codes


def test_every_refusal_raised_below_the_console_has_console_words() -> None:
    codes = raised_codes()
    assert {"already_has_account", "domain_not_allowed", "credentials", "resolves_to"} <= codes
    assert codes - {""} <= set(WORDS), codes - set(WORDS)


def test_account_refusals_in_both_languages() -> None:
    taken = AccountError(
        "tanaka@example.jp already has an account", "already_has_account", email="tanaka@example.jp"
    )
    assert refusal_text(taken, JA) == "tanaka@example.jp さんのアカウントはすでにあります。"
    assert refusal_text(taken, EN) == "tanaka@example.jp already has an account."
    older = AccountError("something a newer layer says")  # no code: its English, as a sentence
    assert refusal_text(older, JA) == "Something a newer layer says."


@pytest.mark.parametrize(
    ("url", "japanese"),
    [
        ("https://user:secret@hooks.example.com/x", "URLにユーザー名やパスワードは含められません"),
        ("https://hooks.example.com/x#part", "（フラグメント）が含まれています"),
        ("http://hooks.example.com/x", "https:// のURLだけを受け付けます（開発用には"),
        ("https://intranet/x", "intranet はドットを含まない社内向けの名前です"),
        ("https://db.internal/x", "db.internal は社内ネットワーク向けの名前です"),
    ],
)
def test_webhook_url_refusals_in_japanese(url: str, japanese: str) -> None:
    with pytest.raises(UnsafeUrl) as refused:
        parse_target(url, allow_private=False)
    assert japanese in refusal_text(refused.value, JA)
    assert refusal_text(refused.value, EN).rstrip(".") == str(refused.value)


def test_an_address_refusal_names_its_kind_in_japanese() -> None:
    kind, english = refusal(ipaddress.ip_address("169.254.169.254")) or ("", "")
    refused = UnsafeUrl(
        english, "resolves_to", host="metadata.example.com", address="169.254.169.254", kind=kind
    )
    said = refusal_text(refused, JA)
    assert said.startswith("metadata.example.com の宛先 169.254.169.254 はリンクローカル（")
    assert said.endswith("）アドレスです")

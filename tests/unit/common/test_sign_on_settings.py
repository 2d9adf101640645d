"""Single sign-on and proxy settings: read from the environment's strings, and refused when incomplete."""

from __future__ import annotations

import pytest

from services.common.settings import SettingsError, load_settings

ISSUER = {"oidc_issuer": "https://accounts.google.com", "oidc_client_id": "leadstate.apps"}


def test_sign_on_settings_are_read_from_strings() -> None:
    settings = load_settings(
        **ISSUER,
        oidc_allowed_domains="Acme.test, @acme.co.jp",
        oidc_roles='{"crm-admins": "admin", "sales": "sales"}',
        oidc_default_role="sales",
        trusted_proxies="10.0.0.0/8, 127.0.0.1",
    )
    assert settings.oidc_allowed_domains == ("acme.test", "acme.co.jp")
    assert settings.oidc_roles == {"crm-admins": "admin", "sales": "sales"}
    assert settings.trusted_proxies == ("10.0.0.0/8", "127.0.0.1")


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({**ISSUER}, "LEADSTATE_OIDC_ALLOWED_DOMAINS must be set with LEADSTATE_OIDC_ISSUER"),
        (
            {"oidc_issuer": "https://idp.example", "oidc_allowed_domains": "*"},
            "LEADSTATE_OIDC_CLIENT_ID must",
        ),
        ({**ISSUER, "oidc_issuer": "idp.example", "oidc_allowed_domains": "*"}, "https:// address"),
        (
            {**ISSUER, "oidc_allowed_domains": "*", "oidc_roles": '{"x": "boss"}'},
            "OIDC_ROLES.*'sales', 'marketing' or 'admin'",
        ),
        ({**ISSUER, "oidc_allowed_domains": "*", "oidc_roles": "[1]"}, "JSON object of claim value -> role"),
        ({"trusted_proxies": "10.0.0.0/33"}, "LEADSTATE_TRUSTED_PROXIES"),
    ],
)
def test_incomplete_or_wrong_sign_on_settings_are_refused(overrides: dict[str, str], says: str) -> None:
    with pytest.raises(SettingsError, match=says):
        load_settings(**overrides)

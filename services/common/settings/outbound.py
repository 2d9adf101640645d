"""What the handoff calls out to: webhook receivers (CRMs, chat) and the qualifier's API."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings


class OutboundSettings(BaseSettings):
    # Webhooks (services/handoff/webhooks/): the dispatcher's consumer group defaults to
    # "<handoff group>-webhooks"; private addresses and plain http are for local development only.
    webhook_group: str | None = None
    webhook_allow_private: bool = False
    webhook_timeout_s: float = Field(10.0, gt=0, le=60)
    webhook_retry_window_s: float = Field(86400.0, gt=0, description="retries stop this long after the event")
    webhook_backoff_base_s: float = Field(5.0, gt=0)
    webhook_backoff_max_s: float = Field(3600.0, gt=0)
    webhook_disable_after_s: float = Field(
        5 * 86400.0, gt=0, description="an endpoint failing continuously this long is disabled"
    )
    webhook_rotation_grace_s: float = Field(86400.0, ge=0, description="the old secret still signs")
    webhook_concurrency: int = Field(32, ge=1, le=1000)
    webhook_poll_s: float = Field(1.0, gt=0)
    webhook_sla_check_s: float = Field(60.0, gt=0, description="how often chat SLA reminders are looked for")
    console_url: str | None = None  # the console's public address, for links in chat alerts
    # The handoff reads the qualifier's API (services/handoff/qualifier_client.py): a lead's timeline for
    # the console with the key below, the policy lab's jobs with the caller's own key.
    qualifier_url: str | None = Field(None, pattern=r"^https?://[^\s/]+(/[^\s]*)?$", description="its API")
    qualifier_api_key: SecretStr | None = Field(
        None, description="the console's key there (mql:read; reports:read for suggestions)"
    )
    qualifier_timeout_s: float = Field(3.0, gt=0, le=60, description="one call, retries included")

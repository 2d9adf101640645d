"""No Docker engine here: check compose.yaml against the code instead (commands and settings exist)."""

from __future__ import annotations

from pathlib import Path

import yaml

from services.cli import build_parser
from services.common.settings import ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parents[3]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_every_leadstate_service_runs_a_real_subcommand() -> None:
    services = _compose()["services"]
    subcommands = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    built = {name: svc for name, svc in services.items() if "build" in svc}
    assert set(built) == {"migrate", "ingest", "qualifier", "handoff"}
    for name, svc in built.items():
        assert svc["command"][0] in subcommands, f"{name}: {svc['command']} is not a leadstate sub-command"
        build_parser().parse_args(svc["command"])  # its flags parse too


def test_every_variable_compose_sets_is_a_real_setting() -> None:
    fields = {f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields}
    for name, svc in _compose()["services"].items():
        for variable in svc.get("environment", {}) if "build" in svc else {}:
            assert variable in fields, f"{name} sets {variable}, which no setting reads"


def test_services_wait_for_healthy_infrastructure_and_migrations() -> None:
    services = _compose()["services"]
    for name in ("ingest", "qualifier", "handoff"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert "healthcheck" in services[name]
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"


def test_a_service_that_dies_is_restarted() -> None:
    services = _compose()["services"]
    for name in ("ingest", "qualifier", "handoff"):
        assert services[name]["restart"] in ("unless-stopped", "always", "on-failure"), name

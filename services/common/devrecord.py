"""What a `leadstate dev` run started, kept in LEADSTATE_DATA_DIR/dev-stack.json while it runs: its own
process, the services', the broker's and PostgreSQL's (pid, start time, command line), the ports, the
database URL and the broker's bootstrap. Two readers: the next `leadstate dev` of this data dir, to
reclaim what a crashed run left behind, and every other CLI command, to use the running stack's
database and broker without being told."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from .processes import ProcessId
from .settings import Settings, SettingsError

RECORD_FILE = "dev-stack.json"

# What a CLI command may need from the infrastructure (argparse default `needs` of its sub-parser).
DATABASE, BROKER, URLS = "database", "broker", "urls"


@dataclass(frozen=True, kw_only=True)
class DevRecord:
    owner: ProcessId
    data_dir: str
    host: str
    ports: dict[str, int]
    database_url: str | None = None
    bootstrap: str | None = None
    broker_kind: str | None = None
    policy_path: str | None = None
    status: str = "starting"
    processes: dict[str, ProcessId] = field(default_factory=dict)

    def with_process(self, name: str, pid: int | None) -> DevRecord:
        found = ProcessId.of(pid) if pid else None
        processes = {k: v for k, v in self.processes.items() if k != name}
        if found is not None:
            processes[name] = found
        return replace(self, processes=processes)

    def to_json(self) -> dict[str, object]:
        return {
            **{k: v for k, v in self.__dict__.items() if k not in ("owner", "processes")},
            "owner": self.owner.to_json(),
            "processes": {name: proc.to_json() for name, proc in self.processes.items()},
        }

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> DevRecord:
        procs = raw.get("processes") or {}
        return cls(
            **{k: v for k, v in raw.items() if k not in ("owner", "processes")},  # type: ignore[arg-type]
            owner=ProcessId.from_json(raw["owner"]),  # type: ignore[arg-type]
            processes={n: ProcessId.from_json(p) for n, p in procs.items()},  # type: ignore[attr-defined]
        )


def record_path(data_dir: Path) -> Path:
    return data_dir / RECORD_FILE


def write_record(data_dir: Path, record: DevRecord) -> None:
    """Atomically (a reader never sees half a file), readable by this user only: it may hold a password."""
    path = record_path(data_dir)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(record.to_json(), out, indent=2)
    os.replace(tmp, path)


def read_record(data_dir: Path) -> DevRecord | None:
    try:
        return DevRecord.from_json(json.loads(record_path(data_dir).read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove_record(data_dir: Path) -> None:
    record_path(data_dir).unlink(missing_ok=True)


def running_stack(data_dir: Path) -> DevRecord | None:
    """The record of the `leadstate dev` running now on this data dir, if there is one."""
    record = read_record(data_dir.resolve())
    return record if record is not None and record.owner.alive() else None


def attach_dev_stack(settings: Settings, needs: tuple[str, ...]) -> Settings:
    """Fill what the command needs and the environment does not say from the running dev stack;
    without one, SettingsError naming the variable to set. Explicit settings always win."""
    if not needs:
        return settings
    record = running_stack(settings.data_dir)
    updates: dict[str, object] = {}
    if record is not None:
        if settings.database_url is None and record.database_url:
            updates["database_url"] = record.database_url
        if settings.kafka_bootstrap is None and record.bootstrap:
            updates["kafka_bootstrap"] = record.bootstrap
        if "policy_path" not in settings.model_fields_set and record.policy_path:
            updates["policy_path"] = Path(record.policy_path)
        if URLS in needs:
            for name, port in record.ports.items():
                field_name = f"{name}_port"
                if field_name in Settings.model_fields and field_name not in settings.model_fields_set:
                    updates[field_name] = port
    attached = settings.model_copy(update=updates)
    where = f"no `leadstate dev` is running with data in {settings.data_dir.resolve()} (LEADSTATE_DATA_DIR)"
    if DATABASE in needs and attached.database_url is None:
        raise SettingsError(f"LEADSTATE_DATABASE_URL: not set, and {where}; start `make run` or set it")
    if BROKER in needs and attached.kafka_bootstrap is None:
        raise SettingsError(f"LEADSTATE_KAFKA_BOOTSTRAP: not set, and {where}; start `make run` or set it")
    return attached

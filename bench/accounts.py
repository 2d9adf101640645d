"""What account folding costs the qualifier: the same demo drain (bench/qualifier.py `drain`) under the
default policy and under the same policy without its account rules and roles (then no lead is noted as
a member and no account row is read or written), in turns. The machine is shared, so the figure is
CPU, not wall time: events per CPU second of the qualifier process plus PostgreSQL, from the first
commit on. `python -m bench.accounts [--events N] [--rounds R]`; needs no running stack.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import yaml

from .infra import Infra, start_infra
from .qualifier import drain

DEFAULT_POLICY = Path(__file__).resolve().parent.parent / "policies" / "default.yaml"


def without_accounts(path: Path, out_dir: Path) -> Path:
    """The policy with no account rules and no roles: the qualifier's account fold is then off."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document.pop("account_rules", None)
    document.pop("accounts", None)
    out = out_dir / "no-accounts.yaml"
    out.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return out


def cpu_rate(infra: Infra, policy: Path, events: int, seed: int) -> dict[str, Any]:
    """One drain under `policy`: events per CPU second (qualifier + PostgreSQL) and the parts."""
    plain = infra.service_env

    def with_policy(*args: Any, **kwargs: Any) -> dict[str, str]:
        return {**plain(*args, **kwargs), "LEADSTATE_POLICY_PATH": str(policy)}

    infra.service_env = with_policy  # type: ignore[method-assign]
    try:
        run = drain(infra, events, seed=seed, profile=False)
    finally:
        infra.service_env = plain  # type: ignore[method-assign]
    cores = run["cpu_cores"]
    busy = cores.get("qualifier", 0.0) + cores.get("postgres", 0.0)  # shares of one core
    return {
        "events": run["events"],
        "events_per_s": run["events_per_s"],
        "qualifier_cores": cores.get("qualifier", 0.0),
        "postgres_cores": cores.get("postgres", 0.0),
        "events_per_cpu_s": run["events_per_s"] / busy if busy else float("nan"),
        "qualifier_cpu_ms_per_event": 1000 * cores.get("qualifier", 0.0) / run["events_per_s"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    infra = start_infra()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            policies = {
                "with accounts": DEFAULT_POLICY,
                "lead rules only": without_accounts(DEFAULT_POLICY, Path(tmp)),
            }
            results: dict[str, list[dict[str, Any]]] = {name: [] for name in policies}
            for round_ in range(args.rounds):
                for name, path in policies.items():
                    result = cpu_rate(infra, path, args.events, seed=40 + round_)
                    results[name].append(result)
                    print(f"round {round_ + 1}, {name}: {_line(result)}", flush=True)
    finally:
        infra.stop()
    best = {name: max(r["events_per_cpu_s"] for r in runs) for name, runs in results.items()}
    ratio = best["with accounts"] / best["lead rules only"]
    print(f"best events per CPU second: {best}; with accounts / lead rules only = {ratio:.2f}")


def _line(r: dict[str, Any]) -> str:
    return (
        f"{r['events']:,} events, {r['events_per_s']:,.0f} events/s wall, "
        f"qualifier {r['qualifier_cores']} cores, "
        f"postgres {r['postgres_cores']} cores, {r['events_per_cpu_s']:,.0f} events per CPU s, "
        f"qualifier {r['qualifier_cpu_ms_per_event']:.3f} CPU ms/event"
    )


if __name__ == "__main__":
    main()

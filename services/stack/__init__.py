"""The one place above the services that knows all three: which app each `leadstate` sub-command
starts (`commands`) and which OpenAPI documents are generated (`contracts`).

Import rule (checked by tests/unit/test_imports.py): `services/common/` imports no service, a service
imports no other service, and nothing under `services/` imports in a circle; only `services/cli.py`
and this package may name every service.
"""

"""The policy core stays pure: standard library, PyYAML and RE2 only, and never the clock."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

POLICY_DIR = Path(__file__).resolve().parents[4] / "services" / "common" / "policy"
ALLOWED = set(sys.stdlib_module_names) | {"yaml", "re2"}


def _modules():
    for path in sorted(POLICY_DIR.glob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"))


def test_policy_core_imports_only_the_standard_library_yaml_and_re2():
    for path, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                roots = [(node.module or "").split(".")[0]]
            else:
                continue
            assert set(roots) <= ALLOWED, f"{path.name} imports {roots}"


def test_policy_core_never_reads_the_clock_or_files():
    forbidden = {"now", "utcnow", "today", "time", "open", "read_text", "monotonic", "perf_counter"}
    for path, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                assert name not in forbidden, f"{path.name}:{node.lineno} calls {name}()"

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


SERVICES_DIR = POLICY_DIR.parents[1]
YAML_READER = POLICY_DIR / "yaml_reader.py"


def test_yaml_is_read_only_by_the_policy_loader_in_all_of_services() -> None:
    """Every policy, wherever it comes from, is parsed by the one loader that refuses aliases and
    oversized shapes: no other module of services/ may import PyYAML (its safe_load expands aliases)."""
    for path in sorted(SERVICES_DIR.rglob("*.py")):
        if path == YAML_READER:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            assert not any(n.split(".")[0] == "yaml" for n in names), f"{path} imports {names}"


def test_user_written_patterns_never_reach_a_backtracking_engine() -> None:
    """In the core, `re` only ever compiles a pattern written in the code (a string literal), and
    fnmatch is not used at all: patterns from the policy go through patterns.py (RE2)."""
    for path, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert "fnmatch" not in names, f"{path.name} uses fnmatch"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner = node.func.value
                if isinstance(owner, ast.Name) and owner.id == "re" and node.args:
                    pattern = node.args[0]
                    assert isinstance(pattern, ast.Constant) and isinstance(pattern.value, str), (
                        f"{path.name}:{node.lineno}: re.{node.func.attr} on a pattern not written in the code"
                    )

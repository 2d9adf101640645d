"""Reading a policy's YAML text as untrusted input: bounded before anything is expanded, with a line for
every path, and every problem collected as an issue rather than raised.

`yaml.safe_load` is safe from code execution, not from size: nine levels of anchors in 458 bytes
expand into 387 million strings (the "billion laughs"). A policy needs no anchor and no tag, so the
composer here refuses anchors, aliases and explicit tags outright, and bounds the depth, the number
of values, the entries of each list or mapping and the length of each value while it reads, event by
event: a hostile document is refused after at most `MAX_NODES` values, whatever it would grow into.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.events import AliasEvent, ScalarEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .limits import MAX_DEPTH, MAX_DOCUMENT_BYTES, MAX_NODES, MAX_SCALAR_CHARS, collection_limit
from .model import PolicyIssue

TAGS_REFUSED = "explicit tags (!!timestamp, !name) are not allowed in a policy: write the plain value"
ANCHORS_REFUSED = (
    "anchors and aliases (&name, *name) are not allowed in a policy: write each value out "
    "(a policy is read by people, and an alias can expand without bound)"
)


class Refused(yaml.YAMLError):
    """The document is larger or deeper than a policy may be; `line` is 1-based."""

    def __init__(self, line: int, path: str, message: str) -> None:
        super().__init__(message)
        self.line, self.path, self.message = line, path, message


class PolicyLoader(yaml.SafeLoader):
    """SafeLoader whose composer refuses anchors, aliases and oversized shapes as it reads."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._paths: list[str] = []
        self._nodes = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        event = self.peek_event()
        line = event.start_mark.line + 1
        path = self._child_path(parent, index, line)
        if isinstance(event, AliasEvent) or getattr(event, "anchor", None) is not None:
            raise Refused(line, path, ANCHORS_REFUSED)
        if getattr(event, "tag", None) is not None:
            raise Refused(line, path, TAGS_REFUSED)
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise Refused(line, path, f"the document holds more than {MAX_NODES} values; a policy is smaller")
        if len(self._paths) >= MAX_DEPTH:
            raise Refused(line, path, f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(event, ScalarEvent) and len(event.value) > MAX_SCALAR_CHARS:
            raise Refused(
                line, path, f"a value of {len(event.value)} characters (at most {MAX_SCALAR_CHARS})"
            )
        self._paths.append(path)
        try:
            return super().compose_node(parent, index)  # type: ignore[return-value]
        finally:
            self._paths.pop()

    def _child_path(self, parent: Node | None, index: Any, line: int) -> str:
        """The path of the node about to be composed; refuses it when its collection is full."""
        if parent is None or not self._paths:
            return ""
        here = self._paths[-1]
        if isinstance(parent, SequenceNode):
            _check_size(here, len(parent.value), line)
            return f"{here}[{index}]"
        if index is None:  # a mapping's key
            _check_size(here, len(parent.value), line)
            return here
        key = index.value if isinstance(index, ScalarNode) else "?"
        return f"{here}.{key}" if here else str(key)


def _check_size(path: str, entries: int, line: int) -> None:
    limit, noun = collection_limit(path)
    if entries >= limit:
        raise Refused(line, path, f"more than {limit} {noun}; at most {limit} are allowed in one policy")


def parse_yaml(text: str) -> tuple[Any, dict[str, int], list[PolicyIssue]]:
    """The data, a map `path -> 1-based line`, and any size, syntax or duplicate-key issues."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_DOCUMENT_BYTES:
        message = f"the document is {size} bytes; a policy is at most {MAX_DOCUMENT_BYTES} bytes"
        return None, {}, [PolicyIssue(line=1, path="", message=message)]
    loader: PolicyLoader | None = None
    try:
        loader = PolicyLoader(text)  # its reader refuses control characters here, before parsing
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except Refused as exc:
        return None, {}, [PolicyIssue(line=exc.line, path=exc.path, message=exc.message)]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else _line_at(text, getattr(exc, "position", None))
        problem = getattr(exc, "problem", None) or str(exc)
        return None, {}, [PolicyIssue(line=line, path="", message=f"invalid YAML: {problem}")]
    except (MemoryError, SystemError):
        raise  # the process ran out of memory (a caller's cap), not a value of the document's
    except Exception as exc:  # a scalar the constructor cannot turn into a value (e.g. 2026-02-30)
        return None, {}, [PolicyIssue(line=1, path="", message=f"invalid YAML value: {exc}")]
    finally:
        if loader is not None:
            loader.dispose()
    lines: dict[str, int] = {"": 1}
    issues: list[PolicyIssue] = []
    if node is not None:
        _walk(node, "", lines, issues)
    return data, lines, issues


def _line_at(text: str, position: int | None) -> int:
    return text.count("\n", 0, position) + 1 if isinstance(position, int) else 1


def _walk(node: Node, path: str, lines: dict[str, int], issues: list[PolicyIssue]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = f"{path}.{key}" if path else key
            if key in seen:
                issues.append(
                    PolicyIssue(
                        line=key_node.start_mark.line + 1, path=child, message=f"duplicate key {key!r}"
                    )
                )
            seen.add(key)
            lines[child] = key_node.start_mark.line + 1
            _walk(value_node, child, lines, issues)
    elif isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, f"{path}[{i}]", lines, issues)


def flow_yaml(value: Any) -> str:
    """`value` as one line of YAML flow style (the policy advisor writes patched `when:` entries with it):
    this module is the only one that imports PyYAML."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000, sort_keys=False)
    return text.strip().removesuffix("...").strip()


def read_yaml(text: str) -> Any:
    """The data of a document through the bounded reader; ValueError naming the first issue."""
    data, _lines, issues = parse_yaml(text)
    if issues:
        raise ValueError(f"line {issues[0].line}: {issues[0].message}")
    return data

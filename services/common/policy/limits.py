"""How large a policy may be: a candidate policy comes from any key that may read reports, so its size
and shape are bounded before anything expands it.

A real policy is a page or two that sales and marketing review together (the default one is about 9 KB
with 5 rules); every bound here is far above that and far below what could hurt the process reading it.
"""

from __future__ import annotations

MAX_DOCUMENT_BYTES = 256 * 1024
MAX_DEPTH = 24  # mapping/list levels; the deepest real path is ~12 (any_of inside all_of inside a rule)
MAX_NODES = 50_000  # values of any kind: bounds the parser's memory whatever the document's bytes
MAX_ITEMS = 1_000  # entries of any one list or mapping not named below
MAX_SCALAR_CHARS = 2_000  # one value (a description is a paragraph)
MAX_RULES = 200
MAX_TOPICS = 500
MAX_ASSETS = 5_000
MAX_PATTERNS = 1_000  # title patterns, and path globs, each counted over the whole policy
MAX_PATTERN_CHARS = 200

# Collections with a bound of their own (path -> (bound, what one entry is called)).
COLLECTION_LIMITS = {
    "rules": (MAX_RULES, "rules"),
    "account_rules": (MAX_RULES, "account rules"),
    "topics": (MAX_TOPICS, "topics"),
    "assets": (MAX_ASSETS, "assets"),
}


def collection_limit(path: str) -> tuple[int, str]:
    return COLLECTION_LIMITS.get(path, (MAX_ITEMS, "entries"))

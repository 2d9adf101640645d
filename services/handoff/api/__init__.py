"""The handoff's HTTP API: routes are thin; queries and the decision unit of work live one level up."""

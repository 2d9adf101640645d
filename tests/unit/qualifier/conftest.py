"""The shipped policy, as the policy core's tests load it."""

from tests.unit.common.policy.conftest import policy  # noqa: F401

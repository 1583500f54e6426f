"""The graph tests share the agent tests' fixtures (fixture repository, local provider, clean environment)."""

from collections.abc import Iterator

import pytest

from tests.agent.conftest import agent_env, fixture_repo, provider, runtime_cleanup  # noqa: F401
from tests.daytona.conftest import daytona_server  # noqa: F401 - the Daytona test server, for test_daytona_task


@pytest.fixture(autouse=True)
def _clean_agent_env(agent_env: None) -> Iterator[None]:  # noqa: F811
    """Every graph test runs with the default settings, whatever the developer's environment or .env says."""
    yield

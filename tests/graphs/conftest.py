"""The graph tests share the agent tests' fixtures (fixture repository, local provider, clean environment)."""

from tests.agent.conftest import agent_env, fixture_repo, provider, runtime_cleanup  # noqa: F401

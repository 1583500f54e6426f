"""The chat-UI tests run against the same real server and scripted model as the service's end-to-end tests."""

from tests.service.conftest import new_repo, scripted_model, service  # noqa: F401

"""An in-process, tool-calling fake chat model for unit tests, driven by the same POLICY functions as the scripted
OpenAI-compatible server (tests/support/scripted_openai.py).

    model = FakeChatModel(policy)          # policy(request: ChatRequest) -> Reply
    config = {"configurable": {"chat_model": model, ...}}

The messages and tools are converted to the OpenAI wire format exactly as `ChatOpenAI` would send them, and the
reply is parsed with langchain-openai's own parser, so malformed tool calls (broken JSON) become `invalid_tool_calls`
just as over HTTP. `Reply.http_error(...)` raises `FakeModelError`. `model.requests` records every request and
`model.prompt_tokens` the approximate size of each prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import BaseTool
from langchain_openai.chat_models.base import _convert_dict_to_message, _convert_message_to_dict
from pydantic import ConfigDict, Field, PrivateAttr

from tests.support.scripted_openai import ChatRequest, Policy, completion_body


class FakeModelError(RuntimeError):
    """The policy asked for an HTTP error."""


class FakeChatModel(BaseChatModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    policy: Any = Field(repr=False)
    tools: list[dict[str, Any]] = Field(default_factory=list, repr=False)
    requests: list[ChatRequest] = Field(default_factory=list, repr=False)
    prompt_tokens: list[int] = Field(default_factory=list, repr=False)
    """The approximate size (messages + tool schemas) of every prompt received."""

    @property
    def _llm_type(self) -> str:
        return "fake-tool-calling"

    _bound: dict[tuple[int, ...], FakeChatModel] = PrivateAttr(default_factory=dict)

    def bind_tools(self, tools: Sequence[Any], **_: Any) -> FakeChatModel:
        """A copy that sees `tools` (cached per tool list, as ChatOpenAI's binding reuses one client)."""
        key = tuple(id(t) for t in tools)
        bound = self._bound.get(key)
        if bound is None:
            bound = self._bound[key] = self.model_copy(
                update={"tools": list(tools), "requests": self.requests, "prompt_tokens": self.prompt_tokens}
            )
        return bound

    def _reply(self, messages: list[BaseMessage]) -> ChatResult:
        request = ChatRequest(messages=[_convert_message_to_dict(m) for m in messages], tools=self.tools, model="fake")
        self.requests.append(request)
        tools: list[BaseTool | dict[str, Any]] = list(self.tools)
        self.prompt_tokens.append(count_tokens_approximately(messages, tools=tools or None))
        reply = self.policy(request)
        if reply.status != 200:
            raise FakeModelError(f"HTTP {reply.status}: {reply.error}")
        body = completion_body(reply, request)
        message = _convert_dict_to_message(body["choices"][0]["message"])
        assert isinstance(message, AIMessage)
        usage = body["usage"]
        message.usage_metadata = {
            "input_tokens": usage["prompt_tokens"],
            "output_tokens": usage["completion_tokens"],
            "total_tokens": usage["total_tokens"],
        }
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **_: Any,
    ) -> ChatResult:
        return self._reply(messages)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **_: Any,
    ) -> ChatResult:
        return self._reply(messages)


def fake_model(policy: Policy) -> FakeChatModel:
    return FakeChatModel(policy=policy)

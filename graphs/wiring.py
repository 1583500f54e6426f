"""The graph builder every graph here uses: a `StateGraph` whose nodes keep the role models'
conversations off LangGraph's `messages` stream mode (see agent/conversation.py), so chat UIs show only the
graph's own conversation."""

from __future__ import annotations

import inspect
from typing import Any, Self

from langgraph.graph import StateGraph

from agent.conversation import quiet_conversations


class AgentGraph(StateGraph):
    # The overloads of StateGraph.add_node are all served by this one signature; only named async nodes are wrapped.
    def add_node(self, node: Any, action: Any = None, **kwargs: Any) -> Self:
        if isinstance(node, str) and inspect.iscoroutinefunction(action):
            action = quiet_conversations(action)
        return super().add_node(node, action, **kwargs)

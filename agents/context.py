"""What every agent's graph runs with: a typed LangGraph runtime context.

Nodes take `runtime: Runtime[AgentContext]` and read `runtime.context.deps`; `run` functions pass
`context=AgentContext(deps)` to `invoke`. State carries what flows between nodes; dependencies never
travel in it, nor in a config dict. `straight_line` builds the graphs that are one step after another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from langgraph.graph import END, START, StateGraph

from agents.deps import Deps


@dataclass(frozen=True)
class AgentContext:
    deps: Deps


def straight_line(state: type, *steps: Callable):
    """A compiled graph that runs `steps` (nodes named after their functions) one after another."""
    g = StateGraph(state, context_schema=AgentContext)
    for fn in steps:
        g.add_node(fn.__name__, fn)
    names = [START, *(fn.__name__ for fn in steps), END]
    for a, b in zip(names, names[1:]):
        g.add_edge(a, b)
    return g.compile()

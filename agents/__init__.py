"""Agent logic: LangGraph graphs and pure steps. Never imports Celery.

An agent is `run(message, deps) -> list[Message]`: it reads and writes the
stores through `deps` and returns the messages to send on.
"""

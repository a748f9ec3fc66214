"""Celery: the app, the thin tasks around the agents, and process start-up."""

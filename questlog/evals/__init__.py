"""Evaluation commands: retrieval on BEIR folders, stance and rationale on evidence JSONL."""

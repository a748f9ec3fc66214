"""Scholarly sources, each behind the one `Source` interface (base.py)."""

"""Offline training and data preparation for questlog's models (never imported by the services)."""

"""Servers on 127.0.0.1 that replay real scholarly-API data, for the demo, benchmarks and tests."""

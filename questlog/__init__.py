"""questlog: the command line, the process supervisor, the demo and the benchmarks."""

__version__ = "0.1.0"

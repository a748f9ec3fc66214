"""Embedding and indexing steps between the reader and the linker."""

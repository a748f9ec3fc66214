"""The evidence-linker: finds passages that bear on open questions and records the links."""

"""The Python side of examples/research.flow."""

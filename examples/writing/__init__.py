"""The Python side of examples/revise.flow."""

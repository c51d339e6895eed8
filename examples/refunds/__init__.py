"""The Python side of examples/refund.flow."""

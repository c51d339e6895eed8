"""Lowering a checked AST to the IR (lowering.py) and the compiled-IR cache."""

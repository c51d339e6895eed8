"""Diagnostics: the Diagnostic data, the one code registry (codes.py), the
catalogue of examples, suppression comments and the output renderers."""

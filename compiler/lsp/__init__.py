"""``fermata lsp``: a language server for `.flow` files.

Layers, each importable without the next:

- ``positions.py``: the compiler's 1-based code-point columns <-> LSP's
  0-based UTF-16 positions (no dependencies);
- ``recovery.py``: analysis of text that does not parse (syntax error
  recovery for the editor);
- ``analysis.py``: one document version -> diagnostics plus an index of
  definitions, references, scopes and types, built once per version;
- ``features.py``: hover, definition, references, rename, completion,
  symbols, semantic tokens and code actions, as plain functions of an
  analysis (plain data in, plain data out: testable without a server);
- ``server.py``: the pygls server wiring requests to ``features.py``; the
  only module that imports ``pygls``/``lsprotocol`` (the ``lsp`` extra).

Nothing here imports the runtime: the server analyses specs, never runs them.
"""

"""The VS Code extension's files: valid JSON, consistent with each other,
TextMate regexes that compile, scope names that follow the conventions; and,
where node and the extension's npm packages are installed, the grammar
tokenised by the real engine (editors/vscode/test/grammar.test.js)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fermata.compiler.syntax.ast import KEYWORDS

EXTENSION = Path(__file__).resolve().parents[3] / "editors" / "vscode"
GRAMMAR = json.loads((EXTENSION / "syntaxes" / "fermata.tmLanguage.json").read_text(encoding="utf-8"))
PACKAGE = json.loads((EXTENSION / "package.json").read_text(encoding="utf-8"))
# The first part of every scope name, from TextMate's naming conventions.
ROOTS = {"comment", "constant", "entity", "invalid", "keyword", "markup", "meta", "storage", "string",
         "support", "variable", "punctuation", "source"}


def _rules(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _rules(value)
    elif isinstance(node, list):
        for value in node:
            yield from _rules(value)


def test_the_package_points_at_files_that_exist():
    (language,) = PACKAGE["contributes"]["languages"]
    (grammar,) = PACKAGE["contributes"]["grammars"]
    assert language["extensions"] == [".flow"]
    assert grammar["scopeName"] == GRAMMAR["scopeName"] == "source.fermata"
    for relative in (language["configuration"], grammar["path"], PACKAGE["main"]):
        assert (EXTENSION / relative).is_file(), relative
    json.loads((EXTENSION / language["configuration"]).read_text(encoding="utf-8"))


def test_every_regex_compiles_and_every_scope_is_conventional():
    for rule in _rules(GRAMMAR):
        for key in ("match", "begin", "end"):
            if isinstance(rule.get(key), str):
                re.compile(rule[key])  # these patterns use no Oniguruma-only syntax
        name = rule.get("name")
        if isinstance(name, str) and "." in name:
            assert name.split(".")[0] in ROOTS, name
            assert name.endswith(".fermata"), name


def test_every_include_names_a_repository_rule():
    for rule in _rules(GRAMMAR):
        include = rule.get("include")
        if isinstance(include, str) and include.startswith("#"):
            assert include[1:] in GRAMMAR["repository"], include


def test_every_keyword_of_the_language_is_highlighted():
    text = json.dumps(GRAMMAR)
    missing = [k for k in sorted(KEYWORDS) if not re.search(rf"[(|]{k}[|)]", text)]
    assert missing == []


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("node") is None or not (EXTENSION / "node_modules" / "vscode-textmate").is_dir(),
                    reason="needs node and `npm install` in editors/vscode")
def test_the_real_textmate_engine_tokenises_examples():
    result = subprocess.run(["node", "--test", "test/"], check=False, cwd=EXTENSION, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr

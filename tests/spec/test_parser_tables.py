"""spec/parser_tables.py: the pre-built LALR tables must come from the
current grammar and parse exactly as tables built from it do."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fermata.compiler.syntax import parser as parser_module
from fermata.compiler.syntax.grammar import (
    build_from_grammar,
    fast_tables,
    grammar_sha256,
    lark_parser,
    with_contextual_keywords,
)
from fermata.spec import fast_tables as prebuilt_fast_tables
from fermata.spec import parser_tables

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*ROOT.glob("examples/*.flow"), *ROOT.glob("spec/diagnostics/*.flow")])


def test_tables_were_built_from_the_current_grammar():
    for tables in (parser_tables, prebuilt_fast_tables):
        assert grammar_sha256() == tables.GRAMMAR_SHA256, (
            "run `python scripts/gen_parser_tables.py` after changing spec/fermata.lark")


def test_the_fast_tables_are_the_lark_tables_in_the_fast_paths_form():
    assert fast_tables(lark_parser()) == prebuilt_fast_tables.TABLES


def test_stale_fast_tables_are_rebuilt_from_the_grammar(monkeypatch):
    text = (ROOT / "examples" / "refund.flow").read_text()
    expected = parser_module.parse(text)
    monkeypatch.setattr(prebuilt_fast_tables, "GRAMMAR_SHA256", "stale")
    parser_module.lexer_and_driver.cache_clear()
    try:
        assert parser_module.parse(text) == expected
    finally:
        parser_module.lexer_and_driver.cache_clear()


@pytest.mark.slow
def test_generation_is_byte_stable_across_hash_seeds():
    # Lark walks sets whose order follows string hashing; the generator's
    # canonical numbering must make that invisible, or every grammar change
    # would rewrite thousands of unrelated lines.
    script = ROOT / "scripts/gen_parser_tables.py"
    for seed in ("1", "2"):
        result = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True,
                                env={**os.environ, "PYTHONHASHSEED": seed})
        assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_the_generator_check_agrees():
    spec = importlib.util.spec_from_file_location("gen", ROOT / "scripts/gen_parser_tables.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    assert generator.main(["--check"]) == 0


@pytest.mark.slow
@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_loaded_tables_parse_like_freshly_built_ones(path):
    text = path.read_text()
    outcomes = []
    for parser in (lark_parser(), with_contextual_keywords(build_from_grammar())):
        try:
            outcomes.append(parser.parse(text))
        except Exception as error:  # noqa: BLE001 - the failure itself is compared
            outcomes.append((type(error).__name__, getattr(error, "line", None), getattr(error, "column", None)))
    assert outcomes[0] == outcomes[1]

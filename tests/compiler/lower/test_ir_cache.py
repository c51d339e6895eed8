"""The compiled-IR cache: found by source, path, call policy and compiler;
JSON only; damaged entries ignored; and what a cached start-up imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fermata.compiler import CompileError, compile_source, load
from fermata.compiler.lower import ir_cache
from fermata.spec.call_policy import CallPolicy

SPEC = """\
flow ask {
    state {
        ok: bool = false
        n: int = 0
    }
    output ok
    node review {
        let d = interrupt approval "Approve?" expect bool
        set ok = d
        set n = n + 1
    }
    start -> review
    review -> review when not ok
    review -> end otherwise
}
"""

CALLER = """\
flow greet {
    state {
        greeting: str = ""
    }
    node hello {
        let g = call "string:capwords"("a b")
        set greeting = g
    }
    start -> hello
    hello -> end
}
"""


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("FERMATA_IR_CACHE", str(folder))
    return folder


class Compiles:
    """``compile_source`` as ``cached_ir``'s fallback, counting its calls."""

    def __init__(self, text: str, path: str, policy: CallPolicy):
        self.text, self.path, self.policy, self.calls = text, path, policy, 0

    def __call__(self) -> dict[str, Any]:
        self.calls += 1
        return compile_source(self.text, self.path, self.policy)

    def ir(self) -> dict[str, Any] | None:
        return ir_cache.cached_ir(self.text, self.path, self.policy, self)


def test_an_unchanged_spec_is_compiled_once_and_its_cached_ir_is_the_compilers(cache: Path) -> None:
    compiles = Compiles(SPEC, "ask.flow", CallPolicy())
    first, second = compiles.ir(), compiles.ir()
    assert compiles.calls == 1
    assert first == second == compile_source(SPEC, "ask.flow", CallPolicy())
    entries = list(cache.glob("*.json"))
    assert len(entries) == 1
    assert json.loads(entries[0].read_text(encoding="utf-8"))["ir"] == first   # plain JSON, never pickle


@pytest.mark.parametrize("change", ["text", "path", "policy"])
def test_a_changed_text_path_or_policy_is_compiled_again(cache: Path, change: str) -> None:
    Compiles(SPEC, "ask.flow", CallPolicy()).ir()
    other = Compiles(SPEC + "\n" if change == "text" else SPEC, "other.flow" if change == "path" else "ask.flow",
                     CallPolicy.configured(deny=["pkg.*"]) if change == "policy" else CallPolicy())
    assert other.ir() == compile_source(other.text, other.path, other.policy)
    assert other.calls == 1


def test_a_spec_cached_under_one_policy_is_still_refused_by_another(cache: Path, tmp_path: Path) -> None:
    spec = tmp_path / "greet.flow"
    spec.write_text(CALLER, encoding="utf-8")
    load(spec, call_policy=CallPolicy())   # cached: the default policy allows string:capwords
    with pytest.raises(CompileError) as caught:
        load(spec, call_policy=CallPolicy.configured(allow=["mypkg.*"]))
    assert [d.code for d in caught.value.diagnostics] == ["F452"]


def test_a_new_compiler_never_uses_an_older_ones_ir(cache: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    compiler = tmp_path / "compiler"
    compiler.mkdir()
    (compiler / "lower.py").write_text("# v1\n", encoding="utf-8")
    monkeypatch.setattr(ir_cache, "_COMPILER_ROOTS", (compiler,))
    ir_cache.compiler_fingerprint.cache_clear()
    try:
        Compiles(SPEC, "ask.flow", CallPolicy()).ir()
        (compiler / "lower.py").write_text("# v2, edited\n", encoding="utf-8")
        ir_cache.compiler_fingerprint.cache_clear()
        again = Compiles(SPEC, "ask.flow", CallPolicy())
        again.ir()
        assert again.calls == 1
    finally:
        ir_cache.compiler_fingerprint.cache_clear()


def test_the_fingerprint_covers_every_stage_of_the_compiler_and_the_grammar() -> None:
    # Regression: after compiler/ was regrouped by stage the fingerprint
    # covered compiler/lower/ alone, so an edited checker kept old IRs valid.
    from fermata import spec
    from fermata.compiler import checks, syntax

    covered = [*ir_cache._COMPILER_ROOTS, *(Path(p).resolve() for p in spec.__path__)]
    for module in (checks, syntax, ir_cache):
        assert module.__file__ is not None
        assert any(Path(module.__file__).resolve().is_relative_to(root) for root in covered), module
    assert any((root / "fermata.lark").is_file() for root in covered)


@pytest.mark.parametrize("damage", ["", "{not json", "[]", '{"key": "another", "ir": {}}', '{"key": "KEY", "ir": 7}'])
def test_a_damaged_entry_is_ignored_and_rewritten(cache: Path, damage: str) -> None:
    compiles = Compiles(SPEC, "ask.flow", CallPolicy())
    compiles.ir()
    (entry,) = cache.glob("*.json")
    entry.write_text(damage.replace("KEY", entry.stem), encoding="utf-8")
    assert compiles.ir() == compile_source(SPEC, "ask.flow", CallPolicy())
    assert compiles.calls == 2
    assert json.loads(entry.read_text(encoding="utf-8"))["key"] == entry.stem
    compiles.ir()
    assert compiles.calls == 2


def test_a_spec_with_errors_is_not_cached(cache: Path) -> None:
    broken = Compiles(SPEC.replace("set n = n + 1", "set n = nope"), "ask.flow", CallPolicy())
    for _ in range(2):
        with pytest.raises(CompileError):
            broken.ir()
    assert broken.calls == 2 and not list(cache.glob("*.json"))


def test_the_cache_can_be_turned_off_and_an_unwritable_folder_only_costs_the_compilation(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FERMATA_IR_CACHE", "off")
    compiles = Compiles(SPEC, "ask.flow", CallPolicy())
    compiles.ir(), compiles.ir()
    assert compiles.calls == 2
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("FERMATA_IR_CACHE", str(blocker / "cache"))   # under a file: cannot be created
    assert compiles.ir() == compile_source(SPEC, "ask.flow", CallPolicy())


@pytest.mark.slow
def test_resume_from_a_cached_ir_imports_neither_the_compiler_nor_jsonschema_nor_jinja2(
        cache: Path, tmp_path: Path) -> None:
    # Regression (#17): `fermata resume` spent ~300 ms importing the parser,
    # the checker, jsonschema and Jinja2 for a flow that needs none of them.
    spec = tmp_path / "ask.flow"
    spec.write_text(SPEC, encoding="utf-8")
    env = {**os.environ, "FERMATA_IR_CACHE": str(cache)}
    store = f"sqlite:///{tmp_path / 'runs.db'}"

    def fermata(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-X", "importtime", "-m", "fermata.compiler.cli.main", *args,
                               "--store", store], capture_output=True, text=True, cwd=tmp_path, env=env, check=True)

    fermata("run", str(spec), "--thread", "t")
    resumed = fermata("resume", "--thread", "t", "--value", "false")
    imported = {line.rsplit("|", 1)[-1].strip() for line in resumed.stderr.splitlines() if "import time:" in line}
    assert "fermata.runtime.flow" in imported   # the measurement sees what was imported
    heavy = {"fermata.compiler.syntax.parser", "fermata.compiler.pipeline", "fermata.compiler.checks",
             "fermata.compiler.syntax.ast", "jsonschema", "jinja2", "lark",
             # nor what only other commands, or a cache miss, need (runtime/__init__.py is lazy)
             "fermata.runtime.replay", "fermata.runtime.compat", "fermata.runtime.store.memory", "tempfile",
             "traceback", "logging", "fermata.spec.builtins", "fermata.compiler.cli.check",
             # nor what only the type checker or other commands need (#17, runtime/plain.py):
             # dataclasses (with inspect), the record TypedDicts, shutil (argparse's
             # terminal width, with bz2 and lzma), copy
             "dataclasses", "inspect", "fermata.runtime.record_types", "shutil", "bz2", "lzma", "copy"}
    assert imported & heavy == set()

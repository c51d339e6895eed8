"""``fermata.runtime`` and ``fermata.runtime.store`` import their names
lazily (start-up, #17): each name is still there, and is the same object
however the modules were imported."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import fermata.runtime as runtime
import fermata.runtime.store as store


def run_fresh(script: str) -> str:
    """``script``'s stdout, in a process of its own (a clean sys.modules)."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                          timeout=120, check=True)
    return done.stdout.strip()


@pytest.mark.parametrize("package", [runtime, store], ids=lambda p: p.__name__)
def test_every_public_name_is_there(package):
    for name in package.__all__:
        assert getattr(package, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        package.nope   # noqa: B018 - the lookup is the test


def test_importing_a_name_loads_only_its_module():
    loaded = run_fresh("""\
        import sys
        from fermata.runtime import Command
        from fermata.runtime.store import open_store
        print(sorted(m for m in ("fermata.runtime.replay", "fermata.runtime.store.memory") if m in sys.modules))
        """)
    assert loaded == "[]"


def test_replay_is_the_function_even_after_its_module_was_imported():
    # The submodule fermata.runtime.replay and the function replay share a
    # name: importing the module first must not shadow the function.
    kinds = run_fresh("""\
        import fermata.runtime.replay
        import fermata.runtime
        from fermata.runtime import replay
        from fermata.runtime.replay import replay as the_function
        print(type(fermata.runtime.replay).__name__, replay is the_function)
        """)
    assert kinds == "function True"

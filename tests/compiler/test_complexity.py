"""`fermata check` costs about as much as the file is long, in every dimension
fuzzing found quadratic (issue #11, 14): each family's input is checked at
size n and 10n, and 10n may cost at most 20 times n (linear: 10; quadratic:
100). Timed as the best of three runs of the whole check (parse, checks,
suppressions, JSON), with sizes where the small input already takes tens of
milliseconds, so that start-up and noise do not decide the ratio. Where work
can be counted instead (edit distances), it is."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from fermata.compiler.diagnostics import diagnostic as diagnostics
from fermata.compiler.diagnostics.render import render_json
from fermata.compiler.pipeline import analyze


def _check(text: str) -> list[str]:
    analysis = analyze(text, "big.flow")
    render_json(analysis.diagnostics)
    return [d.code for d in analysis.diagnostics]


def _costs(small: str, large: str, rounds: int = 3) -> tuple[float, float]:
    """The best of ``rounds`` runs of each, taken in turns, so that a
    change in the machine's load falls on both."""
    best = [float("inf"), float("inf")]
    for _ in range(rounds):
        for i, text in enumerate((small, large)):
            start = time.perf_counter()
            _check(text)
            best[i] = min(best[i], time.perf_counter() - start)
    return best[0], best[1]


def assert_linear(make: Callable[[int], str], n: int) -> None:
    small_text, large_text = make(n), make(10 * n)
    for _attempt in range(2):   # a second measure before failing: a shared machine's noise
        small, large = _costs(small_text, large_text)
        # A floor for the small cost: a few milliseconds measured are mostly noise.
        if large <= 20 * max(small, 0.005):
            return
    raise AssertionError(f"size x10 cost x{large / small:.1f} ({small:.3f} s -> {large:.3f} s)")


def _one_node(body: str, fields: str = "x: int = 0") -> str:
    return (f"flow f {{\n    state {{\n        {fields}\n    }}\n    node a {{\n{body}\n        set x = 1\n    }}\n"
            "    start -> a\n    a -> end\n}\n")


def integer_literal(n: int) -> str:
    return _one_node(f"        let big = {'9' * n}\n        let _ = big")


def trailing_whitespace(n: int) -> str:
    return _one_node("") + " \t\n" * (n // 3)


def misspelt_names(n: int) -> str:
    """n fields, n `set`s each reading a misspelt field name."""
    fields = "\n        ".join(f"field_{i}: int = 0" for i in range(n))
    body = "\n".join(f"        set field_{i} = fiedl_{(i * 7) % n}" for i in range(n))
    return _one_node(body, fields=fields + "\n        x: int = 0")


def misspelt_fields_and_nodes(n: int) -> str:
    """n fields and nodes; n `set`s of misspelt fields, n edges to misspelt
    nodes, an `output` of n misspelt fields."""
    fields = "".join(f"        field_{i}: int = 0\n" for i in range(n))
    nodes = "".join(f"    node node_{i} {{ set fiedl_{i} = 1 }}\n" for i in range(n))
    edges = "".join(f"    node_{i} -> ndoe_{(i + 1) % n}\n" for i in range(n))
    output = ", ".join(f"fild_{i}" for i in range(n))
    return (f"flow f {{\n    state {{\n{fields}    }}\n    output {output}\n{nodes}"
            f"    start -> node_0\n{edges}}}\n")


def long_misspelt_name(n: int) -> str:
    name = "long" * (n // 4)
    return _one_node(f"        set {name} = 1\n        set x = {name[:-1]}q",
                     fields=f"{name}: int = 0\n        x: int = 0")


def suppressions(n: int) -> str:
    return _one_node("\n".join("        # fermata: ignore[F124]" for _ in range(n)) + "\n        let unused = 1")


def wide_join(n: int) -> str:
    nodes = "".join(f"    node n{i} {{ set x += 1 }}\n" for i in range(n))
    sources = ", ".join(f"n{i}" for i in range(n))
    return (f"flow f {{\n    state {{ x: int = 0 }}\n{nodes}    node t {{ set x = 1 }}\n"
            f"    start -> {sources}\n    {sources} -> t\n    t -> end\n}}\n")


def lets(n: int) -> str:
    return _one_node("        let v0 = 1\n" + "\n".join(f"        let v{i} = v{i - 1}" for i in range(1, n))
                     + f"\n        set x = v{n - 1}")


@pytest.mark.slow
@pytest.mark.parametrize("make, n", [
    (integer_literal, 5_000),       # a traceback over 4,300 digits
    (trailing_whitespace, 20_000),  # 20,000 spaces: minutes
    (misspelt_names, 300),          # 400 names: 14.7 s
    (misspelt_fields_and_nodes, 300),
    (long_misspelt_name, 400),      # 4,000 characters: 12.1 s
    (suppressions, 2_000),          # 20,000: 14.5 s
    (wide_join, 800),               # 8,000-way: 9.9 s
    (lets, 2_000),                  # 20,000: 16.6 s
], ids=lambda value: getattr(value, "__name__", str(value)))
def test_ten_times_the_input_costs_at_most_twenty_times(make: Callable[[int], str], n: int) -> None:
    assert_linear(make, n)


def test_each_family_checks_to_the_findings_it_should():
    # What the families above are made of, so that the timing tests time
    # the work they mean to (and not, say, a syntax error found at once).
    assert _check(integer_literal(5_000)) == ["F010"]
    assert _check(trailing_whitespace(3_000)) == []
    assert set(_check(misspelt_names(20))) == {"F120"}
    assert _check(long_misspelt_name(400)) == ["F120"]
    assert set(_check(misspelt_fields_and_nodes(20))) == {"F101", "F109", "F128"}
    assert _check(suppressions(50)) == []  # all on the `let` below them
    assert _check(wide_join(50)) == []
    assert _check(lets(50)) == []


def test_suggestions_for_a_whole_file_are_bounded(monkeypatch):
    # Counted: n misspelt names among n fields compare at most
    # MAX_COMPARED_PER_FILE candidates in all, however large n is.
    calls = [0]
    real = diagnostics.bounded_edit_distance

    def counting(a: str, b: str, bound: int) -> int | None:
        calls[0] += 1
        return real(a, b, bound)

    monkeypatch.setattr(diagnostics, "bounded_edit_distance", counting)
    found = analyze(misspelt_names(3_000), "big.flow").diagnostics
    assert len(found) == 3_000 and {d.code for d in found} == {"F120"}
    assert calls[0] <= diagnostics.MAX_COMPARED_PER_FILE
    # The first names still get their suggestion.
    assert found[0].help == "did you mean `field_0`?"

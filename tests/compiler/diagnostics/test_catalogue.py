"""The catalogue: fixtures and CODES tables agree, and SARIF rules come out of it."""

from __future__ import annotations

import json

import pytest

from fermata.compiler.diagnostics import catalogue, render
from fermata.compiler.diagnostics.catalogue import (
    Entry,
    catalogue_problems,
    code_tables,
    fixture_header,
    fixtures,
    load_catalogue,
    marked_line,
    rule_name,
    rules_for_sarif,
    strip_header,
)
from fermata.compiler.diagnostics.diagnostic import Diagnostic, Severity
from fermata.compiler.syntax.ast import Span

FIXTURE = """\
# code: F201
# title: node unreachable from `start`
# severity: error
# fix: add an edge into the node

# A comment of the example itself.
flow f {
    node extra {  # <- F201
    }
}
"""


# ------------------------------------------------------------ fixture format


def test_fixture_header():
    assert fixture_header(FIXTURE) == {"code": "F201", "title": "node unreachable from `start`",
                                       "severity": "error", "fix": "add an edge into the node"}


def test_strip_header_keeps_the_example_and_its_own_comments():
    assert strip_header(FIXTURE).startswith("# A comment of the example itself.\nflow f {")


def test_marked_line_from_the_marker_or_the_header():
    assert marked_line(FIXTURE, "F201") == 8
    assert marked_line(FIXTURE, "F202") is None
    assert marked_line("# code: F201\n# line: 3\nflow f {}\n", "F201") == 3
    # `F20` must not match the marker of `F201`.
    assert marked_line(FIXTURE, "F20") is None


# ------------------------------------------------------------ consistency


def _all_codes() -> list[str]:
    codes = set(fixtures())
    for table in code_tables().values():
        codes |= set(table)
    return sorted(codes)


@pytest.mark.parametrize("code", _all_codes())
def test_every_code_has_a_consistent_fixture_and_table_entry(code: str):
    # Fails, naming the code, for a fixture no module reports, a code without
    # a fixture, or a title/severity that differs between the two.
    mine = [p for p in catalogue_problems() if p.startswith(f"{code}:")]
    assert mine == []


def test_known_modules_are_read():
    tables = code_tables()
    assert {"checks.declarations", "checks.graph", "checks.steps", "suppress"} <= set(tables)
    assert "checks.context" not in tables  # no table: not a reporting module


def test_an_entry_merges_the_table_and_the_fixture():
    entry = load_catalogue()["F201"]
    assert entry.title == "node unreachable from `start`"
    assert entry.severity == "error"
    assert entry.module == "checks.graph"
    assert entry.fix and entry.example and "# <- F201" in entry.example


def test_disagreements_are_reported(monkeypatch):
    monkeypatch.setattr(catalogue, "fixtures", lambda: {
        "F201": FIXTURE.replace("severity: error", "severity: warning"),
        "F777": "# code: F777\n# title: t\n# severity: error\n# fix: f\nflow f {}  # <- F777\n",
        "F202": "# code: F203\n# title: x\nflow f {}\n",
    })
    monkeypatch.setattr(catalogue, "code_tables", lambda: {
        "checks.graph": {"F201": ("error", "node unreachable from `start`"),
                         "F202": ("error", "x"), "F300": ("error", "no fixture")},
        "checks.other": {"F201": ("error", "another title")},
    })
    problems = catalogue_problems()
    joined = "\n".join(problems)
    assert "F201: severity 'warning' in the fixture, 'error' in checks.graph.CODES" in problems
    assert "F201: listed differently in checks.graph and checks.other" in problems
    assert "F300: in checks.graph.CODES but has no spec/diagnostics/F300.flow" in problems
    assert "F777: has a fixture but no module's CODES lists it" in problems
    assert "F202: the fixture's header says `# code: F203`" in problems
    assert "F202: the fixture's header has no `# fix:`" in joined
    assert "F202: the fixture marks no line" in joined
    # The module's table wins: it is what users see.
    assert load_catalogue()["F201"].severity == "error"
    assert load_catalogue()["F300"].example is None


# ------------------------------------------------------------ SARIF


def test_rule_name():
    assert rule_name("node unreachable from `start`") == "NodeUnreachableFromStart"
    assert rule_name("`retry` out of range") == "RetryOutOfRange"


def test_rules_for_sarif():
    cat = load_catalogue()
    rules = rules_for_sarif(cat)
    assert [r["id"] for r in rules] == sorted(cat)
    by_id = {r["id"]: r for r in rules}
    rule = by_id["F201"]
    assert rule["name"] == "NodeUnreachableFromStart"
    assert rule["shortDescription"] == {"text": "node unreachable from `start`"}
    assert rule["fullDescription"]["text"]
    assert cat["F201"].fix in rule["help"]["text"] and cat["F201"].fix in rule["help"]["markdown"]
    assert rule["helpUri"].startswith(("https://", "http://"))
    assert rule["helpUri"].endswith("spec/diagnostics.md#f201")
    assert rule["defaultConfiguration"] == {"level": "error"}
    assert by_id["F901"]["defaultConfiguration"] == {"level": "warning"}
    json.dumps(rules)  # plain data


def test_rules_for_sarif_without_a_fix():
    rules = rules_for_sarif({"F300": Entry("F300", "no fixture", "warning", None, None, None)},
                            docs_uri="https://docs.example/diagnostics")
    assert rules[0]["helpUri"] == "https://docs.example/diagnostics#f300"
    assert rules[0]["defaultConfiguration"] == {"level": "warning"}


def test_a_sarif_log_points_results_at_their_rules():
    rules = rules_for_sarif()
    d = Diagnostic("F201", "node `x` is unreachable from `start`", Span(3, 5, 3, 11),
                   Severity.ERROR, "a.flow")
    log = json.loads(render.render_sarif([d], rules))
    run = log["runs"][0]
    result = run["results"][0]
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "F201"


def test_the_registry_is_the_only_table_of_codes():
    from pathlib import Path

    from fermata.compiler.diagnostics.codes import CODES

    compiler = Path(__file__).resolve().parents[3] / "compiler"
    tables = [p.relative_to(compiler).as_posix() for p in compiler.rglob("*.py")
              if "CODES: dict" in p.read_text(encoding="utf-8")]
    assert tables == ["diagnostics/codes.py"]
    catalogue = load_catalogue()
    assert {code: (e.severity, e.title, e.module) for code, e in catalogue.items()} == {
        code: (c.severity, c.title, c.family) for code, c in CODES.items()}

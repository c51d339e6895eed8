"""The call-policy pass (F452): `check` refuses what the runtime would refuse."""

from __future__ import annotations

import json
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from fermata.compiler import load
from fermata.compiler.cli.main import main
from fermata.compiler.diagnostics.diagnostic import CompileError
from fermata.compiler.pipeline import analyze
from fermata.spec.call_policy import CallPolicy


def spec(*targets: str) -> str:
    calls = "\n".join(f'        call "{t}"("x")' for t in targets)
    return textwrap.dedent("""\
        flow f {
            state {
                done: bool = false
            }
            node a {
        %s
                set done = true
            }
            start -> a
            a -> end
        }
        """) % calls


def codes(text: str, policy: CallPolicy | None = None) -> list[tuple[str, int, int]]:
    found = analyze(text, "t.flow", call_policy=policy).diagnostics
    return [(d.code, d.span.line, d.span.column) for d in found]


def test_the_deny_list_is_reported_at_each_target() -> None:
    # Before the policy, `check` passed all three.
    text = spec("os:system", "subprocess:run", "builtins:eval", "refunds.logic:score")
    assert codes(text) == [("F452", 6, 14), ("F452", 7, 14), ("F452", 8, 14)]
    (first, *_) = analyze(text, "t.flow").diagnostics
    assert first.message == 'call "os:system" is refused by the call policy: `os` is on its deny-list'
    assert first.help is not None and 'allow = ["os:system"]' in first.help


def test_the_policy_given_is_the_one_applied() -> None:
    text = spec("refunds.logic:score", "os.path:join")
    policy = CallPolicy.configured(allow=["refunds", "os.path:join"])
    assert codes(text, policy) == []
    assert [c for c, *_ in codes(text, CallPolicy.configured(allow=["scoring"]))] == ["F452", "F452"]


def test_a_malformed_target_is_f400_only() -> None:
    assert [c for c, *_ in codes(spec("os.system"))] == ["F400"]


def test_the_check_and_the_runtime_agree(tmp_path: Path) -> None:
    # One policy object decides both: what check reports is what run refuses.
    from fermata.compiler.pipeline import compile_source
    from fermata.runtime import Graph

    policy = CallPolicy.configured(allow=["json"])
    text = spec("json:dumps")
    ir = compile_source(text, "t.flow", call_policy=policy)
    assert Graph.from_ir(ir, call_policy=policy).invoke({}, thread="t").status == "done"
    assert codes(text, CallPolicy.configured(allow=["math"]))[0][0] == "F452"
    refused = Graph.from_ir(ir, call_policy=CallPolicy.configured(allow=["math"])).invoke({}, thread="t")
    assert refused.status == "failed" and refused.error["line"] == 6


# ------------------------------------------------------------ configuration, CLI and load()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project whose package `pkg_<id>` has `hello(name)` and a flow calling it."""
    name = f"pkg_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text("def hello(name):\n    return 'hi ' + name\n", encoding="utf-8")
    (tmp_path / "hello.flow").write_text(textwrap.dedent(f"""\
        flow hello {{
            state {{
                name: str = "ann"
                greeting: str = ""
            }}
            node greet {{
                let g = call "{name}:hello"(name)
                set greeting = g
            }}
            start -> greet
            greet -> end
        }}
        """), encoding="utf-8")
    (tmp_path / "package").write_text(name, encoding="utf-8")
    yield tmp_path
    sys.modules.pop(name, None)


def configure(project: Path, allow: list[str]) -> None:
    (project / "pyproject.toml").write_text(f"[tool.fermata.calls]\nallow = {json.dumps(allow)}\n",
                                            encoding="utf-8")


def test_check_reads_the_policy_from_pyproject(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow = str(project / "hello.flow")
    assert main(["check", "--format", "text", flow]) == 0
    configure(project, ["refunds"])
    assert main(["check", "--format", "text", flow]) == 1
    assert "error[F452]" in capsys.readouterr().out
    package = (project / "package").read_text()
    assert main(["check", "--format", "text", flow, "--allow-call", package]) == 0


def test_a_malformed_configuration_is_a_usage_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pyproject.toml").write_text("[tool.fermata.calls]\nallowed = []\n", encoding="utf-8")
    assert main(["check", str(project / "hello.flow")]) == 2
    assert "has no setting `allowed`" in capsys.readouterr().err
    assert main(["run", str(project / "hello.flow"), "--store", "memory:"]) == 2


def test_run_obeys_the_configured_policy(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow = str(project / "hello.flow")
    configure(project, ["refunds"])
    assert main(["run", flow, "--store", "memory:", "--json"]) == 2   # the spec does not pass `check`
    assert "F452" in capsys.readouterr().err
    package = (project / "package").read_text()
    assert main(["run", flow, "--store", "memory:", "--json", "--allow-call", f"{package}:hello"]) == 0
    assert json.loads(capsys.readouterr().out)["output"]["greeting"] == "hi ann"


def test_load_reads_the_policy_and_takes_one(project: Path) -> None:
    configure(project, ["refunds"])
    with pytest.raises(CompileError) as caught:
        load(project / "hello.flow")
    assert [d.code for d in caught.value.diagnostics] == ["F452"]
    package = (project / "package").read_text()
    graph = load(project / "hello.flow", call_policy=CallPolicy.configured(allow=[package]))
    assert graph.invoke({}, thread="t").output["greeting"] == "hi ann"


def test_a_compiled_ir_file_is_refused_at_run_time(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # An IR file skips the checker: the runtime still applies the configured policy.
    ir = project / "hello.json"
    assert main(["compile", str(project / "hello.flow"), "-o", str(ir)]) == 0
    configure(project, ["refunds"])
    assert main(["run", str(ir), "--store", "memory:", "--json"]) == 1
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["kind"] == "policy" and error["line"] == 7

"""The call policy's patterns and its configuration in pyproject.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from fermata.spec.call_policy import (
    DEFAULT_DENY,
    CallPolicy,
    ConfigError,
    find_config,
    matches,
    policy_near,
)


@pytest.mark.parametrize(("pattern", "target", "expected"), [
    ("refunds", "refunds:f", True),
    ("refunds", "refunds.logic:f", True),
    ("refunds", "refundsx.logic:f", False),        # a prefix ends at a dot
    ("refunds.logic:score", "refunds.logic:score", True),
    ("refunds.logic:score", "refunds.logic:scores", False),
    ("refunds.*", "refunds.logic:f", True),
    ("refunds.*", "refunds:f", False),
    ("refunds.logic:score_*", "refunds.logic:score_v2", True),
    ("refunds.logic:score_*", "refunds.logic:pay", False),
    ("*", "anything.at:all", True),
])
def test_patterns(pattern: str, target: str, expected: bool) -> None:
    module, _, function = target.partition(":")
    assert matches(pattern, module, function) is expected


def test_the_default_policy_denies_what_no_workflow_should_call() -> None:
    policy = CallPolicy()
    for target in ("os:system", "os.path:join", "subprocess:run", "builtins:eval", "importlib:import_module",
                   "sys:exit", "shutil:rmtree", "ctypes:CDLL", "pickle:loads", "fermata.runtime.calls:invoke"):
        assert policy.refusal(target) is not None, target
    for target in ("refunds.logic:score", "json:dumps", "math:sqrt", "ossify:f", "system:os"):
        assert policy.refusal(target) is None, target


def test_an_allow_list_admits_only_what_it_names() -> None:
    policy = CallPolicy.configured(allow=["refunds", "scoring.*:rate_*"])
    assert policy.refusal("refunds.logic:score") is None
    assert policy.refusal("scoring.v2:rate_risk") is None
    assert "matches no `allow` pattern" in (policy.refusal("scoring.v2:pay") or "")
    assert CallPolicy.configured(allow=[]).refusal("refunds:f") is not None


def test_configured_denials_add_to_the_defaults() -> None:
    policy = CallPolicy.configured(deny=["requests", "refunds.logic:pay"])
    assert policy.deny[:len(DEFAULT_DENY)] == DEFAULT_DENY
    assert "`requests` is on its deny-list" in (policy.refusal("requests.api:get") or "")
    assert policy.refusal("refunds.logic:pay") is not None and policy.refusal("refunds.logic:score") is None
    # An exact allow beats a configured denial as it beats a default one.
    assert policy.also_allowing(["refunds.logic:pay"]).refusal("refunds.logic:pay") is None


def test_allow_call_patterns_only_ever_add() -> None:
    assert CallPolicy().also_allowing(["tests.x"]).refusal("refunds:f") is None
    narrowed = CallPolicy.configured(allow=["refunds"]).also_allowing(["scoring"])
    assert narrowed.refusal("scoring:f") is None and narrowed.refusal("refunds:f") is None
    assert narrowed.refusal("mail:send") is not None


def test_the_defining_module_is_judged_after_import() -> None:
    policy = CallPolicy()
    assert "function of module `posix`" in (policy.refusal_of_definition("mine:system", "posix") or "")
    assert policy.refusal_of_definition("mine:f", "mine") is None
    assert policy.refusal_of_definition("mine:dumps", "json") is None
    assert policy.also_allowing(["mine:system"]).refusal_of_definition("mine:system", "posix") is None


@pytest.mark.parametrize("bad", ["", "os system", ":f", ".os", "a:b:c", "a:b.c", 3])
def test_malformed_patterns_are_refused(bad: object) -> None:
    with pytest.raises(ConfigError, match="is not a call pattern"):
        CallPolicy.configured(allow=[bad])  # type: ignore[list-item]


# ------------------------------------------------------------ pyproject.toml


def _write(folder: Path, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(text, encoding="utf-8")


def test_the_nearest_pyproject_with_a_fermata_table_configures_the_policy(tmp_path: Path) -> None:
    _write(tmp_path, '[tool.fermata]\ncalls = {allow = ["refunds"], deny = ["refunds.admin"]}\n')
    _write(tmp_path / "sub", '[project]\nname = "x"\n')   # no [tool.fermata]: passed over
    spec = tmp_path / "sub" / "flows" / "refund.flow"
    spec.parent.mkdir()
    spec.write_text("", encoding="utf-8")
    policy = policy_near(spec)
    assert policy.source == (tmp_path / "pyproject.toml").as_posix()
    assert policy.refusal("refunds.logic:score") is None
    assert "refunds.admin" in (policy.refusal("refunds.admin:purge") or "")
    assert f"(configured in {tmp_path / 'pyproject.toml'})" in (policy.refusal("json:dumps") or "")
    assert policy_near(spec, ["json:dumps"]).refusal("json:dumps") is None


def test_a_table_form_works_too(tmp_path: Path) -> None:
    _write(tmp_path, '[tool.fermata.calls]\nallow = ["refunds"]\n')
    assert policy_near(tmp_path / "x.flow").allow == ("refunds",)


def test_without_configuration_the_default_policy_applies(tmp_path: Path) -> None:
    assert find_config(tmp_path) is None
    assert policy_near(tmp_path / "x.flow").deny == DEFAULT_DENY


@pytest.mark.parametrize(("text", "message"), [
    ('[tool.fermata]\ncalls = ["os"]\n', "calls must be a table"),
    ('[tool.fermata.calls]\nallowed = ["refunds"]\n', "has no setting `allowed`"),
    ('[tool.fermata.calls]\nallow = "refunds"\n', "allow must be a list"),
    ('[tool.fermata.calls]\ndeny = ["os system"]\n', "is not a call pattern"),
    ("[tool.fermata\n", "cannot read"),
])
def test_a_malformed_configuration_is_an_error_never_ignored(tmp_path: Path, text: str, message: str) -> None:
    _write(tmp_path, text)
    with pytest.raises(ConfigError, match=message):
        policy_near(tmp_path / "x.flow")

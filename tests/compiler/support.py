"""Helpers and fixtures several compiler test modules share: the CLI run
in process (``cli``, ``store``, ``_isolated``) or as a subprocess
(``fermata_command``, ``clean_env``), SARIF validation, shared specs and types.
A module uses a fixture by importing it (``# noqa: F401 - a fixture``)."""

from __future__ import annotations

import json
import os
import shutil
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from fermata.compiler.cli.main import main
from fermata.compiler.semantics import types as T

# Three independent errors, at 7:13, 8:20 and 11:21.
THREE = textwrap.dedent("""\
    flow f {
        state {
            count: int = 0
            name: str = ""
        }
        node a {
            set cout = 1
            set name = 5
        }
        node b {
            set count = missing
        }
        start -> a
        a -> b
        b -> end
    }
    """)


def fermata_command() -> list[str]:
    """The installed console script, beside this Python (a venv's bin/)."""
    beside = Path(sys.executable).parent / "fermata"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("fermata")
    return [found] if found else [sys.executable, "-m", "fermata.compiler.cli"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("NO_COLOR", "FORCE_COLOR", "FERMATA_DEBUG")}
    env.update(extra)
    return env


def validate_sarif(log: dict) -> None:
    """The subset schema, plus what a schema cannot say: every result's
    ruleIndex points at the rule of its ruleId, and rule ids are unique."""
    jsonschema.Draft7Validator.check_schema(SARIF_SUBSET_SCHEMA)
    jsonschema.Draft7Validator(SARIF_SUBSET_SCHEMA).validate(log)
    for run in log["runs"]:
        rules = run["tool"]["driver"]["rules"]
        ids = [rule["id"] for rule in rules]
        assert len(ids) == len(set(ids))
        for result in run["results"]:
            assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """sys.path as it was, and the modules the test wrote under ``tmp_path``
    forgotten, after the test. (Only those: dropping a module of the project
    that happened to be first imported here would give later tests a second
    copy of its classes.)"""
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield
    root = str(tmp_path)
    for name, module in list(sys.modules.items()):
        if (getattr(module, "__file__", None) or "").startswith(root):
            del sys.modules[name]


REPO_ROOT = Path(__file__).resolve().parents[2]


EXAMPLES = REPO_ROOT / "examples"


REFUND = str(EXAMPLES / "refund.flow")


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    # `fermata run` puts each flow's folder on sys.path; keep that to one test.
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delenv("FERMATA_STORE", raising=False)


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/runs.db"


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    def call(*argv: str) -> Result:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return call


def checkpoints(cli, store: str, thread: str) -> list[dict[str, Any]]:
    result = cli("history", "--thread", thread, "--store", store, "--json")
    assert result.code == 0, result.err
    return result.json()["checkpoints"]


DECISION = T.RecordT((("approved", T.BOOL), ("comment", T.optional(T.STR))))


LEVEL = T.UnionT(("low", "mid", "high"))


# A hand-written subset of the SARIF 2.1.0 schema (sarif-schema-2.1.0.json,
# draft-07): the objects and properties Fermata writes, with the official
# property names, types and minimums. `additionalProperties: false` makes a
# misspelt or invented property fail, as it would against the full schema.
_MESSAGE = {"type": "object", "additionalProperties": False, "anyOf": [{"required": ["text"]}, {"required": ["id"]}],
            "properties": {"text": {"type": "string"}, "markdown": {"type": "string"}, "id": {"type": "string"}}}


SARIF_SUBSET_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "additionalProperties": False,
    "required": ["version", "runs"],
    "properties": {
        "$schema": {"type": "string", "format": "uri"},
        "version": {"enum": ["2.1.0"]},
        "runs": {"type": "array", "items": {"$ref": "#/definitions/run"}},
    },
    "definitions": {
        "message": _MESSAGE,
        "multiformatMessageString": {"type": "object", "additionalProperties": False, "required": ["text"],
                                     "properties": {"text": {"type": "string"}, "markdown": {"type": "string"}}},
        "run": {
            "type": "object", "additionalProperties": False, "required": ["tool"],
            "properties": {
                "tool": {"type": "object", "additionalProperties": False, "required": ["driver"],
                         "properties": {"driver": {"$ref": "#/definitions/toolComponent"}}},
                "columnKind": {"enum": ["utf16CodeUnits", "unicodeCodePoints"]},
                "results": {"type": "array", "items": {"$ref": "#/definitions/result"}},
            },
        },
        "toolComponent": {
            "type": "object", "additionalProperties": False, "required": ["name"],
            "properties": {
                "name": {"type": "string"},
                "version": {"type": "string"},
                "informationUri": {"type": "string", "format": "uri"},
                "rules": {"type": "array", "uniqueItems": True,
                          "items": {"$ref": "#/definitions/reportingDescriptor"}},
            },
        },
        "reportingDescriptor": {
            "type": "object", "additionalProperties": False, "required": ["id"],
            "properties": {
                "id": {"type": "string"},
                "name": {"type": "string"},
                "shortDescription": {"$ref": "#/definitions/multiformatMessageString"},
                "fullDescription": {"$ref": "#/definitions/multiformatMessageString"},
                "help": {"$ref": "#/definitions/multiformatMessageString"},
                "helpUri": {"type": "string", "format": "uri"},
                "defaultConfiguration": {
                    "type": "object", "additionalProperties": False,
                    "properties": {"level": {"enum": ["none", "note", "warning", "error"]}}},
            },
        },
        "result": {
            "type": "object", "additionalProperties": False, "required": ["message"],
            "properties": {
                "ruleId": {"type": "string"},
                "ruleIndex": {"type": "integer", "minimum": -1},
                "level": {"enum": ["none", "note", "warning", "error"]},
                "message": {"$ref": "#/definitions/message"},
                "locations": {"type": "array", "items": {"$ref": "#/definitions/location"}},
                "relatedLocations": {"type": "array", "uniqueItems": True,
                                     "items": {"$ref": "#/definitions/location"}},
            },
        },
        "location": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "id": {"type": "integer", "minimum": -1},
                "physicalLocation": {"$ref": "#/definitions/physicalLocation"},
                "message": {"$ref": "#/definitions/message"},
            },
        },
        "physicalLocation": {
            "type": "object", "additionalProperties": False, "required": ["artifactLocation"],
            "properties": {
                "artifactLocation": {
                    "type": "object", "additionalProperties": False,
                    "properties": {"uri": {"type": "string", "format": "uri-reference"},
                                   "uriBaseId": {"type": "string"}}},
                "region": {"$ref": "#/definitions/region"},
            },
        },
        "region": {
            "type": "object", "additionalProperties": False,
            "properties": {name: {"type": "integer", "minimum": 1}
                           for name in ("startLine", "startColumn", "endLine", "endColumn")},
        },
    },
}



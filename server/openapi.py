"""The OpenAPI 3.1 document of a server, generated from its flows.

Each flow gets its own start path with its input schema; each question a
component with its answer schema (``FLOW.NODE.LABEL.Answer``) that the answer
body's ``value`` may take. The flows' named types become components named
``FLOW.TYPE``, with every ``#/$defs/T`` reference rewritten to point there
(OpenAPI 3.1 schemas are JSON Schema 2020-12, but ``#`` is the document).
"""

from __future__ import annotations

from typing import Any

from fermata.runtime.records import RunStatus, WorkKind, WorkStatus

from .catalog import FlowEntry

_ERROR = {"$ref": "#/components/schemas/Error"}
_OBJECT: dict[str, Any] = {"type": "object"}


def _rewrite(schema: Any, flow: str) -> Any:
    if isinstance(schema, dict):
        out = {k: _rewrite(v, flow) for k, v in schema.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            out["$ref"] = f"#/components/schemas/{flow}.{ref[len('#/$defs/'):]}"
        return out
    if isinstance(schema, list):
        return [_rewrite(v, flow) for v in schema]
    return schema


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    words = {400: "Bad request (malformed JSON, query or cursor)", 401: "No or unknown Bearer token",
             403: "The identity may see this but not do it", 404: "No such run, flow, question or submission "
             "(or the identity may not see it)", 409: "Stale token, answered question, expired "
             "deadline, cancelled or done run, or a run that moved on",
             413: "Body too large", 422: "Invalid input or answer: every problem listed; "
             "nothing stored"}
    return {str(c): {"description": words[c], **_json(_ERROR)} for c in codes}


_WAIT = {"name": "wait", "in": "query", "required": False,
         "description": "Seconds (0-60) to wait for the run's next pause or end",
         "schema": {"type": "number", "minimum": 0, "maximum": 60}}
_PAGING = [{"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}},
           {"name": "limit", "in": "query", "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": 200}}]
_THREAD = {"name": "thread", "in": "path", "required": True, "schema": {"type": "string"}}
# 202: where to follow it (the submission when queued for the workers, else the run).
_ACCEPTED = {"headers": {"Location": {"required": True, "schema": {"type": "string"},
                                      "description": "`/api/submissions/ID` when queued, else `/api/runs/THREAD`"}},
             **_json({"$ref": "#/components/schemas/Accepted"})}


def openapi_document(flows: list[FlowEntry], version: str) -> dict[str, Any]:
    schemas: dict[str, Any] = {
        "Error": {"type": "object", "required": ["error", "message"],
                  "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                                 "problems": {"type": "array", "items": {"type": "string"}}}},
        "Run": {"type": "object", "required": ["thread", "flow", "status", "state", "interrupts"],
                "description": "`fermata state --json`, plus `output` and `audit`",
                "properties": {"thread": {"type": "string"}, "flow": {"type": "string"},
                               "status": {"type": "string"}, "state": _OBJECT,
                               "interrupts": {"type": "array", "items": _OBJECT},
                               "output": _OBJECT, "audit": {"type": "array", "items": _OBJECT}}},
        # `queued`: handed to the workers (`serve --no-worker`), `submission` its id.
        "Accepted": {"type": "object", "required": ["thread", "status"],
                     "properties": {"thread": {"type": "string"},
                                    "status": {"enum": [RunStatus.RUNNING.value, WorkStatus.QUEUED.value]},
                                    "submission": {"type": "integer"}, "submission_url": {"type": "string"}}},
        "Submission": {"type": "object", "required": ["id", "thread", "flow", "kind", "status", "reason", "run_url"],
                       "description": "A start or answer queued for the workers (`serve --no-worker`)",
                       "properties": {"id": {"type": "integer"}, "thread": {"type": "string"},
                                      "flow": {"type": "string"},
                                      "kind": {"enum": [WorkKind.START.value, WorkKind.COMMAND.value,
                                                        WorkKind.CONTINUE.value]},
                                      "status": {"enum": [status.value for status in WorkStatus]},
                                      "reason": {"type": ["string", "null"],
                                                 "description": "why a worker refused it (status `refused`)"},
                                      "run_url": {"type": "string"}}},
        "Page": {"type": "object", "required": ["items", "next_cursor"],
                 "properties": {"items": {"type": "array", "items": _OBJECT},
                                "next_cursor": {"type": ["string", "null"]}}},
    }
    answers: list[dict[str, Any]] = []
    paths: dict[str, Any] = {}
    for entry in flows:
        for name, schema in entry.defs.items():
            schemas[f"{entry.name}.{name}"] = _rewrite(schema, entry.name)
        schemas[f"{entry.name}.Input"] = _rewrite(entry.input_schema(), entry.name)
        for question in entry.questions():
            key = f"{entry.name}.{question.node}.{question.label}.Answer"
            schemas[key] = _rewrite(question.schema or {}, entry.name)
            answers.append({"$ref": f"#/components/schemas/{key}"})
        paths[f"/api/flows/{entry.name}/runs"] = {"post": {
            "operationId": f"start_{entry.name}", "summary": f"Start a run of `{entry.name}`",
            "description": entry.doc or f"Start a run of flow `{entry.name}`.",
            "parameters": [_WAIT],
            "requestBody": {"required": True, **_json({
                "type": "object", "required": ["input"], "additionalProperties": False,
                "properties": {"input": {"$ref": f"#/components/schemas/{entry.name}.Input"}}})},
            "responses": {"201": {"description": "Started; the run as of its first pause or end",
                                  **_json({"$ref": "#/components/schemas/Run"})},
                          "202": {"description": "Started and still running, or queued for the workers",
                                  **_ACCEPTED},
                          **_errors(400, 401, 403, 404, 409, 413, 422)}}}
    value_schema: dict[str, Any] = {"anyOf": answers} if answers else {}
    paths.update({
        "/api/me": {"get": {"operationId": "me", "summary": "Who the token belongs to",
                            "responses": {"200": {"description": "The identity", **_json(_OBJECT)},
                                          **_errors(401)}}},
        "/api/flows": {"get": {"operationId": "list_flows", "summary": "The served flows",
                               "responses": {"200": {"description": "Flows", **_json(
                                   {"type": "array", "items": _OBJECT})}, **_errors(401)}}},
        "/api/runs": {"get": {
            "operationId": "list_runs", "summary": "Runs by thread (thread names begin with their time)",
            "parameters": [{"name": "flow", "in": "query", "required": False, "schema": {"type": "string"}},
                           {"name": "status", "in": "query", "required": False, "schema": {
                               "type": "string", "enum": [status.value for status in RunStatus]}},
                           *_PAGING],
            "responses": {"200": {"description": "A page of runs", **_json({"$ref": "#/components/schemas/Page"})},
                          **_errors(400, 401)}}},
        "/api/runs/{thread}": {"get": {
            "operationId": "get_run", "summary": "A run (`fermata state --json` and more)",
            "parameters": [_THREAD],
            "responses": {"200": {"description": "The run", **_json({"$ref": "#/components/schemas/Run"})},
                          **_errors(401, 404)}}},
        "/api/runs/{thread}/history": {"get": {
            "operationId": "get_history", "summary": "Every checkpoint (`fermata history --json`) and the audit",
            "parameters": [_THREAD],
            "responses": {"200": {"description": "The history", **_json(_OBJECT)}, **_errors(401, 404)}}},
        "/api/runs/{thread}/answers": {"post": {
            "operationId": "answer", "summary": "Answer a pending question by id or token",
            "parameters": [_THREAD, _WAIT],
            "requestBody": {"required": True, **_json({
                "type": "object", "additionalProperties": False,
                "oneOf": [{"required": ["id"]}, {"required": ["token"]}],
                "properties": {"id": {"type": "string"}, "token": {"type": "string"}, "value": value_schema}})},
            "responses": {"200": {"description": "Answered; the run as of its next pause or end",
                                  **_json({"$ref": "#/components/schemas/Run"})},
                          "202": {"description": "Answered and still running, or queued for the workers",
                                  **_ACCEPTED},
                          **_errors(400, 401, 403, 404, 409, 413, 422)}}},
        "/api/runs/{thread}/cancel": {"post": {
            "operationId": "cancel", "summary": "Cancel a run (role `starter`): its questions are withdrawn",
            "parameters": [_THREAD],
            "responses": {"200": {"description": "Cancelled; the run", **_json({"$ref": "#/components/schemas/Run"})},
                          **_errors(401, 403, 404, 409)}}},
        "/api/submissions/{id}": {"get": {
            "operationId": "get_submission",
            "summary": "A start or answer queued for the workers: queued, claimed, applied, or refused and why",
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "integer", "minimum": 1}}],
            "responses": {"200": {"description": "The submission",
                                  **_json({"$ref": "#/components/schemas/Submission"})},
                          **_errors(401, 404)}}},
        "/api/inbox": {"get": {
            "operationId": "inbox", "summary": "Pending questions the identity may answer, "
            "those with a deadline first (oldest deadline first)",
            "parameters": [{"name": "flow", "in": "query", "required": False, "schema": {"type": "string"}},
                           {"name": "label", "in": "query", "required": False, "schema": {"type": "string"}},
                           {"name": "role", "in": "query", "required": False, "schema": {"type": "string"},
                            "description": "only questions asked `to` this role"},
                           {"name": "overdue", "in": "query", "required": False,
                            "schema": {"type": "string", "enum": ["true", "false"]},
                            "description": "only questions past their deadline (not fired yet)"},
                           *_PAGING],
            "responses": {"200": {"description": "A page of questions",
                                  **_json({"$ref": "#/components/schemas/Page"})}, **_errors(400, 401)}}},
    })
    return {"openapi": "3.1.0",
            "info": {"title": "Fermata", "version": version,
                     "description": "Start runs, answer their questions, read their history."},
            "paths": paths,
            "components": {"schemas": schemas,
                           "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}]}

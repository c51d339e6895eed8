"""A node's steps compiled into closures, and the :class:`Execution` they run in.

An :class:`Execution` is one run of one node's steps. It is the node's
*view* (``state`` at step start, ``overlay`` of its own ``set``s, ``locals``)
and its *record*: the ordered writes ``[field, op, value]``, the interrupt
labels it reached, and its ``once`` journal. Replays are checked against the
record of earlier executions (``recorded`` labels, ``journal`` entries); a
difference is a :class:`NondeterminismError`, never a silent misbinding.

Reaching an interrupt that has no answer yet raises :class:`Pause`: the node
stops at once and the caller discards this execution's writes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from . import calls
from .calls import DEFAULT_POLICY, CallPolicy, refuse_unless_allowed
from .clock import format_time, parse_time
from .errors import EvalError, FailStepError, NondeterminismError, StepFailure
from .expressions import compile_condition, compile_expr
from .plain import Frozen
from .records import DueKind
from .schemas import Schemas
from .values import combine, format_value

if TYPE_CHECKING:
    from .children import ChildRunner
    from .once import OnceRecorder
    from .record_types import OnceEntry, PauseClauses

Step = Callable[["Execution"], None]


class Pause(Exception):
    """Internal: the node reached interrupt ``index`` and has no answer for it."""

    def __init__(self, label: str, index: int, payload: Any, schema: dict[str, Any] | None,
                 clauses: PauseClauses | None = None):
        super().__init__(label)
        self.label = label
        self.index = index
        self.payload = payload
        self.schema = schema
        # What the pending entry adds, evaluated where the node paused (``to``,
        # the deadline's action, a timer's length): ``timers.stamp`` turns the
        # durations into times with the engine's clock.
        self.clauses: PauseClauses = clauses or {}


class UnrecordedOnce(Exception):
    """Internal: a sealed execution (a replay) reached ``call once`` number
    ``index``, whose result its journal does not hold: it is never called."""

    def __init__(self, index: int):
        super().__init__(index)
        self.index = index


class Execution:
    """One execution of one node: its view and what it did."""

    __slots__ = (
        "invoke",
        "journal",
        "locals",
        "node",
        "once_count",
        "overlay",
        "reached",
        "recorded",
        "recorder",
        "resume",
        "run_count",
        "runner",
        "sealed",
        "state",
        "writes",
    )

    def __init__(self, node: str, state: dict[str, Any], resume: list[Any],
                 recorded: list[str], journal: list[OnceEntry],
                 recorder: OnceRecorder | None = None):
        self.node = node
        self.state = state
        self.overlay: dict[str, Any] = {}
        self.locals: dict[str, Any] = {}
        self.writes: list[list[Any]] = []
        self.resume = resume          # answers so far, by interrupt index
        self.recorded = recorded      # labels reached by the previous execution
        self.reached: list[str] = []  # labels reached by this one
        self.journal = journal        # once-call entries {target, args_hash, result}, by index
        self.once_count = 0
        self.run_count = 0            # `run` steps reached (children.py)
        self.runner: ChildRunner | None = None   # where `run` steps start children (None: a replay, a test)
        # How plain calls are made (`fermata replay --stub-calls` replaces it).
        self.invoke: Callable[..., Any] = calls.invoke
        self.recorder = recorder      # makes new entries durable (None: a replay, a test)
        # A replay's execution: its journal never grows, so a replay never
        # pays, mails or charges anything twice (``UnrecordedOnce``).
        self.sealed = False

    def field(self, name: str) -> Any:
        overlay = self.overlay
        return overlay[name] if name in overlay else self.state[name]

    def fields(self) -> dict[str, Any]:
        """The node's view of the state as one dict (for the state-in call form)."""
        merged = dict(self.state)
        merged.update(self.overlay)
        return merged

    def check_finished(self) -> None:
        """A node that finishes must have reached every interrupt it reached before."""
        if len(self.reached) < len(self.recorded):
            k = len(self.reached)
            raise NondeterminismError(self.node, "interrupt", k, f"`{self.recorded[k]}`",
                                      "never reached (the node finished first)")


class StepCompiler:
    """Compiles the steps of one node of one flow."""

    def __init__(self, node: str, field_schemas: dict[str, dict[str, Any]], schemas: Schemas,
                 call_policy: CallPolicy = DEFAULT_POLICY):
        self.node = node
        self.field_schemas = field_schemas
        self.schemas = schemas
        self.call_policy = call_policy
        self.interrupt_labels: list[str] = []
        self.where_rules: dict[str, WhereRule] = {}   # by interrupt label

    def block(self, steps: list[dict[str, Any]]) -> Step:
        compiled = tuple((self.step(s), s["line"], s.get("column")) for s in steps)

        def run_block(ex: Execution) -> None:
            for run_step, line, column in compiled:
                calls.stop_if_cancelled()   # an attempt abandoned after its timeout goes no further
                try:
                    run_step(ex)
                except StepFailure as failure:
                    failure.locate(line, column)
                    raise

        return run_block

    def step(self, ir: dict[str, Any]) -> Step:
        kind = ir["k"]
        if kind == "let":
            return self._let(ir)
        if kind == "set":
            return self._set(ir)
        if kind == "call":
            return self._call(ir)
        if kind == "interrupt":
            return self._interrupt(ir)
        if kind == "if":
            return self._if(ir)
        if kind == "fail":
            return self._fail(ir)
        if kind == "wait":
            return self._wait(ir)
        if kind == "run":
            return self._run(ir)
        raise ValueError(f"unknown step kind {kind!r} in node `{self.node}`")

    # ------------------------------------------------------------------ steps

    def _let(self, ir: dict[str, Any]) -> Step:
        name, value = ir["name"], compile_expr(ir["value"])

        def let(ex: Execution) -> None:
            ex.locals[name] = value(ex)

        return let

    def _set(self, ir: dict[str, Any]) -> Step:
        field, value = ir["field"], compile_expr(ir["value"])
        validate = self._validator(field) if ir["check"] else None
        if ir["op"] == "=":
            def assign(ex: Execution) -> None:
                new = value(ex)
                if validate is not None:
                    new = validate(new)
                ex.overlay[field] = new
                ex.writes.append([field, "=", new])

            return assign

        schemas, schema = self.schemas, self.field_schemas[field]

        def extend(ex: Execution) -> None:
            delta = value(ex)
            new = combine(ex.field(field), delta)
            if validate is not None:
                new = validate(new)
                # The engine re-applies `+=` from the delta: it must conform too.
                delta = schemas.conform(schema, delta)
            ex.overlay[field] = new
            ex.writes.append([field, "+=", delta])

        return extend

    def _validator(self, field: str) -> Callable[[Any], None]:
        schema = self.field_schemas[field]
        schemas = self.schemas

        def validate(value: Any) -> Any:
            problems = schemas.violations(schema, value)
            if problems:
                raise EvalError(f"the value for `{field}` does not match its type: " + "; ".join(problems))
            return schemas.conform(schema, value)

        return validate

    def _call(self, ir: dict[str, Any]) -> Step:
        target, bind, once = ir["target"], ir["bind"], ir["once"]
        if ir["args"] is None:
            positional = None
        else:
            positional = [compile_expr(a) for a in ir["args"]]
        keywords = [(name, compile_expr(e)) for name, e in ir["kwargs"]]
        apply_updates = self._state_updates(target) if positional is None else None
        policy = self.call_policy

        def call(ex: Execution) -> None:
            # Decided from the name, before the module is imported (importing runs its code).
            refuse_unless_allowed(target, policy)
            if positional is None:
                args: list[Any] = [ex.fields()]
                kwargs: dict[str, Any] = {}
            else:
                args = [a(ex) for a in positional]
                kwargs = {name: e(ex) for name, e in keywords}
            args, kwargs = calls.checked_args(args, kwargs, target)
            # `ex.node`, not `node`: a fan-out instance journals (and is
            # keyed) under its own name, `node[key]`.
            result = (_journaled(ex, ex.node, target, args, kwargs, policy) if once
                      else ex.invoke(target, args, kwargs, policy))
            if apply_updates is not None:
                apply_updates(ex, result)
            elif bind is not None:
                ex.locals[bind] = result

        return call

    def _state_updates(self, target: str) -> Callable[[Execution, Any], None]:
        field_schemas, schemas = self.field_schemas, self.schemas

        def apply(ex: Execution, result: Any) -> None:
            if result is None:
                return
            if type(result) is not dict:
                raise EvalError(f'call "{target}" must return a dict of field updates or None, '
                                f"not a {type(result).__name__}")
            unknown = sorted(k for k in result if k not in field_schemas)
            if unknown:
                raise EvalError(f'call "{target}" returned unknown field(s) '
                                + ", ".join(f"`{k}`" for k in unknown))
            problems = [f"`{name}`: {p}" for name, value in result.items()
                        for p in schemas.violations(field_schemas[name], value)]
            if problems:
                raise EvalError(f'call "{target}" returned values that do not match their types: '
                                + "; ".join(problems))
            for name, value in result.items():
                value = schemas.conform(field_schemas[name], value)
                ex.overlay[name] = value
                ex.writes.append([name, "=", value])

        return apply

    def _interrupt(self, ir: dict[str, Any]) -> Step:
        label, bind, schema = ir["label"], ir["bind"], ir["schema"]
        payload = compile_expr(ir["payload"]) if ir["payload"] is not None else None
        self.interrupt_labels.append(label)
        if ir.get("where") is not None and bind is not None:
            where = ir["where"]
            self.where_rules[label] = WhereRule(bind, compile_condition(where["cond"], "a `where` rule"),
                                                where.get("message"))
        clauses = _clauses(ir)

        def interrupt(ex: Execution) -> None:
            index = len(ex.reached)
            recorded = ex.recorded
            if index < len(recorded) and recorded[index] != label:
                raise NondeterminismError(ex.node, "interrupt", index, f"`{recorded[index]}`", f"`{label}`")
            ex.reached.append(label)
            if index < len(ex.resume):
                if bind is not None:
                    ex.locals[bind] = ex.resume[index]
                return
            raise Pause(label, index, payload(ex) if payload is not None else None, schema,
                        clauses(ex) if clauses is not None else None)

        return interrupt

    def _wait(self, ir: dict[str, Any]) -> Step:
        """A durable timer: pauses like an interrupt (id ``node:label``) that
        only ``tick`` answers, with null, once it is due."""
        label, node = ir["label"], self.node
        self.interrupt_labels.append(label)
        until = compile_expr(ir["until"]) if ir.get("until") is not None else None
        for_ms: int = ir["for_ms"] if until is None else 0   # the IR has one of the two (its schema)

        def wait(ex: Execution) -> None:
            index = len(ex.reached)
            recorded = ex.recorded
            if index < len(recorded) and recorded[index] != label:
                raise NondeterminismError(node, "interrupt", index, f"`{recorded[index]}`", f"`{label}`")
            ex.reached.append(label)
            if index < len(ex.resume):
                return
            timer: PauseClauses = {"kind": DueKind.WAIT.value}
            if until is not None:
                value = until(ex)
                try:
                    timer["due_at"] = format_time(parse_time(value))
                except ValueError as exc:
                    raise EvalError(f"`wait {label} until`: {exc}") from None
            else:
                timer["for_ms"] = for_ms
            raise Pause(label, index, None, None, timer)

        return wait

    def _run(self, ir: dict[str, Any]) -> Step:
        """`let r = run FLOW {input}`: a child run (``children.py``)."""
        from .children import run_step  # children.py builds on this module's Pause

        name, bind, payload = ir["flow"], ir.get("bind"), compile_expr(ir["input"])

        def run(ex: Execution) -> None:
            output = run_step(ex, name, payload(ex))
            if bind is not None:
                ex.locals[bind] = output

        return run

    def _if(self, ir: dict[str, Any]) -> Step:
        condition = compile_condition(ir["cond"], "an `if` condition")
        then, otherwise = self.block(ir["then"]), self.block(ir["else"])

        def branch(ex: Execution) -> None:
            if condition(ex):
                then(ex)
            else:
                otherwise(ex)

        return branch

    def _fail(self, ir: dict[str, Any]) -> Step:
        message = compile_expr(ir["message"])

        def fail(ex: Execution) -> None:
            raise FailStepError(format_value(message(ex)), type_name="fail")

        return fail


class WhereRule(Frozen):
    """An interrupt's ``where``: checked on an answer before it is stored."""

    __slots__ = ("bind", "cond", "message")

    bind: Final[str]
    cond: Final[Callable[[Any], bool]]
    message: Final[str | None]

    def __init__(self, bind: str, cond: Callable[[Any], bool], message: str | None) -> None:
        self.bind = bind
        self.cond = cond
        self.message = message


class _RuleView:
    """What a ``where`` rule sees: the state, and the answer as ``bind``."""

    __slots__ = ("locals", "overlay", "state")

    def __init__(self, state: dict[str, Any], bind: str, answer: Any):
        self.state = state
        self.overlay: dict[str, Any] = {}
        self.locals = {bind: answer}


def where_refusal(rule: WhereRule, state: dict[str, Any], answer: Any) -> str | None:
    """Why ``answer`` breaks ``rule`` (None: it keeps it). A rule that cannot
    be evaluated on this answer refuses it too, saying why."""
    try:
        if rule.cond(_RuleView(state, rule.bind, answer)):
            return None
    except StepFailure as failure:
        return f"the `where` rule could not be checked: {failure.message}"
    return rule.message or "the answer breaks the interrupt's `where` rule"


def _strings(value: Any, what: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise EvalError(f"{what} must give a str or a list[str], got {format_value(value)}")


def _clauses(ir: dict[str, Any]) -> Callable[[Execution], PauseClauses] | None:
    """The human-task clauses of an interrupt (``to``, ``within``, ``remind
    every``), compiled; evaluated when the node pauses there."""
    to = [compile_expr(e) for e in ir.get("to") or ()]
    within = ir.get("within")
    default = compile_expr(within["answer"]) if within is not None and "answer" in within else None
    remind = ir.get("remind_every_ms")
    if not to and within is None and remind is None:
        return None

    def clauses(ex: Execution) -> PauseClauses:
        found: PauseClauses = {}
        if to:
            found["to"] = list(dict.fromkeys(name for e in to for name in _strings(e(ex), "`to`")))
        if within is not None:
            action = {"goto": within["goto"]} if default is None else {"answer": default(ex)}
            found["deadline"] = {"ms": within["ms"], **action}
        if remind is not None:
            found["remind_every_ms"] = remind
        return found

    return clauses


def _journaled(ex: Execution, node: str, target: str, args: list[Any], kwargs: dict[str, Any],
               policy: CallPolicy) -> Any:
    """A ``call once``: the recorded result on replay, else call and record.
    The new entry is made durable (``ex.recorder``) before the node goes on."""
    index = ex.once_count
    ex.once_count += 1
    digest = calls.args_hash(args, kwargs)
    if index < len(ex.journal):
        entry = ex.journal[index]
        if entry["target"] != target or entry["args_hash"] != digest:
            raise NondeterminismError(
                node, "once call", index,
                f'"{entry["target"]}" with arguments {entry["args_hash"]}',
                f'"{target}" with arguments {digest}')
        return entry["result"]
    if ex.sealed:
        raise UnrecordedOnce(index)
    recorder = ex.recorder
    if recorder is None:
        result = calls.invoke(target, args, kwargs, policy)
    else:
        with recorder.calling(node, index):   # what idempotency_key() returns meanwhile
            result = calls.invoke(target, args, kwargs, policy)
    entry = {"target": target, "args_hash": digest, "result": result}
    if recorder is not None:
        recorder.saved(node, index, entry)
    ex.journal.append(entry)
    return result

"""Every error the runtime raises or records.

Two families:

* Errors a caller gets as exceptions (all subclasses of :class:`FermataError`):
  a rejected call (:class:`InputError`, :class:`ResumeError`,
  :class:`SpecChangedError`; nothing is stored) and faults of a run as a whole
  (:class:`NondeterminismError`, :class:`StepLimitError`,
  :class:`InvalidUpdateError`; the run is stored as failed, then the error is
  raised).
* Failures inside one node (:class:`StepFailure` and its subclasses). These
  never escape ``invoke``: the run is stored as failed and ``run.error``
  describes the failure (message, node, spec line, user traceback).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .record_types import RunError


class FermataError(Exception):
    """The base of every error Fermata raises."""


class StoreError(FermataError):
    """A store cannot be opened or read: a bad URL, a file or database that
    is not a Fermata store (or is corrupt, or was written by a newer Fermata)."""


class StoreConflictError(StoreError):
    """Another writer appended to the same thread first (two processes
    advancing one run at once). Nothing was written by the losing append."""


class RunBusyError(StoreConflictError):
    """Another process (or another call in this one) is advancing the run of
    ``thread`` right now: it holds the run's lease. This call ran nothing
    and wrote nothing; try again once the other has paused or finished."""

    def __init__(self, message: str, thread: str, holder: str | None = None):
        super().__init__(message)
        self.thread = thread
        self.holder = holder


class InputError(FermataError):
    """The input of a run was rejected; every problem is listed. Nothing was stored."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or []


class ResumeError(FermataError):
    """A resume (or other ``Command``) was rejected. The stored run is unchanged."""

    def __init__(self, message: str, problems: list[str] | None = None,
                 located: dict[str, list[tuple[str, str]]] | None = None):
        super().__init__(message)
        self.problems = problems or []
        # The answers' problems by interrupt id, each as (path in the answer,
        # message), "" for the whole answer: what a form places beside fields.
        self.located = located or {}


class SpecChangedError(FermataError):
    """The run was started on another version of the spec, and the new one no
    longer holds what the paused run needs (a node, an interrupt, a field)."""


class NondeterminismError(FermataError):
    """A replay of a node took another path than the recorded one."""

    def __init__(self, node: str, what: str, index: int, recorded: str, replayed: str):
        super().__init__(
            f"node `{node}` did not replay as recorded: its {what} #{index} was {recorded} "
            f"and is now {replayed} (the node must reach the same interrupts and `once` calls "
            f"in the same order, given the same answers)")
        self.node = node
        self.what = what
        self.index = index
        self.recorded = recorded
        self.replayed = replayed


class StepLimitError(FermataError):
    """The run did not finish within the step limit of one invoke."""

    def __init__(self, limit: int, nodes: list[str], next_nodes: list[str]):
        ran = ", ".join(f"`{n}`" for n in nodes) or "nothing"
        upcoming = ", ".join(f"`{n}`" for n in next_nodes)
        super().__init__(
            f"step limit of {limit} reached without finishing; the last step ran {ran}"
            + (f" and {upcoming} would run next" if upcoming else "")
            + " (raise step_limit= or check the loop's exit condition)")
        self.limit = limit
        self.nodes = nodes
        self.next_nodes = next_nodes


class InvalidUpdateError(FermataError):
    """Two nodes of one superstep both replaced (``set f =``) the same field,
    or one replaced it while another added to it (``set f +=``): applied in
    node-name order, the outcome would depend on the nodes' names.
    ``extended_by`` names the node that added, in the second case."""

    def __init__(self, field: str, nodes: list[str], step: int, extended_by: str | None = None):
        names = " and ".join(f"`{n}`" for n in nodes)
        if extended_by is None:
            message = (f"nodes {names} both `set {field} =` in step {step}: a field may be replaced by "
                       f"one node per step (use `+=`, or route the nodes to different steps)")
        else:
            replaced_by = next(n for n in nodes if n != extended_by)
            message = (f"nodes {names} both write `{field}` in step {step}: `{replaced_by}` replaces it "
                       f"(`set {field} =`) and `{extended_by}` adds to it (`set {field} +=`), so the "
                       f"result would depend on the nodes' names (write it in one node, use `+=` in "
                       f"both, or route the nodes to different steps)")
        super().__init__(message)
        self.field = field
        self.nodes = nodes
        self.step = step
        self.extended_by = extended_by


# --------------------------------------------------------------------------
# Failures inside a node
# --------------------------------------------------------------------------


class StepFailure(FermataError):
    """A node's execution failed. ``line``/``column`` locate the spec step;
    they are filled in by the step that was running when the failure rose."""

    kind = "runtime"
    retryable = False

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None,
                 type_name: str | None = None, traceback: str | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.type_name = type_name or type(self).__name__
        self.traceback = traceback

    def locate(self, line: int, column: int | None) -> StepFailure:
        """Record the innermost spec position only (an ``if`` must not
        overwrite the position its inner step gave)."""
        if self.line is None:
            self.line = line
            self.column = column
        return self

    def to_error(self, node: str | None, path: str | None) -> RunError:
        from .values import storable_text  # errors.py is imported by values.py

        return {"message": storable_text(self.message), "type": self.type_name, "kind": self.kind,
                "node": node, "line": self.line, "column": self.column, "path": path,
                "traceback": None if self.traceback is None else storable_text(self.traceback)}


class EvalError(StepFailure):
    """A spec expression or step went wrong at run time (a wrong runtime type,
    division by zero, an index out of range, a value failing its schema)."""


class FailStepError(StepFailure):
    """A ``fail "message"`` step ran."""

    kind = "fail"


class UserCodeError(StepFailure):
    """User code called by ``call`` raised; retried when the node says so."""

    kind = "user_code"
    retryable = True


class CallPolicyError(StepFailure):
    """A ``call`` the call policy refuses (``[tool.fermata.calls]``); never
    retried, and refused before its module is imported."""

    kind = "policy"


class CallTimeoutError(StepFailure):
    """One attempt of a node ran past its ``timeout``; retried when the node says so."""

    kind = "timeout"
    retryable = True

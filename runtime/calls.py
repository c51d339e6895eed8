"""Calling user Python: lazy imports, JSON-only values, trimmed tracebacks, timeouts.

``call "pkg.mod:fn"`` imports ``pkg.mod`` the first time the step runs (never
when the graph is built: building must not execute user code) and caches the
function. Arguments go in and results come out through :func:`json_copy`, so
user code only ever sees and returns plain JSON values and cannot mutate the
run's state behind its back.

What a spec may call is decided by a :class:`CallPolicy` (defined in
``fermata.spec.call_policy``, shared with ``fermata check``): a refused
target fails its step with :class:`CallPolicyError` before its module is
imported, and a function whose defining module is denied (a re-export of
``os.system``) is refused once imported, before it is called.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fermata.spec.call_policy import DEFAULT_DENY, CallPolicy, ConfigError, policy_near
from fermata.spec.digest import sha256_hex

from .errors import CallPolicyError, CallTimeoutError, EvalError, UserCodeError
from .values import MAX_VALUE_DEPTH, NotJSON, canonical_json, json_copy

_RUNTIME_DIR = str(Path(__file__).resolve().parent)
_functions: dict[str, Callable[..., Any]] = {}
_import_lock = threading.Lock()

__all__ = ["DEFAULT_DENY", "CallPolicy", "CallPolicyError", "ConfigError", "checked", "checked_args",
           "invoke", "policy_near", "resolve", "run_with_timeout"]

DEFAULT_POLICY = CallPolicy()


def refuse_unless_allowed(target: str, policy: CallPolicy) -> None:
    """:class:`CallPolicyError` if ``policy`` refuses ``target`` by its name."""
    refusal = policy.refusal(target)
    if refusal is not None:
        raise CallPolicyError(f"{refusal}; {policy.how_to_allow(target)}", type_name="CallPolicyError")


def resolve(target: str) -> Callable[..., Any]:
    """The function named ``pkg.mod:fn``, imported on first use."""
    found = _functions.get(target)
    if found is not None:
        return found
    module_name, _, attribute = target.partition(":")
    with _import_lock:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
                raise EvalError(f'call "{target}": no module named `{exc.name}` '
                                "(is its folder on sys.path?)") from None
            raise _user_error(target, exc, "importing it raised") from None
        except Exception as exc:  # noqa: BLE001 - the module's own code failed
            raise _user_error(target, exc, "importing it raised") from None
    function: Callable[..., Any] | None = getattr(module, attribute, None)
    if not callable(function):
        raise EvalError(f'call "{target}": module `{module_name}` has no function `{attribute}`')
    _functions[target] = function
    return function


def invoke(target: str, args: list[Any], kwargs: dict[str, Any],
           policy: CallPolicy = DEFAULT_POLICY) -> Any:
    """Call ``target`` with copies of JSON ``args``; return a checked copy of
    its JSON result. User exceptions become :class:`UserCodeError`.

    ``policy`` has judged ``target`` by its name already (the step does,
    before anything is imported); here it judges the function found."""
    function = resolve(target)
    refusal = policy.refusal_of_definition(target, getattr(function, "__module__", None))
    if refusal is not None:
        raise CallPolicyError(f"{refusal}; {policy.how_to_allow(target)}", type_name="CallPolicyError")
    try:
        result = function(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - anything user code raises is reported
        raise _user_error(target, exc, "raised") from None
    return checked(result, target, "its result", max_depth=MAX_VALUE_DEPTH)


def checked(value: Any, target: str, what: str, max_depth: int | None = None) -> Any:
    try:
        return json_copy(value, what, max_depth=max_depth)
    except NotJSON as exc:
        raise EvalError(f'call "{target}": {exc}') from None


def checked_args(args: list[Any], kwargs: dict[str, Any], target: str) -> tuple[list[Any], dict[str, Any]]:
    return (checked(args, target, "its arguments"), checked(kwargs, target, "its keyword arguments"))


def args_hash(args: list[Any], kwargs: dict[str, Any]) -> str:
    """What identifies a ``once`` call's arguments in the journal."""
    text = canonical_json([args, kwargs])
    return sha256_hex(text.encode("utf-8"))[:16]


def _user_error(target: str, exc: BaseException, verb: str) -> UserCodeError:
    name = type(exc).__name__
    return UserCodeError(f'call "{target}" {verb} {name}: {exc}', type_name=name,
                         traceback=user_traceback(exc))


def user_traceback(exc: BaseException) -> str:
    """The exception's traceback without the runtime's own frames."""
    import traceback  # here: only a failed call needs it, and it costs every start-up ~1 ms

    frames = [frame for frame in traceback.extract_tb(exc.__traceback__)
              if not frame.filename.startswith(_RUNTIME_DIR)
              and "importlib" not in frame.filename]
    lines = ["Traceback (most recent call last):\n"]
    lines += traceback.format_list(frames)
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines)


class _Worker(threading.local):
    """Per thread: the event set when the attempt it runs has timed out.
    The class default (None) answers for every thread that never ran one,
    at no cost: a missing attribute of a plain ``threading.local`` costs an
    exception inside ``getattr``, and this is read before every step."""

    cancel: threading.Event | None = None


_worker = _Worker()


def current_cancel() -> threading.Event | None:
    """The event set when the attempt running on this thread has timed out
    (None outside :func:`run_with_timeout`)."""
    return _worker.cancel


def stop_if_cancelled() -> None:
    """Raise in an abandoned attempt, so it goes no further (checked before
    every step and throughout template rendering)."""
    cancel = _worker.cancel
    if cancel is not None and cancel.is_set():
        raise CallTimeoutError("stopped: the attempt's timeout passed", type_name="TimeoutError")


def run_with_timeout(work: Callable[[], Any], timeout_ms: int | None, what: str) -> Any:
    """Run ``work`` and return its result, giving up after ``timeout_ms``.

    Python cannot stop a thread, so on a timeout the worker is abandoned (a
    daemon thread) and told to stop: it stops before its next step, and a
    template it is rendering stops at its next operation. User code it is
    running cannot be interrupted: that finishes in the background, and its
    result is ignored.
    """
    if timeout_ms is None:
        return work()
    outcome: dict[str, Any] = {}
    cancel = threading.Event()

    def worker() -> None:
        _worker.cancel = cancel
        try:
            outcome["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=worker, name=f"fermata {what}", daemon=True)
    thread.start()
    thread.join(timeout_ms / 1000)
    if thread.is_alive():
        cancel.set()
        raise CallTimeoutError(f"{what} timed out after {timeout_ms} ms", type_name="TimeoutError")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")

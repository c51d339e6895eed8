"""IR expressions compiled, once, into Python closures.

``compile_expr(ir)`` returns ``fn(view) -> value``. A *view* is anything with
three dicts: ``state`` (the state at step start), ``overlay`` (the node's own
``set``s so far, which win over ``state``) and ``locals``. Evaluating walks
no tree and looks nothing up by kind: each IR node became one closure when the
graph was built. There is no ``eval``.

The checker proved the types of everything not of static type ``any``; the
cheap runtime checks below (one ``type()`` test per operand) catch the rest
and raise :class:`EvalError`, which the running step locates on its spec line.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache
from typing import Any, Protocol

from .errors import EvalError
from .values import format_value, is_number, json_equal, type_name

Expr = Callable[["View"], Any]


class View(Protocol):
    state: dict[str, Any]
    overlay: dict[str, Any]
    locals: dict[str, Any]


def compile_expr(ir: dict[str, Any]) -> Expr:
    try:
        compiler = _COMPILERS[ir["k"]]
    except KeyError:
        raise ValueError(f"unknown expression kind {ir.get('k')!r}") from None
    return compiler(ir)


def compile_condition(ir: dict[str, Any], what: str) -> Expr:
    """An expression that must give a bool (``when``, ``if``)."""
    inner = compile_expr(ir)

    def condition(view: View) -> bool:
        value = inner(view)
        if value is True or value is False:
            return value
        raise EvalError(f"{what} must be a bool, got {type_name(value)} {format_value(value)}")

    return condition


# --------------------------------------------------------------------------
# Leaves and constructors
# --------------------------------------------------------------------------


def _lit(ir: dict[str, Any]) -> Expr:
    value = ir["v"]
    return lambda view: value


def _tmpl(ir: dict[str, Any]) -> Expr:
    # Jinja2 is imported by the first flow that has a template (start-up time).
    from .templates import compile_template

    return compile_template(ir["src"])


def _field(ir: dict[str, Any]) -> Expr:
    name = ir["n"]

    def field(view: View) -> Any:
        overlay = view.overlay
        if name in overlay:
            return overlay[name]
        return view.state[name]

    return field


def _local(ir: dict[str, Any]) -> Expr:
    name = ir["n"]

    def local(view: View) -> Any:
        try:
            return view.locals[name]
        except KeyError:
            raise EvalError(f"local `{name}` has no value here") from None

    return local


def _list(ir: dict[str, Any]) -> Expr:
    items = [compile_expr(item) for item in ir["items"]]
    return lambda view: [item(view) for item in items]


def _record(ir: dict[str, Any]) -> Expr:
    items = [(key, compile_expr(value)) for key, value in ir["items"]]
    return lambda view: {key: value(view) for key, value in items}


# --------------------------------------------------------------------------
# Access
# --------------------------------------------------------------------------


def _get(ir: dict[str, Any]) -> Expr:
    obj, name = compile_expr(ir["o"]), ir["n"]

    def get(view: View) -> Any:
        value = obj(view)
        if type(value) is dict:
            return value.get(name)  # a missing optional record field reads as null
        raise EvalError(f"cannot read `.{name}` of a {type_name(value)}")

    return get


def _index(ir: dict[str, Any]) -> Expr:
    obj, index = compile_expr(ir["o"]), compile_expr(ir["i"])

    def get_index(view: View) -> Any:
        container, key = obj(view), index(view)
        kind = type(container)
        if kind is list:
            if type(key) is not int:
                raise EvalError(f"a list index must be an int, got {type_name(key)}")
            if -len(container) <= key < len(container):
                return container[key]
            raise EvalError(f"index {key} out of range for a list of length {len(container)}")
        if kind is dict:
            if type(key) is not str:
                raise EvalError(f"a map key must be a str, got {type_name(key)}")
            if key in container:
                return container[key]
            raise EvalError(f"key {format_value(key)!r} not in the map")
        raise EvalError(f"cannot index a {type_name(container)}")

    return get_index


# --------------------------------------------------------------------------
# Operators
# --------------------------------------------------------------------------


def _not(ir: dict[str, Any]) -> Expr:
    operand = compile_expr(ir["e"])

    def negate(view: View) -> bool:
        value = operand(view)
        if value is True or value is False:
            return not value
        raise EvalError(f"`not` needs a bool, got {type_name(value)}")

    return negate


def _neg(ir: dict[str, Any]) -> Expr:
    operand = compile_expr(ir["e"])

    def minus(view: View) -> Any:
        value = operand(view)
        if is_number(value):
            return -value
        raise EvalError(f"unary `-` needs a number, got {type_name(value)}")

    return minus


def _bin(ir: dict[str, Any]) -> Expr:
    op = ir["op"]
    left, right = compile_expr(ir["l"]), compile_expr(ir["r"])
    if op in _SHORT_CIRCUIT:
        return _SHORT_CIRCUIT[op](left, right)
    apply = _BINARY[op]
    return lambda view: apply(left(view), right(view))


def _and(left: Expr, right: Expr) -> Expr:
    def both(view: View) -> bool:
        a = left(view)
        if a is False:
            return False
        if a is not True:
            raise EvalError(f"`and` needs bools, got {type_name(a)}")
        b = right(view)
        if b is True or b is False:
            return b
        raise EvalError(f"`and` needs bools, got {type_name(b)}")

    return both


def _or(left: Expr, right: Expr) -> Expr:
    def either(view: View) -> bool:
        a = left(view)
        if a is True:
            return True
        if a is not False:
            raise EvalError(f"`or` needs bools, got {type_name(a)}")
        b = right(view)
        if b is True or b is False:
            return b
        raise EvalError(f"`or` needs bools, got {type_name(b)}")

    return either


def _default(left: Expr, right: Expr) -> Expr:
    def coalesce(view: View) -> Any:
        a = left(view)
        return right(view) if a is None else a

    return coalesce


_SHORT_CIRCUIT = {"and": _and, "or": _or, "??": _default}


def _numbers(op: str, a: Any, b: Any) -> None:
    if not (is_number(a) and is_number(b)):
        raise EvalError(f"`{op}` needs numbers, got {type_name(a)} and {type_name(b)}")


def _add(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if (ta is int or ta is float) and (tb is int or tb is float):
        return a + b
    if ta is tb and (ta is str or ta is list):
        return a + b
    raise EvalError(f"`+` cannot combine {type_name(a)} and {type_name(b)}")


def _sub(a: Any, b: Any) -> Any:
    _numbers("-", a, b)
    return a - b


def _mul(a: Any, b: Any) -> Any:
    _numbers("*", a, b)
    return a * b


def _div(a: Any, b: Any) -> float:
    _numbers("/", a, b)
    if b == 0:
        raise EvalError("division by zero")
    quotient: float = a / b  # true division: always a float, as LANGUAGE.md says
    return quotient


def _mod(a: Any, b: Any) -> Any:
    _numbers("%", a, b)
    if b == 0:
        raise EvalError("modulo by zero")
    return a % b


def _ordered(op: str, compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def check(a: Any, b: Any) -> bool:
        if (is_number(a) and is_number(b)) or (type(a) is str and type(b) is str):
            return compare(a, b)
        raise EvalError(f"`{op}` compares numbers or strings, got {type_name(a)} and {type_name(b)}")

    return check


def _contains(a: Any, b: Any) -> bool:
    kind = type(b)
    if kind is list:
        return any(json_equal(a, item) for item in b)
    if kind is str and type(a) is str:
        return a in b
    if kind is dict and type(a) is str:
        return a in b
    raise EvalError(f"`in` cannot look for a {type_name(a)} in a {type_name(b)}")


_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "==": json_equal,
    "!=": lambda a, b: not json_equal(a, b),
    "<": _ordered("<", lambda a, b: a < b),
    "<=": _ordered("<=", lambda a, b: a <= b),
    ">": _ordered(">", lambda a, b: a > b),
    ">=": _ordered(">=", lambda a, b: a >= b),
    "in": _contains,
    "+": _add,
    "-": _sub,
    "*": _mul,
    "/": _div,
    "%": _mod,
}


# --------------------------------------------------------------------------
# Built-in functions
# --------------------------------------------------------------------------


def _fn(ir: dict[str, Any]) -> Expr:
    name = ir["n"]
    try:
        function = _functions()[name]
    except KeyError:
        raise ValueError(f"unknown function {name!r}") from None
    args = [compile_expr(a) for a in ir["a"]]
    if len(args) == 1:
        (only,) = args
        return lambda view: function(only(view))
    return lambda view: function(*[a(view) for a in args])


_KIND_NAMES = {str: "str", list: "list", dict: "map", int: "int", float: "float"}


def _need(name: str, value: Any, *kinds: type) -> None:
    if type(value) not in kinds:
        wanted = " or ".join(_KIND_NAMES[k] for k in kinds)
        raise EvalError(f"`{name}` needs a {wanted}, got {type_name(value)}")


def _len(value: Any) -> int:
    _need("len", value, str, list, dict)
    return len(value)


def _text(name: str, method: Callable[[str], str]) -> Callable[[Any], str]:
    def apply(value: Any) -> str:
        _need(name, value, str)
        return method(value)

    return apply


def _contains_fn(text: Any, part: Any) -> bool:
    _need("contains", text, str)
    _need("contains", part, str)
    return part in text


def _startswith(text: Any, prefix: Any) -> bool:
    _need("startswith", text, str)
    _need("startswith", prefix, str)
    starts: bool = text.startswith(prefix)
    return starts


def _keys(value: Any) -> list[str]:
    _need("keys", value, dict)
    return list(value)


def _values(value: Any) -> list[Any]:
    _need("values", value, dict)
    return list(value.values())


def _round(value: Any, digits: Any = None) -> float:
    _need("round", value, int, float)
    if digits is None:
        return float(round(value))
    _need("round", digits, int)
    return float(round(value, digits))


def _extreme(name: str, pick: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def apply(a: Any, b: Any) -> Any:
        _need(name, a, int, float)
        _need(name, b, int, float)
        return pick(a, b)

    return apply


def _abs(value: Any) -> Any:
    _need("abs", value, int, float)
    return abs(value)


def _int(value: Any) -> int:
    kind = type(value)
    if kind is int:
        same: int = value
        return same
    if kind is float:
        return int(value)
    if kind is bool:
        return int(value)
    if kind is str:
        try:
            return int(value.strip())
        except ValueError:
            raise EvalError(f"`int` cannot read {value!r} as an int") from None
    raise EvalError(f"`int` cannot convert a {type_name(value)}")


def _float(value: Any) -> float:
    kind = type(value)
    if kind is int or kind is float:
        return float(value)
    if kind is str:
        try:
            result = float(value.strip())
        except ValueError:
            raise EvalError(f"`float` cannot read {value!r} as a float") from None
        if not math.isfinite(result):
            raise EvalError(f"`float` cannot read {value!r} as a finite float")
        return result
    raise EvalError(f"`float` cannot convert a {type_name(value)}")


# The code of each function the language has (spec/builtins.json names them).
_IMPLEMENTATIONS: dict[str, Callable[..., Any]] = {
    "len": _len,
    "lower": _text("lower", str.lower),
    "upper": _text("upper", str.upper),
    "trim": _text("trim", str.strip),
    "contains": _contains_fn,
    "startswith": _startswith,
    "keys": _keys,
    "values": _values,
    "round": _round,
    "min": _extreme("min", min),
    "max": _extreme("max", max),
    "abs": _abs,
    "str": format_value,
    "int": _int,
    "float": _float,
}


@cache
def _functions() -> dict[str, Callable[..., Any]]:
    """Exactly the table's functions (one it names without code here fails,
    as a test checks). Read when a flow first calls a function, not at
    import: the table's JSON and its dataclass cost every start-up ~1 ms."""
    from fermata.spec.builtins import builtins

    return {name: _IMPLEMENTATIONS[name] for name in builtins()}


_COMPILERS: dict[str, Callable[[dict[str, Any]], Expr]] = {
    "lit": _lit,
    "tmpl": _tmpl,
    "field": _field,
    "local": _local,
    "list": _list,
    "record": _record,
    "get": _get,
    "index": _index,
    "not": _not,
    "neg": _neg,
    "bin": _bin,
    "fn": _fn,
}

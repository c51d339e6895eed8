"""Hypothesis strategies for expression and type trees (used by the parser,
printer and type tests). Trees are built only from values the parser itself
can produce: no negative number literals (``-3`` parses as a unary minus)."""

from __future__ import annotations

from hypothesis import strategies as st

from fermata.compiler.syntax import ast
from fermata.compiler.syntax.keywords import refused_words
from fermata.compiler.syntax.printer import KEYWORDS

BINARY_OPS = ("or", "and", "==", "!=", "<", "<=", ">", ">=", "in", "??", "+", "-", "*", "/", "%")
FUNCTIONS = ("len", "lower", "upper", "trim", "contains", "round", "min", "max", "abs", "str")

_plain_names = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True).filter(lambda n: n not in KEYWORDS)


def names_for(role: str | None = None) -> st.SearchStrategy[str]:
    """Names, often keywords (contextual): any keyword where no role is
    given (a record key, a field read with `.`), else those that can name a
    ``role`` (``keywords.py``)."""
    allowed = sorted(KEYWORDS - (refused_words(role) if role else frozenset()))
    return st.one_of(_plain_names, st.sampled_from(allowed))


names = names_for("local")   # a name read in an expression
keys = names_for()            # a record key or a field after `.`
texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
literals = st.one_of(
    st.integers(min_value=0, max_value=10**12).map(ast.Literal),
    st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False).map(ast.Literal),
    texts.map(ast.Literal),
    st.sampled_from([True, False, None]).map(ast.Literal),
)


def _extend(children: st.SearchStrategy[ast.Expr]) -> st.SearchStrategy[ast.Expr]:
    return st.one_of(
        st.builds(ast.Binary, st.sampled_from(BINARY_OPS), children, children),
        st.builds(ast.Unary, st.sampled_from(["not", "-"]), children),
        st.builds(ast.Member, children, keys),
        st.builds(ast.Index, children, children),
        st.builds(ast.FuncCall, st.sampled_from(FUNCTIONS), st.lists(children, max_size=3).map(tuple)),
        st.lists(children, max_size=3).map(lambda items: ast.ListExpr(tuple(items))),
        st.lists(st.tuples(st.one_of(keys, texts), children), max_size=3).map(
            lambda entries: ast.RecordExpr(tuple(ast.RecordEntry(k, v) for k, v in entries))),
    )


expressions = st.recursive(st.one_of(literals, names.map(ast.Name)), _extend, max_leaves=12)

_base_types = st.one_of(st.sampled_from(["str", "int", "float", "bool", "any", "Decision"]).map(ast.NamedType),
                        st.lists(texts, min_size=1, max_size=3).map(lambda v: ast.LiteralUnion(tuple(v))))


# Constraints as the parser can produce them, valid for their type or not
# (the printer and parser do not judge them): the words, some other names,
# numbers of either sign, any string.
constraints = st.builds(
    ast.Constraint,
    st.one_of(st.sampled_from(["min", "max", "pattern", "format"]), names),
    st.one_of(st.integers(min_value=-10**12, max_value=10**12),
              st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False), texts))


def _extend_types(children: st.SearchStrategy[ast.Type]) -> st.SearchStrategy[ast.Type]:
    return st.one_of(
        st.builds(ast.ConstrainedType, children, st.lists(constraints, min_size=1, max_size=3).map(tuple)),
        children.map(ast.ListType),
        children.map(ast.MapType),
        children.map(ast.OptionalType),
        st.lists(st.tuples(keys, children), max_size=3).map(
            lambda fs: ast.RecordType(tuple(ast.RecordField(n, t) for n, t in fs))),
    )


types = st.recursive(_base_types, _extend_types, max_leaves=6)


@st.composite
def mutated_texts(draw: st.DrawFn, texts: list[str]) -> str:
    """One of ``texts`` after one to three small edits (deleting a few
    characters, inserting a piece of syntax, doubling a stretch): mostly
    invalid, and close to what people type."""
    text = draw(st.sampled_from(texts))
    for _ in range(draw(st.integers(1, 3))):
        position = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["delete", "insert", "duplicate"]))
        if action == "delete":
            text = text[:position] + text[position + draw(st.integers(1, 8)):]
        elif action == "insert":
            text = text[:position] + draw(st.sampled_from(
                list('{}()[]",:;=-><?|#\n') + ["node", "when", " type", " input ", " in ", " end", " call ", " not"])) \
                + text[position:]
        else:
            length = draw(st.integers(1, 20))
            text = text[:position] + text[position:position + length] * 2 + text[position + length:]
    return text


@st.composite
def keyword_named_modules(draw: st.DrawFn) -> ast.Module:
    """A type and a flow whose names, state fields, node, locals, interrupt
    labels, keyword arguments and the flows `run` names are often keywords
    (where each may be one):
    what the printer must print so that it parses back the same."""
    fields = draw(st.lists(names_for("state field"), min_size=1, max_size=4, unique=True))
    state = ast.StateBlock(tuple(
        ast.StateField(f, draw(types), draw(st.one_of(st.none(), expressions))) for f in fields))
    steps: list[ast.Step] = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["let", "interrupt", "call", "run"]))
        if kind == "let":
            steps.append(ast.Let(draw(names), draw(expressions)))
        elif kind == "interrupt":
            interrupt = ast.Interrupt(draw(names_for("interrupt label")), draw(st.one_of(st.none(), expressions)),
                                      draw(st.one_of(st.none(), types)))
            steps.append(ast.Let(draw(names), interrupt) if draw(st.booleans()) else interrupt)
        elif kind == "run":
            bound = draw(st.booleans())
            first = names_for("flow run by `let`") if bound else keys   # see keywords.py
            flow_name = draw(st.one_of(first, st.tuples(first, keys).map(".".join)))
            entries = draw(st.lists(keys, max_size=3, unique=True))
            run = ast.Run(flow_name, ast.RecordExpr(tuple(ast.RecordEntry(k, draw(expressions)) for k in entries)))
            steps.append(ast.Let(draw(names), run) if bound else run)
        else:
            kwargs = draw(st.lists(names_for("keyword argument"), max_size=3, unique=True))
            steps.append(ast.Call("m:f", tuple(draw(st.lists(expressions, max_size=2))),
                                  tuple(ast.KwArg(k, draw(expressions)) for k in kwargs)))
    node = draw(names_for("node"))
    flow = ast.Flow(draw(keys), (state, ast.NodeDecl(node, tuple(steps)),
                                 ast.Edge((ast.Ref("start"),), (ast.Ref(node),)),
                                 ast.Edge((ast.Ref(node),), (ast.Ref("end"),))))
    return ast.Module((ast.TypeDecl(draw(keys), draw(types)), flow))

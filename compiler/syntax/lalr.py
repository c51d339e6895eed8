"""An LALR(1) driver over the tables Lark builds from ``spec/fermata.lark``.

Lark's own parser loop spends most of its time on bookkeeping we do not need
(a parser-state object, ``lark.Token`` attributes, a tree node per rule).
This loop runs the same tables on the lexer's tuples, and each reduction calls
the AST builder directly with the children a Lark tree node of that rule
would hold (``_kept_children`` applies Lark's rules for which children a node keeps).
Rules that only pass their one child up (``?rule: other``) cost a state
change and nothing else.

A token the tables do not accept raises ``ParseFailure``; the caller then
lets Lark parse the same text to describe the error (errors need words, not
speed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from .lexer import Token

END = "$END"

# An action: a state number to shift to, or (symbols to pop, reduction or None
# for a rule that passes its single child up, nonterminal reduced to).
_Reduce = tuple[int, Callable[[list[Any]], Any] | None, str]


class ParseFailure(Exception):
    """The tables accept no action for a token (or the tokens end early);
    ``token`` is the token refused (None: the tokens ended), ``states`` the
    parser's state stack when it was refused (see :meth:`Driver.accepts`)."""

    def __init__(self, token: Token | None = None, states: list[int] | None = None):
        super().__init__(token)
        self.token = token
        self.states = states or []


def lalr_tables(parse_table: Any, rules: Sequence[Any], maybe_placeholders: bool,
                start: str = "start") -> dict[str, Any]:
    """Lark's LALR tables and rules as plain data (made once, when the
    grammar's tables are generated): per state, a symbol's action is the
    state to shift to (>= 0) or ``-1 - i`` to reduce by rule ``i``."""
    from lark.parsers.lalr_analysis import Shift

    if sorted(parse_table.states) != list(range(len(parse_table.states))):
        raise ValueError("expected LALR states numbered from 0")
    number = {rule: i for i, rule in enumerate(rules)}
    actions = [
        {str(symbol): argument if action is Shift else -1 - number[argument]
         for symbol, (action, argument) in sorted(parse_table.states[state].items())}
        for state in range(len(parse_table.states))]
    return {
        "rules": [_rule_data(rule, maybe_placeholders) for rule in rules],
        "actions": actions,
        "start": parse_table.start_states[start],
        "end": parse_table.end_states[start],
    }


def _rule_data(rule: Any, maybe_placeholders: bool) -> dict[str, Any]:
    if rule.options.template_source is not None:
        raise ValueError("grammar templates are not supported")
    return {
        "name": str(rule.alias or rule.origin.name),  # Lark's are Token, a str subclass
        "reduces_to": str(rule.origin.name),
        "size": len(rule.expansion),
        "keep": _kept_children(rule, maybe_placeholders),
        "single_child_up": bool(rule.options.expand1 and not rule.alias),
        "passes_child_up": _passes_child_up(rule, maybe_placeholders),
    }


class Driver:
    def __init__(self, tables: dict[str, Any], builder: object,
                 keywords: dict[str, str] | None = None):
        """``tables`` as :func:`lalr_tables` makes them; ``builder`` has a
        method per rule that is not inlined; ``keywords`` maps each keyword
        terminal to the terminal it is a name of (:func:`keyword_terminals`):
        a keyword the parser cannot take where it stands, where that
        terminal can be, is read as it (keywords are contextual)."""
        self.keywords = keywords or {}
        reductions = [(rule["size"], None if rule["passes_child_up"] else _reduction(rule, builder),
                       rule["reduces_to"]) for rule in tables["rules"]]
        # A list, as the states are numbered from 0: indexing beats hashing.
        self.actions: list[dict[str, int | _Reduce]] = [
            {symbol: action if action >= 0 else reductions[-1 - action] for symbol, action in row.items()}
            for row in tables["actions"]]
        self.start_state: int = tables["start"]
        self.end_state: int = tables["end"]

    def parse(self, tokens: Sequence[Token]) -> Any:
        actions = self.actions
        end_state = self.end_state
        state = self.start_state
        states = [state]
        values: list[Any] = []
        push_state, push_value = states.append, values.append
        keywords = self.keywords
        for token in tokens:
            kind = token[0]
            # Most keywords stand where no name could: one look-up settles it.
            if kind in keywords and keywords[kind] in actions[state]:
                read = self.read_as(states, kind)
                if read != kind:
                    kind = read
                    token = (read, token[1], token[2])
            while True:
                try:
                    action = actions[state][kind]
                except KeyError:
                    raise ParseFailure(token, states) from None
                if action.__class__ is int:
                    state = action
                    push_state(state)
                    push_value(token)
                    break
                size, reduction, nonterminal = action  # type: ignore[misc]
                if reduction is None:  # the value stays; only the state changes
                    state = states[-1] = actions[states[-2]][nonterminal]  # type: ignore[assignment]
                    continue
                if size:
                    children = values[-size:]
                    del states[-size:]
                    del values[-size:]
                else:
                    children = []
                state = actions[states[-1]][nonterminal]  # type: ignore[assignment]
                push_state(state)
                push_value(reduction(children))
                if state == end_state and kind == END:
                    return values[-1]
        raise ParseFailure(None, states)

    def read_as(self, states: Sequence[int], kind: str) -> str:
        """The terminal a token of type ``kind`` is read as by a parser whose
        state stack is ``states``. This is the whole rule of contextual
        keywords: a keyword is a keyword where the parser can take it, and
        elsewhere a name where the parser can take a name (else it stays a
        keyword, for the error to name it). "Can take" means shifting after
        the reductions it causes, not the raw LALR row, whose merged
        look-aheads would claim, say, `input` can follow any expression.
        Lark's lexer is made to ask the same question (``parser.py``)."""
        name = self.keywords.get(kind)
        if name is None or not self.shifts(states, name) or self.shifts(states, kind):
            return kind
        return name

    def shifts(self, states: Sequence[int], terminal: str) -> bool:
        """Whether the parser with state stack ``states`` would shift
        ``terminal`` (or accept, for the end of input) after the reductions
        it causes, as Lark's ``InteractiveParser.accepts`` finds out: on a
        copy of the stack, only the part the reductions reach."""
        actions = self.actions
        base = len(states)          # states[:base] and then pushed: the simulated stack
        pushed: list[int] = []
        state = states[-1]
        while True:
            action = actions[state].get(terminal)
            if action is None:
                return False
            if action.__class__ is int:
                return True
            size, _reduction, nonterminal = action  # type: ignore[misc]
            if size >= len(pushed):
                base -= size - len(pushed)
                pushed.clear()
            elif size:
                del pushed[-size:]
            state = actions[pushed[-1] if pushed else states[base - 1]][nonterminal]  # type: ignore[assignment]
            if state == self.end_state and terminal == END:
                return True
            pushed.append(state)

    def accepts(self, states: list[int]) -> set[str]:
        """The terminals the parser could take next from the state stack
        ``states`` (a :class:`ParseFailure`'s): each candidate of the top
        state's row is tried through the reductions it would cause, as Lark's
        ``InteractiveParser.accepts`` does, so the set is exact where the raw
        row would list tokens only some reductions allow."""
        return {terminal for terminal in self.actions[states[-1]]
                if terminal.isupper() and self.shifts(states, terminal)}


def keyword_terminals(lexer_tables: dict[str, Any]) -> dict[str, str]:
    """``{keyword terminal: the terminal it is a name of}`` (``{"TYPE":
    "NAME", ...}``), from the lexer's tables (:func:`lexer.lexer_tables`)."""
    return {keyword: name for name, words in lexer_tables["keywords"].items() for keyword in words.values()}


def _passes_child_up(rule: Any, maybe_placeholders: bool) -> bool:
    """``?rule: x`` with one kept, non-inlined symbol: Lark returns the child."""
    if not rule.options.expand1 or rule.alias or len(rule.expansion) != 1:
        return False
    if maybe_placeholders and True in (rule.options.empty_indices or ()):
        return False
    symbol = rule.expansion[0]
    return not (symbol.is_term and symbol.filter_out) and not symbol.name.startswith("_")


def _reduction(rule: dict[str, Any], builder: object) -> Callable[[list[Any]], Any]:
    """What reducing ``rule`` does with the values of its symbols.

    Lark's rules for the children of a tree node: tokens written as literal
    strings are dropped; the children of inlined rules (``_name``, and the
    helper rules Lark makes for ``x*``) take their place; an absent
    ``[optional]`` part leaves a ``None``; a ``?rule`` left with one child is
    that child. An inlined rule's value is the plain list of its children.

    Every reduction is a Python call or two, and a 1,000-node spec makes
    about 12,000 of them, so the common shapes get a function of their own.
    """
    build = _builder_of(rule, builder)
    keep = rule["keep"]
    if keep is None:  # every symbol's value is a child, as it is
        # (an inlined rule's value is then a copy of a slice as long as the rule)
        return build or list
    inline = build is None
    if build is None:
        build = _as_is  # the lists made below are fresh: an inlined rule's value is the list itself
    plan, expands = list(keep[0]), list(keep[1])
    # Children are gathered with operator.itemgetter and list displays, not
    # comprehensions: in Python 3.11 each comprehension is a function call.
    past_end = rule["size"]  # where the None of a placeholder is: values.append(None)
    if not any(expands):
        get = _getter([past_end if index is None else index for index in plan])

        def pick(values: list[Any]) -> Any:
            values.append(None)  # a fresh list: the driver's slice of its value stack
            return build([*get(values)])

        return pick
    if expands[0] and plan[0] == 0 and not any(expands[1:]) and None not in plan:
        get_rest = _getter(plan[1:])

        def grow(values: list[Any]) -> Any:  # `items: items "," item`, left-recursive
            children = values[0]
            children += get_rest(values)  # in place: copying would make long lists quadratic
            return children if inline else build(children)

        return grow
    if expands.count(True) == 1 and expands.index(True) > 0:
        # One inlined list amid single children (`node: NODE NAME LBRACE
        # [doc] step* RBRACE`).
        at = expands.index(True)
        inlined = plan[at]
        get_before = _getter([past_end if index is None else index for index in plan[:at]])
        get_after = _getter([past_end if index is None else index for index in plan[at + 1:]])

        def splice(values: list[Any]) -> Any:
            values.append(None)
            return build([*get_before(values), *values[inlined], *get_after(values)])

        return splice

    def flatten(values: list[Any]) -> Any:
        children: list[Any] = []
        for index, expand in zip(plan, expands, strict=False):
            if index is None:
                children.append(None)
            elif expand:
                if children:
                    children += values[index]
                else:  # a left-recursive list grows in place
                    children = values[index]
            else:
                children.append(values[index])
        return build(children)

    return flatten


def _getter(indices: list[int]) -> Callable[[list[Any]], Sequence[Any]]:
    """A C-level function giving ``[values[i] for i in indices]`` (as a sequence)."""
    if len(indices) == 1:
        return itemgetter(slice(indices[0], indices[0] + 1))
    if not indices:
        return itemgetter(slice(0, 0))
    return itemgetter(*indices)


def _builder_of(rule: dict[str, Any], builder: object) -> Callable[[list[Any]], Any] | None:
    """What becomes of the children: the builder's method for the rule, or
    None for an inlined rule (its value is the list of children itself); a
    ``?rule`` with one child is that child."""
    name = rule["name"]
    method = getattr(builder, name, None)
    if name.startswith("_"):
        return None
    if not rule["single_child_up"]:
        if method is None:
            raise ValueError(f"the AST builder has no method for rule {name!r}")
        return method  # type: ignore[no-any-return]

    def single_child_up(children: list[Any]) -> Any:
        if len(children) == 1:
            return children[0]
        if method is None:
            raise AssertionError(f"rule {name!r} reduced to {len(children)} children")
        return method(children)

    return single_child_up


def _kept_children(rule: Any, maybe_placeholders: bool) -> list[list[Any]] | None:
    """Which symbol values become children, in order (``None`` for a
    placeholder), and which of them are inlined; or None when every value is
    a child as it is."""
    empty = rule.options.empty_indices if maybe_placeholders else ()
    # empty_indices has a True for each absent [optional] symbol, interleaved
    # with a False per symbol present: count the Trues in front of each symbol.
    nones_before = [len(run) for run in "".join("1" if e else "0" for e in empty).split("0")] \
        if empty else [0] * (len(rule.expansion) + 1)
    plan: list[int | None] = []
    expands: list[bool] = []
    for index, symbol in enumerate(rule.expansion):
        plan += [None] * nones_before[index]
        expands += [False] * nones_before[index]
        if rule.options.keep_all_tokens or not (symbol.is_term and symbol.filter_out):
            plan.append(index)
            expands.append(not symbol.is_term and symbol.name.startswith("_"))
    plan += [None] * nones_before[len(rule.expansion)]
    expands += [False] * nones_before[len(rule.expansion)]
    if not any(expands) and plan == list(range(len(rule.expansion))):
        return None
    return [plan, expands]


def _as_is(children: list[Any]) -> list[Any]:
    return children

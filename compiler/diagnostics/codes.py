"""THE registry of diagnostic codes: every code any part of the compiler
reports, with its severity, its catalogue title and its family (the module
that reports it).

Each reporting module takes its view of this table (:func:`reported_by`);
the catalogue (``catalogue.py``), ``spec/diagnostics.md`` and SARIF rules are
built from it and the fixtures in ``spec/diagnostics/``, and the catalogue
tests check that the two agree. A new code is one line here plus its fixture.

Ranges: F0xx syntax, F1xx names and declarations, F2xx the graph, F3xx types,
F34x constrained types, F4xx steps, templates and calls, F9xx suppression
comments.
"""

from __future__ import annotations

from dataclasses import dataclass

# The families: the module (under ``fermata.compiler``) that reports each code.
SYNTAX = "syntax_errors"
DECLARATIONS = "checks.declarations"
GRAPH = "checks.graph"
TYPES = "checks.typecheck"  # with what inference and checks/templates.py report for it
STEPS = "checks.steps"
CALLS = "checks.calls"
RESOLVE = "resolve"
MODULES = "modules"  # `use` of other files
SUPPRESS = "suppress"
ANSWERS = "checks.answers"
CONSTRAINTS = "checks.constraints"
RUNS = "checks.runs"  # `run FLOW {...}`, with the input check the type checker asks of it


@dataclass(frozen=True)
class Code:
    severity: str  # "error" | "warning"
    title: str     # the catalogue's one-line description
    family: str    # one of the families above


CODES: dict[str, Code] = {
    "F001": Code("error", "unexpected token", SYNTAX),
    "F002": Code("error", "unexpected character", SYNTAX),
    "F003": Code("error", "unterminated string", SYNTAX),
    "F004": Code("error", "invalid escape in string", SYNTAX),
    "F005": Code("error", "unexpected end of file", SYNTAX),
    "F006": Code("error", "`retry` count that is not a whole number", SYNTAX),
    "F007": Code("error", "node option given twice", SYNTAX),
    "F008": Code("error", "unknown generic type", SYNTAX),
    "F009": Code("error", "positional argument after a keyword argument", SYNTAX),
    "F010": Code("error", "number too large", SYNTAX),
    "F011": Code("error", "chained comparison", SYNTAX),
    "F012": Code("error", "`not` or `-` where it needs parentheses", SYNTAX),
    "F013": Code("error", "nested too deeply", SYNTAX),
    "F014": Code("error", "keyword as a name it could not be referred to by", SYNTAX),
    "F015": Code("warning", "bidirectional control character in the source", SYNTAX),
    "F020": Code("error", "interrupt clause given twice", SYNTAX),
    "F030": Code("error", "fan-out clause without `for` or `key`", SYNTAX),
    "F031": Code("error", "`let NAME = WORD FLOW {...}` where WORD is not `run`", SYNTAX),
    "F100": Code("error", "duplicate flow name", DECLARATIONS),
    "F101": Code("error", "unknown node", GRAPH),
    "F102": Code("error", "duplicate type name", DECLARATIONS),
    "F103": Code("error", "duplicate node name", DECLARATIONS),
    "F104": Code("error", "duplicate state field", DECLARATIONS),
    "F105": Code("error", "more than one `state` block", DECLARATIONS),
    "F106": Code("error", "more than one `input` list", DECLARATIONS),
    "F107": Code("error", "more than one `output` list", DECLARATIONS),
    "F108": Code("error", "unknown field in `input`", DECLARATIONS),
    "F109": Code("error", "unknown field in `output`", DECLARATIONS),
    "F110": Code("warning", "field listed twice in `input` or `output`", DECLARATIONS),
    "F111": Code("warning", "required field never given a value", DECLARATIONS),
    "F112": Code("error", "flow without nodes", DECLARATIONS),
    "F113": Code("error", "`use` of a file that does not exist", MODULES),
    "F114": Code("error", "import cycle", MODULES),
    "F115": Code("error", "name brought in twice by `use`", MODULES),
    "F116": Code("error", "unknown name in a `use ... as` namespace", TYPES),
    "F117": Code("error", "`use` of a file with errors", MODULES),
    "F120": Code("error", "unknown name", TYPES),
    "F121": Code("error", "local used before its `let`", TYPES),
    "F122": Code("error", "local declared twice", TYPES),
    "F123": Code("error", "`let` named like a state field", TYPES),
    "F124": Code("warning", "unused local", TYPES),
    "F125": Code("error", "unknown function", TYPES),
    "F126": Code("error", "unknown type", TYPES),
    "F127": Code("error", "recursive type", TYPES),
    "F128": Code("error", "`set` of an unknown field", TYPES),
    "F129": Code("error", "unknown record field", TYPES),
    "F130": Code("error", "local used outside its `if` branch", TYPES),
    "F131": Code("error", "type declared with a built-in type's name", TYPES),
    "F132": Code("error", "field named twice in a record", TYPES),
    "F140": Code("error", "fan-out variable named like a state field", TYPES),
    "F141": Code("error", "`run` of an unknown flow", RUNS),
    "F142": Code("error", "`run` cycle between flows", RUNS),
    "F200": Code("error", "no edge from `start`", GRAPH),
    "F201": Code("error", "node unreachable from `start`", GRAPH),
    "F202": Code("error", "node with no outgoing edge", GRAPH),
    "F203": Code("error", "cycle that never reaches `end`", GRAPH),
    "F204": Code("warning", "join whose sources never all run", GRAPH),
    "F205": Code("warning", "two nodes of one superstep replace the same field", GRAPH),
    "F206": Code("error", "edge leaving `end`", GRAPH),
    "F207": Code("error", "edge into `start`", GRAPH),
    "F208": Code("error", "`start` or `end` in a join", GRAPH),
    "F209": Code("error", "node mixing conditional and unconditional edges", GRAPH),
    "F210": Code("error", "`otherwise` repeated or not last", GRAPH),
    "F211": Code("warning", "branch after an always-true condition", GRAPH),
    "F212": Code("warning", "routing group without `otherwise`", GRAPH),
    "F213": Code("error", "static interrupt on `start` or `end`", GRAPH),
    "F214": Code("warning", "node listed twice in a static interrupt", GRAPH),
    "F215": Code("error", "join with a condition", GRAPH),
    "F216": Code("error", "`=` and `+=` to one field in one superstep", GRAPH),
    "F217": Code("warning", "join source that loops without the join", GRAPH),
    "F218": Code("warning", "fan-out node replacing a field (once per instance)", GRAPH),
    "F300": Code("error", "value does not match the field's type", TYPES),
    "F301": Code("error", "condition is not `bool`", TYPES),
    "F302": Code("error", "operator applied to values it does not take", TYPES),
    "F303": Code("error", "`+=` on a field that cannot grow", TYPES),
    "F304": Code("error", "`+=` with a value of the wrong type", TYPES),
    "F305": Code("error", "wrong number of arguments", TYPES),
    "F306": Code("error", "argument of the wrong type", TYPES),
    "F307": Code("error", "field or index read from a value that may be null", TYPES),
    "F308": Code("error", "field or index read from a value that has none", TYPES),
    "F309": Code("error", "index of the wrong type", TYPES),
    "F310": Code("error", "default does not match the field's type", TYPES),
    "F311": Code("error", "default is not a constant", TYPES),
    "F312": Code("error", "`fail` message is not a `str`", TYPES),
    "F313": Code("warning", "`??` on a value that is never null", TYPES),
    "F330": Code("error", "fan-out over a value that is not a list", TYPES),
    "F331": Code("error", "fan-out `key` that is not `str` or `int`", TYPES),
    "F332": Code("error", "`run` input missing a required field or naming one the flow does not take", RUNS),
    "F340": Code("error", "constraint the type does not take", CONSTRAINTS),
    "F341": Code("error", "`min` above `max`", CONSTRAINTS),
    "F342": Code("error", "length or item count that is not a whole number of at least 0", CONSTRAINTS),
    "F343": Code("error", "`pattern` that is not a portable regular expression", CONSTRAINTS),
    "F344": Code("error", "unknown `format`", CONSTRAINTS),
    "F345": Code("error", "constraint given twice", CONSTRAINTS),
    "F346": Code("error", "constant that breaks its type's constraints", CONSTRAINTS),
    "F400": Code("error", "malformed call target", STEPS),
    "F401": Code("error", "malformed duration", STEPS),
    "F402": Code("error", "duration of zero", STEPS),
    "F403": Code("error", "`retry` out of range", STEPS),
    "F404": Code("warning", "`backoff` without `retry`", STEPS),
    "F405": Code("warning", "backoff growing beyond a day", STEPS),
    "F406": Code("error", "interrupt label used twice in one node", STEPS),
    "F408": Code("error", "keyword argument repeated in one call", STEPS),
    "F430": Code("error", "template does not parse", TYPES),
    "F431": Code("error", "unknown name in a template", TYPES),
    "F432": Code("error", "unknown filter or test in a template", TYPES),
    "F435": Code("error", "template in a record key", ANSWERS),
    "F440": Code("warning", "interrupt without `expect`", ANSWERS),
    "F450": Code("error", "call target whose module cannot be imported", RESOLVE),
    "F451": Code("error", "call target naming a function its module lacks", RESOLVE),
    "F452": Code("error", "call target refused by the call policy", CALLS),
    "F460": Code("error", "`where` rule on an interrupt without `let`", TYPES),
    "F461": Code("error", "`to` that is not a `str` or `list[str]`", TYPES),
    "F462": Code("error", "deadline answer that does not match `expect`", TYPES),
    "F463": Code("error", "deadline answer that breaks the `where` rule", TYPES),
    "F464": Code("error", "`remind every` not shorter than `within`", STEPS),
    "F465": Code("error", "`wait until` that is not a `str`", TYPES),
    "F466": Code("error", "`wait until` a text that is not an ISO 8601 date-time", TYPES),
    "F467": Code("error", "deadline answer that reads a local", TYPES),
    "F901": Code("warning", "unused suppression", SUPPRESS),
    "F902": Code("warning", "malformed suppression", SUPPRESS),
}


def reported_by(family: str) -> dict[str, tuple[str, str]]:
    """``{code: (severity, title)}`` of the codes one family reports, by code."""
    return {code: (c.severity, c.title) for code, c in CODES.items() if c.family == family}

"""What a template may use beyond Jinja2's sandbox defaults: the one list
the checker (compiler/checks/templates.py) and the renderer
(runtime/templates.py) both read, so `fermata check` accepts exactly what
a run can render.

A leaf module: it imports nothing of Fermata.
"""

from __future__ import annotations

# Jinja's documented globals that a template may call.
TEMPLATE_GLOBALS = ("range", "dict", "cycler", "joiner", "namespace")

# Jinja built-ins left out, and why: a replay re-renders every template and
# must produce the same text, so nothing random may be offered.
LEFT_OUT = {
    "lipsum": "`lipsum` is left out: it is random, so a replay would render differently",
    "random": "the `random` filter is left out: a replay would render differently; "
              "pick an item in a `call` and store it in the state",
}

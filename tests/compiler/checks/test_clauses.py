"""Human-task clauses on an interrupt and `wait`: the checks of every pass
that knows them (each code with a spec that triggers it and a near miss that
does not), the deadline as an edge of the graph, and the words staying names
outside their clause."""

from __future__ import annotations

import textwrap

import pytest

from fermata.compiler.checks import check_module
from fermata.compiler.diagnostics.diagnostic import Diagnostic
from fermata.compiler.syntax.parser import parse


def diagnostics(text: str) -> list[Diagnostic]:
    module, syntax = parse(textwrap.dedent(text), "test.flow")
    if module is None:
        return syntax
    return syntax + check_module(module, "test.flow")


def codes(text: str) -> list[str]:
    return sorted(d.code for d in diagnostics(text) if d.severity.value == "error")


def review(clauses: str, steps: str = "set approved = d.approved", extra_nodes: str = "",
           edges: str = "review -> end") -> str:
    """A flow whose node `review` asks for a Decision with ``clauses``."""
    return (
        "type Decision = {approved: bool, comment: str?}\n"
        "flow f {\n"
        "    state {\n        approved: bool = false\n        people: list[str] = []\n"
        "        who: str = \"ann\"\n        count: int = 0\n        due: str = \"2026-12-24T09:00:00Z\"\n    }\n"
        "    node review {\n"
        "        let d = interrupt approval \"Approve?\" expect Decision\n"
        + textwrap.indent(textwrap.dedent(clauses).strip(), "            ") + "\n"
        + f"        {steps}\n    }}\n"
        + extra_nodes
        + f"    start -> review\n    {edges}\n}}\n")


ESCALATE = "    node escalate {\n        set approved = false\n    }\n"


def test_every_clause_together_checks_clean():
    text = review("""
        where d.approved or d.comment != null "a rejection needs a comment"
        to "finance", people, who
        within 48h -> escalate
        remind every 12h
    """, extra_nodes=ESCALATE, edges="review -> end\n    escalate -> end")
    assert diagnostics(text) == []


@pytest.mark.parametrize("clauses", [
    'where d.approved\n where d.approved',
    'to "a"\n to "b"',
    'within 1h answer {approved: true}\n within 2h answer {approved: false}',
    'remind every 1h\n remind every 2h',
])
def test_a_clause_given_twice_is_f020(clauses):
    found = [d for d in diagnostics(review(clauses)) if d.code == "F020"]
    assert len(found) == 1 and found[0].labels and "first given here" in found[0].labels[0].message


def test_clauses_come_in_any_order_and_on_any_lines():
    text = review('remind every 1h within 2h answer {approved: true} to "x" where d.approved "m"')
    assert codes(text) == []


# ------------------------------------------------------------------ where


def test_where_must_be_bool_and_sees_the_answer_and_the_state():
    assert codes(review("where d.approved and count > 0")) == []
    assert codes(review("where d.comment")) == ["F301"]
    assert codes(review("where nope")) == ["F120"]


def test_where_needs_the_answer_bound():
    text = review("", steps="interrupt ask expect bool where approved")
    assert codes(text) == ["F460"]


def test_a_where_read_of_the_answer_counts_as_a_use():
    text = review("where d.approved", steps="set count = 1")
    assert [d.code for d in diagnostics(text)] == []


# ------------------------------------------------------------------ to


@pytest.mark.parametrize("assignees, expected", [
    ('"finance"', []), ("people", []), ('who, ["a", "b"]', []),
    ("count", ["F461"]), ('"a", approved', ["F461"]), ("[1]", ["F461"]),
])
def test_to_takes_strings_and_lists_of_strings(assignees, expected):
    assert codes(review(f"to {assignees}")) == expected


def test_to_cannot_read_the_answer():
    assert codes(review("to d.comment ?? \"x\"")) == ["F121"]   # "used before its `let`"


# ------------------------------------------------------------------ within


def test_a_deadline_answer_fits_the_expect_type():
    assert codes(review("within 1d answer {approved: false, comment: \"expired\"}")) == []
    assert codes(review("within 1d answer {approved: \"no\"}")) == ["F462"]
    assert codes(review("within 1d answer true")) == ["F462"]


def test_a_deadline_answer_reads_the_state_not_the_answer():
    assert codes(review("within 1d answer {approved: approved}")) == []
    assert codes(review("within 1d answer d")) == ["F121"]


def test_a_deadline_answer_reads_the_state_only():
    text = review("within 1d answer {approved: keep}", steps="set approved = d.approved")
    text = text.replace("        let d = interrupt", "        let keep = count > 0\n        let d = interrupt")
    found = [d for d in diagnostics(text) if d.code == "F467"]
    assert len(found) == 1 and "`keep`" in found[0].message
    # `to` is evaluated when the question is asked: it may read locals.
    text = review('to boss').replace("        let d = interrupt", '        let boss = "ann"\n        let d = interrupt')
    assert codes(text) == []


def test_a_constant_deadline_answer_is_checked_against_the_where_rule():
    rule = 'where d.approved or d.comment != null "a rejection needs a comment"'
    broken = [d for d in diagnostics(review(f"{rule}\nwithin 1d answer {{approved: false}}"))
              if d.code == "F463"]
    assert len(broken) == 1 and "a rejection needs a comment" in broken[0].message
    assert codes(review(f"{rule}\nwithin 1d answer {{approved: false, comment: \"expired\"}}")) == []
    # Undecidable now (the rule reads the state): left to the runtime.
    assert codes(review("where d.approved or approved\nwithin 1d answer {approved: false}")) == []


@pytest.mark.parametrize("duration, expected", [("0h", ["F402"]), ("2x", ["F401"]), ("90s", [])])
def test_durations_are_well_formed_and_positive(duration, expected):
    assert codes(review(f"within {duration} answer {{approved: true}}")) == expected
    assert codes(review(f"remind every {duration}")) == expected
    assert codes(review("", steps=f"wait w for {duration}")) == expected


def test_remind_every_is_shorter_than_within():
    assert codes(review("within 1d answer {approved: true}\nremind every 23h")) == []
    assert codes(review("within 1d answer {approved: true}\nremind every 24h")) == ["F464"]
    assert codes(review("within 1d answer {approved: true}\nremind every 2d")) == ["F464"]
    assert codes(review("remind every 30d")) == []   # no deadline: reminders go on


# ------------------------------------------------------------------ the deadline is an edge


def test_the_deadline_target_is_a_node_of_the_flow():
    unknown = [d for d in diagnostics(review("within 1h -> escalte", extra_nodes=ESCALATE,
                                            edges="review -> end\n    escalate -> end"))
               if d.code == "F101"]
    assert len(unknown) == 1 and "deadline" in unknown[0].message and "escalate" in (unknown[0].help or "")
    assert codes(review("within 1h -> start")) == ["F207"]
    assert codes(review("within 1h -> end")) == []


def test_a_node_reached_only_by_a_deadline_is_reachable():
    text = review("within 1h -> escalate", extra_nodes=ESCALATE, edges="review -> end\n    escalate -> end")
    assert codes(text) == []
    without = review("", extra_nodes=ESCALATE, edges="review -> end\n    escalate -> end")
    assert codes(without) == ["F201"]


def test_a_deadline_is_an_outgoing_edge_and_a_way_out_of_a_loop():
    # `review` has no edge of its own but the deadline: not F202.
    assert "F202" not in codes(review("within 1h -> end", edges="review -> review"))
    looping = review("", edges="review -> review")
    assert codes(looping) == ["F203"]
    # A cycle whose only exit is the deadline terminates.
    assert codes(review("within 1h -> end", edges="review -> review")) == []


def test_a_deadline_target_runs_in_place_of_the_nodes_edges_for_the_superstep_checks():
    # `review -> a, b` in one superstep would conflict on `approved`; the
    # deadline sends the run to `b` alone, which conflicts with nothing.
    extra = ("    node a {\n        set approved = true\n    }\n"
             "    node b {\n        set approved = false\n    }\n")
    fan = review("within 1h -> b", extra_nodes=extra, edges="review -> a, b\n    a -> end\n    b -> end")
    warnings = [d.code for d in diagnostics(fan)]
    assert warnings.count("F205") == 1


# ------------------------------------------------------------------ wait


def test_wait_for_and_until():
    assert codes(review("", steps="wait cooling_off for 24h\n        wait payday until due")) == []
    assert codes(review("", steps='wait payday until "2026-12-24T09:00:00+01:00"')) == []
    assert codes(review("", steps="wait payday until count")) == ["F465"]
    assert codes(review("", steps='wait payday until "2026-12-24"')) == ["F466"]
    assert codes(review("", steps='wait payday until "2026-12-24T09:00:00"')) == ["F466"]   # no zone
    assert codes(review("", steps='wait payday until "{{ due }}"')) == []       # a template: run time


def test_wait_labels_share_the_nodes_interrupt_labels():
    found = [d for d in diagnostics(review("", steps="wait approval for 1h")) if d.code == "F406"]
    assert len(found) == 1 and "review:approval" in found[0].notes[0]


# ------------------------------------------------------------------ still names


def test_the_new_words_stay_names_outside_their_clause():
    text = """
        flow where {
            state {
                to: str = "x"
                within: int = 1
                every: list[str] = []
                wait: bool = false
                until: str = ""
                answer: int = 0
                remind: str = ""
            }
            node for {
                let for_ = {to: to, within: within + 1, answer: answer}
                set wait = for_.within > 1
                set every += [to, until, remind]
                let until_ = interrupt until (to) expect {where: str, for: int}
                set answer = until_.for
            }
            start -> for
            for -> end
        }
    """
    assert codes(text) == []

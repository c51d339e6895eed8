"""Can a run recorded under one version of a flow go on under another?

One check, used by both places that ask: ``Flow`` before it resumes a
thread whose IR hash differs from its own (refusing the call), and
``replay`` (reporting each problem as a divergence). Having one copy means
replay's verdict "compatible" and a resume that goes through can never
disagree about what the run is in the middle of.

The state's carry-over (a new required field without a default) is checked
by ``Program.carry_over`` itself, which both callers also call.
"""

from __future__ import annotations

from dataclasses import dataclass

from fermata.spec.ir import is_static_interrupt

from .checkpoint import Checkpoint
from .fanout import base_node
from .program import Program
from .records import StaticWhen


@dataclass(frozen=True)
class Incompatibility:
    """One thing the checkpoint is in the middle of that the flow lacks.

    ``node`` is the node it concerns (None: none in particular).
    ``blocks_resume`` is False for what a resume can go past harmlessly: a
    pending static pause whose declaration is gone is simply passed, and
    progress of a join that no longer exists is never consulted again. A
    replay still reports those, since the new flow would not have recorded
    the run that way.
    """

    node: str | None
    message: str
    blocks_resume: bool = True


def incompatibilities(flow: Program, latest: Checkpoint) -> list[Incompatibility]:
    """What ``latest`` is in the middle of and ``flow`` no longer has."""
    problems: list[Incompatibility] = []
    # A fan-out instance (`review[a17]`) is pending as part of its node.
    pending_nodes = {base_node(n) for n in (*latest.frontier, *latest.nodes, *(latest.extra.get("goto") or ()),
                                            *(latest.extra.get("deadline_next") or ()))}
    for name in sorted(pending_nodes):
        if name not in flow.nodes:
            problems.append(Incompatibility(name, f"node `{name}` is pending and no longer exists"))
    for entry in latest.pending:
        name, label = base_node(entry["node"]), entry["label"]
        node = flow.nodes.get(name)
        if node is None:
            continue  # reported above: a pending node is in the frontier
        child = entry.get("child")
        if child is not None:
            # A child run's question: the child checks its own spec when it
            # continues (it is pinned to its own hash); here, it must still be run.
            if child["flow"] not in flow.children:
                problems.append(Incompatibility(
                    name, f"pending interrupt `{entry['id']}` is asked by a child run of flow "
                          f"`{child['flow']}`, which node `{name}` no longer runs"))
            continue
        if is_static_interrupt(entry):
            declared = flow.interrupt_before if label == StaticWhen.BEFORE else flow.interrupt_after
            if name not in declared:
                problems.append(Incompatibility(
                    name, f"pending `interrupt {label} {name}` is no longer declared", blocks_resume=False))
        elif label not in node.interrupt_labels:
            problems.append(Incompatibility(
                name, f"pending interrupt `{entry['id']}` no longer exists "
                      f"(node `{name}` has no interrupt `{label}`)"))
        # A changed deadline or assignee is fine (the recorded ones stand);
        # a recorded deadline that sends the run to a removed node is not.
        target = (entry.get("deadline") or {}).get("goto")
        if target is not None and target != "end" and target not in flow.nodes:
            problems.append(Incompatibility(
                name, f"the deadline of pending interrupt `{entry['id']}` goes to node `{target}`, "
                      "which no longer exists"))
    for name, record in sorted(latest.nodes.items()):
        for written in sorted({w[0] for w in record.get("writes", ())} - set(flow.fields)):
            problems.append(Incompatibility(
                name, f"field `{written}`, written by `{name}` in the step in flight, no longer exists"))
    for key in sorted(set(latest.joins) - set(flow.joins)):
        problems.append(Incompatibility(
            key.rpartition("->")[2], f"join `{key}` is in progress and no longer exists", blocks_resume=False))
    return problems

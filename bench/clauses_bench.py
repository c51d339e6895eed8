"""Check time of specs using the human-task clauses: is it still linear?

Each node of an N-node chain asks a question with every clause (`where`,
`to`, `within DUR -> NODE` to the next node, a deadline edge every graph
check follows, and `remind every`), then waits on a timer, then writes the
answer. The spec is parsed, checked and lowered to IR from text, as
`fermata check` + `fermata compile` do, for N = 250, 500 and 1,000; the
plain chain of bench/check_bench.py (one `set` per node) is timed beside it
for scale.

    python bench/clauses_bench.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from check_bench import best_of, chain_spec, check_and_lower


def clauses_spec(n: int) -> str:
    lines = ["type Decision = {approved: bool, comment: str?}", "",
             "flow approvals {", "    state {", "        approved: int = 0",
             '        approvers: list[str] = ["finance"]', '        manager: str = "ann"', "    }"]
    for i in range(n):
        deadline = f"n{i + 1}" if i + 1 < n else "end"
        lines += [
            f"    node n{i} {{",
            f'        let d{i} = interrupt ask{i} "Approve step {i}?" expect Decision',
            f'            where d{i}.approved or d{i}.comment != null "a rejection needs a comment"',
            "            to approvers, manager",
            f"            within 48h -> {deadline}",
            "            remind every 12h",
            f"        wait cool{i} for 1h",
            f"        if d{i}.approved {{ set approved += 1 }}",
            "    }",
        ]
    lines.append("    start -> n0")
    lines += [f"    n{i} -> n{i + 1}" for i in range(n - 1)]
    lines.append(f"    n{n - 1} -> end")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'nodes':>7} {'lines':>7} {'clauses check+IR (ms)':>22} {'µs/node':>8} "
          f"{'plain chain (ms)':>17} {'µs/node':>8}")
    for n in (250, 500, 1_000):
        text = clauses_spec(n)
        seconds = best_of(args.repeat, lambda text=text: check_and_lower(text))
        plain = chain_spec(n)
        plain_seconds = best_of(args.repeat, lambda plain=plain: check_and_lower(plain))
        print(f"{n:>7} {text.count(chr(10)):>7} {seconds * 1e3:>22.1f} {seconds / n * 1e6:>8.1f} "
              f"{plain_seconds * 1e3:>17.1f} {plain_seconds / n * 1e6:>8.1f}")


if __name__ == "__main__":
    main()

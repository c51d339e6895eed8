"""Fuzz `fermata check`: no input may give a traceback or take over 2 s.

Inputs are the examples and the diagnostic catalogue's fixtures, mutated
grammar-aware (tokens inserted, deleted, duplicated, swapped, names misspelt)
and by bytes (flips, random unicode with surrogates and NUL), or scaled up along
the dimensions that once were quadratic (huge literals, deep nesting, long
names, many lines, trailing whitespace, many suppressions, wide joins, many
`let`s, many misspelt names). Each input runs in process through the code path
of `fermata check --format json` (decode as the CLI reads a file, analyze,
render JSON); any exception is a finding.

    python bench/fuzz_check.py --count 200000 --seed 1 [--save findings/] [--slowest 10]

The summary's last lines are the verdict: inputs, total time, tracebacks,
inputs over the time limit. The exit status is 1 if there was a traceback or
a slow input.
"""

from __future__ import annotations

import argparse
import math
import random
import re
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
LIMIT_SECONDS = 2.0
# Inputs are cut to this size. Checking is linear, about a microsecond per
# character here (a 4.4 MB file of repeated lines: 3 s); real specs are a
# few kilobytes, and the scaled mutations reach their sizes well below it.
MAX_INPUT = 1_000_000
GIVE_UP_SECONDS = 60.0   # one input past this is stopped (and reported as slow)

# The grammar's tokens, close enough to mutate by: strings, comments,
# numbers, names, two-character operators, whitespace, any other character.
_TOKEN = re.compile(r'"""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*"|#[^\n]*|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?'
                    r"|[A-Za-z_]\w*|->|\+=|==|!=|<=|>=|\?\?|\s+|.", re.DOTALL)
_KEYWORDS = ("flow type use node state input output let set call once interrupt expect before after "
             "start end when otherwise if else fail retry backoff timeout true false null and or not "
             "in list map any str int float bool").split()
_PUNCTUATION = list("{}()[]?=,:.+-*/%<>|") + ["->", "+=", "==", "!=", "<=", ">=", "??", "\n", '"', '"""']
_ODD_CHARACTERS = ["\x00", "\ud800", "\udfff", "\ufeff", "\u202e", "\u0301", "\U0001f600", "\r", "\x0b",
                   "\x0c", "\u2028", "é", "٣", "\t", "\\", "{{", "}}", "{%", "%}"]


def corpus() -> list[str]:
    paths = sorted([*ROOT.glob("examples/**/*.flow"), *ROOT.glob("spec/diagnostics/*.flow")])
    return [p.read_text(encoding="utf-8") for p in paths]


# --------------------------------------------------------------------------
# Mutations: each takes a text and a random source, returns a new text
# --------------------------------------------------------------------------


def _size(rng: random.Random, largest: int) -> int:
    """Log-uniform in [1, largest]: mostly small, sometimes very large."""
    return int(math.exp(rng.uniform(0, math.log(largest))))


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _names(tokens: list[str]) -> list[str]:
    return [t for t in tokens if t[:1].isalpha() or t[:1] == "_"] or ["x"]


def _misspell(name: str, rng: random.Random) -> str:
    if len(name) < 2:
        return name + "q"
    i = rng.randrange(len(name) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return name[:i] + name[i + 1] + name[i] + name[i + 2:]
    if kind == 1:
        return name[:i] + name[i + 1:]
    return name[:i] + rng.choice("abcdefghijklmnopqrstuvwxyz_") + name[i:]


def token_edit(text: str, rng: random.Random) -> str:
    tokens = _tokens(text) or [""]
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(tokens))
        kind = rng.randrange(6)
        if kind == 0 and len(tokens) > 1:
            del tokens[i]
        elif kind == 1:
            tokens.insert(i, tokens[i])
        elif kind == 2:
            tokens.insert(i, rng.choice(_KEYWORDS + _PUNCTUATION + _names(tokens)) + rng.choice(["", " "]))
        elif kind == 3 and i + 1 < len(tokens):
            tokens[i], tokens[i + 1] = tokens[i + 1], tokens[i]
        elif kind == 4 and (tokens[i][:1].isalpha() or tokens[i][:1] == "_"):
            tokens[i] = _misspell(tokens[i], rng)
        else:
            j = rng.randrange(len(tokens))
            tokens[i] = tokens[j]
    return "".join(tokens)


def char_edit(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 3)):
        i = rng.randint(0, len(text))
        kind = rng.randrange(3)
        if kind == 0:
            text = text[:i] + text[i + rng.randint(1, 8):]
        elif kind == 1:
            piece = rng.choice(_ODD_CHARACTERS + _PUNCTUATION) if rng.random() < 0.7 \
                else chr(rng.randrange(0x110000))
            text = text[:i] + piece + text[i:]
        else:
            n = rng.randint(1, 30)
            text = text[:i] + text[i:i + n] * 2 + text[i + n:]
    return text


def byte_edit(text: str, rng: random.Random) -> str:
    data = bytearray(text.encode("utf-8", "surrogatepass"))
    for _ in range(rng.randint(1, 4)):
        if data:
            data[rng.randrange(len(data))] = rng.randrange(256)
    return data.decode("utf-8", "surrogateescape")   # lone surrogates where the bytes are not UTF-8


def huge_literal(text: str, rng: random.Random) -> str:
    tokens = _tokens(text)
    digits = "".join(rng.choice("0123456789") for _ in range(min(_size(rng, 30_000), 2000)))
    digits = (digits * (1 + _size(rng, 30_000) // len(digits)))[:_size(rng, 30_000)] or "7"
    literal = rng.choice([digits, "0" * len(digits) + "1", digits + ".5", "1e" + digits[:6],
                          "0." + digits, digits + "e-" + digits[:5], digits + "ms", digits + "s"])
    spots = [i for i, t in enumerate(tokens) if t[:1].isdigit()]
    if spots:
        tokens[rng.choice(spots)] = literal
        return "".join(tokens)
    return text.replace("= ", f"= {literal} + ", 1)


def deep_nesting(text: str, rng: random.Random) -> str:
    depth = _size(rng, 5_000)
    opener, closer = rng.choice([("(", ")"), ("[", "]"), ("{a: ", "}"), ("not ", ""), ("-", ""),
                                 ("f(", ")"), ("x.", ""), ("1 + ", ""), ("if true {\n", "}\n")])
    nested = opener * depth + "1" + closer * depth
    at = text.find("= ")
    if at < 0:
        return text + nested
    return text[:at + 2] + nested + text[at + 2:]


def long_name(text: str, rng: random.Random) -> str:
    tokens = _tokens(text)
    spots = [i for i, t in enumerate(tokens) if (t[:1].isalpha() or t[:1] == "_") and t not in _KEYWORDS]
    if not spots:
        return text
    name = tokens[rng.choice(spots)]
    long = (name * (1 + _size(rng, 20_000) // max(1, len(name))))
    replacement = long if rng.random() < 0.5 else _misspell(long, rng)
    for i in spots:
        if tokens[i] == name and rng.random() < 0.6:
            tokens[i] = replacement
    return "".join(tokens)


def many_lines(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    i = rng.randrange(len(lines))
    copies = _size(rng, 20_000)
    return "\n".join(lines[:i] + [lines[i]] * copies + lines[i:])


def trailing_whitespace(text: str, rng: random.Random) -> str:
    return text + "".join(rng.choice(" \t\n\r\f") for _ in range(min(_size(rng, 40_000), 64))) \
        * (1 + _size(rng, 40_000) // 64)


def many_suppressions(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    i = rng.randrange(len(lines))
    code = rng.choice(["F124", "F201", "F205", "F999", "X1", ""])
    block = [f"    # fermata: ignore[{code}]"] * _size(rng, 20_000)
    return "\n".join(lines[:i] + block + lines[i:])


def wide_join(_text: str, rng: random.Random) -> str:
    n = _size(rng, 8_000) + 1
    op = rng.choice(["=", "+="])
    nodes = "".join(f"    node n{i} {{ set x {op} 1 }}\n" for i in range(n))
    sources = ", ".join(f"n{i}" for i in range(n))
    loop = "    n0 -> n0 when x < 3\n" if rng.random() < 0.3 else ""
    return (f"flow wide {{\n    state {{ x: int = 0 }}\n{nodes}    node t {{ set x = 1 }}\n"
            f"    start -> {sources}\n{loop}    {sources} -> t\n    t -> end\n}}\n")


def many_lets(_text: str, rng: random.Random) -> str:
    n = _size(rng, 20_000)
    misspelt = rng.random() < 0.5
    lets = "".join(f"        let v{i} = {'w' if misspelt and i % 2 else 'v'}{max(0, i - 1)}\n"
                   for i in range(1, n + 1))
    return (f"flow lets {{\n    state {{ x: int = 0 }}\n    node a {{\n        let v0 = 1\n{lets}"
            f"        set x = v{n}\n    }}\n    start -> a\n    a -> end\n}}\n")


def many_misspelt_names(_text: str, rng: random.Random) -> str:
    n = _size(rng, 4_000)
    fields = "".join(f"        field_{i}: int = 0\n" for i in range(n))
    sets = "".join(f"        set field_{i} = fiedl_{(i * 7) % n} + field_{i}x\n" for i in range(n))
    edges = "".join(f"    a -> nod_{i} when field_{i} > 0\n" for i in range(min(n, 50)))
    return (f"flow names {{\n    state {{\n{fields}    }}\n    node a {{\n{sets}    }}\n"
            f"    start -> a\n{edges}    a -> end otherwise\n}}\n")


SMALL: list[Callable[[str, random.Random], str]] = [token_edit, char_edit, byte_edit]
SCALED: list[Callable[[str, random.Random], str]] = [
    huge_literal, deep_nesting, long_name, many_lines, trailing_whitespace, many_suppressions,
    wide_join, many_lets, many_misspelt_names]


def inputs(count: int, seed: int, scaled_share: float = 0.05) -> Iterator[tuple[str, str]]:
    """``count`` (mutation name, text) pairs, the same for the same seed."""
    rng = random.Random(seed)
    texts = corpus()
    for _ in range(count):
        text = rng.choice(texts)
        mutations = [rng.choice(SCALED)] if rng.random() < scaled_share else []
        mutations += [rng.choice(SMALL) for _ in range(rng.randint(0 if mutations else 1, 2))]
        for mutation in mutations:
            text = mutation(text, rng)
        yield "+".join(m.__name__ for m in mutations), text[:MAX_INPUT]


# --------------------------------------------------------------------------
# Running one input as `fermata check --format json` does
# --------------------------------------------------------------------------


class _GaveUp(Exception):
    pass


def _give_up(_signum: int, _frame: FrameType | None) -> None:
    raise _GaveUp()


def check_like_the_cli(text: str) -> str:
    """What `fermata check --format json FILE` does with a file holding
    ``text``, from the bytes on: a text that is not UTF-8 is refused (exit 2)
    before the checker sees it, as the CLI refuses it; the checker's API is
    run on it all the same (`analyze` promises to take any string)."""
    from fermata.compiler.diagnostics.render import render_json
    from fermata.compiler.pipeline import analyze

    data = text.encode("utf-8", "surrogatepass")
    try:
        decoded = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        analysis = analyze(text, "fuzz.flow")
        return render_json(analysis.diagnostics)
    analysis = analyze(decoded, "fuzz.flow")
    out = render_json(analysis.diagnostics)
    out.encode("utf-8")   # what writing it to stdout does
    return out


@dataclass
class Report:
    inputs: int = 0
    seconds: float = 0.0
    tracebacks: list[tuple[int, str, str]] = field(default_factory=list)   # (index, mutation, error)
    slowest: list[tuple[float, int, str, int]] = field(default_factory=list)  # (s, index, mutation, size)
    over_limit: int = 0

    def summary(self) -> str:
        lines = [f"slowest inputs (of {self.inputs}):"]
        lines += [f"  {s:8.3f} s  #{i:<7} {size:>9} chars  {m}" for s, i, m, size in self.slowest]
        for index, mutation, error in self.tracebacks[:20]:
            lines.append(f"traceback #{index} ({mutation}): {error}")
        lines += [f"inputs: {self.inputs}", f"total time: {self.seconds:.1f} s",
                  f"tracebacks: {len(self.tracebacks)}",
                  f"inputs over {LIMIT_SECONDS:g} s: {self.over_limit}"]
        return "\n".join(lines)


def fuzz(count: int, seed: int, *, keep_slowest: int = 10, save: Path | None = None,
         progress: Callable[[Report], None] | None = None,
         give_up_seconds: float = GIVE_UP_SECONDS) -> Report:
    report = Report()
    alarm = hasattr(signal, "setitimer")
    if alarm:
        previous = signal.signal(signal.SIGALRM, _give_up)
    # Warm up: the first check of a valid and of a broken spec imports what
    # they need (Lark, Jinja2, the catalogue): not the inputs' cost.
    for text in corpus()[:1]:
        for warm_up in (text, text[: len(text) // 2]):
            try:
                check_like_the_cli(warm_up)
            except Exception:  # noqa: BLE001, S110 - it will be found again
                pass   # it will be found again, counted, among the inputs
    started = time.perf_counter()
    try:
        for index, (mutation, text) in enumerate(inputs(count, seed)):
            begin = time.perf_counter()
            error = None
            try:
                if alarm:
                    signal.setitimer(signal.ITIMER_REAL, give_up_seconds)
                check_like_the_cli(text)
            except _GaveUp:
                pass   # counted as slow below
            except Exception as exc:  # noqa: BLE001 - every exception is a finding
                error = f"{type(exc).__name__}: {exc}"[:300] + "\n" + "".join(
                    traceback.format_tb(exc.__traceback__)[-3:])
            finally:
                if alarm:
                    signal.setitimer(signal.ITIMER_REAL, 0)
            seconds = time.perf_counter() - begin
            report.inputs += 1
            if error is not None:
                report.tracebacks.append((index, mutation, error))
            if seconds > LIMIT_SECONDS:
                report.over_limit += 1
            if (error is not None or seconds > LIMIT_SECONDS) and save is not None:
                save.mkdir(parents=True, exist_ok=True)
                (save / f"input-{seed}-{index}.flow").write_text(
                    text, encoding="utf-8", errors="surrogatepass")
            report.slowest.append((seconds, index, mutation, len(text)))
            if len(report.slowest) > 4 * keep_slowest:
                report.slowest = sorted(report.slowest, reverse=True)[:keep_slowest]
            if progress is not None and report.inputs % 1000 == 0:
                report.seconds = time.perf_counter() - started
                progress(report)
    finally:
        if alarm:
            signal.signal(signal.SIGALRM, previous)
    report.slowest = sorted(report.slowest, reverse=True)[:keep_slowest]
    report.seconds = time.perf_counter() - started
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--slowest", type=int, default=10, help="how many of the slowest inputs to list")
    parser.add_argument("--save", type=Path, help="write inputs that fail or are slow to this folder")
    parser.add_argument("--progress", action="store_true", help="a line on stderr every 1,000 inputs")
    args = parser.parse_args(argv)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))

    def progress(report: Report) -> None:
        print(f"... {report.inputs} inputs, {report.seconds:.0f} s, {len(report.tracebacks)} tracebacks, "
              f"{report.over_limit} over {LIMIT_SECONDS:g} s", file=sys.stderr, flush=True)

    report = fuzz(args.count, args.seed, keep_slowest=args.slowest, save=args.save,
                  progress=progress if args.progress else None)
    print(report.summary())
    return 1 if report.tracebacks or report.over_limit else 0


if __name__ == "__main__":
    sys.exit(main())

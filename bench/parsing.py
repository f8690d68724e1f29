"""`make bench-parsing`: peak memory and CPU time of reading the worst request bodies.

The bodies are the ones the security review used (8 MiB of `[{},{},...]`, about 700k unique
keys) and the largest valid ones (an 8 MiB prompt in ASCII, with one character outside the BMP
that makes Python store it 4 bytes a character, and full of escaped quotes). Each is read the way
the app reads a run's body (`parse_json_object`, then the chat parameters), and, for comparison,
with a bare `json.loads` as the app did before it bounded parsing. Peak memory is what
`tracemalloc` saw allocated while reading, as a multiple of the body's size; nothing is asserted
about time.

PASS/FAIL: every accepted body peaks under 4x its size plus 1 MiB, except where a string holds a
character beyond U+FFFF: CPython then stores the whole string (and the decoded document) with 4
bytes a character, and the bound is 8x plus 1 MiB.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench._stack import finish
from shared import constants as c
from shared.errors import AppError
from shared.models.requests import ChatRunRequest, parse_json_object

SIZE = c.DEFAULT_MAX_REQUEST_BYTES
CONSTANT = 1024 * 1024


def bodies() -> dict[str, bytes]:
    empties = b"{},"
    keys = b", ".join(b'"k%d": 0' % i for i in range(700_000))
    return {
        "8 MiB of [{},{},...]": b"[" + empties * ((SIZE - 2) // 3) + b"{}]",
        '{"x": [{},{},...]} (8 MiB)': b'{"x": [' + empties * ((SIZE - 9) // 3) + b"{}]}",
        "700k unique keys": b'{"user_prompt": "u", ' + keys + b"}",
        "8 MiB ASCII prompt": _prompt("a" * (SIZE - 20)),
        "8 MiB prompt, one astral char": _prompt("a" * (SIZE - 40) + "\U0001f600"),
        "8 MiB prompt of escaped quotes": b'{"user_prompt": "'
        + b'\\"' * ((SIZE - 20) // 2)
        + b'"}',
    }


def _prompt(text: str) -> bytes:
    return json.dumps({"user_prompt": text}, ensure_ascii=False).encode()


def the_app(body: bytes) -> Any:
    return ChatRunRequest.parse(parse_json_object(body))


def bare_json(body: bytes) -> Any:
    return json.loads(body)


def measure(read: Callable[[bytes], Any], body: bytes) -> tuple[float, float, str]:
    tracemalloc.start()
    started = time.process_time()
    try:
        read(body)
        outcome = "accepted"
    except AppError as error:
        outcome = f"400 {error.details[0]['problem'] if error.details else error.code}"
    except ValueError:
        outcome = "not JSON"
    cpu = time.process_time() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, cpu, outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.parsing", description=__doc__)
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the numbers here")
    args = parser.parse_args(argv)
    rows, lines, passed = [], [], True
    lines.append(
        f"{'body':<34}{'reader':<10}{'MiB':>7}{'peak MiB':>10}{'x size':>8}{'CPU s':>8}  outcome"
    )
    for name, body in bodies().items():
        for label, read in (("app", the_app), ("json", bare_json)):
            peak, cpu, outcome = measure(read, body)
            size = len(body)
            ratio = peak / size
            bound = 8 if max(body) >= 0xF0 else 4  # a 4-byte UTF-8 sequence: a wide string
            ok = label != "app" or outcome != "accepted" or peak <= bound * size + CONSTANT
            passed &= ok
            rows.append(
                {
                    "body": name,
                    "reader": label,
                    "bytes": size,
                    "peak_bytes": peak,
                    "cpu_s": cpu,
                    "outcome": outcome,
                    "within_bound": ok,
                }
            )
            lines.append(
                f"{name:<34}{label:<10}{size / 2**20:>7.1f}{peak / 2**20:>10.1f}{ratio:>8.1f}"
                f"{cpu:>8.2f}  {outcome}{'' if ok else f'  FAIL: over {bound}x + 1 MiB'}"
            )
    lines.append("")
    lines.append(
        ("PASS" if passed else "FAIL")
        + ": accepted bodies peak under 4x their size + 1 MiB (8x with a character beyond U+FFFF)"
    )
    report = {"bodies": rows, "max_json_elements": c.MAX_JSON_ELEMENTS}
    return finish(report, "\n".join(lines), args.json, passed=passed)


if __name__ == "__main__":
    sys.exit(main())

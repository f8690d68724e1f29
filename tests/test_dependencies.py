"""The dependency locks: `requirements.txt` (what Azure installs) and `requirements-dev.txt`
(what `make install` installs) are compiled by `make lock` from `requirements.in` and
`requirements-dev.in`. Both must name the runtime set identically, every line of a lock must be
pinned and hashed (pip's hash-checking mode refuses anything else), and each range in
`requirements.in` must admit the version its lock pins.

Each check is a function returning the problems it finds; the tests run it on the project's
files and, first, on a deliberately broken input, to prove it can fail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.helpers import ROOT

RUNTIME_LOCK = ROOT / "requirements.txt"
DEV_LOCK = ROOT / "requirements-dev.txt"
RUNTIME_IN = ROOT / "requirements.in"
DEV_IN = ROOT / "requirements-dev.in"

_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)$")
_HASH = re.compile(r"--hash=(sha256:[0-9a-f]{64})")


@dataclass(frozen=True)
class Pin:
    version: str
    hashes: frozenset[str]


def logical_lines(text: str) -> list[str]:
    """A requirements file's lines with comments dropped and `\\` continuations joined."""
    joined = re.sub(r"\\\n", " ", text)
    lines = (line.split(" #", 1)[0].strip() for line in joined.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def parse_lock(text: str) -> tuple[dict[str, Pin], list[str]]:
    """The pins of a lock, by canonical name, and the problems with its lines."""
    pins: dict[str, Pin] = {}
    problems: list[str] = []
    for line in logical_lines(text):
        spec, *options = line.split()
        match = _PIN.match(spec)
        hashes = frozenset(h for option in options for h in _HASH.findall(option))
        if match is None:
            problems.append(f"not pinned with ==: {spec}")
            continue
        name = canonicalize_name(match["name"])
        if not hashes:
            problems.append(f"no --hash: {spec}")
        if name in pins:
            problems.append(f"pinned twice: {name}")
        pins[name] = Pin(match["version"], hashes)
    return pins, problems


def ranges(text: str) -> list[Requirement]:
    """The requirement lines of a `.in` file (its `-r` / `-c` options left out)."""
    return [Requirement(line) for line in logical_lines(text) if not line.startswith("-")]


def lock_problems(text: str) -> list[str]:
    return parse_lock(text)[1]


def runtime_mismatches(runtime_lock: str, dev_lock: str) -> list[str]:
    """Runtime pins missing from the dev lock or pinned differently there (version or hashes)."""
    runtime, _ = parse_lock(runtime_lock)
    dev, _ = parse_lock(dev_lock)
    problems = []
    for name, pin in sorted(runtime.items()):
        other = dev.get(name)
        if other is None:
            problems.append(f"{name}=={pin.version} is not in the dev lock")
        elif other != pin:
            what = "version" if other.version != pin.version else "hashes"
            problems.append(f"{name}: the dev lock differs in its {what} ({other.version})")
    return problems


def unadmitted_pins(ranges_text: str, lock_text: str) -> list[str]:
    """Requirements whose lock has no pin for them, or a pin their range does not admit."""
    pins, _ = parse_lock(lock_text)
    problems = []
    for requirement in ranges(ranges_text):
        pin = pins.get(canonicalize_name(requirement.name))
        if pin is None:
            problems.append(f"{requirement} has no pin in the lock")
        elif not requirement.specifier.contains(pin.version, prereleases=True):
            problems.append(f"{requirement} does not admit the pin {pin.version}")
    return problems


# --- each check fails on a broken input ------------------------------------------------------

LOCK = """\
# a comment
pydantic==2.14.4 \\
    --hash=sha256:{a} \\
    --hash=sha256:{b}
    # via -r requirements.in
requests==2.34.2 \\
    --hash=sha256:{c}
""".format(a="a" * 64, b="b" * 64, c="c" * 64)


def test_a_lock_line_without_a_pin_or_a_hash_is_a_problem() -> None:
    assert lock_problems(LOCK) == []
    broken = LOCK + "urllib3>=2.2\nidna==3.20\n"
    assert lock_problems(broken) == ["not pinned with ==: urllib3>=2.2", "no --hash: idna==3.20"]


def test_a_runtime_pin_missing_or_different_in_the_dev_lock_is_a_problem() -> None:
    assert runtime_mismatches(LOCK, LOCK) == []
    other_version = LOCK.replace("requests==2.34.2", "requests==2.33.0")
    other_hash = LOCK.replace("b" * 64, "d" * 64)
    without = LOCK.split("requests==")[0]
    assert runtime_mismatches(LOCK, other_version) == [
        "requests: the dev lock differs in its version (2.33.0)"
    ]
    assert runtime_mismatches(LOCK, other_hash) == [
        "pydantic: the dev lock differs in its hashes (2.14.4)"
    ]
    assert runtime_mismatches(LOCK, without) == ["requests==2.34.2 is not in the dev lock"]


def test_a_range_that_does_not_admit_its_pin_is_a_problem() -> None:
    ranges_text = "# runtime\npydantic>=2.12,<3\nrequests>=2.32,<3  # why\n"
    assert unadmitted_pins(ranges_text, LOCK) == []
    assert unadmitted_pins("pydantic>=3,<4\n", LOCK) == [
        "pydantic<4,>=3 does not admit the pin 2.14.4"
    ]
    assert unadmitted_pins("azure-core>=1.38,<2\n", LOCK) == [
        "azure-core<2,>=1.38 has no pin in the lock"
    ]


# --- the project's files -----------------------------------------------------------------------


@pytest.mark.parametrize("lock", [RUNTIME_LOCK, DEV_LOCK], ids=lambda path: path.name)
def test_every_line_of_each_lock_is_pinned_and_hashed(lock: Path) -> None:
    pins, problems = parse_lock(lock.read_text())
    assert problems == []
    assert pins


def test_every_runtime_pin_is_identical_in_the_dev_lock() -> None:
    assert runtime_mismatches(RUNTIME_LOCK.read_text(), DEV_LOCK.read_text()) == []


def test_each_runtime_range_admits_its_pin() -> None:
    assert ranges(RUNTIME_IN.read_text())
    assert unadmitted_pins(RUNTIME_IN.read_text(), RUNTIME_LOCK.read_text()) == []


def test_each_dev_requirement_admits_its_pin() -> None:
    assert unadmitted_pins(DEV_IN.read_text(), DEV_LOCK.read_text()) == []

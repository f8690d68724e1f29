"""The docs hold together: the README stays a front page, every relative link in the docs leads
to a file of this project (and to a heading of it, when it names one), and every section of the
design doc that the code cites exists.

Each check is a function returning the problems it finds; the tests run it on the project's
files and, first, on a deliberately broken input, to prove it can fail.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tests.helpers import ROOT

README = ROOT / "README.md"
DESIGN = ROOT / "docs" / "design.md"
README_MAX_BYTES = 10_240
CODE = ("function_app.py", "shared", "local", "bench")

# The numbered sections the code's docstrings cite as `docs/design.md §N`.
DESIGN_SECTIONS = [
    "1. What it is",
    "2. Functions",
    "3. Request and response conventions",
    "4. Chat run",
    "5. Embedding run",
    "6. Batch run and status polls",
    "7. Discovery and the job registry",
    "8. Identity and calls to Azure",
    "9. Settings",
    "10. Local stack",
    "11. Code layout",
]

_FENCE = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1[^\n]*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
_INLINE_LINK = re.compile(r"\]\(\s*<?([^)\s>]*)>?(?:\s+[\"'(][^)]*)?\)")
_REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_HTML_ANCHOR = re.compile(r"<a\s[^>]*\b(?:id|name)=[\"']([^\"']+)[\"']", re.IGNORECASE)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# `design §7`, `design.md §11`, and the sections listed after one: `design §4, §6`.
_CITATION = re.compile(r"design(?:\.md)? (§\d+(?:(?:\s*,\s*|\s+and\s+)§\d+)*)")


def doc_files(root: Path) -> list[Path]:
    docs = sorted((root / "docs").glob("*.md"))
    return [root / name for name in ("README.md", "CONTRIBUTING.md", "CHANGELOG.md")] + docs


def prose(markdown: str) -> str:
    """The text outside fenced code blocks and code spans, where links and headings live."""
    return _CODE_SPAN.sub("", _FENCE.sub("", markdown))


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text, lowercased, without punctuation but `-` and `_`,
    spaces turned into `-`."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text
    text = text.replace("`", "").lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """The fragments a link may name in this file: its headings' slugs (a repeated slug gets
    `-1`, `-2`, ... as on GitHub) and explicit HTML anchors."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for heading in _HEADING.findall(_FENCE.sub("", markdown)):
        slug = github_slug(heading)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found | set(_HTML_ANCHOR.findall(markdown))


def links(markdown: str) -> list[str]:
    text = prose(markdown)
    return _INLINE_LINK.findall(text) + _REFERENCE_DEFINITION.findall(text)


def link_problems(files: Iterable[Path], root: Path) -> list[str]:
    """Relative links that lead outside the project, to no file, or to no heading of it."""
    problems = []
    for source in files:
        for target in links(source.read_text(encoding="utf-8")):
            if not target or _SCHEME.match(target) or target.startswith("//"):
                continue  # an absolute URL: not ours to check here
            parts = urlsplit(target)
            path = (source.parent / unquote(parts.path)).resolve() if parts.path else source
            where = f"{source.relative_to(root)}: {target}"
            if not path.is_relative_to(root.resolve()):
                problems.append(f"{where}: leads outside the project")
            elif not path.exists():
                problems.append(f"{where}: no such file")
            elif parts.fragment and path.suffix == ".md":
                if unquote(parts.fragment) not in anchors(path.read_text(encoding="utf-8")):
                    problems.append(f"{where}: no such heading")
    return problems


def readme_problems(readme: Path) -> list[str]:
    size = len(readme.read_bytes())
    if size > README_MAX_BYTES:
        return [f"{readme.name} is {size} bytes; at most {README_MAX_BYTES}: move it to docs/"]
    return []


def design_sections(design: str) -> dict[int, str]:
    """The numbered level-2 headings of the design doc, `## N. Title`, by number."""
    found = re.findall(r"^## (\d+)\. (.+?)\s*$", design, re.MULTILINE)
    return {int(number): f"{number}. {title}" for number, title in found}


def citations(files: Iterable[Path], root: Path) -> list[tuple[str, int]]:
    """Every `design §N` in the code: where it stands, and N."""
    found = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in _CITATION.finditer(line):
                where = f"{path.relative_to(root)}:{number}"
                found += [(where, int(n)) for n in re.findall(r"§(\d+)", match[1])]
    return found


def citation_problems(files: Iterable[Path], root: Path, design: str) -> list[str]:
    sections = design_sections(design)
    return [
        f"{where} cites design §{n}, which docs/design.md does not have"
        for where, n in citations(files, root)
        if n not in sections
    ]


def code_files(root: Path) -> list[Path]:
    files: list[Path] = []
    for name in CODE:
        path = root / name
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return files


# --- each check fails on a broken input ------------------------------------------------------


def test_a_readme_over_10_kib_is_a_problem(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_bytes(b"x" * README_MAX_BYTES)
    assert readme_problems(readme) == []
    readme.write_bytes(b"x" * (README_MAX_BYTES + 1))
    assert readme_problems(readme) == ["README.md is 10241 bytes; at most 10240: move it to docs/"]


def test_github_slugs() -> None:
    assert github_slug("7. Discovery and the job registry") == "7-discovery-and-the-job-registry"
    assert github_slug("`GET /api/status/{run_id}`") == "get-apistatusrun_id"
    assert (
        github_slug("`POST /api/chat/{deployment}` — Azure OpenAI Chat Completion")
        == "post-apichatdeployment--azure-openai-chat-completion"
    )
    assert github_slug("The local stack (`make run`)") == "the-local-stack-make-run"
    assert anchors('# A\n## A\n```\n# not a heading\n```\n<a id="x"></a>') == {"a", "a-1", "x"}


def test_a_link_to_a_missing_file_heading_or_outside_the_project_is_a_problem(
    tmp_path: Path,
) -> None:
    root = tmp_path / "project"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "design.md").write_text("# Design\n\n## 1. What it is\n")
    good = (
        "[d](docs/design.md) [s](docs/design.md#1-what-it-is) [top](#readme) "
        "[web](https://example.com/x.md#nothing) `[code](missing.md)`\n"
        "```\n[fenced](missing.md)\n```\n[ref]: docs/design.md\n# Readme\n"
    )
    (root / "README.md").write_text(good)
    assert link_problems([root / "README.md"], root) == []
    (root / "README.md").write_text(
        "[a](docs/missing.md) [b](docs/design.md#2-functions) [c](#nowhere) "
        "[d](../outside.md)\n[e]: docs/gone.md\n"
    )
    assert link_problems([root / "README.md"], root) == [
        "README.md: docs/missing.md: no such file",
        "README.md: docs/design.md#2-functions: no such heading",
        "README.md: #nowhere: no such heading",
        "README.md: ../outside.md: leads outside the project",
        "README.md: docs/gone.md: no such file",
    ]


def test_a_citation_of_a_section_the_design_doc_lacks_is_a_problem(tmp_path: Path) -> None:
    code = tmp_path / "shared" / "runs.py"
    code.parent.mkdir()
    code.write_text('"""Runs (design §4, §6).\n\nSee docs/design.md §12 and design §7."""\n')
    design = "## 4. Chat run\n## 6. Batch run and status polls\n## 7. Discovery\n"
    assert citations([code], tmp_path) == [
        ("shared/runs.py:1", 4),
        ("shared/runs.py:1", 6),
        ("shared/runs.py:3", 12),
        ("shared/runs.py:3", 7),
    ]
    assert citation_problems([code], tmp_path, design) == [
        "shared/runs.py:3 cites design §12, which docs/design.md does not have"
    ]


# --- the project's files -----------------------------------------------------------------------


def test_the_readme_is_at_most_10_kib() -> None:
    assert readme_problems(README) == []


def test_every_relative_link_in_the_docs_resolves() -> None:
    files = doc_files(ROOT)
    assert all(path.exists() for path in files)
    assert sum(len(links(path.read_text(encoding="utf-8"))) for path in files) > 0
    assert link_problems(files, ROOT) == []


def test_the_design_doc_has_the_sections_the_code_cites() -> None:
    sections = design_sections(DESIGN.read_text(encoding="utf-8"))
    assert [sections[n] for n in sorted(sections)][: len(DESIGN_SECTIONS)] == DESIGN_SECTIONS
    assert sorted(sections) == list(range(1, len(sections) + 1))


def test_every_design_citation_in_the_code_names_an_existing_section() -> None:
    files = code_files(ROOT)
    assert citations(files, ROOT), "no `design §N` citation found: is the pattern still right?"
    assert citation_problems(files, ROOT, DESIGN.read_text(encoding="utf-8")) == []

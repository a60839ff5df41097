"""The README is the runbook (issue #17): its target table lists exactly what `make help` lists, its variable table
lists exactly what artifact/base/settings.py's load() reads, it stays short, and every relative link in README.md and
docs/*.md points at a file (and heading) that exists. `make help` lists every docs/ page."""
from __future__ import annotations

import ast
import inspect
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from artifact.base import settings

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
MAX_README_LINES = 260
FENCE = re.compile(r"^```.*?^```[^\n]*$", re.M | re.S)
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")


def _make_help() -> str:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    run = subprocess.run(["make", "--no-print-directory", "help", "MODE=local"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return run.stdout


def _help_targets(out: str) -> set[str]:
    """Target names: lines of two spaces and a name, before the "Docs:" block."""
    targets = set()
    for line in out.splitlines():
        if line.startswith("Docs:"):
            break
        if m := re.match(r"^  ([a-z0-9][a-z0-9_-]*)\s", line):
            targets.add(m.group(1))
    return targets


def _section(text: str, heading: str) -> str:
    """The text under `heading` (exact line) up to the next heading of the same or a higher level."""
    text = FENCE.sub("", text)
    level = len(heading) - len(heading.lstrip("#"))
    lines = text.splitlines()
    assert heading in lines, f"README.md has no heading {heading!r}"
    body = []
    for line in lines[lines.index(heading) + 1:]:
        if m := re.match(r"^(#+) ", line):
            if len(m.group(1)) <= level:
                break
        body.append(line)
    return "\n".join(body)


def _first_column(section: str) -> set[str]:
    """The backticked names in the first cell of each row of the section's first Markdown table."""
    rows, started = [], False
    for line in section.splitlines():
        if line.startswith("|"):
            started = True
            rows.append(line)
        elif started:
            break
    assert len(rows) > 2, "no Markdown table found"
    names = set()
    for row in rows[2:]:  # skip the header and the separator
        names.update(re.findall(r"`([^`]+)`", row.strip("|").split("|")[0]))
    return names


def _settings_reads() -> set[str]:
    """Every env.get("NAME"...) and env["NAME"] in artifact.base.settings.load."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(settings.load)))
    names = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "env" and node.args
                and isinstance(node.args[0], ast.Constant)):
            names.add(node.args[0].value)
        elif (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "env"
              and isinstance(node.slice, ast.Constant)):
            names.add(node.slice.value)
    return names


def _diff(what: str, listed: set[str], expected: set[str], source: str) -> str:
    missing, extra = sorted(expected - listed), sorted(listed - expected)
    return (f"README.md's {what} differs from {source}: missing from the README {missing or 'none'}, "
            f"in the README but not in {source} {extra or 'none'}")


def test_help_has_no_prerequisites():
    """`make help` must answer at once, never run `make setup` first."""
    makefile = (ROOT / "Makefile").read_text()
    m = re.search(r"^help:([^#\n]*)##", makefile, re.M)
    assert m, "the Makefile has no `help: ## ...` rule"
    assert not m.group(1).strip(), f"help has prerequisites: {m.group(1).strip()}"
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    dry = subprocess.run(["make", "-n", "--no-print-directory", "help", "MODE=local"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert "pip install" not in dry.stdout and "-m venv" not in dry.stdout, dry.stdout


def test_readme_target_table_matches_make_help():
    expected = _help_targets(_make_help())
    assert len(expected) > 10, f"could not parse the targets of make help: {expected}"
    listed = _first_column(_section(README.read_text(), "### Targets"))
    assert listed == expected, _diff("target table", listed, expected, "`make help`")


def test_readme_variable_table_matches_settings():
    expected = _settings_reads()
    assert {"ARTIFACT_RESULTS", "ARTIFACT_STORE", "HF_TOKEN"} <= expected, expected
    listed = _first_column(_section(README.read_text(), "### Environment variables"))
    assert listed == expected, _diff("environment variable table", listed, expected, "artifact/base/settings.py load()")


def test_make_help_lists_every_docs_page():
    out = _make_help()
    assert "Docs:" in out
    listed = set(re.findall(r"^  (docs/[\w.-]+\.md)\s", out.split("Docs:", 1)[1], re.M))
    expected = {f"docs/{p.name}" for p in DOCS}
    assert listed == expected, f"make help's Docs: block: missing {sorted(expected - listed)}, " \
                               f"extra {sorted(listed - expected)}"


def test_readme_is_short():
    n = len(README.read_text().splitlines())
    assert n < MAX_README_LINES, f"README.md has {n} lines; keep it under {MAX_README_LINES} and move details to docs/"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, markup and punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    anchors = set()
    for m in re.finditer(r"^#{1,6} (.+)$", FENCE.sub("", path.read_text()), re.M):
        slug = _slug(m.group(1))
        anchors.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return anchors


def _links(path: Path):
    text = re.sub(r"`[^`\n]*`", "", FENCE.sub("", path.read_text()))  # links in code are not links
    for target in LINK.findall(text):
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target):  # skip https:, mailto: ...
            yield target


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path):
    broken = []
    for target in _links(page):
        file, _, anchor = target.partition("#")
        dest = (page.parent / file).resolve() if file else page
        if not dest.exists():
            broken.append(f"{target} (no file {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest})")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(f"{target} (no heading #{anchor} in {dest.relative_to(ROOT)})")
    assert not broken, f"{page.relative_to(ROOT)} has broken links: " + "; ".join(broken)


def test_docs_exist():
    names = {p.name for p in DOCS}
    assert {"image.md", "tables.md", "compression.md", "hub.md", "evaluation.md", "catalog.md", "dependencies.md",
            "development.md"} <= names, names


def test_the_reliability_count_is_the_fault_suite():
    """The README's 'N tried, N held' is the number of tests marked `fault` (make test-faults)."""
    import sys
    r = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "fault", "-p",
                        "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    collected = int(re.search(r"(\d+)/\d+ tests collected", r.stdout).group(1))
    text = " ".join(README.read_text().split())  # the README wraps its lines anywhere
    stated = re.search(r"\*\*(\d+) tried, (\d+) held\*\*", text)
    assert stated and int(stated.group(1)) == collected, f"README states {stated and stated.group(1)}; the suite has " \
                                                        f"{collected} (update the Reliability section)"
    kinds = re.search(r"(\d+) kill -9s, (\d+) corruptions, (\d+) hostile services \([^)]*\), (\d+) full disks "
                      r"or offline machines, (\d+) runs at once, (\d+) bad inputs and (\d+) sentinel secrets", text)
    assert kinds and sum(map(int, kinds.groups())) == collected
    assert f"{collected} tried, {collected} held" in (ROOT / "docs" / "development.md").read_text()

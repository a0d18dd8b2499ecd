"""Every console example in README.md and docs/*.md runs as written.

A ```console block is a shell session: `$ COMMAND` lines, each followed by the output it
shows (stdout and stderr as a terminal interleaves them) and, where shown, `# (exit
status N)`; other lines starting with `#` are comments. A ```bash block is a list of
commands that must all succeed. The blocks of one document run in order in one
temporary folder holding a copy of `sample_data/` (the docs assume the repository
root), so a block continues the store the ones before it made; each block is a bash
session of its own (set `ECOM_DB` in the block that needs it). Blocks that name no
`ecom` command (installation) are not examples; a usage synopsis is a ```text block;
`<!-- not run: REASON -->` just before a block skips it (data that must be downloaded).

Output is compared line by line, with three allowances: a shown line ending in `...`
matches any line it begins; generated ids (`o18ead84c0d803ad9ed4c8a`) and timestamps
match any of their kind; a command whose output is not shown may print anything. Server
URLs (`mysql://...`, `mongodb://...`) are replaced by the test servers' (a database of
their own per block).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
EXIT = re.compile(r"^# \(exit status (\d+)\)$")
GENERATED = [
    (re.compile(r"\b(o|cart|wl)[0-9a-f]{20,}\b"), "<ID>"),
    (re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"), "<TIME>"),
]
ECOM = Path(sys.executable).parent / "ecom"


@dataclass
class Step:
    command: str
    output: list[str] = field(default_factory=list)
    shown: bool = False  # the block shows this command's output (or its exit status)
    exit: int = 0


@dataclass
class Example:
    doc: str
    line: int
    kind: str  # console | bash
    steps: list[Step]
    skip: str | None = None  # why the block is not run

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"

    @property
    def servers(self) -> set[str]:
        text = " ".join(s.command for s in self.steps)
        return {name for name in ("mysql", "mongodb") if f"{name}://" in text}


def parse_console(body: str) -> list[Step]:
    steps: list[Step] = []
    lines = body.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("$ "):
            command = line[2:]
            while command.endswith("\\") and i + 1 < len(lines):  # a continued command
                i += 1
                command = command[:-1] + "\n" + lines[i]
            steps.append(Step(command))
        elif steps and (m := EXIT.match(line)):
            steps[-1].exit, steps[-1].shown = int(m.group(1)), True
        elif line.startswith("#"):
            pass  # a comment
        elif steps:
            steps[-1].output.append(line)
            steps[-1].shown = True
        i += 1
    return steps


NOT_RUN = re.compile(r"<!-- not run: (.+?) -->\s*$")


def examples(doc: Path) -> list[Example]:
    out = []
    text = doc.read_text(encoding="utf-8")
    for m in FENCE.finditer(text):
        kind, body = m.group(1), m.group(2)
        line = text.count("\n", 0, m.start()) + 1
        if kind == "console":
            steps = parse_console(body)
        elif kind == "bash":
            steps = [Step(f"(\nset -e\n{body})")]  # every command must succeed
        else:
            continue
        if not any(re.search(r"(^|[\s|(;&])ecom ", s.command) for s in steps):
            continue
        skip = NOT_RUN.search(text[: m.start()].rstrip() + "\n")
        out.append(Example(doc.name, line, kind, steps, skip.group(1) if skip else None))
    return out


EXAMPLES = {doc.name: examples(doc) for doc in DOCS}


def normalized(line: str) -> str:
    for pattern, placeholder in GENERATED:
        line = pattern.sub(placeholder, line)
    return line.rstrip()


def matches(shown: list[str], printed: list[str]) -> bool:
    shown = [normalized(s) for s in shown]
    printed = [normalized(p) for p in printed]
    if len(shown) != len(printed):
        return False
    for s, p in zip(shown, printed, strict=True):
        if s.endswith("...") and p.startswith(s[:-3].rstrip()):
            continue
        if s != p:
            return False
    return True


MARK = "@@ecom-doc-exit"


def run_block(example: Example, folder: Path, urls: dict[str, str]) -> list[tuple[Step, str, int]]:
    """Run the block's commands in one bash, each followed by a marker with its status."""
    script = ["cd " + str(folder)]
    for step in example.steps:
        script.append(substitute(step.command, urls))
        script.append(f'echo "{MARK} $?"')
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "PATH": f"{ECOM.parent}{os.pathsep}{os.environ['PATH']}", "COLUMNS": "200",
           "NO_COLOR": "1"}
    env.pop("CI", None)
    env.pop("ECOM_DB", None)
    done = subprocess.run(["bash", "-c", "\n".join(script)], capture_output=False,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                          timeout=600)
    results, lines = [], []
    steps = iter(example.steps)
    for line in done.stdout.splitlines():
        if line.startswith(MARK):
            results.append((next(steps), "\n".join(lines), int(line.split()[-1])))
            lines = []
        else:
            lines.append(line)
    return results


def substitute(text: str, urls: dict[str, str]) -> str:
    for pattern, url in urls.items():
        text = re.sub(pattern, url, text)
    return text


def servers_for(blocks: list[Example], request: pytest.FixtureRequest) -> dict[str, str]:
    urls: dict[str, str] = {}
    needed = set().union(*(e.servers for e in blocks))
    if "mysql" in needed:
        base = request.getfixturevalue("mysql_server")
        name = f"{base.rsplit('/', 1)[1]}_doc{uuid.uuid4().hex[:6]}"
        urls[r"mysql://[^\s/]+/\w+"] = f"{base.rsplit('/', 1)[0]}/{name}"
        urls[r"\bdatabase shop\b"] = f"database {name}"
    if "mongodb" in needed:
        prefix = request.getfixturevalue("mongo_server")
        urls[r"mongodb://[^\s/]+/\w+"] = f"{prefix}/doc{uuid.uuid4().hex[:8]}"
    return urls


def check_block(example: Example, folder: Path, urls: dict[str, str]) -> list[str]:
    """What went wrong in one block (nothing: it runs as written)."""
    problems = []
    for step, printed, status in run_block(example, folder, urls):
        where = f"{example.id}: $ {step.command}\n--- printed (exit {status}):\n{printed}"
        if status != step.exit:
            problems.append(f"{where}\n--- expected exit {step.exit}")
        elif example.kind == "console" and step.shown and step.output:
            shown = [substitute(s, urls) for s in step.output]
            if not matches(shown, printed.splitlines()):
                problems.append(where + "\n--- shown:\n" + "\n".join(shown))
    return problems


@pytest.mark.parametrize("doc", [d for d, blocks in EXAMPLES.items() if blocks])
def test_doc_examples_run_as_written(doc: str, tmp_path: Path,
                                     request: pytest.FixtureRequest) -> None:
    blocks = [e for e in EXAMPLES[doc] if e.skip is None]
    shutil.copytree(ROOT / "sample_data", tmp_path / "sample_data")
    problems = []
    for example in blocks:  # a server database of its own for each block
        problems += check_block(example, tmp_path, servers_for([example], request))
    assert not problems, "\n\n".join(problems)


def test_the_examples_are_found() -> None:
    """The extraction itself: README's first session and a failing command's status."""
    assert {"README.md", "records.md", "importing.md"} <= {d for d, b in EXAMPLES.items() if b}
    steps = [s for blocks in EXAMPLES.values() for e in blocks for s in e.steps]
    assert any(s.exit == 6 and "orders place" in s.command for s in steps)
    assert not matches(["a", "b"], ["a", "c"]) and matches(["a b..."], ["a b c"])

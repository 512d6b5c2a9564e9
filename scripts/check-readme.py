#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks that README.md shows the code of the files it says it shows.

A fenced block in README.md preceded by a line
    <!-- code: tests/readme/quickstart.c -->
must equal the parts of that file between "README: begin" (or "README:
resume") and "README: pause" (or "README: end") marker lines, joined by
one blank line. The files themselves are compiled or run by `make test`,
so the README cannot show code that does not build.

    scripts/check-readme.py README.md
"""
import pathlib
import re
import sys

MARKER = re.compile(r"README: (begin|resume|pause|end)\b")


def shown_parts(path: pathlib.Path) -> str:
    parts, current = [], None
    for line in path.read_text().splitlines():
        m = MARKER.search(line)
        if m is None:
            if current is not None:
                current.append(line)
        elif m.group(1) in ("begin", "resume"):
            current = []
        else:
            parts.append("\n".join(current))
            current = None
    return "\n\n".join(parts)


def main() -> int:
    readme = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    root = readme.parent
    text = readme.read_text()
    blocks = re.findall(r"<!-- code: (\S+) -->\n```[a-z+]*\n(.*?)\n```", text, re.S)
    if not blocks:
        print(f"check-readme: no <!-- code: FILE --> blocks in {readme}")
        return 1
    bad = 0
    for name, block in blocks:
        want = shown_parts(root / name)
        if block != want:
            bad += 1
            print(f"check-readme: the block for {name} differs from the file's marked parts")
            for i, (a, b) in enumerate(zip(block.splitlines(), want.splitlines())):
                if a != b:
                    print(f"  line {i + 1}:\n    README: {a}\n    file:   {b}")
                    break
    print(f"check-readme: {len(blocks) - bad} of {len(blocks)} blocks match their files")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

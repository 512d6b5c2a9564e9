#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Turns a program's --help, written as a manual page in plain text
(sections in capitals at the left margin, subsections indented by 3, the
rest by 7), into a
man(7) page, so that `man` shows what --help prints.

    scripts/manpage.py NAME SECTION VERSION < help.txt > NAME.SECTION
"""
import re
import sys


def roff(line: str) -> str:
    line = line.replace("\\", "\\e").replace("-", "\\-")
    if line.startswith((".", "'")):
        line = "\\&" + line
    return line


def main() -> int:
    name, section, version = sys.argv[1:4]
    out = [f'.TH {name.upper()} {section} "" "{name} {version}" "User Commands"']
    body = []

    def flush():
        if body:
            while body and not body[-1].strip():
                body.pop()
            out.extend([".nf", *body, ".fi"])
            body.clear()

    for line in sys.stdin.read().splitlines():
        if re.fullmatch(r"[A-Z][A-Z ]*", line):
            flush()
            out.append(f".SH {line}")
        elif re.fullmatch(r"   [A-Z][^ ].*", line):  # a subsection, indented 3
            flush()
            out.append(f".SS {roff(line.strip())}")
        else:
            # man indents a section's text itself: the help's 7 columns go.
            body.append(roff(line[7:] if line.startswith(" " * 7) else line.lstrip()))
    flush()
    sys.stdout.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

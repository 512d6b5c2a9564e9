#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""SPDX license identifiers at the top of dtlsgate's source files.

  scripts/spdx.py --check   list the source files without one; exit 1 if any
  scripts/spdx.py --add     give every such file one (idempotent)

Source files are found by walking the tree (not by asking git, so that an
unpacked release tarball is checked the same way); build outputs, hidden
directories and test data are left out. The identifier goes on the first
line, in the file's own comment syntax, or on the line after a shebang (and
after a Python coding line that follows it), where those must stay.
"""

import os
import re
import sys

LICENSE = "MIT"
TAG = "SPDX-License-Identifier:"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SKIP_DIRS = {"build", "lib", "dist", "testdata", "corpus", "__pycache__", "node_modules"}
# How far down the identifier may sit: shebang, coding line, identifier.
HEAD_LINES = 3

# (comment opener, closer) by how a name ends. C and the linker script keep
# /* */ so that the public header stays valid C89 for whoever includes it.
STYLES = [
    ((".go", ".cpp", ".hpp", ".cc"), ("// ", "")),
    ((".c", ".h", ".map"), ("/* ", " */")),
    ((".py", ".sh", ".mk", ".cmake", ".in", ".toml", ".supp", "Makefile", "CMakeLists.txt"),
     ("# ", "")),
]
# Headers without an extension: the stand-ins for Qt's include names.
EXTENSIONLESS_CPP_DIRS = ("tests/cpp/qt_include",)

CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=]")


def style(relpath):
    name = os.path.basename(relpath)
    if os.path.dirname(relpath) in EXTENSIONLESS_CPP_DIRS and "." not in name:
        return ("// ", "")
    for endings, comment in STYLES:
        if name.endswith(endings):
            return comment
    return None


def source_files(root=ROOT):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            rel = os.path.relpath(os.path.join(dirpath, name), root)
            if style(rel):
                yield rel


def has_tag(data):
    return TAG.encode() in b"".join(data.splitlines(True)[:HEAD_LINES])


def with_tag(relpath, data):
    """data with the identifier added where it belongs."""
    opener, closer = style(relpath)
    line = ("%s%s %s%s\n" % (opener, TAG, LICENSE, closer)).encode()
    lines = data.splitlines(True)
    keep = 0
    if lines and lines[0].startswith(b"#!"):
        keep = 1
        if len(lines) > 1 and relpath.endswith(".py") and CODING.match(lines[1]):
            keep = 2
    if keep and not lines[keep - 1].endswith(b"\n"):
        lines[keep - 1] += b"\n"
    # A Go comment right above `package` would join the package's doc comment.
    if relpath.endswith(".go"):
        line += b"\n"
    return b"".join(lines[:keep]) + line + b"".join(lines[keep:])


def main(argv):
    if len(argv) != 2 or argv[1] not in ("--check", "--add"):
        sys.stderr.write(__doc__)
        return 2
    missing = []
    for rel in source_files():
        path = os.path.join(ROOT, rel)
        with open(path, "rb") as f:
            data = f.read()
        if has_tag(data):
            continue
        if argv[1] == "--check":
            missing.append(rel)
            continue
        mode = os.stat(path).st_mode
        with open(path, "wb") as f:
            f.write(with_tag(rel, data))
        os.chmod(path, mode)
        print("spdx: added to", rel)
    if missing:
        sys.stderr.write("spdx: no %s line in the first %d lines of:\n  %s\n"
                         "(scripts/spdx.py --add puts one in)\n"
                         % (TAG, HEAD_LINES, "\n  ".join(missing)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

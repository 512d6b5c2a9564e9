#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs README.md's quick starts the way a reader would.

For each quick start in QUICK_STARTS, the program is the section's first
code block in the language, saved under the name its build commands use;
the commands are the section's first ``sh`` block, run as written (the last
line starts the server) in a scratch copy of the clone, with HOME a scratch
directory, so ``make install PREFIX=$HOME/.local`` and ``~/venv`` install
into scratch places. Then, with the section's own ``openssl s_client``
line:

1. a second copy of the server must fail at once, naming the busy port;
2. a client with a wrong key gets nowhere (killed after a few seconds);
3. right after it, a client with the right key sends "hello" and must get
   "echo: hello" back (the failed handshake must not block anyone);
4. another right-key client still gets its echo;
5. the server printed one "connected: me" line per right-key client and
   none for the wrong-key one (the endpoint gives up on its handshake at
   the deadline without a word: it only counts it);
6. tests/interop/replay.py: a replayed ClientHello must not end an
   established session.

--server NAME=COMMAND adds a server built elsewhere (steps 2, 3, 4, 6).
Adding a language is one QuickStart line; its README section must hold the
program (```LANG), then a ```sh block whose last line starts the server,
then the openssl s_client line, and the server must listen on
127.0.0.1:5684, answer "echo: LINE", print "connected: IDENTITY" when a
handshake completes, and exit non-zero naming the port when it cannot
bind. Prints a PASS/FAIL line per step.

    tests/readme/run.py README.md [--server NAME=COMMAND]...
    tests/readme/run.py README.md --print LANG   (the program alone)
"""

import argparse
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import List, NamedTuple, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOST, PORT = "127.0.0.1", 5684  # what every quick start listens on
RIGHT_KEY, WRONG_KEY = "1a2b3c4d5e6f", "0badc0de"


class QuickStart(NamedTuple):
    heading: str  # the README section starts with this line
    language: str  # the info string of its program's code block
    source: str  # the file name its build commands use


QUICK_STARTS = [
    QuickStart("## C quick start", "c", "echo_server.c"),
    QuickStart("## Python quick start", "python", "echo_server.py"),
]


class Server(NamedTuple):
    name: str
    command: str  # run with bash in `cwd`
    cwd: str
    openssl: str  # the client line, with the right key
    quick_start: bool  # one of the README's: names a busy port, prints "connected: ID"


failures = 0


def report(ok: bool, what: str, details: str = "") -> bool:
    global failures
    print("%s %s" % ("PASS" if ok else "FAIL", what), flush=True)
    if not ok:
        failures += 1
        for line in details.rstrip().splitlines()[-20:]:
            print("    " + line)
    return ok


# ---------------------------------------------------------------------------
# The README


def section(readme: str, heading: str) -> str:
    start = readme.find("\n" + heading)
    if start < 0:
        raise SystemExit("run.py: README has no section %r" % heading)
    end = readme.find("\n## ", start + 1)
    return readme[start: end if end >= 0 else len(readme)]


def blocks(text: str, language: str) -> List[str]:
    return re.findall(r"^```%s\n(.*?)^```$" % re.escape(language), text, re.S | re.M)


def commands(block: str) -> List[str]:
    """The block's commands, a backslash-continued line being one."""
    return [c.strip() for c in re.split(r"(?<!\\)\n", block.strip()) if c.strip()]


def openssl_line(text: str) -> str:
    for block in blocks(text, "sh"):
        for c in commands(block):
            if c.startswith("openssl s_client"):
                return c
    raise SystemExit("run.py: no openssl s_client line")


# ---------------------------------------------------------------------------
# Processes: each in its own process group, ended with it and waited for.


def start(command: str, cwd: str, log: str, env: dict, stdin: int = subprocess.DEVNULL
          ) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(["bash", "-c", "exec " + command], cwd=cwd, env=env, stdin=stdin,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop(p: subprocess.Popen) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=5)
            return
        except subprocess.TimeoutExpired:
            continue


def read(path: str) -> str:
    with open(path, errors="replace") as f:
        return f.read()


def wait_for(path: str, pattern: str, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if re.search(pattern, read(path), re.M):
            return True
        time.sleep(0.05)
    return False


def port_taken() -> bool:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((HOST, PORT))
    except OSError:
        return True
    finally:
        s.close()
    return False


def wait_bound(p: subprocess.Popen, taken: bool, seconds: float = 10) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if port_taken() == taken:
            return True
        if taken and p.poll() is not None:
            return False
        time.sleep(0.05)
    return False


# ---------------------------------------------------------------------------
# The steps


def client(server: Server, key: str, work: str, name: str, env: dict) -> subprocess.Popen:
    line = server.openssl.replace("-psk " + RIGHT_KEY, "-psk " + key)
    return start(line, work, os.path.join(work, name + ".out"), env, stdin=subprocess.PIPE)


def echo(server: Server, work: str, name: str, env: dict) -> bool:
    """A right-key client types hello and must see the echo; then it ends
    its input, which closes the connection."""
    c = client(server, RIGHT_KEY, work, name, env)
    out = os.path.join(work, name + ".out")
    try:
        ok = wait_for(out, r"^New, ", 10)  # the handshake is done
        c.stdin.write(b"hello\n")
        c.stdin.flush()
        ok = wait_for(out, r"^echo: hello$", 10) and ok
        c.stdin.close()
        c.wait(timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    finally:
        stop(c)
    return report(ok, "%s: %s gets \"echo: hello\"" % (server.name, name), read(out))


def run(server: Server, work: str, env: dict) -> None:
    if port_taken():
        report(False, "%s: %s:%d is in use by another program" % (server.name, HOST, PORT))
        return
    log = os.path.join(work, "server.out")
    p = start(server.command, server.cwd, log, env)
    try:
        if not report(wait_bound(p, True), "%s: the server listens on %s:%d"
                      % (server.name, HOST, PORT), read(log)):
            return
        if server.quick_start:
            second_log = os.path.join(work, "second.out")
            second = start(server.command, server.cwd, second_log, env)
            try:
                status = second.wait(timeout=10)
            except subprocess.TimeoutExpired:
                status = None
            stop(second)
            report(status not in (0, None) and str(PORT) in read(second_log),
                   "%s: a second server exits at once, naming port %d (status %s)"
                   % (server.name, PORT, status), read(second_log))

        wrong = client(server, WRONG_KEY, work, "wrong-key", env)
        time.sleep(2)
        stop(wrong)
        echo(server, work, "a client with the right key, after one with a wrong key", env)
        echo(server, work, "another right-key client", env)
        if server.quick_start:
            connected = re.findall(r"^connected: (.*)$", read(log), re.M)
            report(connected == ["me", "me"], "%s: the two right-key clients connected, the "
                   "wrong-key one did not (%s)" % (server.name, connected), read(log))
        stop(p)
        wait_bound(p, False)

        p = start(server.command, server.cwd, log, env)
        wait_bound(p, True)
        identity = re.search(r"-psk_identity (\S+)", server.openssl)
        r = subprocess.run([sys.executable, os.path.join(ROOT, "tests/interop/replay.py"),
                            "--server", HOST, str(PORT), "--delay", "1"]
                           + (["--identity", identity.group(1)] if identity else []),
                           env=env, capture_output=True, text=True, timeout=60)
        report(r.returncode == 0, "%s: a replayed ClientHello leaves the session working"
               % server.name, r.stdout + r.stderr)
    finally:
        stop(p)
        wait_bound(p, False)


def clone(work: str) -> str:
    """A directory that looks like the clone (every top-level entry linked),
    so that commands run in it leave their files in the scratch area."""
    path = os.path.join(work, "dtlsgate")
    os.mkdir(path)
    for name in os.listdir(ROOT):
        if name not in (".git", "build"):
            os.symlink(os.path.join(ROOT, name), os.path.join(path, name))
    return path


def prepare(readme: str, q: QuickStart, work: str, env: dict) -> Optional[Server]:
    text = section(readme, q.heading)
    program = blocks(text, q.language)[0]
    steps = commands(blocks(text, "sh")[0])
    cwd = clone(work)
    with open(os.path.join(cwd, q.source), "w") as f:
        f.write(program)
    name = q.heading.lstrip("# ")
    for step in steps[:-1]:
        r = subprocess.run(["bash", "-ec", step], cwd=cwd, env=env, capture_output=True,
                           text=True, timeout=600)
        if not report(r.returncode == 0, "%s: %s" % (name, step), r.stdout + r.stderr):
            return None
    return Server(name, steps[-1], cwd, openssl_line(text), True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("readme")
    ap.add_argument("--server", action="append", default=[], metavar="NAME=COMMAND")
    ap.add_argument("--print", metavar="LANG", help="print that quick start's program and stop")
    args = ap.parse_args()
    readme = read(args.readme)
    if args.print:
        q = next((q for q in QUICK_STARTS if q.language == args.print), None)
        if q is None:
            raise SystemExit("run.py: no quick start in %r" % args.print)
        sys.stdout.write(blocks(section(readme, q.heading), q.language)[0])
        return 0
    scratch = tempfile.mkdtemp(prefix="dtlsgate-readme.")
    home = os.path.join(scratch, "home")
    os.mkdir(home)
    env = dict(os.environ, HOME=home, PYTHONDONTWRITEBYTECODE="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INDEX="1")
    for var in ("PYTHONPATH", "DTLSGATE_LIBRARY", "PKG_CONFIG_PATH", "LD_LIBRARY_PATH"):
        env.pop(var, None)  # a reader's shell has none of these
    # Go keeps its caches under HOME; should make rebuild, it uses the real ones.
    go = subprocess.run(["go", "env", "GOCACHE", "GOMODCACHE", "GOPATH"], capture_output=True,
                        text=True)
    if go.returncode == 0:
        env.update(zip(("GOCACHE", "GOMODCACHE", "GOPATH"), go.stdout.split("\n")))
    openssl = openssl_line(section(readme, QUICK_STARTS[0].heading))
    try:
        for i, q in enumerate(QUICK_STARTS):
            work = os.path.join(scratch, "quickstart-%d" % i)
            os.mkdir(work)
            server = prepare(readme, q, work, env)
            if server is not None:
                run(server, work, env)
        for i, spec in enumerate(args.server):
            name, _, command = spec.partition("=")
            work = os.path.join(scratch, "server-%d" % i)
            os.mkdir(work)
            run(Server(name, shlex.quote(os.path.abspath(command)) if os.path.exists(command)
                       else command, ROOT, openssl, False), work, env)
    finally:
        if failures:
            print("logs kept in %s" % scratch)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    print("%d failed" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks or narrates one cookie exchange recorded by relay.py.

    exchange.py check RELAY_LOG SERVER_OUTPUT
    exchange.py show  RELAY_LOG SERVER_OUTPUT

RELAY_LOG is relay.py's JSON-lines log; SERVER_OUTPUT is what the example
server (examples/c/verify_server.c, run with --once) printed on stdout.

check asserts the RFC 6347 4.2.1 exchange and prints a one-line summary;
show prints it step by step for a person (scripts/demo.sh). Both exit 0 if
the exchange is right and 1 with the reasons if not. Standard library only.
"""

import json
import sys
from dataclasses import dataclass
from typing import Dict, List, Tuple

import dtlswire
from dtlswire import CLIENT_HELLO, HELLO_VERIFY_REQUEST, ParseError

HVR_OVERHEAD = 13 + 12 + 2 + 1  # record header, handshake header, version, cookie length


@dataclass
class Datagram:
    index: int  # position in the relay log
    direction: str  # "c2s" or "s2c"
    t: float
    data: bytes


class Failed(Exception):
    pass


def read_relay_log(path: str) -> List[Datagram]:
    """The datagrams of the log, in order; notes are left out."""
    datagrams = []
    with open(path, encoding="ascii") as f:
        for i, line in enumerate(f):
            entry = json.loads(line)
            if entry["dir"] in ("c2s", "s2c"):
                datagrams.append(Datagram(i, entry["dir"], entry["t"], bytes.fromhex(entry["hex"])))
    return datagrams


def parse_server_line(line: str) -> Tuple[str, Dict[str, str]]:
    """'verified peer=1.2.3.4:5 bytes=9 hex=..' -> ('verified', {...}).
    message= is always last and runs to the end of the line."""
    word, _, rest = line.rstrip("\n").partition(" ")
    fields = {}
    while rest:
        if rest.startswith("message="):
            fields["message"] = rest[len("message="):]
            break
        item, _, rest = rest.partition(" ")
        key, _, value = item.partition("=")
        fields[key] = value
    return word, fields


def read_server_output(path: str) -> List[Tuple[str, Dict[str, str]]]:
    with open(path, encoding="utf-8", errors="replace") as f:
        return [parse_server_line(line) for line in f if line.strip()]


def per_datagram(events):
    """The server's events that answer one datagram each, in order."""
    return [e for e in events if e[0] in ("verified", "not-verified", "error")]


def expect(condition: bool, text: str) -> None:
    if not condition:
        raise Failed(text)


def parse_as(d: Datagram, label: str, msg_type: int) -> dtlswire.Message:
    try:
        m = dtlswire.parse(d.data)
    except ParseError as e:
        raise Failed("%s is not a handshake message: %s" % (label, e))
    expect(m.msg_type == msg_type,
           "%s is a %s, expected %s" % (label, m.name, dtlswire.MESSAGE_NAMES[msg_type]))
    return m


def check(datagrams: List[Datagram], events) -> str:
    """Raises Failed at the first thing that is wrong; returns a summary.

    Normally the client sends two datagrams and the server one. On a slow
    machine the client may resend its first ClientHello before the
    HelloVerifyRequest reaches it; such resends (cookie-less ClientHellos)
    are allowed and counted, everything else must be exact."""
    c2s = [d for d in datagrams if d.direction == "c2s"]
    s2c = [d for d in datagrams if d.direction == "s2c"]

    # 1. The client's first ClientHello, without a cookie, and the one that
    #    comes back with a cookie (normally the second datagram).
    expect(len(c2s) >= 1, "the client sent nothing")
    hellos = []
    for k, d in enumerate(c2s):
        hellos.append(parse_as(d, "client datagram #%d" % (k + 1), CLIENT_HELLO))
        if hellos[-1].cookie:
            break
    first, second = hellos[0], hellos[-1]
    expect(first.cookie == b"", "client datagram #1 already carries a %d-byte cookie"
           % len(first.cookie))
    expect(len(hellos) >= 2 and second.cookie != b"", "the client never came back with a cookie")
    n = len(hellos)  # client datagram #n is the one with the cookie

    # 2. Our HelloVerifyRequest, in the shape RFC 6347 and DESIGN.md give it.
    expect(len(s2c) >= 1, "the server never answered (no HelloVerifyRequest)")
    expect(s2c[0].index > c2s[0].index, "the server spoke before the client")
    expect(s2c[0].index < c2s[n - 1].index,
           "client datagram #%d has a cookie but came before the HelloVerifyRequest" % n)
    hvr = parse_as(s2c[0], "server datagram #1", HELLO_VERIFY_REQUEST)
    # The record it answers: its epoch and sequence number are echoed.
    answered = [m for d, m in zip(c2s, hellos[:-1]) if d.index < s2c[0].index
                and (m.epoch, m.sequence) == (hvr.epoch, hvr.sequence)]
    expect(len(answered) >= 1,
           "HelloVerifyRequest record epoch/sequence %d/%d do not echo the ClientHello's %d/%d"
           % (hvr.epoch, hvr.sequence, first.epoch, first.sequence))
    expect(hvr.record_version == 0xFEFF,
           "HelloVerifyRequest record version is 0x%04x, not 0xfeff" % hvr.record_version)
    expect(hvr.message_seq == 0, "HelloVerifyRequest message_seq is %d, not 0" % hvr.message_seq)
    expect(hvr.unfragmented, "HelloVerifyRequest is fragmented")
    expect(hvr.version == 0xFEFF,
           "HelloVerifyRequest server_version is 0x%04x, not 0xfeff" % hvr.version)
    expect(1 <= len(hvr.cookie) <= 32, "cookie is %d bytes, not 1..32" % len(hvr.cookie))
    expect(len(hvr.datagram) == HVR_OVERHEAD + len(hvr.cookie),
           "HelloVerifyRequest datagram is %d bytes, expected %d"
           % (len(hvr.datagram), HVR_OVERHEAD + len(hvr.cookie)))
    # Already implied by the checks above (a ClientHello is at least 61
    # bytes), but it is the property that matters, so it is said.
    expect(len(hvr.datagram) <= len(answered[0].datagram),
           "HelloVerifyRequest (%d bytes) is larger than the ClientHello that caused it (%d)"
           % (len(hvr.datagram), len(answered[0].datagram)))

    # 3. The client came back with exactly that cookie.
    expect(second.cookie == hvr.cookie, "client datagram #%d carries cookie %s, we sent %s"
           % (n, second.cookie.hex(), hvr.cookie.hex()))

    # 4. What the verifier said about each datagram, in order.
    answers = per_datagram(events)
    expect(len(answers) >= n, "the server reported %d datagram(s), expected %d"
           % (len(answers), n))
    for k in range(n - 1):
        word, fields = answers[k]
        expect(word == "not-verified" and fields.get("bytes") == str(len(c2s[k].data)),
               "for client datagram #%d the server reported: %s %s" % (k + 1, word, fields))
    word, fields = answers[n - 1]
    expect(word == "verified",
           "for client datagram #%d the server reported: %s %s" % (n, word, fields))
    hello = bytes.fromhex(fields.get("hex", ""))
    expect(hello == second.datagram,
           "verifiedHello (%d bytes) is not client datagram #%d (%d bytes)"
           % (len(hello), n, len(second.datagram)))
    expect(any(w == "stopped" and f.get("reason") == "once" for w, f in events),
           "the server did not stop after the verified hello")

    summary = ("%s ClientHello %dB -> HelloVerifyRequest %dB (cookie %dB) -> ClientHello %dB "
               "with the cookie -> verified, verifiedHello == that datagram"
               % (dtlswire.version_name(first.version), len(first.datagram), len(hvr.datagram),
                  len(hvr.cookie), len(second.datagram)))
    if n > 2:
        summary += " (the client resent its first ClientHello %d time(s))" % (n - 2)
    return summary


def show(datagrams: List[Datagram], events) -> None:
    """Prints the exchange as numbered steps, each client datagram followed
    by what the verifier made of it."""
    answers = per_datagram(events)
    step = 0
    seen_by_server = 0
    cookie_sent = None
    for i, d in enumerate(datagrams):
        step += 1
        arrow = "client -> server" if d.direction == "c2s" else "server -> client"
        print("  [%d] %s  %s" % (step, arrow, dtlswire.describe(d.data)))
        if d.direction == "s2c":
            try:
                cookie_sent = dtlswire.parse(d.data).cookie
            except ParseError:
                pass
            continue
        if seen_by_server >= len(answers):
            break
        word, fields = answers[seen_by_server]
        seen_by_server += 1
        if word == "verified":
            hello = bytes.fromhex(fields["hex"])
            try:
                same_cookie = dtlswire.parse(d.data).cookie == cookie_sent
            except ParseError:
                same_cookie = False
            print("      verifier: true. %s, so the peer %s"
                  % ("It carries the cookie from the HelloVerifyRequest" if same_cookie
                     else "Its cookie is valid", fields.get("peer")))
            print("      really receives datagrams at that address")
            print("      verifiedHello(): %d bytes, %s, %s this datagram"
                  % (len(hello), dtlswire.spaced_hex(hello, 6),
                     "identical to" if hello == d.data else "NOT equal to"))
            left = len([x for x in datagrams[i + 1:] if x.direction == "c2s"])
            if left:
                print("  (then the client resent its ClientHello %d more time(s): this example "
                      "server stops at the first verified ClientHello and never answers it)"
                      % left)
            return
        if word == "not-verified":
            nxt = datagrams[i + 1] if i + 1 < len(datagrams) else None
            if nxt is not None and nxt.direction == "s2c":
                print("      verifier: false, no error: no valid cookie, so it answered with a "
                      "HelloVerifyRequest")
            else:
                print("      verifier: false, no error: not a usable ClientHello, ignored")
        else:
            print("      verifier: false, error %s (%s): %s"
                  % (fields.get("code"), fields.get("name"), fields.get("message")))


def main(argv: List[str]) -> int:
    if len(argv) != 4 or argv[1] not in ("check", "show"):
        print("usage: exchange.py check|show RELAY_LOG SERVER_OUTPUT", file=sys.stderr)
        return 2
    datagrams = read_relay_log(argv[2])
    events = read_server_output(argv[3])
    if argv[1] == "show":
        show(datagrams, events)
    try:
        summary = check(datagrams, events)
    except Failed as e:
        print("FAILED: %s" % e)
        return 1
    print(summary if argv[1] == "check" else "  OK: " + summary)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

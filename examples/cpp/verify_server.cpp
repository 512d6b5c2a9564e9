// SPDX-License-Identifier: MIT
// verify_server.cpp - the C example server (examples/c/verify_server.c)
// written against the C++ binding: a UDP socket, and a
// dtlsgate::QDtlsClientVerifier that answers each first ClientHello with a
// cookie and lets through only clients that come back with it.
//
// Usage: verify_server [--once] [--timeout SECONDS] [ADDRESS [PORT]]
//   ADDRESS  numeric IPv4 or IPv6 address (default 127.0.0.1)
//   PORT     UDP port (default 0: the system picks one)
//   --once   exit after the first verified ClientHello
//   --timeout SECONDS  stop after this long, whatever happens
//
// It prints the same lines as the C example, so tests/interop/run.sh can
// drive it with real DTLS clients:
//   listening address=127.0.0.1 port=40123 library=0.1.0
//   not-verified peer=127.0.0.1:5555 bytes=205
//   verified peer=127.0.0.1:5555 bytes=237 hex=16feff...
//   error peer=127.0.0.1:5555 bytes=205 code=3 name=UnderlyingSocketError message=...
//   stopped reason=once datagrams=2 verified=1
// Exit status: 0 when stopped by --once or the timeout; 3 when --once was
// given and the timeout came first; 1 on a failure; 2 on bad usage.
// Ctrl-C ends it without the "stopped" line.
#include <dtlsgate.hpp>

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

namespace {

struct Options {
    std::string address = "127.0.0.1";
    std::string port = "0";
    bool once = false;
    double timeout = 0; // seconds; 0 = none
};

[[noreturn]] void usage(int status)
{
    (status ? std::cerr : std::cout)
        << "usage: verify_server [--once] [--timeout SECONDS] [ADDRESS [PORT]]\n";
    std::exit(status);
}

Options parse(int argc, char **argv)
{
    Options o;
    std::vector<std::string> positional;
    for (int i = 1; i < argc; i++) {
        const std::string arg = argv[i];
        if (arg == "--once") {
            o.once = true;
        } else if (arg == "--timeout" && i + 1 < argc) {
            char *end = nullptr;
            o.timeout = std::strtod(argv[++i], &end);
            if (*end != '\0' || !(o.timeout > 0))
                usage(2);
        } else if (arg == "--help" || arg == "-h") {
            usage(0);
        } else if (arg[0] == '-') {
            usage(2);
        } else {
            positional.push_back(arg);
        }
    }
    if (positional.size() > 2)
        usage(2);
    if (!positional.empty())
        o.address = positional[0];
    if (positional.size() == 2)
        o.port = positional[1];
    // getaddrinfo() would quietly wrap a port over 65535.
    char *end = nullptr;
    const long port = std::strtol(o.port.c_str(), &end, 10);
    if (*end != '\0' || o.port.empty() || port < 0 || port > 65535)
        usage(2);
    return o;
}

// "127.0.0.1:5555" or "[::1]:5555".
std::string peer_name(const sockaddr *sa, socklen_t len)
{
    char host[128], serv[16];
    if (getnameinfo(sa, len, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return "unknown";
    const std::string h = host;
    return (sa->sa_family == AF_INET6 ? "[" + h + "]" : h) + ":" + serv;
}

// A UDP socket bound to address:port; prints the readiness line.
int open_socket(const Options &o)
{
    addrinfo hints{}, *ai = nullptr;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    if (getaddrinfo(o.address.c_str(), o.port.c_str(), &hints, &ai) != 0) {
        std::cerr << "verify_server: bad address or port " << o.address << " " << o.port << "\n";
        std::exit(2);
    }
    const int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    const bool bound = fd >= 0 && bind(fd, ai->ai_addr, ai->ai_addrlen) == 0;
    freeaddrinfo(ai);
    sockaddr_storage local{};
    socklen_t local_len = sizeof local;
    if (!bound || getsockname(fd, reinterpret_cast<sockaddr *>(&local), &local_len) != 0) {
        std::perror("verify_server: bind");
        std::exit(1);
    }
    char host[128], serv[16];
    getnameinfo(reinterpret_cast<sockaddr *>(&local), local_len, host, sizeof host, serv,
                sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV);
    std::printf("listening address=%s port=%s library=%s\n", host, serv,
                std::string(dtlsgate::version()).c_str());
    return fd;
}

std::string hex(const std::string &bytes)
{
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

} // namespace

int main(int argc, char **argv)
{
    const Options o = parse(argc, argv);
    std::setvbuf(stdout, nullptr, _IOLBF, 0); // each line out as soon as it is complete
    const int fd = open_socket(o);

    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + std::chrono::duration_cast<clock::duration>(
                                             std::chrono::duration<double>(o.timeout));
    unsigned long datagrams = 0, verified = 0;
    std::string reason;
    int status = 0;
    std::vector<char> buf(65536); // any UDP datagram fits

    try {
        dtlsgate::QDtlsClientVerifier verifier;
        while (reason.empty()) {
            int wait_ms = -1;
            if (o.timeout > 0) {
                const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - clock::now());
                wait_ms = left.count() > 0 ? static_cast<int>(left.count()) + 1 : 0;
            }
            pollfd p{fd, POLLIN, 0};
            const int ready = poll(&p, 1, wait_ms);
            if (ready == 0) {
                reason = "timeout";
                status = o.once ? 3 : 0;
                break;
            }
            sockaddr_storage from{};
            socklen_t from_len = sizeof from;
            const ssize_t n = ready < 0 ? -1
                                        : recvfrom(fd, buf.data(), buf.size(), 0,
                                                   reinterpret_cast<sockaddr *>(&from), &from_len);
            if (n <= 0)
                continue; // EINTR, a bounced reply, or an empty datagram: nothing to verify
            datagrams++;
            const auto *peer = reinterpret_cast<const sockaddr *>(&from);
            const std::string_view dgram(buf.data(), static_cast<std::size_t>(n));
            const std::string name = peer_name(peer, from_len);

            // The one call that matters: Qt's verifyClient().
            if (verifier.verifyClient(fd, dgram, peer, from_len)) {
                verified++;
                const std::string hello = verifier.verifiedHello();
                std::printf("verified peer=%s bytes=%zu hex=%s\n", name.c_str(), hello.size(),
                            hex(hello).c_str());
                if (o.once)
                    reason = "once";
            } else if (verifier.dtlsError() == dtlsgate::QDtlsError::NoError) {
                std::printf("not-verified peer=%s bytes=%zd\n", name.c_str(), n);
            } else {
                const auto error = verifier.dtlsError();
                std::printf("error peer=%s bytes=%zd code=%d name=%s message=%s\n", name.c_str(),
                            n, static_cast<int>(error),
                            std::string(dtlsgate::dtlsErrorName(error)).c_str(),
                            verifier.dtlsErrorString().c_str());
            }
        }
    } catch (const dtlsgate::error &e) {
        // Only a programming or internal error gets here.
        std::cerr << "verify_server: " << e.what() << "\n";
        reason = "failure";
        status = 1;
    }
    std::printf("stopped reason=%s datagrams=%lu verified=%lu\n", reason.c_str(), datagrams,
                verified);
    close(fd);
    return status;
}

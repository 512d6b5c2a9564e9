// SPDX-License-Identifier: MIT
// secure_udp_server.cpp - a DTLS echo server with pre-shared keys on
// dtlsgate::DtlsServer, the server endpoint in C++17 without Qt (Qt
// programs: qt_secure_udp_server.cpp, on dtlsgate::qt::DtlsServer).
//
// The endpoint owns the sockets and runs the cookie exchange, handshakes,
// timers and limits on its own threads. This program waits with poll(2)
// on the endpoint's descriptor (readable while events wait) and on a pipe
// the stop signals write into, prints each event and answers each message
// with "echo: MESSAGE". SIGINT or SIGTERM closes every connection with
// close_notify and exits 0.
//
// Usage: secure_udp_server ADDRESS PORT [--psk HEX] [--hint TEXT]
//            [--deadline SECONDS] [--max-sessions N] [--idle SECONDS]
// The lines it prints are listed in examples/CONTRACT.md.
#include <dtlsgate.hpp>

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

using dtlsgate::DtlsServer;

namespace {

[[noreturn]] void usage()
{
    std::fputs("usage: secure_udp_server ADDRESS PORT [--psk HEX] [--hint TEXT] "
               "[--deadline SECONDS] [--max-sessions N] [--idle SECONDS]\n",
               stderr);
    std::exit(2);
}

// One line on standard output, flushed at once for scripts reading a pipe.
void say(const std::string &line)
{
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
}

// "127.0.0.1:5555" or "[::1]:5555".
std::string name(const DtlsServer::Peer &p)
{
    char host[NI_MAXHOST], port[NI_MAXSERV];
    if (getnameinfo(p.sa(), p.len, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return "unknown";
    return p.addr.ss_family == AF_INET6 ? "[" + std::string(host) + "]:" + port
                                        : std::string(host) + ":" + port;
}

// A key in hex, 1 to DTLSGATE_PSK_MAX_KEY bytes; empty if it is not one.
std::string hexKey(const char *hex)
{
    const std::size_t n = std::strlen(hex);
    std::string key;
    if (n == 0 || n % 2 || n / 2 > DTLSGATE_PSK_MAX_KEY)
        return key;
    for (std::size_t i = 0; i < n; i += 2) {
        if (!std::isxdigit(static_cast<unsigned char>(hex[i])) ||
            !std::isxdigit(static_cast<unsigned char>(hex[i + 1])))
            return {};
        key += static_cast<char>(std::stoi(std::string(hex + i, 2), nullptr, 16));
    }
    return key;
}

// An option's whole number, or its seconds (fractions allowed, at most a
// day) in milliseconds; exits with status 2 if it is not one.
std::uint32_t number(const char *option, const char *text, bool seconds)
{
    char *end = nullptr;
    errno = 0;
    const double v = seconds ? std::strtod(text, &end) : double(std::strtoul(text, &end, 10));
    const double most = seconds ? 86400 : 0x7fffffff;
    if (errno || end == text || *end || text[0] == '-' || !(v >= 0 && v <= most)) {
        std::fprintf(stderr, "%s wants %s, not \"%s\"\n", option,
                     seconds ? "seconds from 0 to 86400" : "a whole number", text);
        std::exit(2);
    }
    return std::uint32_t(seconds ? v * 1000 + 0.5 : v);
}

// What a Closed event prints after the peer's name.
const char *closedLine(int reason)
{
    switch (reason) {
    case DTLSGATE_SERVER_CLOSED_BY_PEER:
        return "closed the connection";
    case DTLSGATE_SERVER_CLOSED_FATAL:
        return "session ended (fatal)";
    case DTLSGATE_SERVER_CLOSED_BY_APP:
        return "session ended (closed by app)";
    case DTLSGATE_SERVER_CLOSED_IDLE:
        return "session ended (idle)";
    case DTLSGATE_SERVER_CLOSED_EVICTED:
        return "session ended (evicted)";
    case DTLSGATE_SERVER_CLOSED_REPLACED:
        return "session ended (replaced)";
    case DTLSGATE_SERVER_CLOSED_SHUTDOWN:
        return "session ended (shutdown)";
    default:
        return "session ended (unknown)";
    }
}

// SIGINT and SIGTERM write a byte into this pipe, which poll(2) watches.
int stopPipe[2] = {-1, -1};

void onStop(int)
{
    const int saved = errno;
    const char byte = 1;
    (void)!write(stopPipe[1], &byte, 1);
    errno = saved;
}

} // namespace

int main(int argc, char **argv)
{
    if (argc < 3)
        usage();
    const char *keyHex = "1a2b3c4d5e6f";
    std::string hint = "dtlsgate example server";
    DtlsServer::Config cfg;
    for (int i = 3; i < argc; i += 2) {
        const char *option = argv[i], *value = i + 1 < argc ? argv[i + 1] : nullptr;
        if (!value)
            usage();
        else if (std::strcmp(option, "--psk") == 0)
            keyHex = value;
        else if (std::strcmp(option, "--hint") == 0)
            hint = value;
        else if (std::strcmp(option, "--deadline") == 0)
            cfg.handshake_deadline_ms = number(option, value, true);
        else if (std::strcmp(option, "--max-sessions") == 0)
            cfg.max_sessions = number(option, value, false);
        else if (std::strcmp(option, "--idle") == 0)
            cfg.idle_timeout_ms = number(option, value, true); // 0: never
        else
            usage();
    }
    const std::string key = hexKey(keyHex);
    if (key.empty()) {
        std::fprintf(stderr, "secure_udp_server: --psk wants 1 to %d bytes in hex\n",
                     DTLSGATE_PSK_MAX_KEY);
        return 2;
    }
    cfg.identity_hint = reinterpret_cast<const std::uint8_t *>(hint.data());
    cfg.identity_hint_len = hint.size();
    cfg.psk_requests = 1; // ask us for every identity's key: see PskRequest below

    try {
        DtlsServer server(cfg);
        const std::string address =
            std::strchr(argv[1], ':') ? "[" + std::string(argv[1]) + "]:" + argv[2]
                                      : std::string(argv[1]) + ":" + argv[2];
        try {
            server.listen(address);
        } catch (const dtlsgate::error &e) {
            std::fprintf(stderr, "secure_udp_server: cannot listen on %s: %s\n", address.c_str(),
                         e.detail().empty() ? e.what() : e.detail().c_str());
            return 1;
        }
        say("server: listening on " + name(server.localAddress()));

        if (pipe2(stopPipe, O_CLOEXEC | O_NONBLOCK) != 0) {
            std::perror("pipe2");
            return 1;
        }
        struct sigaction sa = {};
        sa.sa_handler = onStop;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, nullptr);
        sigaction(SIGTERM, &sa, nullptr);

        int closedAtShutdown = 0;
        auto serveEvents = [&] {
            for (;;) {
                const std::vector<DtlsServer::Event> events = server.poll(64, 0);
                if (events.empty())
                    return;
                for (const DtlsServer::Event &e : events) {
                    const std::string peer = name(e.peer);
                    switch (e.type) {
                    case DtlsServer::EventType::PskRequest: // any identity, our key
                        server.resolvePsk(e, key);
                        break;
                    case DtlsServer::EventType::Connected:
                        say("server: " + peer + " PSK identity \"" + e.identity + "\"");
                        say("server: " + peer + " handshake complete (" + e.cipher + ", DTLSv1.2)");
                        break;
                    case DtlsServer::EventType::Data: {
                        // Line-oriented peers (openssl s_client) end with a
                        // newline: it is echoed, not printed.
                        const std::size_t shown = e.data.find_last_not_of("\r\n") + 1;
                        say("server: " + peer + " says \"" + e.data.substr(0, shown) + "\"");
                        // One record at most; false if the peer has gone meanwhile.
                        server.send(e.peer, ("echo: " + e.data).substr(0, 16384));
                        break;
                    }
                    case DtlsServer::EventType::Moved:
                        say("server: " + name(e.oldPeer) + " moved to " + peer);
                        break;
                    case DtlsServer::EventType::Closed:
                        say("server: " + peer + " " + closedLine(e.reason));
                        closedAtShutdown += e.reason == DTLSGATE_SERVER_CLOSED_SHUTDOWN;
                        break;
                    }
                }
            }
        };
        pollfd fds[2] = {{server.fd(), POLLIN, 0}, {stopPipe[0], POLLIN, 0}};
        while (!(fds[1].revents & POLLIN)) {
            if (poll(fds, 2, -1) < 0 && errno != EINTR) {
                std::perror("poll");
                return 1;
            }
            serveEvents();
        }
        server.stop(); // close_notify to every peer; their Closed events follow
        serveEvents();
        say("server: shutting down, closed " + std::to_string(closedAtShutdown) + " connection(s)");
    } catch (const dtlsgate::error &e) {
        std::fprintf(stderr, "secure_udp_server: %s\n", e.what());
        return 2;
    }
    return 0;
}

// SPDX-License-Identifier: MIT
// test_server.cpp - dtlsgate::DtlsServer, the C++ wrapper of the server
// endpoint: socket-less with a QDtls client whose datagrams the test
// carries (events, data both ways, close, a key asked for with an event,
// moves, misuse, connection IDs and a client that changed address), then managed on loopback with the client over a real UDP
// socket and the server's events taken when poll(2) says its fd is ready.
#include "check.hpp"
#include "dtlsgate.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

using dtlsgate::DtlsServer;
using dtlsgate::QDtls;
using dtlsgate::QSslPreSharedKeyAuthenticator;
using dtlsgate::QSslSocket;
using Event = DtlsServer::EventType;

namespace {

const std::string kKey = "\x01\x02\x03\x04\x05\x06\x07\x08";

void give_key(QDtls &client, const std::string &identity)
{
    client.onPskRequired([identity](QSslPreSharedKeyAuthenticator *a) {
        a->setIdentity(identity);
        a->setPreSharedKey(kKey);
    });
}

// A socket-less client of identity that has sent its first ClientHello,
// asking for connection IDs of length cid.
QDtls start_client(const std::string &identity, int cid = DTLSGATE_NO_CONNECTION_ID)
{
    QDtls client(QSslSocket::SslClientMode);
    give_key(client, identity);
    CHECK(client.setPeer("192.0.2.1", 5684));
    CHECK(client.setConnectionIdLength(cid));
    CHECK(client.doHandshake(DTLSGATE_NO_SOCKET));
    return client;
}

DtlsServer::Peer peer_at(uint16_t port)
{
    DtlsServer::Peer p;
    auto *sin = reinterpret_cast<sockaddr_in *>(&p.addr);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    inet_pton(AF_INET, "192.0.2.7", &sin->sin_addr);
    p.len = sizeof *sin;
    return p;
}

// Carries datagrams between the server and one socket-less client; the
// client's decrypted data is appended to got.
void shuttle(DtlsServer &server, QDtls &client, const DtlsServer::Peer &from, std::string &got)
{
    for (int round = 0; round < 30; round++) {
        bool moved = false;
        for (const std::string &d : client.takeOutgoing()) {
            server.input(from.sa(), from.len, d);
            moved = true;
        }
        while (auto out = server.nextOutgoing()) {
            moved = true;
            CHECK(out->second.len == from.len && std::memcmp(&out->second.addr, &from.addr, from.len) == 0);
            if (client.handshakeState() == QDtls::HandshakeInProgress)
                client.doHandshake(DTLSGATE_NO_SOCKET, out->first);
            else
                got += client.decryptDatagram(DTLSGATE_NO_SOCKET, out->first);
        }
        if (!moved)
            return;
    }
}

void test_socketless()
{
    DtlsServer::Config cfg;
    CHECK_EQ(cfg.idle_timeout_ms, 600000u);
    cfg.psk_requests = 1;
    DtlsServer server(cfg);
    server.setPsk("alice", kKey);

    QDtls client = start_client("alice");
    const DtlsServer::Peer from = peer_at(40001);
    std::string got;
    shuttle(server, client, from, got);
    CHECK(client.isConnectionEncrypted());
    std::vector<DtlsServer::Event> evs = server.poll();
    if (CHECK_EQ(evs.size(), 1u)) {
        CHECK(evs[0].type == Event::Connected);
        CHECK_EQ(evs[0].identity, "alice");
        CHECK_EQ(evs[0].cipher, client.sessionCipher().name());
    }

    CHECK_EQ(client.writeDatagramEncrypted(DTLSGATE_NO_SOCKET, "ping"), 4);
    shuttle(server, client, from, got);
    evs = server.poll();
    if (CHECK_EQ(evs.size(), 1u)) {
        CHECK(evs[0].type == Event::Data);
        CHECK_EQ(evs[0].data, "ping");
        CHECK(server.send(evs[0].peer, "pong"));
    }
    shuttle(server, client, from, got);
    CHECK_EQ(got, "pong");
    CHECK_EQ(server.stats().handshakes_completed, 1u);

    // Moved: the new owner works, the old one refuses.
    DtlsServer moved(std::move(server));
    CHECK_THROWS(server.poll(), DTLSGATE_E_BAD_HANDLE); // NOLINT: the documented state
    CHECK(moved.close(from));
    CHECK(!moved.close(from)); // no longer connected: false, not an exception
    CHECK(!moved.send(from, "late"));
    shuttle(moved, client, from, got);
    CHECK_EQ(client.dtlsError(), dtlsgate::QDtlsError::RemoteClosedConnectionError);
    evs = moved.poll();
    if (CHECK_EQ(evs.size(), 1u)) {
        CHECK(evs[0].type == Event::Closed);
        CHECK_EQ(evs[0].reason, DTLSGATE_SERVER_CLOSED_BY_APP);
    }

    // A key the table lacks: asked for with an event, answered.
    QDtls bob = start_client("bob");
    const DtlsServer::Peer bobFrom = peer_at(40002);
    shuttle(moved, bob, bobFrom, got);
    evs = moved.poll();
    if (CHECK_EQ(evs.size(), 1u) && CHECK(evs[0].type == Event::PskRequest)) {
        CHECK_EQ(evs[0].identity, "bob");
        CHECK(moved.resolvePsk(evs[0], kKey));
        CHECK(!moved.resolvePsk(evs[0], kKey)); // answered already
    }
    shuttle(moved, bob, bobFrom, got);
    CHECK(bob.isConnectionEncrypted());

    // Misuse throws with the C status.
    CHECK_THROWS(moved.setPsk("", kKey), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_THROWS(moved.send(from, std::string(16385, 'x')), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_THROWS(moved.localAddress(), DTLSGATE_E_INVALID_STATE);
    CHECK_THROWS(moved.loadPskFile("/nonexistent/keys"), DTLSGATE_E_IO);
    DtlsServer::Config bad;
    bad.ciphers = "NO-SUCH-SUITE";
    CHECK_THROWS(DtlsServer{bad}, DTLSGATE_E_INVALID_ARGUMENT);
}

// Connection IDs: the ID a client is given (node byte first), a client
// that comes back from a new port (Moved, then its data; answers go
// there), and a replayed record from elsewhere that moves nothing.
void test_connection_ids()
{
    DtlsServer::Config cfg;
    CHECK_EQ(cfg.connection_id_length, DTLSGATE_CONNECTION_ID_DEFAULT_LENGTH);
    cfg.connection_id_length = 10;
    cfg.node_id = 7;
    DtlsServer server(cfg);
    server.setPsk("dave", kKey);
    QDtls client = start_client("dave", DTLSGATE_EMPTY_CONNECTION_ID);
    const DtlsServer::Peer home = peer_at(41000), away = peer_at(41001), thief = peer_at(41002);
    std::string got;
    shuttle(server, client, home, got);
    std::vector<DtlsServer::Event> evs = server.poll();
    if (CHECK_EQ(evs.size(), 1u) && CHECK(evs[0].type == Event::Connected)) {
        CHECK_EQ(evs[0].connectionId.size(), 10u);
        CHECK_EQ(int(evs[0].connectionId[0]), 7);
        CHECK_EQ(evs[0].connectionId, client.peerConnectionId().value_or(""));
        CHECK_EQ(evs[0].oldPeer.len, 0u);
    }
    CHECK_EQ(client.writeDatagramEncrypted(DTLSGATE_NO_SOCKET, "back"), 4);
    shuttle(server, client, away, got);
    evs = server.poll();
    if (CHECK_EQ(evs.size(), 2u) && CHECK(evs[0].type == Event::Moved)) {
        CHECK(evs[0].peer.len == away.len && std::memcmp(&evs[0].peer.addr, &away.addr, away.len) == 0);
        CHECK(evs[0].oldPeer.len == home.len &&
              std::memcmp(&evs[0].oldPeer.addr, &home.addr, home.len) == 0);
        CHECK(evs[1].type == Event::Data);
        CHECK_EQ(evs[1].data, "back");
    }
    CHECK(server.send(away, "here"));
    CHECK(!server.send(home, "gone"));
    shuttle(server, client, away, got);
    CHECK_EQ(got, "here");
    const std::string rec = client.encrypt("once");
    server.input(away.sa(), away.len, rec);
    server.input(thief.sa(), thief.len, rec);
    evs = server.poll();
    if (CHECK_EQ(evs.size(), 1u))
        CHECK(evs[0].type == Event::Data);
    const dtlsgate_server_stats st = server.stats();
    CHECK_EQ(st.moves, 1u);
    CHECK_EQ(st.refused_moves, 1u);
}

void test_managed()
{
    DtlsServer server;
    server.setPsk("carol", kKey);
    server.listen("127.0.0.1:0");
    const DtlsServer::Peer local = server.localAddress();
    const uint16_t port = ntohs(reinterpret_cast<const sockaddr_in *>(&local.addr)->sin_port);
    CHECK(port != 0);
    CHECK_THROWS(server.input(local.sa(), local.len, "x"), DTLSGATE_E_INVALID_STATE);

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    QDtls client(QSslSocket::SslClientMode);
    give_key(client, "carol");
    client.setPeer("127.0.0.1", port);
    client.doHandshake(fd);
    std::string echoed;
    bool sent = false;
    int connected = 0;
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (echoed.empty() && std::chrono::steady_clock::now() < end) {
        pollfd p[2] = {{fd, POLLIN, 0}, {server.fd(), POLLIN, 0}};
        if (::poll(p, 2, 200) <= 0)
            continue;
        if (p[0].revents & POLLIN) {
            char buf[2048];
            const ssize_t n = recv(fd, buf, sizeof buf, 0);
            const std::string d(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
            if (client.handshakeState() == QDtls::HandshakeInProgress)
                client.doHandshake(fd, d);
            else
                echoed = client.decryptDatagram(fd, d);
            if (!sent && client.isConnectionEncrypted())
                sent = client.writeDatagramEncrypted(fd, "echo me") == 7;
        }
        if (p[1].revents & POLLIN) {
            for (const DtlsServer::Event &e : server.poll()) {
                if (e.type == Event::Connected)
                    connected++;
                if (e.type == Event::Data)
                    CHECK(server.send(e.peer, e.data));
            }
        }
    }
    CHECK_EQ(connected, 1);
    CHECK_EQ(echoed, "echo me");
    server.stop();
    std::vector<DtlsServer::Event> evs = server.poll(8, 1000);
    if (CHECK_EQ(evs.size(), 1u))
        CHECK_EQ(evs[0].reason, DTLSGATE_SERVER_CLOSED_SHUTDOWN);
    close(fd);
}

} // namespace

int main()
{
    try {
        test_socketless();
        test_connection_ids();
        test_managed();
    } catch (const std::exception &e) {
        std::cerr << "test_server: unexpected exception: " << e.what() << "\n";
        return 1;
    }
    return check::report();
}

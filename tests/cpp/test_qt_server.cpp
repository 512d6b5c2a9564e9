// SPDX-License-Identifier: MIT
// test_qt_server.cpp - dtlsgate::qt::DtlsServer in a Qt event loop, with
// real DTLS clients (dtlsgate::QDtls on UDP sockets, each on a thread of
// its own) on loopback: the signals and their arguments, echo, close() of
// one peer, shutdown() with close_notify to the rest (also from inside a
// slot), keys asked for with pskRequired and answered later, a key file,
// the thread the signals come from (also after moveToThread()), and misuse.
//
// The server is never polled here: the only thing that can emit its
// signals is its QSocketNotifier, run by the event loop. spin() runs that
// loop, its timer only looking at what the slots recorded, so a broken
// notifier shows as signals that never come.
#include "dtlsgate_qt.hpp"

#include "check.hpp"

#include <QCoreApplication>
#include <QEventLoop>
#include <QTemporaryFile>
#include <QThread>
#include <QTimer>
#include <QUdpSocket>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

using Server = dtlsgate::qt::DtlsServer;
using Reason = Server::CloseReason;
using Session = dtlsgate::QDtls; // the clients: dtlsgate.hpp's, no Qt on their threads

static_assert(std::is_base_of_v<QObject, Server>);
static_assert(!std::is_move_constructible_v<Server>);

namespace {

const std::string kKey = "\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11";
const QHostAddress kLocal(QHostAddress::LocalHost);

// Runs the event loop until `until` holds or `ms` pass; whether it holds.
bool spin(const std::function<bool()> &until, int ms = 10000)
{
    QEventLoop loop;
    QTimer tick;
    QObject::connect(&tick, &QTimer::timeout, &loop, [&] {
        if (until())
            loop.quit();
    });
    tick.start(5);
    QTimer::singleShot(ms, &loop, &QEventLoop::quit);
    if (!until())
        loop.exec();
    return until();
}

// What a server's signals said, and whether each came on its thread.
struct Recorder {
    struct Signal {
        QHostAddress address;
        quint16 port = 0;
        QByteArray bytes; // identity or data
        QString text;     // cipher or message
        Reason reason = Reason::Fatal;
    };
    std::vector<Signal> connected, data, closed, asked;
    std::vector<std::pair<quint16, quint16>> moved; // old port, new port
    bool onItsThread = true;

    explicit Recorder(Server &server, bool echo = true)
    {
        auto mine = [this, &server] { onItsThread = onItsThread && QThread::currentThread() == server.thread(); };
        // Direct connections, so that each slot runs where the signal is emitted.
        QObject::connect(&server, &Server::connected, &server,
                         [=](const QHostAddress &a, quint16 p, const QByteArray &id, const QString &cipher) {
                             mine();
                             connected.push_back({a, p, id, cipher, {}});
                         }, Qt::DirectConnection);
        QObject::connect(&server, &Server::datagramReceived, &server,
                         [=, &server](const QHostAddress &a, quint16 p, const QByteArray &d) {
                             mine();
                             data.push_back({a, p, d, {}, {}});
                             if (echo)
                                 CHECK(server.send(a, p, "echo: " + d));
                         }, Qt::DirectConnection);
        QObject::connect(&server, &Server::closed, &server,
                         [=](const QHostAddress &a, quint16 p, Reason r, const QString &m) {
                             mine();
                             closed.push_back({a, p, {}, m, r});
                         }, Qt::DirectConnection);
        QObject::connect(&server, &Server::pskRequired, &server,
                         [=](const QHostAddress &a, quint16 p, const QByteArray &id) {
                             mine();
                             asked.push_back({a, p, id, {}, {}});
                         }, Qt::DirectConnection);
        QObject::connect(&server, &Server::moved, &server,
                         [=](const QHostAddress &oldA, quint16 oldP, const QHostAddress &a, quint16 p) {
                             mine();
                             CHECK(oldA == a);
                             moved.push_back({oldP, p});
                         }, Qt::DirectConnection);
    }
};

// A DTLS client on its own thread and UDP socket (bound to 127.0.0.1 at
// once, so its port is known): the handshake, then each message and its
// answer, then close_notify from it, or waiting for the server's.
class Client {
public:
    enum Finish { ShutDown, AwaitClose };

    Client(quint16 serverPort, std::string identity, std::string key = kKey)
        : serverPort_(serverPort), identity_(std::move(identity)), key_(std::move(key))
    {
        fd_ = bound(&port);
    }
    ~Client()
    {
        join();
        ::close(fd_);
    }
    Client(const Client &) = delete;
    Client &operator=(const Client &) = delete;

    void start(std::vector<std::string> messages, Finish finish)
    {
        thread_ = std::thread([this, messages, finish] {
            try {
                run(messages, finish);
            } catch (const std::exception &e) {
                error = e.what();
            }
            done_ = true;
        });
    }
    void join()
    {
        if (thread_.joinable())
            thread_.join();
    }
    bool done() const { return done_; }
    bool connected() const { return connected_; }
    // Offers connection IDs (an empty one of its own) and, after the first
    // answer, goes on from a new UDP socket, as after a NAT rebinding.
    void moveAfterFirstAnswer() { move_ = true; }

    quint16 port = 0;
    // Read these after join().
    quint16 movedPort = 0; // the port of the second socket, after a move
    std::string cipher;
    std::vector<std::string> answers;
    bool closedByServer = false;
    std::string error;

private:
    void run(const std::vector<std::string> &messages, Finish finish)
    {
        Session s(dtlsgate::QSslSocket::SslClientMode);
        if (move_)
            s.setConnectionIdLength(DTLSGATE_EMPTY_CONNECTION_ID);
        s.onPskRequired([this](dtlsgate::QSslPreSharedKeyAuthenticator *a) {
            a->setIdentity(identity_);
            a->setPreSharedKey(key_);
        });
        s.setPeer("127.0.0.1", serverPort_);
        std::string got;
        s.doHandshake(fd_);
        drive(s, got, [&] { return s.isConnectionEncrypted() || s.dtlsError() != dtlsgate::QDtlsError::NoError; });
        if (!s.isConnectionEncrypted()) {
            error = "handshake: " + s.dtlsErrorString();
            return;
        }
        cipher = s.sessionCipher().name();
        connected_ = true;
        for (const std::string &m : messages) {
            got.clear();
            s.writeDatagramEncrypted(fd_, m);
            drive(s, got, [&] { return !got.empty() || s.dtlsError() != dtlsgate::QDtlsError::NoError; });
            answers.push_back(got);
            if (move_ && answers.size() == 1) {
                ::close(fd_);
                fd_ = bound(&movedPort);
            }
        }
        if (finish == ShutDown) {
            s.shutdown(fd_);
            return;
        }
        drive(s, got, [&] { return s.dtlsError() != dtlsgate::QDtlsError::NoError; });
        closedByServer = s.dtlsError() == dtlsgate::QDtlsError::RemoteClosedConnectionError;
    }

    // A UDP socket bound to 127.0.0.1 and the port it got.
    static int bound(quint16 *port)
    {
        const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof sin;
        if (fd < 0 || bind(fd, reinterpret_cast<sockaddr *>(&sin), len) != 0 ||
            getsockname(fd, reinterpret_cast<sockaddr *>(&sin), &len) != 0)
            throw std::runtime_error("client socket");
        *port = ntohs(sin.sin_port);
        return fd;
    }

    // Reads and serves timers until `until` holds, for 10 s at most.
    void drive(Session &s, std::string &got, const std::function<bool()> &until)
    {
        const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!until() && std::chrono::steady_clock::now() < end) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 20) <= 0) {
                if (s.handshakeTimeoutDue())
                    s.handleTimeout(fd_);
                continue;
            }
            char buf[2048];
            const ssize_t n = recv(fd_, buf, sizeof buf, 0);
            if (n <= 0)
                continue;
            const std::string_view d(buf, std::size_t(n));
            if (s.handshakeState() == Session::HandshakeInProgress)
                s.doHandshake(fd_, d);
            else
                got += s.decryptDatagram(fd_, d);
        }
    }

    quint16 serverPort_;
    std::string identity_, key_;
    int fd_ = -1;
    std::thread thread_;
    std::atomic<bool> done_{false}, connected_{false};
    bool move_ = false;
};

// A client's data comes in, the echo goes out; the client's close_notify
// gives closed(ByPeer).
void test_echo()
{
    Server server;
    Recorder rec(server);
    server.setPsk("alice", QByteArray::fromStdString(kKey));
    CHECK(server.localAddress().isNull());
    CHECK_EQ(server.localPort(), 0);
    if (!CHECK(server.listen(kLocal, 0))) {
        std::cerr << server.errorString().toStdString() << "\n";
        return;
    }
    CHECK(server.errorString().isEmpty());
    CHECK(server.localAddress() == kLocal);
    const quint16 port = server.localPort();
    CHECK(port != 0);

    Client alice(port, "alice");
    alice.start({"ping", "second"}, Client::ShutDown);
    // Without the event loop nothing is emitted, even once the client is
    // through its handshake: the events wait for the notifier.
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!alice.connected() && !alice.done() && std::chrono::steady_clock::now() < end)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CHECK(alice.connected());
    CHECK(rec.connected.empty());

    CHECK(spin([&] { return alice.done() && !rec.closed.empty(); }));
    alice.join();
    CHECK_EQ(alice.error, "");
    if (CHECK_EQ(rec.connected.size(), 1u)) {
        CHECK(rec.connected[0].address == kLocal);
        CHECK_EQ(rec.connected[0].port, alice.port);
        CHECK_EQ(rec.connected[0].bytes.toStdString(), "alice");
        CHECK_EQ(rec.connected[0].text.toStdString(), alice.cipher);
    }
    if (CHECK_EQ(rec.data.size(), 2u)) {
        CHECK_EQ(rec.data[0].bytes.toStdString(), "ping");
        CHECK_EQ(rec.data[1].bytes.toStdString(), "second");
        CHECK_EQ(rec.data[1].port, alice.port);
    }
    CHECK(alice.answers == std::vector<std::string>({"echo: ping", "echo: second"}));
    if (CHECK_EQ(rec.closed.size(), 1u)) {
        CHECK_EQ(rec.closed[0].reason, Reason::ByPeer);
        CHECK_EQ(rec.closed[0].port, alice.port);
    }
    CHECK(rec.asked.empty()); // the table had the key
    CHECK(rec.onItsThread);
    const dtlsgate_server_stats st = server.stats();
    CHECK_EQ(st.handshakes_completed, 1u);
    CHECK_EQ(st.sessions, 0u);
}

// close() ends one peer's session (the client sees close_notify);
// shutdown() the others, emitting their closed signals before it returns.
void test_close_and_shutdown()
{
    Server server;
    Recorder rec(server);
    server.setPsk("a", QByteArray::fromStdString(kKey));
    server.setPsk("b", QByteArray::fromStdString(kKey));
    CHECK(server.listen(QHostAddress::Any, 0)); // dual stack; IPv4 peers as IPv4
    Client a(server.localPort(), "a"), b(server.localPort(), "b");
    a.start({}, Client::AwaitClose);
    b.start({"hi"}, Client::AwaitClose);
    CHECK(spin([&] { return rec.connected.size() == 2 && rec.data.size() == 1; }));

    CHECK(server.close(kLocal, a.port));
    CHECK(spin([&] { return a.done() && rec.closed.size() == 1; }));
    a.join();
    CHECK(a.closedByServer);
    if (CHECK_EQ(rec.closed.size(), 1u)) {
        CHECK_EQ(rec.closed[0].reason, Reason::ByApp);
        CHECK_EQ(rec.closed[0].port, a.port);
        CHECK(rec.closed[0].address == kLocal);
    }
    CHECK(!server.close(kLocal, a.port)); // gone: false, not an exception
    CHECK(!server.send(kLocal, a.port, "late"));

    CHECK_EQ(server.shutdown(), 1);
    if (CHECK_EQ(rec.closed.size(), 2u)) { // emitted inside shutdown()
        CHECK_EQ(rec.closed[1].reason, Reason::Shutdown);
        CHECK_EQ(rec.closed[1].port, b.port);
    }
    CHECK(spin([&] { return b.done(); }));
    b.join();
    CHECK(b.closedByServer); // close_notify reached it
    CHECK(b.answers == std::vector<std::string>({"echo: hi"}));
    CHECK_EQ(server.shutdown(), 0);
    CHECK(!server.listen(kLocal, 0)); // a stopped server does not listen again
    CHECK(server.errorString().contains(QLatin1String("mode")));
    CHECK(rec.onItsThread);
}

// shutdown() from inside a slot: it returns the count at once; the closed
// signal follows when the slot returns, in order after the slot's signal.
void test_shutdown_from_slot()
{
    Server server;
    Recorder rec(server, false);
    server.setPsk("eve", QByteArray::fromStdString(kKey));
    int returned = -1;
    std::size_t closedInSlot = 99;
    QObject::connect(&server, &Server::datagramReceived, &server, [&] {
        returned = server.shutdown();
        closedInSlot = rec.closed.size();
    });
    CHECK(server.listen(kLocal, 0));
    Client eve(server.localPort(), "eve");
    eve.start({"stop"}, Client::AwaitClose);
    CHECK(spin([&] { return eve.done() && !rec.closed.empty(); }));
    eve.join();
    CHECK_EQ(returned, 1);
    CHECK_EQ(closedInSlot, 0u);
    if (CHECK_EQ(rec.closed.size(), 1u))
        CHECK_EQ(rec.closed[0].reason, Reason::Shutdown);
    CHECK(eve.closedByServer);
    CHECK(eve.answers == std::vector<std::string>({""})); // no echo, the close_notify
}

// Keys the table lacks: pskRequired, answered from the event loop later;
// a refused client never connects. Then a key file.
void test_psk_requests()
{
    Server::Config cfg;
    cfg.psk_requests = 1;
    Server server(cfg);
    Recorder rec(server);
    QObject::connect(&server, &Server::pskRequired, &server,
                     [&](const QHostAddress &a, quint16 p, const QByteArray &id) {
                         QTimer::singleShot(100, &server, [&server, a, p, id] {
                             if (id == "bob")
                                 CHECK(server.resolvePsk(a, p, id, QByteArray::fromStdString(kKey)));
                             else
                                 CHECK(server.refusePsk(a, p, id));
                         });
                     });
    CHECK(server.listen(kLocal, 0));
    Client bob(server.localPort(), "bob"), mallory(server.localPort(), "mallory");
    bob.start({"lookup"}, Client::ShutDown);
    mallory.start({}, Client::ShutDown);
    CHECK(spin([&] { return bob.done() && mallory.done() && rec.closed.size() == 1; }));
    bob.join();
    mallory.join();
    CHECK(bob.answers == std::vector<std::string>({"echo: lookup"}));
    CHECK(!mallory.connected());
    if (CHECK_EQ(rec.asked.size(), 2u)) {
        for (const Recorder::Signal &s : rec.asked) {
            CHECK(s.address == kLocal);
            CHECK(s.bytes == "bob" ? s.port == bob.port : s.bytes == "mallory" && s.port == mallory.port);
        }
    }
    if (CHECK_EQ(rec.connected.size(), 1u))
        CHECK_EQ(rec.connected[0].bytes.toStdString(), "bob");
    CHECK(server.stats().handshakes_failed >= 1u);

    // A key file replaces the table: carol's key from it, asked of nobody.
    QTemporaryFile keys;
    CHECK(keys.open());
    keys.write("carol:0a0b0c0d0e0f1011\n");
    keys.flush();
    server.loadPskFile(keys.fileName());
    Client carol(server.localPort(), "carol");
    carol.start({"from the file"}, Client::ShutDown);
    CHECK(spin([&] { return carol.done() && rec.closed.size() == 2; }));
    carol.join();
    CHECK(carol.answers == std::vector<std::string>({"echo: from the file"}));
    CHECK_EQ(rec.asked.size(), 2u);
    CHECK(server.removePsk("carol"));
    CHECK(!server.removePsk("carol"));
}

// Moved to another thread, the server emits there.
void test_other_thread()
{
    QThread worker;
    worker.start();
    auto *server = new Server;
    server->setPsk("dave", QByteArray::fromStdString(kKey));
    std::atomic<QThread *> emittedOn{nullptr};
    QObject::connect(server, &Server::connected, server,
                     [&] { emittedOn = QThread::currentThread(); }, Qt::DirectConnection);
    CHECK(server->listen(kLocal, 0));
    server->moveToThread(&worker);
    Client dave(server->localPort(), "dave");
    dave.start({}, Client::ShutDown);
    CHECK(spin([&] { return emittedOn.load() != nullptr; }));
    CHECK(emittedOn.load() == &worker);
    dave.join();
    QMetaObject::invokeMethod(server, [server] { delete server; }, Qt::BlockingQueuedConnection);
    worker.quit();
    worker.wait();
}

void test_misuse()
{
    Server server;
    CHECK(!server.listen(QHostAddress(), 5684));
    CHECK(server.errorString().contains(QLatin1String("address")));

    QUdpSocket taken;
    CHECK(taken.bind(kLocal, 0));
    CHECK(!server.listen(kLocal, taken.localPort()));
    CHECK(server.errorString().contains(QLatin1String("in use")));

    // No peer connected: false; bad arguments throw with the C status.
    CHECK(!server.send(kLocal, 40000, "x"));
    CHECK(!server.close(kLocal, 40000));
    CHECK_THROWS(server.send(QHostAddress(), 40000, "x"), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_THROWS(server.send(kLocal, 40000, QByteArray(16385, 'x')), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_THROWS(server.send(kLocal, 40000, QByteArray()), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_THROWS(server.setPsk("", "key"), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_THROWS(server.setPsk("id", ""), DTLSGATE_E_INVALID_ARGUMENT);
    CHECK_THROWS(server.loadPskFile(QStringLiteral("/nonexistent/keys")), DTLSGATE_E_IO);
    QTemporaryFile bad;
    CHECK(bad.open());
    bad.write("no colon here\n");
    bad.flush();
    try {
        server.loadPskFile(bad.fileName());
        CHECK(!"a malformed key file is refused");
    } catch (const dtlsgate::error &e) {
        CHECK_EQ(e.code(), DTLSGATE_E_INVALID_ARGUMENT);
        const QString what = QString::fromStdString(e.what()); // names the file and the line
        if (!CHECK(what.contains(bad.fileName() + QLatin1String(":1: no ':'"))))
            std::cerr << "    " << e.what() << "\n";
    }

    Server::Config cfg;
    cfg.ciphers = "NO-SUCH-SUITE";
    CHECK_THROWS(Server{cfg}, DTLSGATE_E_INVALID_ARGUMENT);
    Server::Config withCallback;
    withCallback.psk_callback = [](void *, const sockaddr *, socklen_t, const uint8_t *, size_t,
                                   uint8_t *, size_t *) { return DTLSGATE_PSK_REFUSE; };
    Server noThreadForIt(withCallback);
    CHECK(!noThreadForIt.listen(kLocal, 0));
    CHECK(noThreadForIt.errorString().contains(QLatin1String("psk_callback")));
}

} // namespace

// With connection IDs, a client that goes on from a new socket keeps its
// session: moved() tells the old and the new port, the data after it comes
// from the new one and its echo reaches it.
void test_moved()
{
    Server server;
    Recorder rec(server);
    server.setPsk("alice", QByteArray::fromStdString(kKey));
    if (!CHECK(server.listen(kLocal, 0)))
        return;
    Client alice(server.localPort(), "alice");
    alice.moveAfterFirstAnswer();
    alice.start({"before", "after", "again"}, Client::ShutDown);
    CHECK(spin([&] { return alice.done() && !rec.closed.empty(); }));
    alice.join();
    CHECK_EQ(alice.error, "");
    CHECK(alice.answers == std::vector<std::string>({"echo: before", "echo: after", "echo: again"}));
    if (CHECK_EQ(rec.moved.size(), 1u)) {
        CHECK_EQ(rec.moved[0].first, alice.port);
        CHECK_EQ(rec.moved[0].second, alice.movedPort);
    }
    if (CHECK_EQ(rec.data.size(), 3u)) {
        CHECK_EQ(rec.data[0].port, alice.port);
        CHECK_EQ(rec.data[1].port, alice.movedPort);
    }
    CHECK_EQ(rec.connected.size(), 1u);
    CHECK(rec.onItsThread);
    CHECK_EQ(server.stats().moves, 1u);
}

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    try {
        test_echo();
        test_close_and_shutdown();
        test_shutdown_from_slot();
        test_psk_requests();
        test_other_thread();
        test_misuse();
        test_moved();
    } catch (const std::exception &e) {
        std::cerr << "test_qt_server: unexpected exception: " << e.what() << "\n";
        return 1;
    }
    return check::report();
}

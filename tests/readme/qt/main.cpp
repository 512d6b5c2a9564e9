// SPDX-License-Identifier: MIT
// The C++/Qt quick start of README.md (between the markers):
// tests/readme/qt.sh builds it as the README says, with the CMakeLists.txt
// next to it, against an installed dtlsgate, and tries it with a wrong key
// and then the right one; `make test-readme` also runs it through
// tests/readme/run.py (echo, replayed ClientHello). A DTLS-PSK echo server
// on 127.0.0.1:5684.
// README: begin
// main.cpp: a DTLS 1.2 echo server with a pre-shared key on 127.0.0.1:5684
#include <dtlsgate_qt.hpp>

#include <QCoreApplication>
#include <cstdio>

using dtlsgate::qt::DtlsServer;

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    DtlsServer::Config config;            // the limits' defaults (see "Limits")
    config.handshake_deadline_ms = 10000; // a client with a wrong key is dropped then
    config.psk_requests = 1;              // keys come from the pskRequired signal
    DtlsServer server(config);
    const QByteArray key = QByteArray::fromHex("1a2b3c4d5e6f");

    // The signals come from this thread's event loop.
    QObject::connect(&server, &DtlsServer::pskRequired,
                     [&](const QHostAddress &peer, quint16 port, const QByteArray &identity) {
                         server.resolvePsk(peer, port, identity, key); // any identity; or later
                     });
    QObject::connect(&server, &DtlsServer::connected,
                     [](const QHostAddress &, quint16, const QByteArray &identity) {
                         std::printf("connected: %s\n", identity.constData());
                         std::fflush(stdout);
                     });
    QObject::connect(&server, &DtlsServer::datagramReceived,
                     [&](const QHostAddress &peer, quint16 port, const QByteArray &data) {
                         server.send(peer, port, ("echo: " + data).left(16384)); // one record
                     });

    if (!server.listen(QHostAddress::LocalHost, 5684)) {
        std::fprintf(stderr, "echo: cannot use 127.0.0.1:5684: %s\n",
                     qPrintable(server.errorString()));
        return 1;
    }
    std::printf("listening on 127.0.0.1:5684\n");
    std::fflush(stdout);
    return app.exec();
}
// README: end

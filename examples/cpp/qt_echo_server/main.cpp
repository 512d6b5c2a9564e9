// SPDX-License-Identifier: MIT
// qt_echo_server [ADDRESS [PORT]]: the echo server of echoserver.h on
// ADDRESS (default 127.0.0.1) and PORT (default 5684; 0 picks a free one),
// with the pre-shared key 1a2b3c4d5e6f. Try it with
//   openssl s_client -dtls1_2 -psk 1a2b3c4d5e6f -connect 127.0.0.1:5684
#include "echoserver.h"

#include <QCoreApplication>
#include <QStringList>

#include <cstdio>

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    const QHostAddress address(args.value(1, QStringLiteral("127.0.0.1")));
    bool ok = false;
    const uint port = args.value(2, QStringLiteral("5684")).toUInt(&ok);
    if (args.size() > 3 || address.isNull() || !ok || port > 65535) {
        std::fprintf(stderr, "usage: qt_echo_server [ADDRESS [PORT]]\n");
        return 2;
    }
    EchoServer server(QByteArray::fromHex("1a2b3c4d5e6f"));
    if (!server.listen(address, quint16(port)))
        return 1;
    return app.exec();
}

// SPDX-License-Identifier: MIT
// qt_example.hpp - what the Qt ports of the secure UDP examples share:
// output lines, keys in hex, peer names, and SIGINT/SIGTERM delivered to
// the event loop. The lines and arguments are those of examples/CONTRACT.md.
#ifndef DTLSGATE_QT_EXAMPLE_HPP
#define DTLSGATE_QT_EXAMPLE_HPP

#include <dtlsgate_qt.hpp>

#include <QCoreApplication>
#include <QHostAddress>
#include <QObject>
#include <QSocketNotifier>
#include <QString>
#include <QStringList>

#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>

#include <fcntl.h>
#include <unistd.h>

namespace example {

const char *const kDefaultKey = "1a2b3c4d5e6f";
const int kMaxKey = 512;

// One line on standard output, flushed at once for scripts reading a pipe.
inline void say(const QString &line)
{
    std::fputs(line.toUtf8().constData(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

// A key given in hex: 1 to kMaxKey bytes, or an empty array if it is not one.
inline QByteArray hexKey(const QString &hex)
{
    if (hex.isEmpty() || hex.size() % 2 || hex.size() / 2 > kMaxKey)
        return {};
    for (const QChar c : hex)
        if (!std::isxdigit(c.toLatin1()))
            return {};
    return QByteArray::fromHex(hex.toLatin1());
}

// A numeric port, 0 to 65535; false if it is not one.
inline bool parsePort(const QString &text, quint16 *port)
{
    bool ok = false;
    const uint value = text.toUInt(&ok);
    if (!ok || value > 65535)
        return false;
    *port = quint16(value);
    return true;
}

// Prints the usage line to standard error and exits with status 2.
[[noreturn]] inline void usage(const char *line)
{
    std::fprintf(stderr, "usage: %s\n", line);
    std::exit(2);
}

// An option's whole number (0 to 2^31-1); exits with status 2 if it is not one.
inline quint32 optionCount(const QString &option, const QString &text)
{
    bool ok = false;
    const uint n = text.toUInt(&ok);
    if (!ok || text.startsWith(QLatin1Char('+')) || n > 0x7fffffffu) {
        std::fprintf(stderr, "%s wants a whole number, not \"%s\"\n", qPrintable(option),
                     qPrintable(text));
        std::exit(2);
    }
    return n;
}

// An option's seconds (fractions allowed, at most a day) in milliseconds;
// exits with status 2 if it is not such a number.
inline quint32 optionMs(const QString &option, const QString &text)
{
    bool ok = false;
    const double s = text.toDouble(&ok);
    if (!ok || !(s >= 0 && s <= 86400)) {
        std::fprintf(stderr, "%s wants seconds from 0 to 86400, not \"%s\"\n", qPrintable(option),
                     qPrintable(text));
        std::exit(2);
    }
    return quint32(s * 1000 + 0.5);
}

// The arguments after the program name, which start with a numeric
// ADDRESS and a PORT; anything else is a usage error.
inline QStringList addressAndPort(const char *usageLine, QHostAddress *address, quint16 *port)
{
    QStringList args = QCoreApplication::arguments().mid(1);
    if (args.size() < 2)
        usage(usageLine);
    *address = QHostAddress(args.takeFirst());
    if (address->isNull() || !parsePort(args.takeFirst(), port))
        usage(usageLine);
    return args;
}

// "127.0.0.1:5555" or "[::1]:5555".
inline QString peerName(const QHostAddress &address, quint16 port)
{
    const QString host = address.toString();
    return address.protocol() == QAbstractSocket::IPv6Protocol
               ? QStringLiteral("[%1]:%2").arg(host).arg(port)
               : QStringLiteral("%1:%2").arg(host).arg(port);
}

// "PSK-AES128-GCM-SHA256, DTLSv1.2" for the handshake-complete lines.
inline QString summary(const dtlsgate::qt::QDtls &dtls)
{
    const QString protocol = dtls.sessionProtocol() == QSsl::DtlsV1_2
                                 ? QStringLiteral("DTLSv1.2")
                                 : QStringLiteral("unknown protocol");
    return dtls.sessionCipher().name() + QStringLiteral(", ") + protocol;
}

// SIGINT and SIGTERM, seen by the event loop: the handler only writes a
// byte into a pipe (all a signal handler may safely do), and a
// QSocketNotifier on the other end runs `stop` from the loop.
class StopSignals {
public:
    explicit StopSignals(std::function<void()> stop) : stop_(std::move(stop))
    {
        if (pipe2(fds(), O_CLOEXEC | O_NONBLOCK) != 0) {
            std::perror("pipe2");
            std::exit(1);
        }
        notifier_ = std::make_unique<QSocketNotifier>(fds()[0], QSocketNotifier::Read);
        QObject::connect(notifier_.get(), &QSocketNotifier::activated, [this] {
            char drain[16];
            while (read(fds()[0], drain, sizeof drain) > 0) {
            }
            stop_();
        });
        struct sigaction sa = {};
        sa.sa_handler = onSignal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, nullptr);
        sigaction(SIGTERM, &sa, nullptr);
    }
    StopSignals(const StopSignals &) = delete;
    StopSignals &operator=(const StopSignals &) = delete;

private:
    static int *fds()
    {
        static int pipe_fds[2] = {-1, -1};
        return pipe_fds;
    }
    static void onSignal(int)
    {
        const int saved = errno;
        const char byte = 1;
        (void)!write(fds()[1], &byte, 1);
        errno = saved;
    }

    std::function<void()> stop_;
    std::unique_ptr<QSocketNotifier> notifier_;
};

} // namespace example

#endif // DTLSGATE_QT_EXAMPLE_HPP

// SPDX-License-Identifier: MIT
// A program outside the dtlsgate tree, built against an installed dtlsgate
// (scripts/test-install.sh builds it with pkg-config and with CMake).
// It checks that header and library agree, then answers the ClientHello in
// the file given with a HelloVerifyRequest and accepts the cookie back.
#include <dtlsgate.hpp>

#include <fstream>
#include <iostream>
#include <iterator>

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::cerr << "usage: consumer CLIENT_HELLO_FILE\n";
        return 2;
    }
    if (dtlsgate::version() != DTLSGATE_VERSION) {
        std::cerr << "consumer: header " << DTLSGATE_VERSION << ", library "
                  << dtlsgate::version() << "\n";
        return 1;
    }
    std::ifstream f(argv[1], std::ios::binary);
    const std::string hello((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());

    using Decision = dtlsgate::QDtlsClientVerifier::CheckResult::Decision;
    const dtlsgate::QDtlsClientVerifier verifier;
    const auto r = verifier.check(hello, "192.0.2.1", 5684);
    if (r.decision() != Decision::SendReply || r.reply().size() < 29) {
        std::cerr << "consumer: no HelloVerifyRequest for " << argv[1] << "\n";
        return 1;
    }
    std::cout << dtlsgate::version() << " HelloVerifyRequest " << r.reply().size() << " bytes\n";
    return 0;
}

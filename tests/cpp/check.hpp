// SPDX-License-Identifier: MIT
// check.hpp - the C++ tests' assertions. Each failure prints where and
// what, and the test carries on; report() prints the totals and gives the
// exit status. Main thread only.
#ifndef DTLSGATE_TEST_CHECK_HPP
#define DTLSGATE_TEST_CHECK_HPP

#include <chrono>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>

namespace check {

inline long passed = 0;
inline long failed = 0;

inline bool result(bool ok, const char *file, int line, const std::string &what)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        std::cerr << file << ":" << line << ": FAIL: " << what << "\n";
    }
    return ok;
}

inline std::string show(std::chrono::seconds s) { return std::to_string(s.count()) + "s"; }

// Printable form of a value in a failure message; bytes as escaped text.
template <class T>
std::string show(const T &v)
{
    std::ostringstream out;
    if constexpr (std::is_enum_v<T>)
        out << static_cast<long long>(v);
    else if constexpr (std::is_convertible_v<const T &, std::string_view>) {
        out << '"';
        for (unsigned char c : std::string_view(v)) {
            if (c >= 0x20 && c < 0x7f)
                out << c;
            else
                out << "\\x" << "0123456789abcdef"[c >> 4] << "0123456789abcdef"[c & 15];
        }
        out << '"';
    } else
        out << v;
    return out.str();
}

template <class A, class B>
bool equal(const A &a, const B &b, const char *file, int line, const char *ea, const char *eb)
{
    const bool ok = a == b;
    return result(ok, file, line,
                  ok ? "" : std::string(ea) + " == " + eb + "\n    " + ea + " = " + show(a) +
                                "\n    " + eb + " = " + show(b));
}

inline int report()
{
    std::cout << passed << " passed, " << failed << " failed\n";
    return failed ? 1 : 0;
}

} // namespace check

#define CHECK(cond) check::result(!!(cond), __FILE__, __LINE__, #cond)
#define CHECK_EQ(a, b) check::equal((a), (b), __FILE__, __LINE__, #a, #b)

// expr must throw dtlsgate::error with the given code.
#define CHECK_THROWS(expr, want_code)                                                             \
    do {                                                                                          \
        int got_code_ = 0;                                                                        \
        try {                                                                                     \
            (void)(expr);                                                                         \
        } catch (const dtlsgate::error &e_) {                                                     \
            got_code_ = e_.code();                                                                \
        }                                                                                         \
        check::result(got_code_ == (want_code), __FILE__, __LINE__,                               \
                      std::string(#expr " throws code " #want_code "; got ") +                    \
                          std::to_string(got_code_));                                             \
    } while (0)

#endif // DTLSGATE_TEST_CHECK_HPP

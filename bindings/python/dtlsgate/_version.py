# SPDX-License-Identifier: MIT
# The version of the Python package is the C library's: DTLSGATE_VERSION in
# include/dtlsgate.h, the one place it is written. From the source tree it is
# read from there; in a wheel or an sdist the build backend replaces this file
# with one that holds the value. A copy of the package taken out of the tree
# has no header to read and takes the version of the library it loads.
import os as _os
import re as _re


def _version() -> str:
    header = _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), _os.pardir, _os.pardir,
                           _os.pardir, "include", "dtlsgate.h")
    try:
        with open(header, encoding="utf-8") as f:
            return _re.search(r'^#define DTLSGATE_VERSION "([^"]+)"$', f.read(), _re.M).group(1)
    except OSError:
        from ._native import version
        return version()


__version__ = _version()

# SPDX-License-Identifier: MIT
# The version of the Python package; it follows the C library it is built with
# (DTLSGATE_VERSION in include/dtlsgate.h).
__version__ = "0.1.0"

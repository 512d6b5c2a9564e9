# SPDX-License-Identifier: MIT
"""The one place that touches the C library: finding and loading it,
declaring every function of include/dtlsgate.h, and turning its negative
status codes into Python exceptions.

Everything else in the package calls ``lib.dtlsgate_*`` through the
declarations made here, so a wrong argument type is caught by ctypes and a
failing call can never be silently ignored: each int-returning function
has an ``errcheck`` that raises for a negative result.
"""

import ctypes
import ctypes.util
import os
from ctypes import POINTER, c_char_p, c_int, c_size_t, c_uint16, c_uint32, c_void_p
from typing import Any, Callable, Iterator, List, Optional, Tuple, TypeVar

SONAME = "libdtlsgate.so.0"
# The C API this binding was written for (include/dtlsgate.h); a library
# with another major version may have changed it.
API_MAJOR = 0
API_MINOR = 1

# Status codes (negative return values) and limits, as in the header.
OK = 0
E_INVALID_ARGUMENT = -1
E_BAD_HANDLE = -2
E_BUFFER_TOO_SMALL = -3
E_UNSUPPORTED = -4
E_INTERNAL = -5
E_BUSY = -6
E_NOT_FOUND = -7
E_INVALID_STATE = -8
E_IO = -9
MAX_INPUT = 65535
NO_SOCKET = -1  # socket_fd meaning "queue what is to be sent"
MAX_DATAGRAM = 65535  # no datagram a session builds is larger
HELLO_VERIFY_REQUEST_MAX = 60
MAX_BATCH = 4096  # the most items one batch call takes

# dtlsgate_session_encrypt / _decrypt
MAX_RECORD_PLAINTEXT = 16384
RECORD_OVERHEAD_MAX = 77
RECORD_DROPPED = 2
RECORD_NOT_DATA = 3
# Connection IDs (RFC 9146): settings besides a length of 1..16.
NO_CONNECTION_ID = -1
EMPTY_CONNECTION_ID = -2
PEER_CONNECTION_ID_MAX = 255  # the longest ID a peer may ask for

CHECK_DROP = 0
CHECK_SEND_REPLY = 1
CHECK_VERIFIED = 2


class DtlsgateError(Exception):
    """A dtlsgate C function returned a negative status code.

    ``code`` is the DTLSGATE_E_* value, ``function`` the C function and
    ``message`` the library's description of the code (dtlsgate_strerror).
    """

    def __init__(self, code: int, function: str, detail: str = "") -> None:
        self.code = code
        self.function = function
        self.message = strerror(code)
        text = "%s: %s" % (function, self.message)
        if detail:
            text += " (%s)" % detail
        super().__init__(text)


class InvalidArgumentError(DtlsgateError, ValueError):
    """DTLSGATE_E_INVALID_ARGUMENT: a value the function does not accept."""


class BadHandleError(DtlsgateError, ValueError):
    """DTLSGATE_E_BAD_HANDLE: the object was closed."""


class BufferTooSmallError(DtlsgateError):
    """DTLSGATE_E_BUFFER_TOO_SMALL; the binding sizes its buffers itself,
    so this reaches a caller only if a value keeps growing between calls."""


class UnsupportedError(DtlsgateError, ValueError):
    """DTLSGATE_E_UNSUPPORTED: not a QCryptographicHash::Algorithm value."""


class InternalError(DtlsgateError, RuntimeError):
    """DTLSGATE_E_INTERNAL: the library caught a fault of its own."""


class BusyError(DtlsgateError, RuntimeError):
    """DTLSGATE_E_BUSY: a QDtls was called from inside its own pskRequired
    slot, which the library refuses (the call would wait for itself)."""


class NotFoundError(DtlsgateError, LookupError):
    """DTLSGATE_E_NOT_FOUND: no connected session with that peer, or no
    PSK request from it for that identity."""


class InvalidStateError(DtlsgateError, RuntimeError):
    """DTLSGATE_E_INVALID_STATE: a DtlsServer call its mode does not allow
    (feeding datagrams to a listening server, listening twice)."""


class IOFailedError(DtlsgateError, OSError):
    """DTLSGATE_E_IO: the system refused (an address that cannot be bound,
    a file that cannot be read)."""


_ERRORS = {
    E_INVALID_ARGUMENT: InvalidArgumentError,
    E_BAD_HANDLE: BadHandleError,
    E_BUFFER_TOO_SMALL: BufferTooSmallError,
    E_UNSUPPORTED: UnsupportedError,
    E_INTERNAL: InternalError,
    E_BUSY: BusyError,
    E_NOT_FOUND: NotFoundError,
    E_INVALID_STATE: InvalidStateError,
    E_IO: IOFailedError,
}


def error(code: int, function: str, detail: str = "") -> DtlsgateError:
    """The exception for status `code` returned by C function `function`."""
    return _ERRORS.get(code, DtlsgateError)(code, function, detail)


_DETAILS = {
    E_BAD_HANDLE: "the object is closed",
    E_BUSY: "called from inside this session's own pskRequired slot",
}


def raise_status(result: int, function: str) -> None:
    """Raises the exception for the negative status `result` of `function`,
    called on the thread that made the call (whose detail it is)."""
    # The library's own detail names the argument at fault.
    detail = _DETAILS.get(result) or lib.dtlsgate_last_error_message().decode(errors="replace")
    raise error(result, function, "" if detail == strerror(result) else detail)


def _status(result: int, func: Any, _args: Tuple[Any, ...]) -> int:
    if result < 0:
        raise_status(result, func.__name__)
    return result


def _handle(result: Optional[int], func: Any, _args: Tuple[Any, ...]) -> int:
    if not result:
        raise error(E_INTERNAL, func.__name__, "no handle returned")
    return result


# ---------------------------------------------------------------------------
# Finding the library

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
# bindings/python/dtlsgate -> the repository root, whose lib/ `make` fills.
_REPOSITORY_LIB = os.path.join(_PACKAGE_DIR, os.pardir, os.pardir, os.pardir, "lib", SONAME)


def _candidates() -> Iterator[Tuple[str, Optional[str]]]:
    """(where, path) in the order they are tried; path None: nothing there."""
    env = os.environ.get("DTLSGATE_LIBRARY")
    if env:
        yield ("DTLSGATE_LIBRARY", env)
        return  # set on purpose: loading something else would hide the mistake
    yield ("bundled with the package", os.path.join(_PACKAGE_DIR, SONAME))
    yield ("repository build output", os.path.normpath(_REPOSITORY_LIB))
    yield ("ctypes.util.find_library('dtlsgate')", ctypes.util.find_library("dtlsgate"))


def _load() -> Tuple[ctypes.CDLL, str]:
    tried: List[str] = []
    for where, path in _candidates():
        if path is None:
            tried.append("%s: nothing found" % where)
            continue
        if os.sep in path and not os.path.exists(path):
            tried.append("%s: %s does not exist" % (where, path))
            continue
        try:
            # Never unloaded: a Go runtime cannot be (see README.md).
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append("%s: %s: %s" % (where, path, e))
    raise ImportError(
        "dtlsgate: cannot load the C library %s. Tried, in order:\n  %s\n"
        "Build it with `make` in the repository, install the Python package with "
        "`python3 -m pip install ./bindings/python`, or set DTLSGATE_LIBRARY to its path."
        % (SONAME, "\n  ".join(tried))
    )


lib, library_path = _load()

# ---------------------------------------------------------------------------
# Declarations: (name, restype, argtypes, errcheck) for every function of
# include/dtlsgate.h. Byte inputs are c_char_p so that bytes pass without a
# copy; output buffers are c_char_p too (ctypes string buffers).

_V = c_void_p  # dtlsgate_verifier *
_A = c_void_p  # dtlsgate_psk_authenticator *
_S = c_void_p  # dtlsgate_session *
# void (*dtlsgate_psk_callback)(void *user_data, dtlsgate_psk_authenticator *)
PSK_CALLBACK = ctypes.CFUNCTYPE(None, c_void_p, _A)
_LEN = POINTER(c_size_t)
_U32 = POINTER(c_uint32)



class CheckItem(ctypes.Structure):
    """dtlsgate_check_item: one datagram of dtlsgate_verifier_check_batch()."""

    _fields_ = [("dgram", c_char_p), ("dgram_len", c_size_t),
                ("peer", c_char_p), ("peer_len", c_uint32),  # struct sockaddr *, socklen_t
                ("result", c_int), ("reply_offset", c_size_t), ("reply_len", c_size_t)]


_Decl = Tuple[str, Any, List[Any], Optional[Callable[..., Any]]]
DECLARATIONS: List[_Decl] = [
    ("dtlsgate_version", c_char_p, [], None),
    ("dtlsgate_version_number", c_int, [], None),
    ("dtlsgate_strerror", c_char_p, [c_int], None),
    ("dtlsgate_last_error_message", c_char_p, [], None),
    ("dtlsgate_dtls_error_name", c_char_p, [c_int], None),
    ("dtlsgate_hash_supported", c_int, [c_int], _status),
    ("dtlsgate_default_cookie_generator_parameters", c_int,
     [POINTER(c_int), c_char_p, _LEN], _status),
    ("dtlsgate_verifier_new", _V, [], _handle),
    ("dtlsgate_verifier_free", None, [_V], None),
    ("dtlsgate_verifier_set_cookie_generator_parameters", c_int,
     [_V, c_int, c_char_p, c_size_t], _status),
    ("dtlsgate_verifier_cookie_generator_parameters", c_int,
     [_V, POINTER(c_int), c_char_p, _LEN], _status),
    ("dtlsgate_verifier_set_cookie_lifetime", c_int, [_V, c_uint32], _status),
    ("dtlsgate_verifier_cookie_lifetime", c_int, [_V, _U32], _status),
    ("dtlsgate_verifier_set_secret_rotation_interval", c_int, [_V, c_uint32], _status),
    ("dtlsgate_verifier_secret_rotation_interval", c_int, [_V, _U32], _status),
    ("dtlsgate_verifier_set_fleet_key", c_int,
     [_V, c_char_p, c_size_t, c_uint32, c_uint32], _status),
    ("dtlsgate_verifier_clear_fleet_key", c_int, [_V], _status),
    ("dtlsgate_verifier_fleet_mode", c_int, [_V, _U32, _U32], _status),
    ("dtlsgate_verifier_verify_client", c_int,
     [_V, c_int, c_char_p, c_size_t, c_char_p, c_uint16], _status),
    # struct sockaddr * and socklen_t (unsigned 32-bit on Linux); the
    # binding itself passes addresses as strings.
    ("dtlsgate_verifier_verify_client_sockaddr", c_int,
     [_V, c_int, c_char_p, c_size_t, c_void_p, c_uint32], _status),
    ("dtlsgate_verifier_check", c_int,
     [_V, c_char_p, c_size_t, c_void_p, c_uint32, c_char_p, _LEN], _status),
    ("dtlsgate_verifier_check_address", c_int,
     [_V, c_char_p, c_size_t, c_char_p, c_uint16, c_char_p, _LEN], _status),
    ("dtlsgate_verifier_check_batch", c_int,
     [_V, POINTER(CheckItem), c_size_t, c_char_p, _LEN], _status),
    ("dtlsgate_verifier_verified_hello", c_int, [_V, c_char_p, _LEN], _status),
    ("dtlsgate_verifier_dtls_error", c_int, [_V], _status),
    ("dtlsgate_verifier_dtls_error_string", c_int, [_V, c_char_p, _LEN], _status),
    ("dtlsgate_psk_authenticator_new", _A, [], _handle),
    ("dtlsgate_psk_authenticator_copy", _A, [_A], _handle),
    ("dtlsgate_psk_authenticator_free", None, [_A], None),
    ("dtlsgate_psk_authenticator_swap", c_int, [_A, _A], _status),
    ("dtlsgate_psk_authenticator_equal", c_int, [_A, _A], _status),
    ("dtlsgate_psk_authenticator_identity_hint", c_int, [_A, c_char_p, _LEN], _status),
    ("dtlsgate_psk_authenticator_identity", c_int, [_A, c_char_p, _LEN], _status),
    ("dtlsgate_psk_authenticator_pre_shared_key", c_int, [_A, c_char_p, _LEN], _status),
    ("dtlsgate_psk_authenticator_maximum_identity_length", c_int, [_A], _status),
    ("dtlsgate_psk_authenticator_maximum_pre_shared_key_length", c_int, [_A], _status),
    ("dtlsgate_psk_authenticator_set_identity", c_int, [_A, c_char_p, c_size_t], _status),
    ("dtlsgate_psk_authenticator_set_pre_shared_key", c_int, [_A, c_char_p, c_size_t], _status),
    ("dtlsgate_psk_authenticator_set_identity_hint", c_int, [_A, c_char_p, c_size_t], _status),
    ("dtlsgate_psk_authenticator_set_maximum_identity_length", c_int, [_A, c_int], _status),
    ("dtlsgate_psk_authenticator_set_maximum_pre_shared_key_length", c_int,
     [_A, c_int], _status),
    ("dtlsgate_session_new", _S, [c_int], _handle),
    ("dtlsgate_session_free", None, [_S], None),
    ("dtlsgate_session_ssl_mode", c_int, [_S], _status),
    ("dtlsgate_session_set_peer", c_int, [_S, c_char_p, c_uint16], _status),
    ("dtlsgate_session_set_peer_sockaddr", c_int, [_S, c_void_p, c_uint32], _status),
    ("dtlsgate_session_peer", c_int, [_S, c_char_p, _LEN, POINTER(c_uint16)], _status),
    ("dtlsgate_session_set_identity_hint", c_int, [_S, c_char_p, c_size_t], _status),
    ("dtlsgate_session_identity_hint", c_int, [_S, c_char_p, _LEN], _status),
    ("dtlsgate_session_set_ciphers", c_int, [_S, c_char_p], _status),
    ("dtlsgate_session_ciphers", c_int, [_S, c_char_p, _LEN], _status),
    ("dtlsgate_session_set_mtu_hint", c_int, [_S, c_uint16], _status),
    ("dtlsgate_session_mtu_hint", c_int, [_S], _status),
    ("dtlsgate_session_set_handshake_deadline", c_int, [_S, c_uint32], _status),
    ("dtlsgate_session_handshake_deadline", c_int, [_S], _status),
    ("dtlsgate_session_set_max_retransmits", c_int, [_S, c_int], _status),
    ("dtlsgate_session_max_retransmits", c_int, [_S], _status),
    ("dtlsgate_session_set_cookie_generator_parameters", c_int,
     [_S, c_int, c_char_p, c_size_t], _status),
    ("dtlsgate_session_cookie_generator_parameters", c_int,
     [_S, POINTER(c_int), c_char_p, _LEN], _status),
    ("dtlsgate_session_set_cookie_verifier", c_int, [_S, _V], _status),
    ("dtlsgate_session_set_psk_callback", c_int, [_S, PSK_CALLBACK, c_void_p], _status),
    ("dtlsgate_session_do_handshake", c_int, [_S, c_int, c_char_p, c_size_t], _status),
    ("dtlsgate_session_remaining_timeout", c_int, [_S, _U32], _status),
    ("dtlsgate_session_handle_timeout", c_int, [_S, c_int], _status),
    ("dtlsgate_session_abort_handshake", c_int, [_S], _status),
    ("dtlsgate_session_shutdown", c_int, [_S, c_int], _status),
    ("dtlsgate_session_write_datagram_encrypted", c_int,
     [_S, c_int, c_char_p, c_size_t], _status),
    ("dtlsgate_session_decrypt_datagram", c_int,
     [_S, c_int, c_char_p, c_size_t, c_char_p, _LEN], _status),
    ("dtlsgate_session_next_outgoing", c_int, [_S, c_char_p, _LEN], _status),
    ("dtlsgate_session_handshake_state", c_int, [_S], _status),
    ("dtlsgate_session_is_connection_encrypted", c_int, [_S], _status),
    ("dtlsgate_session_session_cipher", c_int, [_S, c_char_p, _LEN], _status),
    ("dtlsgate_session_session_protocol", c_int, [_S, c_char_p, _LEN], _status),
    ("dtlsgate_session_dtls_error", c_int, [_S], _status),
    ("dtlsgate_session_dtls_error_string", c_int, [_S, c_char_p, _LEN], _status),
    # Buffers as c_void_p: bytes, or a ctypes array over a bytearray or a
    # memoryview, pass without a copy.
    ("dtlsgate_session_encrypt", c_int, [_S, c_void_p, c_size_t, c_void_p, _LEN], _status),
    ("dtlsgate_session_decrypt", c_int, [_S, c_void_p, c_size_t, c_void_p, _LEN], _status),
    ("dtlsgate_session_encrypt_batch", c_int, [_S, c_void_p, c_size_t], _status),
    ("dtlsgate_session_decrypt_batch", c_int, [_S, c_void_p, c_size_t], _status),
    ("dtlsgate_session_set_connection_id_length", c_int, [_S, c_int], _status),
    ("dtlsgate_session_connection_id_length", c_int, [_S, POINTER(c_int)], _status),
    ("dtlsgate_session_set_connection_id", c_int, [_S, c_char_p, c_size_t], _status),
    ("dtlsgate_session_connection_id", c_int, [_S, c_char_p, _LEN], _status),
    ("dtlsgate_session_peer_connection_id", c_int, [_S, c_char_p, _LEN], _status),
    ("dtlsgate_session_move_peer", c_int, [_S, c_void_p, c_uint32], _status),
    # The server endpoint (_server.py): structs by pointer, peers as
    # struct sockaddr * (c_void_p) and socklen_t.
    ("dtlsgate_server_config_init", c_int, [c_void_p], _status),
    ("dtlsgate_server_new", c_int, [c_void_p, POINTER(c_void_p)], _status),
    ("dtlsgate_server_free", None, [c_void_p], None),
    ("dtlsgate_server_set_psk", c_int, [c_void_p, c_char_p, c_size_t, c_char_p, c_size_t], _status),
    ("dtlsgate_server_remove_psk", c_int, [c_void_p, c_char_p, c_size_t], _status),
    ("dtlsgate_server_load_psk_file", c_int, [c_void_p, c_char_p], _status),
    ("dtlsgate_server_resolve_psk", c_int,
     [c_void_p, c_void_p, c_uint32, c_char_p, c_size_t, c_char_p, c_size_t], _status),
    ("dtlsgate_server_refuse_psk", c_int, [c_void_p, c_void_p, c_uint32, c_char_p, c_size_t], _status),
    ("dtlsgate_server_input", c_int, [c_void_p, c_void_p, c_uint32, c_char_p, c_size_t], _status),
    ("dtlsgate_server_next_outgoing", c_int,
     [c_void_p, c_char_p, _LEN, c_void_p, _U32], _status),
    ("dtlsgate_server_next_timeout", c_int, [c_void_p, _U32], _status),
    ("dtlsgate_server_handle_timers", c_int, [c_void_p], _status),
    ("dtlsgate_server_listen", c_int, [c_void_p, c_char_p], _status),
    ("dtlsgate_server_local_address", c_int, [c_void_p, c_void_p, _U32], _status),
    ("dtlsgate_server_stop", c_int, [c_void_p], _status),
    ("dtlsgate_server_send", c_int, [c_void_p, c_void_p, c_uint32, c_char_p, c_size_t], _status),
    ("dtlsgate_server_close", c_int, [c_void_p, c_void_p, c_uint32], _status),
    ("dtlsgate_server_shutdown", c_int, [c_void_p], _status),
    ("dtlsgate_server_poll", c_int, [c_void_p, c_void_p, c_int, c_int], _status),
    ("dtlsgate_server_fd", c_int, [c_void_p], _status),
    ("dtlsgate_server_get_stats", c_int, [c_void_p, c_void_p], _status),
]


def _declare() -> None:
    missing = []
    for name, restype, argtypes, errcheck in DECLARATIONS:
        try:
            f = getattr(lib, name)
        except AttributeError:
            missing.append(name)
            continue
        f.restype = restype
        f.argtypes = argtypes
        if errcheck is not None:
            f.errcheck = errcheck
    if missing:
        raise ImportError("dtlsgate: %s lacks %s; it is not the library this binding was "
                          "written for" % (library_path, ", ".join(missing)))
    major, minor = divmod(lib.dtlsgate_version_number() // 1000, 1000)
    if major != API_MAJOR or (major, minor) < (API_MAJOR, API_MINOR):
        raise ImportError("dtlsgate: %s is version %s; this binding needs %d.%d or a later "
                          "%d.x" % (library_path, version(), API_MAJOR, API_MINOR, API_MAJOR))


def strerror(code: int) -> str:
    return lib.dtlsgate_strerror(code).decode()


def version() -> str:
    return lib.dtlsgate_version().decode()


_declare()



def unchecked(name: str) -> Any:
    """A second ctypes object for C function `name`, returning int, with no
    argtypes and no errcheck, for the few calls whose cost is mostly
    ctypes' own: each argtypes converter and the Python errcheck cost about
    as much as a cookie check. Its callers pass only values ctypes passes
    as they are (c_void_p handles, bytes, None, ints within a C int, which
    libffi widens to the register for a size_t or uint16_t parameter) and
    test the status themselves (raise_status)."""
    function = lib[name]  # a new object: the declared one keeps its checks
    function.restype = c_int
    return function


# ---------------------------------------------------------------------------
# Output buffers (the in/out length convention)


def read_buffer(function: Callable[..., int], *args: Any, size: int = 64) -> bytes:
    """Calls function(*args, buf, &len) and returns the bytes it wrote,
    growing the buffer to the size the library asks for. A value can grow
    between two calls (another thread), hence the few retries."""
    for _ in range(4):
        buf = ctypes.create_string_buffer(size)
        n = c_size_t(size)
        try:
            function(*args, buf, ctypes.byref(n))
        except BufferTooSmallError:
            size = n.value
            continue
        return buf.raw[: n.value]
    raise error(E_BUFFER_TOO_SMALL, function.__name__, "the value kept growing")


# ---------------------------------------------------------------------------
# Integers into fixed-width C types: a value the C type cannot hold would be
# wrapped around silently by ctypes, so it is refused here, as the library
# refuses its own out-of-range values.


def c_range(value: Any, low: int, high: int, function: str, what: str) -> int:
    try:
        n = value.__index__()
    except AttributeError:
        raise TypeError("%s must be an integer, not %s" % (what, type(value).__name__)) from None
    if not low <= n <= high:
        raise error(E_INVALID_ARGUMENT, function, "%s %d is outside %d..%d" % (what, n, low, high))
    return n


INT_MIN, INT_MAX = -(2 ** 31), 2 ** 31 - 1
UINT32_MAX = 2 ** 32 - 1


# ---------------------------------------------------------------------------
# Python objects that own a C handle


_O = TypeVar("_O", bound="Owner")


class Owner:
    """Owns one C handle, released by close(), by ``with`` or, failing
    both, by the garbage collector. Subclasses set _free to the C function
    that releases their kind of handle."""

    _free: Callable[[Any], None]
    _handle: Optional[int] = None

    def close(self) -> None:
        """Releases the C object. Calling it again does nothing."""
        handle, self._handle = self._handle, None
        self._free(handle)

    def __enter__(self: "_O") -> "_O":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        # Only attributes of the object and its class are used: at
        # interpreter shutdown the module's globals may already be gone.
        handle = self._handle
        if handle:
            self._handle = None
            self._free(handle)

"""ctypes binding for libshinny (no compiled extension needed).

The library is found at $SHINNY_LIB, else ../../target/release/libshinny.so
relative to this file.
"""
import ctypes
import json
import os

_HERE = os.path.dirname(os.path.abspath(__file__))
_LIB_PATH = os.environ.get(
    "SHINNY_LIB", os.path.join(_HERE, "..", "..", "target", "release", "libshinny.so")
)
_lib = ctypes.CDLL(_LIB_PATH)

ABI_VERSION = 1
OK = 0
SEVERITIES = ["none", "information", "warning", "error", "fatal"]

_p = ctypes.c_void_p
_lib.shinny_abi_version.restype = ctypes.c_uint32
_lib.shinny_version.restype = ctypes.c_char_p
_lib.shinny_last_error.restype = ctypes.c_char_p
_lib.shinny_context_from_artifact_file.argtypes = [ctypes.c_char_p, ctypes.POINTER(_p)]
_lib.shinny_context_from_packages.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(_p)]
_lib.shinny_context_free.argtypes = [_p]
_lib.shinny_policy_from_json.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(_p)]
_lib.shinny_policy_free.argtypes = [_p]
_lib.shinny_validate.argtypes = [_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, _p, ctypes.POINTER(_p)]
_lib.shinny_result_outcome_json.argtypes = [_p, ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_size_t)]
_lib.shinny_result_error_count.argtypes = [_p, ctypes.POINTER(ctypes.c_size_t)]
_lib.shinny_result_max_severity.argtypes = [_p, ctypes.POINTER(ctypes.c_int)]
_lib.shinny_result_free.argtypes = [_p]
for _f in ("context_from_artifact_file", "context_from_packages", "policy_from_json",
           "validate", "result_outcome_json", "result_error_count", "result_max_severity"):
    getattr(_lib, "shinny_" + _f).restype = ctypes.c_int

if _lib.shinny_abi_version() != ABI_VERSION:
    raise ImportError(f"libshinny ABI {_lib.shinny_abi_version()}, binding expects {ABI_VERSION}")

version = _lib.shinny_version().decode()


class ShinnyError(Exception):
    """A failed call: the status code and the library's message."""

    def __init__(self, status):
        msg = _lib.shinny_last_error()
        super().__init__(f"status {status}: {msg.decode() if msg else '?'}")
        self.status = status


def _check(status):
    if status != OK:
        raise ShinnyError(status)


class Context:
    """A compiled validation context; thread-safe, share one per process."""

    def __init__(self, handle):
        self._h = handle

    @classmethod
    def from_artifact_file(cls, path):
        h = _p()
        _check(_lib.shinny_context_from_artifact_file(os.fsencode(path), ctypes.byref(h)))
        return cls(h)

    @classmethod
    def from_packages(cls, package_dir=None, ig=None):
        h = _p()
        enc = lambda s: None if s is None else s.encode()
        _check(_lib.shinny_context_from_packages(enc(package_dir), enc(ig), ctypes.byref(h)))
        return cls(h)

    def validate(self, data, profile=None, policy=None):
        """Validates JSON bytes; returns a Result."""
        r = _p()
        _check(_lib.shinny_validate(self._h, data, len(data),
                                    None if profile is None else profile.encode(),
                                    None if policy is None else policy._h, ctypes.byref(r)))
        try:
            js, n = ctypes.c_char_p(), ctypes.c_size_t()
            _check(_lib.shinny_result_outcome_json(r, ctypes.byref(js), ctypes.byref(n)))
            errors, sev = ctypes.c_size_t(), ctypes.c_int()
            _check(_lib.shinny_result_error_count(r, ctypes.byref(errors)))
            _check(_lib.shinny_result_max_severity(r, ctypes.byref(sev)))
            # Copy out before the result (which owns the string) is freed.
            return Result(json.loads(js.value.decode()), errors.value, SEVERITIES[sev.value])
        finally:
            _lib.shinny_result_free(r)

    def close(self):
        if self._h:
            _lib.shinny_context_free(self._h)
            self._h = None

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Policy:
    """A diagnostics policy loaded from JSON text."""

    def __init__(self, text):
        self._h = _p()
        data = text.encode() if isinstance(text, str) else text
        _check(_lib.shinny_policy_from_json(data, len(data), ctypes.byref(self._h)))

    def close(self):
        if self._h:
            _lib.shinny_policy_free(self._h)
            self._h = None

    __del__ = close


class Result:
    """A validation result, copied into Python objects."""

    def __init__(self, outcome, error_count, max_severity):
        self.outcome = outcome
        self.error_count = error_count
        self.max_severity = max_severity

    def message_ids(self):
        ids = []
        for issue in self.outcome.get("issue", []):
            for ext in issue.get("extension", []):
                if ext["url"].endswith("/operationoutcome-message-id"):
                    ids.append(ext["valueString"])
        return ids

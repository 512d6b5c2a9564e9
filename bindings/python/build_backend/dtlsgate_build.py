# SPDX-License-Identifier: MIT
"""A PEP 517 build backend for the dtlsgate Python package, standard
library only, so that `pip install ./bindings/python` works offline: the
build environment pip creates needs nothing installed (requires = []).

The wheel holds the dtlsgate/ package plus the C library, taken from (in
order) the `library` config setting, $DTLSGATE_LIBRARY or the repository's
lib/libdtlsgate.so.0 (built by `make`). Because of the library the wheel is
tagged for this platform (py3-none-linux_x86_64, say), not pure Python.
Metadata comes from pyproject.toml's [project] table (tomllib: building
needs Python 3.11+; the package itself runs on 3.8+).
"""

import base64
import hashlib
import io
import os
import re
import sysconfig
import tarfile
import zipfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # bindings/python
PACKAGE = "dtlsgate"
SONAME = "libdtlsgate.so.0"
REPOSITORY_LIB = os.path.join(HERE, os.pardir, os.pardir, "lib", SONAME)
HEADER = os.path.join(HERE, os.pardir, os.pardir, "include", "dtlsgate.h")
VERSION_PY = PACKAGE + "/_version.py"
# The wheel carries a Go-built library, so the notices of what is linked into it too.
LICENSE_FILES = ("LICENSE", "THIRD_PARTY_NOTICES")


def _project():
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        raise RuntimeError("building the dtlsgate wheel needs Python 3.11 or later (tomllib)")
    with open(os.path.join(HERE, "pyproject.toml"), "rb") as f:
        project = dict(tomllib.load(f)["project"])
    project["version"] = _version()
    return project


def _version():
    """DTLSGATE_VERSION from the header (the one place the version is
    written); in an unpacked sdist, which has no header, the value its
    _version.py was given."""
    if os.path.exists(HEADER):
        path, pattern = HEADER, r'^#define DTLSGATE_VERSION "([^"]+)"$'
    else:
        path, pattern = os.path.join(HERE, VERSION_PY), r'^__version__ = "([^"]+)"$'
    with open(path, encoding="utf-8") as f:
        return re.search(pattern, f.read(), re.M).group(1)


def _version_py(version):
    """The _version.py a wheel or sdist carries: the value, not the lookup."""
    return ("# SPDX-License-Identifier: MIT\n# Written by the build backend from DTLSGATE_VERSION "
            "in include/dtlsgate.h.\n__version__ = \"%s\"\n" % version).encode()


def _metadata(project):
    lines = ["Metadata-Version: 2.1", "Name: " + project["name"],
             "Version: " + project["version"], "Summary: " + project["description"],
             "Requires-Python: " + project["requires-python"],
             "License: " + project["license"]["text"]]
    lines += ["Classifier: " + c for c in project.get("classifiers", [])]
    return "\n".join(lines) + "\n"


def _library(config_settings):
    path = ((config_settings or {}).get("library") or os.environ.get("DTLSGATE_LIBRARY")
            or REPOSITORY_LIB)
    path = os.path.realpath(path)
    if not os.path.isfile(path):
        raise RuntimeError("dtlsgate: the C library %s is missing: run `make` in the repository "
                           "first, or set DTLSGATE_LIBRARY to a built libdtlsgate.so.0" % path)
    return path


def _license_files():
    """(name, file on disk): next to pyproject.toml in an sdist, at the top
    of the repository otherwise."""
    for name in LICENSE_FILES:
        for directory in (HERE, os.path.join(HERE, os.pardir, os.pardir)):
            if os.path.isfile(os.path.join(directory, name)):
                yield name, os.path.join(directory, name)
                break
        else:
            raise RuntimeError("dtlsgate: %s is missing" % name)


def _package_files():
    """(path in the wheel, file on disk) for the Python package."""
    root = os.path.join(HERE, PACKAGE)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for name in sorted(filenames):
            if name.endswith((".pyc", ".so")) or ".so." in name:
                continue  # caches, and a library copied in by hand: the real one is added
            full = os.path.join(dirpath, name)
            yield os.path.relpath(full, HERE).replace(os.sep, "/"), full


def _tag():
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return "py3-none-" + platform


class _Wheel:
    """A wheel being written, RECORD kept as files go in."""

    def __init__(self, directory, project, tag):
        self.dist_info = "%s-%s.dist-info" % (PACKAGE, project["version"])
        self.name = "%s-%s-%s.whl" % (PACKAGE, project["version"], tag)
        self.zip = zipfile.ZipFile(os.path.join(directory, self.name), "w", zipfile.ZIP_DEFLATED)
        self.record = []
        self.tag = tag
        self.project = project

    def add(self, arcname, data, mode=0o644):
        info = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = (0o100000 | mode) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        self.zip.writestr(info, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        self.record.append("%s,sha256=%s,%d" % (arcname, digest, len(data)))

    def finish(self):
        for name, path in _license_files():
            self.add("%s/licenses/%s" % (self.dist_info, name), _read(path))
        pure = "true" if self.tag.startswith("py3-none-any") else "false"
        self.add(self.dist_info + "/METADATA", _metadata(self.project).encode())
        self.add(self.dist_info + "/WHEEL", ("Wheel-Version: 1.0\nGenerator: dtlsgate_build\n"
                                            "Root-Is-Purelib: %s\nTag: %s\n" % (pure, self.tag))
                 .encode())
        self.add(self.dist_info + "/top_level.txt", (PACKAGE + "\n").encode())
        record = self.dist_info + "/RECORD"
        self.zip.writestr(record, "\n".join(self.record + [record + ",,"]) + "\n")
        self.zip.close()
        return self.name


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    library = _library(config_settings)
    wheel = _Wheel(wheel_directory, _project(), _tag())
    for arcname, path in _package_files():
        data = _version_py(wheel.project["version"]) if arcname == VERSION_PY else _read(path)
        wheel.add(arcname, data)
    wheel.add("%s/%s" % (PACKAGE, SONAME), _read(library), 0o755)
    return wheel.finish()


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    """An editable install: a .pth file that puts bindings/python on
    sys.path, so the package runs from the repository (and finds the
    library in lib/ there)."""
    wheel = _Wheel(wheel_directory, _project(), "py3-none-any")
    wheel.add(PACKAGE + "_editable.pth", (HERE + "\n").encode())
    return wheel.finish()


def build_sdist(sdist_directory, config_settings=None):
    """The sources only; building a wheel from them needs DTLSGATE_LIBRARY."""
    project = _project()
    base = "%s-%s" % (PACKAGE, project["version"])
    files = [("pyproject.toml", os.path.join(HERE, "pyproject.toml")),
             ("build_backend/dtlsgate_build.py", os.path.abspath(__file__))]
    files += list(_package_files()) + list(_license_files())
    name = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for arcname, data in [("PKG-INFO", _metadata(project).encode())] + \
                [(a, _version_py(project["version"]) if a == VERSION_PY else _read(p))
                 for a, p in files]:
            info = tarfile.TarInfo("%s/%s" % (base, arcname))
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return name


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []

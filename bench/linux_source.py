"""Fetch files from Debian's linux-source package (the bench scripts' peer
tools and real TDX sources): the installed package's tarball
(/usr/src/linux-source-6.12.tar.xz) or else apt-get download, then unpack
only the files wanted, cached under $XDG_CACHE_HOME/tdxbot."""
from __future__ import annotations

import glob
import os
import subprocess
import tarfile
import tempfile
from typing import Callable

PACKAGE = "linux-source-6.12"
INSTALLED = "/usr/src"  # where the linux-source package puts its tarball
CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "tdxbot")


def fetch(name: str, wanted: Callable[[str], bool]) -> str:
    """Unpack the members of the kernel tarball whose tree-relative path is
    wanted into the cache folder `name` (once) and return that folder."""
    root = os.path.join(CACHE, name)
    if os.path.isdir(root):
        return root
    os.makedirs(CACHE, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        # The installed package's tarball, else the package downloaded.
        installed = glob.glob(os.path.join(INSTALLED, PACKAGE + ".tar.*"))
        if installed:
            tarball = installed[0]
        else:
            subprocess.run(["apt-get", "download", PACKAGE], cwd=tmp, check=True)
            deb = glob.glob(os.path.join(tmp, "*.deb"))[0]
            subprocess.run(["dpkg-deb", "-x", deb, os.path.join(tmp, "x")], check=True)
            tarball = glob.glob(os.path.join(tmp, "x", "usr", "src", "linux-source-*.tar.*"))[0]
        with tarfile.open(tarball) as tar:
            members = []
            for m in tar:
                rel = m.name.split("/", 1)[1] if "/" in m.name else m.name
                if m.isfile() and wanted(rel):
                    m.name = rel
                    members.append(m)
            tar.extractall(root + ".part", members=members, filter="data")
        os.rename(root + ".part", root)
    return root

"""Regular expressions compiled on first use.

The b4 check command starts once per patch, and compiling every rule's
patterns up front costs more than most patches need: a patch with no loop
never needs the loop rules' patterns.

Compiling is still most of what a short run does (about ninety patterns
for the seed patch, a quarter of the command's work), so the b4 commands
also keep the compiled programs between runs, in one file in the user's
cache folder (see _Programs and keep_programs). Other commands run long
enough not to need it, and write nothing outside what they are asked to.
"""
from __future__ import annotations

import os
import re
import sys


class LazyPattern:
    """Compiles on the first attribute asked for, then keeps each method it
    hands out as an instance attribute, so later calls skip __getattr__."""
    made: list[LazyPattern] = []  # every one so far, for compile_all

    def __init__(self, pattern: str, flags: int = 0):
        self._args = (pattern, flags)
        self._compiled = None
        LazyPattern.made.append(self)

    def __getattr__(self, name: str):
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = _PROGRAMS.compile(*self._args)
        value = getattr(compiled, name)
        self.__dict__[name] = value
        return value


def lazy_re(pattern: str, flags: int = 0) -> LazyPattern:
    return LazyPattern(pattern, flags)


def compile_all() -> int:
    """Compile every pattern made so far; for a process that forks a child
    per patch (the b4 worker, bot/resident.py), so no child compiles one
    itself. Returns how many there are."""
    for pattern in LazyPattern.made:
        if pattern._compiled is None:
            try:
                pattern._compiled = _PROGRAMS.compile(*pattern._args)
            except re.error:
                pass  # a bad pattern fails where it is used, as before
    return len(LazyPattern.made)


class _Programs:
    """Compiled regular expression programs kept between runs.

    re.compile parses a pattern and turns it into the program the _sre
    engine runs; that work is the same in every run of the same Python. A
    program read back is handed to _sre.compile, which checks it before it
    is used, and the result equals (==) what re.compile gives: the same
    pattern, flags and program. The file is keyed by the Python build and
    _sre's version, is only read when it belongs to this user and nobody
    else can write to it, and is written whole and renamed into place.
    Anything unexpected (another Python's re internals, a broken file, a
    read-only home) turns the cache off and leaves plain re.compile.
    """
    LIMIT = 4096  # entries; more means the patterns changed a lot: start over

    def __init__(self, keep: bool = False):
        self._known: dict | None = None
        self._added = 0
        self._off = True
        if keep:
            self.keep()

    def keep(self) -> None:
        self._off = os.environ.get("TDXBOT_REGEX_CACHE") == "0"

    def _path(self) -> str:
        import _sre

        base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
        version = ".".join(map(str, sys.version_info[:3]))
        build = f"{sys.implementation.cache_tag}-{version}-{_sre.MAGIC}-{_sre.CODESIZE}"
        return os.path.join(base, "tdxbot", f"regex-{build}.marshal")

    def _load(self) -> dict:
        known: dict = {}
        try:
            path = self._path()
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            try:
                st = os.fstat(fd)
                if st.st_uid == os.getuid() and not st.st_mode & 0o022 and st.st_size < 1 << 24:
                    import marshal

                    with os.fdopen(fd, "rb", closefd=False) as fh:
                        loaded = marshal.loads(fh.read())
                    if isinstance(loaded, dict):
                        known = loaded
            finally:
                os.close(fd)
        except (OSError, ValueError, EOFError, TypeError):
            pass
        return known

    def compile(self, pattern: str, flags: int = 0):
        if self._off:
            return re.compile(pattern, flags)
        if self._known is None:
            self._known = self._load()
        flags = int(flags)  # a RegexFlag cannot be marshalled
        key = (pattern, flags)
        try:
            import _sre

            program = self._known.get(key)
            if program is not None:
                return _sre.compile(pattern, *program)
            # re._compiler.compile, keeping the program it builds.
            from re import _compiler, _parser

            parsed = _parser.parse(pattern, flags)
            code = [int(op) for op in _compiler._code(parsed, flags)]
            groupindex = parsed.state.groupdict
            indexgroup = [None] * parsed.state.groups
            for name, index in groupindex.items():
                indexgroup[index] = name
            program = (flags | parsed.state.flags, code, parsed.state.groups - 1,
                       dict(groupindex), tuple(indexgroup))
            compiled = _sre.compile(pattern, *program)
        except re.error:
            raise
        except Exception:  # another Python's internals: plain re from here on
            self._off = True
            return re.compile(pattern, flags)
        if len(self._known) >= self.LIMIT:
            self._known = {}
        self._known[key] = program
        self._added += 1
        return compiled

    def _save(self) -> None:
        if not self._added:
            return
        import marshal
        import tempfile

        try:
            path = self._path()
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".regex-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(marshal.dumps(self._load() | self._known))
                os.replace(tmp, path)
            except BaseException:
                os.unlink(tmp)
                raise
        except (OSError, ValueError):
            pass


_PROGRAMS = _Programs()


def keep_programs() -> None:
    """Keep compiled patterns between runs from now on (the b4 commands:
    b4 starts them once per patch). TDXBOT_REGEX_CACHE=0 says no. What
    the run compiled is written when the process exits."""
    import atexit

    _PROGRAMS.keep()
    atexit.register(_PROGRAMS._save)


# Letters re.IGNORECASE takes for an ASCII i or s besides their own case
# (dotless and dotted I, long s); str.lower() keeps them apart.
_RE_FOLDS = str.maketrans({"\u0131": "i", "\u0130": "i", "\u017f": "s"})


def re_lower(text: str) -> str:
    """text lower-cased so that a plain `in` test agrees with an ASCII
    pattern compiled with re.IGNORECASE (a fast first look must not miss
    what the pattern would find)."""
    return text.lower() if text.isascii() else text.translate(_RE_FOLDS).lower()

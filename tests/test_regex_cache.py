"""The compiled-pattern cache of common/lazyre.py: a program read back
gives the pattern re.compile gives, and a cache file that is broken,
foreign or writable by others is never used."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tdxbot.common.lazyre import _Programs

PATTERNS = [
    (r"(?P<name>\w+)-(\d+)?", 0),
    (r"^\s*+(?:re|fwd?|aw)\s*:", re.I | re.M),
    ("[\x00-\x1f\u2028\ud800-\udfff]", 0),
    (r"\b(?:is|are|gets?)\s+(?:now\s+)?\w+ed\b", re.I),
]


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("TDXBOT_REGEX_CACHE", raising=False)
    return tmp_path


def _saved(programs: _Programs) -> str:
    programs._save()
    return programs._path()


def test_a_program_read_back_equals_what_re_compiles(cache_home):
    first = _Programs(keep=True)
    for pattern, flags in PATTERNS:
        assert first.compile(pattern, flags) == re.compile(pattern, flags)
    path = _saved(first)
    assert os.path.exists(path)
    second = _Programs(keep=True)
    for pattern, flags in PATTERNS:
        from_cache = second.compile(pattern, flags)
        # Pattern equality compares the pattern, the flags and the program.
        assert from_cache == re.compile(pattern, flags)
        assert from_cache.groupindex == re.compile(pattern, flags).groupindex
    assert second._added == 0  # every one came from the file
    assert second.compile(PATTERNS[0][0]).match("ab-12").group("name") == "ab"


def test_every_pattern_of_tdxbot_compiles_the_same_through_the_cache(cache_home):
    from test_regex_growth import PATTERNS as ALL  # (where, compiled) of every module-level pattern

    programs = _Programs(keep=True)
    for _where, compiled in ALL:
        assert programs.compile(compiled.pattern, compiled.flags) == compiled
    _saved(programs)
    again = _Programs(keep=True)
    for _where, compiled in ALL:
        assert again.compile(compiled.pattern, compiled.flags) == compiled
    assert again._added == 0


@pytest.mark.parametrize("damage", ["garbage", "truncated", "wrong shape", "group-writable", "symlink"])
def test_a_cache_file_that_cannot_be_trusted_is_not_used(cache_home, damage):
    programs = _Programs(keep=True)
    for pattern, flags in PATTERNS:
        programs.compile(pattern, flags)
    path = _saved(programs)
    data = open(path, "rb").read()
    if damage == "garbage":
        open(path, "wb").write(b"\xff" * 64)
    elif damage == "truncated":
        open(path, "wb").write(data[: len(data) // 2])
    elif damage == "wrong shape":
        import marshal

        open(path, "wb").write(marshal.dumps({(p, int(f)): ("not", "a", "program") for p, f in PATTERNS}))
    elif damage == "group-writable":
        os.chmod(path, 0o664)
    elif damage == "symlink":
        real = path + ".real"
        os.rename(path, real)
        os.symlink(real, path)
    reader = _Programs(keep=True)
    for pattern, flags in PATTERNS:
        assert reader.compile(pattern, flags) == re.compile(pattern, flags)
    if damage in ("group-writable", "symlink", "garbage", "truncated"):
        assert reader._added == len(PATTERNS)  # nothing was taken from the file


def test_the_cache_can_be_turned_off_and_an_unwritable_home_is_no_error(cache_home, monkeypatch):
    monkeypatch.setenv("TDXBOT_REGEX_CACHE", "0")
    off = _Programs(keep=True)
    assert off.compile(*PATTERNS[0]) == re.compile(*PATTERNS[0])
    assert off._added == 0
    monkeypatch.delenv("TDXBOT_REGEX_CACHE")
    blocked = cache_home / "tdxbot"
    blocked.write_text("a file where the folder would go")
    on = _Programs(keep=True)
    assert on.compile(*PATTERNS[1]) == re.compile(*PATTERNS[1])
    on._save()  # must not raise
    assert blocked.read_text() == "a file where the folder would go"


def test_the_b4_check_command_gives_the_same_lines_with_and_without_the_cache(cache_home, tmp_path):
    from mails import patch_mail

    mail = patch_mail("[PATCH] x86/virt/tdx: Retry", "<retry@example.org>",
                      code="\tdo {\n\t\terr = seamcall(TDH_SYS_DISABLE, &args);\n\t} while (err == TDX_SYS_BUSY);",
                      changelog="We retry the call.")
    env = dict(os.environ, XDG_CACHE_HOME=str(cache_home))
    runs = []
    for cache in ("0", "1", "1"):  # off, writing the file, reading it
        env["TDXBOT_REGEX_CACHE"] = cache
        out = subprocess.run([sys.executable, "-m", "tdxbot", "b4-check"], input=mail, text=True,
                             capture_output=True, env=env, check=True)
        runs.append(out.stdout)
    assert runs[0] and runs[0] == runs[1] == runs[2]
    assert any(name.startswith("regex-") for name in os.listdir(cache_home / "tdxbot"))


def test_only_the_b4_commands_keep_patterns(cache_home):
    """review, check and the rest write nothing outside what they are asked
    to: no cache file appears for them."""
    from mails import patch_mail

    mail = cache_home / "one.eml"
    mail.write_text(patch_mail("[PATCH] x86/virt/tdx: Retry", "<once@example.org>", changelog="We retry."))
    env = dict(os.environ, XDG_CACHE_HOME=str(cache_home))
    env.pop("TDXBOT_REGEX_CACHE", None)
    subprocess.run([sys.executable, "-m", "tdxbot", "review", str(mail)], capture_output=True, env=env)
    assert not (cache_home / "tdxbot").exists()
    subprocess.run([sys.executable, "-m", "tdxbot", "b4-check"], input=mail.read_bytes(),
                   capture_output=True, env=env)
    assert [n for n in os.listdir(cache_home / "tdxbot") if n.startswith("regex-")]


def test_compile_all_leaves_no_pattern_to_compile():
    """What the resident b4 worker does before it forks: afterwards no
    pattern of any module compiles again, and each is what re gives."""
    code = ("import re\n"
            "from tdxbot.lint import all_rules\n"
            "from tdxbot.common.lazyre import LazyPattern, compile_all\n"
            "import tdxbot.flow.b4check, tdxbot.mail, tdxbot.facts\n"
            "all_rules()\n"
            "count = compile_all()\n"
            "made = LazyPattern.made\n"
            "assert count == len(made) > 150, count\n"
            "assert all(p._compiled is not None for p in made)\n"
            "assert all(p._compiled == re.compile(*p._args) for p in made)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, TDXBOT_REGEX_CACHE="0"))
    assert res.returncode == 0, res.stderr

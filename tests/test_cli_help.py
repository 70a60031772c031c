"""The command line explains itself: help on every option, "did you mean"
for a mistyped rule id, `tdxbot rules` saying where each severity comes
from, and `python -m tdxbot` working like the installed script."""
import argparse

import pytest
from conftest import ROOT, run_cli

from tdxbot import __version__
from tdxbot.argspec import build_parser


def _subparsers(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def test_every_option_has_help():
    parser = build_parser()
    missing = [f"tdxbot {' '.join(a.option_strings)}" for a in parser._actions
               if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction)) and not a.help]
    for name, sub in _subparsers(parser):
        missing += [f"tdxbot {name} {'/'.join(a.option_strings) or a.dest}" for a in sub._actions
                    if not isinstance(a, argparse._HelpAction) and not a.help]
    assert not missing, missing


@pytest.fixture
def home(tmp_path):
    return {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / ".config"), "GIT_CONFIG_NOSYSTEM": "1"}


def test_a_mistyped_rule_id_gets_a_suggestion(home, tmp_path):
    res = run_cli("review", ROOT / "fixtures/example-series.mbox", "--ignore", "comment-tial", env=home)
    assert res.returncode == 2
    assert res.stderr.decode() == ("tdxbot: --ignore: unknown rule id(s): comment-tial (did you mean "
                                   "comment-tail?) (see 'tdxbot rules')\n")
    res = run_cli("rules", "--doc", "tdx-busy-rety", env=home)
    assert res.returncode == 2 and b"tdx-busy-rety (did you mean tdx-busy-retry?)" in res.stderr
    res = run_cli("review", ROOT / "fixtures/example-series.mbox", "--select", "no-such-thing", env=home)
    assert res.returncode == 2 and b"no-such-thing (see" in res.stderr, "no suggestion when nothing is close"


def test_unknown_ids_in_git_config_are_warned_about_and_skipped(home, tmp_path):
    (tmp_path / ".gitconfig").write_text("[tdxbot]\n\tignore = comment-tial\n"
                                         "[tdxbot \"severity\"]\n\tchangelog-voise = info\n")
    res = run_cli("review", ROOT / "fixtures/example-series.mbox", "--format", "json", env=home)
    assert res.returncode == 1, "the review still runs"
    err = res.stderr.decode().splitlines()
    assert "tdxbot: warning: git config tdxbot.ignore: unknown rule id(s): comment-tial (did you mean " \
           "comment-tail?); ignored" in err
    assert "tdxbot: warning: git config tdxbot.severity.changelog-voise: unknown rule id(s): " \
           "changelog-voise (did you mean changelog-voice?); ignored" in err


def test_rules_shows_the_effective_severity_and_where_it_comes_from(home, tmp_path):
    plain = run_cli("rules", env=home).stdout.decode().splitlines()
    assert plain[0].split() == ["RULE", "SEVERITY", "FROM", "SUMMARY"]
    assert next(ln for ln in plain if ln.startswith("comment-tail ")).split()[1:3] == ["warning", "default"]
    (tmp_path / ".gitconfig").write_text("[tdxbot]\n\tignore = tag-chain\n"
                                         "[tdxbot \"severity\"]\n\tcomment-tail = info\n")
    lines = run_cli("rules", env=home).stdout.decode().splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.startswith("comment-tail "))
    assert lines[at].split()[1:3] == ["info", "config"]
    assert lines[at + 1].strip() == ("(info from git config tdxbot.severity.comment-tail; "
                                     "default warning)")
    at = next(i for i, ln in enumerate(lines) if ln.startswith("tag-chain "))
    assert lines[at].split()[1:3] == ["ignored", "config"]
    assert lines[at + 1].strip() == "(ignored by git config tdxbot.ignore; default severity warning)"
    untouched = next(i for i, ln in enumerate(lines) if ln.startswith("changelog-voice "))
    assert not lines[untouched + 1].startswith(" "), "rules at their default get one line"
    doc = run_cli("rules", "--doc", "comment-tail", env=home).stdout.decode()
    assert doc.startswith("comment-tail (severity: info from git config tdxbot.severity.comment-tail; "
                          "default warning; paths:")


def test_python_dash_m_tdxbot():
    res = run_cli("--version")
    assert res.returncode == 0 and res.stdout.decode().strip() == f"tdxbot {__version__}"
    res = run_cli()
    assert res.returncode == 2 and b"usage: tdxbot" in res.stderr


def test_readme_says_what_the_code_does_about_unknown_ids():
    readme = (ROOT / "README.md").read_text()
    assert "is an\nerror. tdxbot never ignores it silently" not in readme
    assert "reported on stderr and skipped" in readme

"""The rules' documentation as one Markdown file, and where to link to it.

docs/rules.md in the repository is this module's output (`tdxbot rules
--markdown`); a test keeps the two equal. SARIF points each rule's helpUri
at a section of it: under `git config tdxbot.help-url` when the user
publishes the file somewhere, else at the copy installed with tdxbot.
"""
from __future__ import annotations

import sys

# Where the generated file lives in the repository, and where pip puts the
# copy it installs (pyproject.toml's data-files).
REPO_DOC = "docs/rules.md"
INSTALLED_DOC = "share/doc/tdxbot/rules.md"
REGENERATE = "tdxbot rules --markdown > docs/rules.md"


def render_markdown(rules) -> str:
    """Every rule's id, default severity, files and full docstring. Indented
    examples in a docstring become fenced code blocks."""
    out = ["# tdxbot rules", "",
           f"Generated from the rule modules by `{REGENERATE}`; edit the rules' docstrings,",
           "not this file. `tdxbot rules --doc RULE` prints the same text.", "",
           "| rule | default severity | summary |", "|---|---|---|"]
    out += [f"| [`{r.id}`](#{r.id}) | {r.severity} | {_cell(r.summary)} |"
            for r in rules]
    for rule in rules:
        files = ", ".join(f"`{p}`" for p in rule.paths) if rule.paths else "all files"
        out += ["", f"## {rule.id}", "", f"Default severity: **{rule.severity}**. Files: {files}.", "",
                f"Enforces: {enforces(rule)}.", ""]
        out += _doc_markdown(rule.doc)
    return "\n".join(out) + "\n"


def enforces(rule) -> str:
    """Whose rule a rule enforces: each tree's convention with where its
    document says so, or a point of correctness that holds everywhere."""
    if not rule.trees:
        return "a point of correctness, on every tree (no tree's style convention)"
    return "; ".join(f"{tree.title} ({where})" for tree, where in rule.trees.items())


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _doc_markdown(doc: str) -> list[str]:
    out: list[str] = []
    code: list[str] = []

    def flush() -> None:
        if code:
            if out and out[-1]:
                out.append("")
            out.extend(["```", *code, "```", ""])
            code.clear()

    for line in doc.splitlines():
        if line.startswith("    ") or (code and line.startswith("\t")):
            code.append(line[4:] if line.startswith("    ") else line[1:])
            continue
        flush()
        if not (line == "" and out and out[-1] == ""):
            out.append(line.rstrip())
    flush()
    while out and not out[-1]:
        out.pop()
    return out


def render_table(rules, options) -> str:
    """`tdxbot rules`: each rule's effective severity, where it comes from
    (the rule's default or git config) and its summary; a rule git config
    changes or ignores gets a second line naming the setting."""
    width = max(len(r.id) for r in rules)
    overrides = dict(options.severity)
    out = [f"{'RULE':<{width}}  {'SEVERITY':<8}  {'FROM':<7}  SUMMARY"]
    for rule in rules:
        changed = rule.id in options.ignore or rule.id in overrides
        severity = "ignored" if rule.id in options.ignore else overrides.get(rule.id, rule.severity)
        out.append(f"{rule.id:<{width}}  {severity:<8}  {'config' if changed else 'default':<7}  "
                   f"{rule.summary}")
        if changed:
            out.append(f"{'':<{width}}  {'':<8}  {'':<7}  ({severity_origin(rule, options)})")
    return "\n".join(out) + "\n"


def severity_origin(rule, options) -> str:
    """'warning, the default', 'info from git config tdxbot.severity.X;
    default warning' or 'ignored by git config tdxbot.ignore; ...'."""
    overrides = dict(options.severity)
    if rule.id in options.ignore:
        return f"ignored by git config tdxbot.ignore; default severity {rule.severity}"
    if rule.id in overrides:
        return f"{overrides[rule.id]} from git config tdxbot.severity.{rule.id}; default {rule.severity}"
    return f"{rule.severity}, the default"


def default_help_url() -> str | None:
    """The file: URI of the rules document beside this installation: the
    installed copy, else the repository's when tdxbot runs from its tree."""
    from pathlib import Path  # only for SARIF's links: pathlib is no small import

    for candidate in (Path(sys.prefix) / INSTALLED_DOC,
                      Path(__file__).resolve().parents[2] / REPO_DOC):
        if candidate.is_file():
            return candidate.resolve().as_uri()
    return None


def help_uri(base: str | None, rule_id: str) -> str | None:
    """The link to one rule's section under base (a URL of rules.md)."""
    base = base or default_help_url()
    if not base:
        return None
    return f"{base.split('#', 1)[0]}#{rule_id}"


def is_help_url(text: str) -> bool:
    """An http(s) or file URL, as SARIF viewers can open."""
    from urllib.parse import urlsplit

    parts = urlsplit(text)
    return not any(c.isspace() for c in text) and (
        parts.scheme in ("http", "https") and bool(parts.netloc) or parts.scheme == "file")

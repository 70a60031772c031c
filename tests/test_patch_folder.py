"""A folder of patch files, as `git format-patch -o DIR` writes it, is a
SOURCE: read in name order (cover letter first) and reviewed as one series."""
import json
import subprocess

from conftest import FIXTURES, run_cli

from tdxbot.mail.sources import split_mbox


def _format_patch_folder(tmp_path):
    """The example series as git format-patch would lay it out."""
    folder = tmp_path / "outgoing"
    folder.mkdir()
    for i, raw in enumerate(split_mbox((FIXTURES / "example-series.mbox").read_bytes())):
        name = "0000-cover-letter.patch" if i == 0 else f"{i:04d}-part-{i}.patch"
        (folder / name).write_bytes(b"From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001\n"
                                    + raw)
    (folder / "notes.txt").write_text("not a patch\n")
    return folder


def test_a_format_patch_folder_reviews_like_the_mbox(tmp_path):
    folder = _format_patch_folder(tmp_path)
    got = run_cli("review", folder, "--format", "json")
    want = run_cli("review", FIXTURES / "example-series.mbox", "--format", "json")
    assert got.returncode == want.returncode == 1, got.stderr
    assert json.loads(got.stdout) == json.loads(want.stdout)
    text = run_cli("review", folder).stdout.decode()
    assert text.startswith("Series: x86/virt/tdx: Shut the TDX module down before kexec (v2, 4 of 4 "
                           "patches, with cover letter)")


def test_a_folder_from_git_format_patch(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {"HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1"}

    def git(*args):
        subprocess.run(["git", "-c", "user.name=Nadia Okafor", "-c", "user.email=nadia@example.com", *args],
                       cwd=repo, check=True, capture_output=True, env=env)

    git("init", "-q", "-b", "master")
    path = repo / "arch/x86/virt/vmx/tdx/tdx.c"
    path.parent.mkdir(parents=True)
    path.write_text("int a;\n")
    git("add", "-A")
    git("commit", "-qm", "Initial tree")
    for name in ("b", "c"):
        path.write_text(path.read_text() + f"int {name};\n")
        git("commit", "-qam", f"x86/virt/tdx: Add {name}\n\nWe add {name}.\n\nSigned-off-by: Nadia Okafor "
                              "<nadia@example.com>")
    git("format-patch", "-q", "--thread", "--cover-letter", "-2", "-o", str(tmp_path / "out"))
    report = json.loads(run_cli("review", tmp_path / "out", "--format", "json").stdout)
    (series,) = report["series"]
    assert [p["subject"] for p in series["patches"]] == ["[PATCH 1/2] x86/virt/tdx: Add b",
                                                         "[PATCH 2/2] x86/virt/tdx: Add c"]
    assert series["message_id"], "the cover letter is the series' cover"


def test_a_folder_with_no_patches_is_a_clear_error(tmp_path):
    (tmp_path / "readme.txt").write_text("hello\n")
    res = run_cli("review", tmp_path)
    assert res.returncode == 2
    assert res.stderr.decode() == (f"tdxbot: {tmp_path}: is a directory but not a maildir (no cur/ and "
                                   "new/) and holds no .patch or .eml files\n")

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SEEDS = ROOT.parent / "shared" / "seeds"


def run_cli(*args, stdin: bytes | None = None, cwd=None, env=None):
    """Run tdxbot as a separate process, as a user would."""
    full_env = dict(os.environ)
    full_env.pop("TDXBOT_DEBUG", None)
    full_env["PYTHONPATH"] = str(ROOT)
    if env:
        full_env.update(env)
    return subprocess.run([sys.executable, "-m", "bot", *map(str, args)], input=stdin,
                          capture_output=True, cwd=cwd or ROOT, env=full_env, timeout=120)


@pytest.fixture
def seeds():
    if not SEEDS.is_dir():
        pytest.skip("../shared/seeds is not present")
    return SEEDS

"""Every b4 name tdxbot touches exists in the installed b4 with the
parameters tdxbot passes. b4 has no stable library API; an upgrade that
renames one of these must fail here, not in a user's review."""
import importlib
import inspect

import pytest

from tdxbot.mail.b4glue import B4_INTERNALS, B4_RUNTIME_ATTRIBUTES


@pytest.mark.parametrize("module,spec,why", B4_INTERNALS, ids=[s for _, s, _ in B4_INTERNALS])
def test_b4_internal_is_there(module, spec, why):
    path, _, params = spec.partition(":")
    obj = importlib.import_module(module)
    for part in path.split("."):
        assert hasattr(obj, part), f"{module}.{path} is gone ({why})"
        obj = getattr(obj, part)
    if params:
        accepted = inspect.signature(obj).parameters
        for name in params.split(","):
            assert name in accepted, f"{module}.{path} no longer takes {name} ({why})"


def test_objects_b4_builds_have_the_attributes_tdxbot_reads():
    from mails import patch_mail, plain_mail

    from tdxbot.mail import b4glue
    from tdxbot.mail.sources import parse_message

    raws = [plain_mail("[PATCH 0/2] x86/virt/tdx: Two things", "c@x", "Cover."),
            patch_mail("[PATCH 1/2] x86/virt/tdx: One", "p1@x", in_reply_to="c@x"),
            patch_mail("[PATCH 2/2] x86/virt/tdx: Two", "p2@x", in_reply_to="c@x")]
    messages = [parse_message(r.encode(), "t") for r in raws]
    box = b4glue.mailbox(messages)
    lseries = box.series[1]
    lmsg = next(iter(box.msgid_map.values()))
    for obj, (cls, attrs) in zip((box, lseries, lmsg), B4_RUNTIME_ATTRIBUTES):
        assert type(obj).__name__ == cls
        for attr in attrs:
            assert hasattr(obj, attr), f"b4's {cls} has no {attr} any more"
    plan = b4glue.plan_series(messages, None, "t")
    assert plan.cover == 0 and plan.patches == (1, 2) and plan.expected == 2

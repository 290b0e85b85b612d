"""The lab service's policy (service.toml's [policy]): `solve` off for users in a classroom, refused with one line
before anything is done; root may still solve. No lab here: the refusal comes before the lab is looked at."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from halab import paths
from halab.errors import HalabError, SpecError
from halab.runtime.quotas import Policy, Quota, load_quotas, policy_says
from halab.service.server import Caller, Service
from halab.spec.instances import Owner


@pytest.fixture(autouse=True)
def no_labs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paths, "state_dir", lambda: tmp_path / "state")


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "service.toml"
    path.write_text(text)
    return path


def test_the_policy_is_read_and_checked(tmp_path: Path) -> None:
    assert load_quotas(tmp_path / "missing.toml").policy == Policy(solve=True)
    path = config(tmp_path, "[defaults]\nlabs = 1\n\n[policy]\nsolve = false\n")
    assert load_quotas(path).policy == Policy(solve=False) and policy_says(path, "solve") is False
    assert policy_says(config(tmp_path, "[defaults]\nlabs = 1\n"), "solve") is None
    for text, field in (("[policy]\nsolve = 'no'\n", "policy.solve"), ("[policy]\nfly = true\n", "policy.fly")):
        with pytest.raises(SpecError, match=field):
            load_quotas(config(tmp_path, text))


def solve(policy: Policy, uid: int) -> str:
    service = Service(replace(load_quotas(Path("/nonexistent/service.toml")), defaults=Quota(labs=2, nodes=8),
                              policy=policy))
    caller = Caller(uid, "ann" if uid else "root", Owner(uid, "ann" if uid else "root", 3 if uid else 0))
    try:
        service.handle(caller, {"op": "solve", "lab": "clustering"}, lambda _line: None)
    except HalabError as exc:
        return f"{type(exc).__name__}: {exc}"
    return "solved"


def test_solve_is_refused_to_users_with_one_line_when_the_policy_says_so() -> None:
    refused = solve(Policy(solve=False), 1234)
    assert refused.startswith("Refused: solve is off on this machine") and "\n" not in refused
    # Allowed: the request goes on to the lab (which is not up here).
    assert "is not up" in solve(Policy(solve=True), 1234)
    assert "is not up" in solve(Policy(solve=False), 0)  # root may solve

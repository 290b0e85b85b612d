"""service.toml (halab/runtime/quotas.py) and the boot queue (halab/service/admission.py)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from halab.errors import SpecError
from halab.runtime.quotas import load_quotas
from halab.service.admission import BootQueue


def test_defaults_without_a_file(tmp_path: Path) -> None:
    quotas = load_quotas(tmp_path / "none.toml")
    assert quotas.of("alice").labs == 2 and quotas.of("alice").memory_mib == 4096
    assert quotas.settings.booting_nodes >= 2 and quotas.settings.log == Path("/var/log/halab/service.log")


def test_per_user_caps_and_service_settings(tmp_path: Path) -> None:
    config = tmp_path / "service.toml"
    config.write_text("[defaults]\nmemory_mib = 2048\n[users.alice]\npids = 500\n[service]\nbooting_nodes = 3\n")
    quotas = load_quotas(config)
    assert quotas.of("alice").caps() == {"memory_mib": 2048, "pids": 500, "cpu_weight": 100}
    assert quotas.of("bob").pids == 16384 and quotas.settings.booting_nodes == 3


@pytest.mark.parametrize(("text", "field", "problem"), [
    ("[defaults]\nmemory_mib = 12\n", "defaults.memory_mib", "from 256"),
    ("[users.al]\nswap = 1\n", "users.al.swap", "unknown field"),
    ("[service]\nbooting_nodes = true\n", "service.booting_nodes", "whole number"),
    ("[service]\nlog = \"relative.log\"\n", "service.log", "absolute"),
    ("[other]\n", "other", "unknown section"),
])
def test_errors_name_the_file_field_and_problem(tmp_path: Path, text: str, field: str, problem: str) -> None:
    config = tmp_path / "service.toml"
    config.write_text(text)
    with pytest.raises(SpecError) as raised:
        load_quotas(config)
    assert raised.value.field == field and problem in raised.value.problem and str(config) in str(raised.value)


def test_the_boot_queue_lets_no_more_nodes_boot_than_it_has_room_for() -> None:
    queue = BootQueue(4)
    booting, most, said = [0], [0], []
    lock = threading.Lock()

    def lab() -> None:
        with queue.booting(2, said.append):
            with lock:
                booting[0] += 2
                most[0] = max(most[0], booting[0])
            time.sleep(0.05)
            with lock:
                booting[0] -= 2

    threads = [threading.Thread(target=lab) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert most[0] == 4 and booting[0] == 0 and queue.free == 4
    assert any("ahead of yours" in line for line in said)


def test_a_lab_larger_than_the_budget_still_boots_alone() -> None:
    queue = BootQueue(2)
    with queue.booting(5, lambda _m: None):
        assert queue.free == 0
    assert queue.free == 2

import math

import pytest

from halab.course import hamath, replmath
from halab.course.hamath import InputError


def test_downtime_of_three_nines_matches_the_usual_table() -> None:
    table = hamath.downtime_table(99.9)
    assert table["year"] / 3600 == pytest.approx(8.766, abs=0.001)
    assert table["month"] / 60 == pytest.approx(43.83, abs=0.01)
    assert table["week"] / 60 == pytest.approx(10.08, abs=0.01)


@pytest.mark.parametrize("percent, count", [(90, 1), (99, 2), (99.9, 3), (99.999, 5)])
def test_nines_round_trip(percent: float, count: int) -> None:
    assert hamath.nines(percent) == pytest.approx(count)
    assert hamath.availability_from_nines(count) == pytest.approx(percent)


def test_perfect_availability_has_infinite_nines() -> None:
    assert math.isinf(hamath.nines(100))


def test_availability_from_downtime_inverts_downtime() -> None:
    seconds = hamath.downtime_seconds(99.95, "month")
    assert hamath.availability_from_downtime(seconds, "month") == pytest.approx(99.95)


def test_mtbf_mttr() -> None:
    assert hamath.availability_from_mtbf(999, 1) == pytest.approx(99.9)
    assert hamath.availability_from_mtbf(10, 0) == 100


def test_series_and_parallel() -> None:
    assert hamath.series([99.9, 99.9]) == pytest.approx(99.8001)
    assert hamath.parallel([99.9, 99.9]) == pytest.approx(99.9999)
    total, stages = hamath.chain([(99.9, 2), (99.95, 1)])
    assert total == pytest.approx(99.9499, abs=1e-4)
    assert stages[1] == pytest.approx(99.95)


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: hamath.downtime_seconds(101), "between 0 % and 100 %"),
        (lambda: hamath.downtime_seconds(-1), "between 0 % and 100 %"),
        (lambda: hamath.downtime_seconds(float("nan")), "must be a number"),
        (lambda: hamath.availability_from_mtbf(100, -1), "MTTR must be zero or more"),
        (lambda: hamath.availability_from_mtbf(0, 1), "MTBF must be more than zero"),
        (lambda: hamath.availability_from_downtime(10**9, "week"), "cannot be longer"),
        (lambda: hamath.downtime_seconds(99, "decade"), "Unknown period"),
        (lambda: hamath.series([]), "at least one component"),
        (lambda: hamath.chain([(99.9, 0)]), "at least one copy"),
        (lambda: hamath.parse_percent("lots"), "not a percentage"),
    ],
)
def test_impossible_values_raise_input_error_with_a_sentence(call, words: str) -> None:  # noqa: ANN001
    with pytest.raises(InputError, match=words):
        call()


def test_parse_percent_accepts_common_forms() -> None:
    assert hamath.parse_percent("99.9 %") == 99.9
    assert hamath.parse_percent("99,95") == 99.95
    assert hamath.parse_percent(99) == 99.0


def test_format_duration() -> None:
    assert hamath.format_duration(30) == "30 s"
    assert hamath.format_duration(3156) == "52 min 36 s"
    assert hamath.format_duration(31557.6) == "8 h 46 min"
    assert hamath.format_duration(4 * 86400) == "4 d 0 h"


def test_drbd_protocol_latencies() -> None:
    latency = {p: replmath.drbd_write(p, 0.2, 0.5, 0.2).latency_ms for p in replmath.PROTOCOLS}
    assert latency == pytest.approx({"A": 0.2, "B": 0.5, "C": 0.7})
    with pytest.raises(InputError):
        replmath.drbd_write("D", 1, 1, 1)


def test_live_migration_converges_or_says_it_does_not() -> None:
    idle = replmath.live_migration(1024, 0, 128, 300)
    assert idle.converged and idle.total_s == pytest.approx(8) and idle.downtime_ms == 0
    busy = replmath.live_migration(4096, 50, 110, 300)
    assert busy.converged and len(busy.rounds) > 1
    hopeless = replmath.live_migration(4096, 500, 110, 300)
    assert not hopeless.converged
    with pytest.raises(InputError):
        replmath.live_migration(4096, 50, 0, 300)

"""Availability arithmetic for the course widgets and quizzes, kept free of widget code so it can be tested.

Availability is handled as a percentage (99.9, not 0.999) because that is how SLAs and the widgets state it.
Every function validates its input and raises InputError with a sentence a student can act on; the widgets
show that sentence instead of a traceback.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

# A year of 365.25 days averages out leap years; a month is a twelfth of that. These are the conventions
# behind the usual "nines" tables (99.9 % -> 8.77 h a year, 43.8 min a month, 10.1 min a week).
SECONDS_PER_PERIOD: dict[str, float] = {
    "year": 365.25 * 86400,
    "month": 365.25 * 86400 / 12,
    "week": 7 * 86400,
    "day": 86400,
}


class InputError(ValueError):
    """A value a student typed that cannot be right; the message says why and what is allowed."""


def check_availability(percent: float, name: str = "availability") -> float:
    """Return percent if it is a possible availability, else raise InputError."""
    if not isinstance(percent, int | float) or isinstance(percent, bool) or math.isnan(percent):
        raise InputError(f"The {name} must be a number (a percentage such as 99.9).")
    if percent < 0 or percent > 100:
        raise InputError(f"The {name} must be between 0 % and 100 %, not {percent:g} %.")
    return float(percent)


def check_positive(value: float, name: str, allow_zero: bool = False) -> float:
    """Return value if it is a finite number > 0 (or >= 0), else raise InputError."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise InputError(f"The {name} must be a finite number.")
    if value < 0 or (value == 0 and not allow_zero):
        bound = "zero or more" if allow_zero else "more than zero"
        raise InputError(f"The {name} must be {bound}, not {value:g}.")
    return float(value)


def check_period(period: str) -> float:
    if period not in SECONDS_PER_PERIOD:
        raise InputError(f"Unknown period {period!r}; use one of {', '.join(SECONDS_PER_PERIOD)}.")
    return SECONDS_PER_PERIOD[period]


def downtime_seconds(percent: float, period: str = "year") -> float:
    """Allowed downtime in seconds per period for an availability given in percent."""
    return (100.0 - check_availability(percent)) / 100.0 * check_period(period)


def downtime_table(percent: float) -> dict[str, float]:
    """Allowed downtime in seconds for every period, e.g. {"year": 31557.6, ...} for 99.9 %."""
    return {period: downtime_seconds(percent, period) for period in SECONDS_PER_PERIOD}


def availability_from_downtime(seconds: float, period: str = "year") -> float:
    """The availability in percent that allows `seconds` of downtime per period."""
    length = check_period(period)
    check_positive(seconds, "downtime", allow_zero=True)
    if seconds > length:
        raise InputError(f"A {period} has only {format_duration(length)}; the downtime cannot be longer.")
    return 100.0 * (1.0 - seconds / length)


def nines(percent: float) -> float:
    """How many nines an availability has: 99.9 % -> 3.0, 99.95 % -> about 3.3. 100 % is infinite."""
    unavailable = 1.0 - check_availability(percent) / 100.0
    return math.inf if unavailable <= 0 else -math.log10(unavailable)


def availability_from_nines(count: float) -> float:
    """3 nines -> 99.9 %; fractional counts are allowed (3.5 nines -> about 99.968 %)."""
    check_positive(count, "number of nines", allow_zero=True)
    return 100.0 * (1.0 - 10.0 ** (-count))


def availability_from_mtbf(mtbf: float, mttr: float) -> float:
    """Steady-state availability MTBF / (MTBF + MTTR), in percent; both times in the same unit."""
    check_positive(mtbf, "MTBF")
    check_positive(mttr, "MTTR", allow_zero=True)
    return 100.0 * mtbf / (mtbf + mttr)


def _fractions(percents: Iterable[float]) -> list[float]:
    values = [check_availability(p, "component availability") / 100.0 for p in percents]
    if not values:
        raise InputError("Give at least one component.")
    return values


def series(percents: Sequence[float]) -> float:
    """All components are needed (a chain): the availabilities multiply, so the chain is weaker than each."""
    return 100.0 * math.prod(_fractions(percents))


def parallel(percents: Sequence[float]) -> float:
    """Any one component is enough (redundancy): the system is down only when all are down at once.

    This assumes independent failures and perfect, instant failover; a real cluster gets less.
    """
    return 100.0 * (1.0 - math.prod(1.0 - a for a in _fractions(percents)))


def format_duration(seconds: float) -> str:
    """Human-readable duration with the two largest useful units: '8 h 45 min', '52.6 min', '0.9 s'."""
    if seconds < 0 or not math.isfinite(seconds):
        raise InputError("A duration must be a finite number of seconds, zero or more.")
    if seconds < 60:
        return f"{seconds:.3g} s"
    if seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        return f"{int(minutes)} min {rest:.0f} s"
    if seconds < 86400:
        hours, rest = divmod(seconds, 3600)
        return f"{int(hours)} h {rest / 60:.0f} min"
    days, rest = divmod(seconds, 86400)
    return f"{int(days)} d {rest / 3600:.0f} h"


def parse_percent(text: str | float) -> float:
    """Read a percentage a student typed: '99.9', '99.9 %', '99,9' (decimal comma). Raises InputError."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return check_availability(float(text))
    cleaned = str(text).strip().rstrip("%").strip().replace(" ", "")
    if cleaned.count(",") == 1 and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        raise InputError(f"{str(text).strip()!r} is not a percentage; type a number such as 99.95.") from None
    return check_availability(value)


def chain(stages: Sequence[tuple[float, int]]) -> tuple[float, list[float]]:
    """A service path of stages in series, each stage made of `count` redundant copies in parallel.

    stages: (availability of one copy in percent, number of copies). Returns the total availability and
    each stage's availability, so a widget can point at the weakest link.
    """
    if not stages:
        raise InputError("Give at least one stage.")
    per_stage = []
    for percent, count in stages:
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise InputError(f"Each stage needs at least one copy, not {count!r}.")
        per_stage.append(parallel([percent] * count))
    return series(per_stage), per_stage

"""The rule state machine (SPEC §10): one decision, used by the engine and the preview.

``decide(policy, state, value, num_with_outcome, now)`` takes a rule's policy, where
the rule stood for a version, and one evaluation; it returns where the rule stands next
and what happened (an incident fired, was updated or resolved, or nothing). It touches
no database: ``alerting.rules`` applies its answer to the rows (under a row lock), and
``replay`` runs it over a stored history for ``POST alert-rules/preview/``, so that the
preview and the engine cannot disagree.
"""
from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from alerting.choices import Comparison, RuleStateName

COMPARISONS = {
    Comparison.LT: operator.lt,
    Comparison.LE: operator.le,
    Comparison.GT: operator.gt,
    Comparison.GE: operator.ge,
    Comparison.EQ: operator.eq,
    Comparison.NE: operator.ne,
}


class Event(StrEnum):
    """What one evaluation did to the incident of a rule and version."""

    NOTHING = "nothing"  # not firing and not starting to (ok, or pending)
    FIRE = "fire"  # a new incident opens
    UPDATE = "update"  # the open incident saw its condition again
    HOLD = "hold"  # firing, the condition stopped holding, but not past the recovery threshold
    RESOLVE = "resolve"  # the open incident ends


@dataclass(frozen=True)
class Policy:
    """The parts of a rule that decide when it fires and recovers."""

    comparison: str
    threshold: float
    recovery_threshold: float | None = None
    pending_evaluations: int = 1
    cooldown_minutes: int = 0
    min_value: float | None = None
    max_value: float | None = None
    min_samples: int | None = None

    @classmethod
    def of(cls, rule) -> Policy:
        conditions = rule.conditions if isinstance(rule.conditions, dict) else {}
        return cls(
            comparison=rule.comparison,
            threshold=rule.threshold,
            recovery_threshold=rule.recovery_threshold,
            pending_evaluations=max(int(rule.pending_evaluations or 1), 1),
            cooldown_minutes=int(rule.cooldown_minutes or 0),
            min_value=conditions.get("min_value"),
            max_value=conditions.get("max_value"),
            min_samples=conditions.get("min_samples"),
        )


@dataclass(frozen=True)
class State:
    """Where a rule stands for one version (the RuleState row without its keys)."""

    state: str = RuleStateName.OK
    since: datetime | None = None
    consecutive: int = 0
    last_value: float | None = None
    last_resolved_at: datetime | None = None


def comparison_holds(comparison: str, value: float, threshold: float) -> bool:
    compare = COMPARISONS.get(comparison)
    if compare is None:
        raise ValueError(f"unknown comparison {comparison!r}")
    return compare(value, threshold)


def as_number(metric_value) -> float | None:
    """A finite float, or None (null, text, NaN, inf: a value that never fires)."""
    if metric_value is None or isinstance(metric_value, str):
        return None
    try:
        value = float(metric_value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def condition_holds(policy: Policy, value: float) -> bool:
    """The rule's comparison holds and the value lies within its min/max conditions."""
    if policy.min_value is not None and value < policy.min_value:
        return False
    if policy.max_value is not None and value > policy.max_value:
        return False
    return comparison_holds(policy.comparison, value, policy.threshold)


def recovered(policy: Policy, value: float) -> bool:
    """Whether a firing rule may resolve on ``value`` (the condition no longer holding)."""
    if condition_holds(policy, value):
        return False
    if policy.recovery_threshold is None:
        return True
    if policy.comparison in (Comparison.LT, Comparison.LE):
        return value >= policy.recovery_threshold
    return value <= policy.recovery_threshold


def enough_samples(policy: Policy, num_with_outcome: int | None) -> bool:
    """False when the rule asks for more labelled predictions than the window has.

    A value pushed from outside (``num_with_outcome`` None) is taken at its word.
    """
    if policy.min_samples is None or num_with_outcome is None:
        return True
    return num_with_outcome >= policy.min_samples


def cooldown_over(policy: Policy, state: State, now: datetime) -> bool:
    if state.last_resolved_at is None:
        return True
    return now >= state.last_resolved_at + timedelta(minutes=policy.cooldown_minutes)


def decide(
    policy: Policy, state: State, metric_value, num_with_outcome: int | None, now: datetime
) -> tuple[State, Event]:
    """The next state of a rule for one version after one evaluation, and what happened.

    A null value, or too few labels, decides nothing either way (the state is kept).
    """
    value = as_number(metric_value)
    if value is None or not enough_samples(policy, num_with_outcome):
        return state, Event.NOTHING
    holds = condition_holds(policy, value)
    if state.state == RuleStateName.FIRING:
        if holds:
            return replace(state, consecutive=state.consecutive + 1, last_value=value), Event.UPDATE
        if recovered(policy, value):
            return State(RuleStateName.OK, now, 0, value, last_resolved_at=now), Event.RESOLVE
        return replace(state, last_value=value), Event.HOLD
    if not holds:
        return State(RuleStateName.OK, now if state.state != RuleStateName.OK else state.since,
                     0, value, state.last_resolved_at), Event.NOTHING
    consecutive = state.consecutive + 1 if state.state == RuleStateName.PENDING else 1
    if consecutive >= policy.pending_evaluations and cooldown_over(policy, state, now):
        return State(RuleStateName.FIRING, now, consecutive, value,
                     state.last_resolved_at), Event.FIRE
    since = state.since if state.state == RuleStateName.PENDING else now
    return State(RuleStateName.PENDING, since, consecutive, value,
                 state.last_resolved_at), Event.NOTHING


@dataclass
class Incident:
    """One incident of a replay: when it opened, when it ended (None: still open), its worst."""

    start: datetime
    end: datetime | None = None
    peak_value: float | None = None


@dataclass
class Replay:
    incidents: list[Incident] = field(default_factory=list)
    series: list[tuple[datetime, float | None]] = field(default_factory=list)


def worse(policy: Policy, a: float | None, b: float | None) -> float | None:
    """The value further into the alerting side (the peak of an incident)."""
    if a is None:
        return b
    if b is None:
        return a
    if policy.comparison in (Comparison.LT, Comparison.LE):
        return min(a, b)
    if policy.comparison in (Comparison.GT, Comparison.GE):
        return max(a, b)
    return a


def replay(policy: Policy, points, state: State | None = None) -> Replay:
    """Run ``decide`` over ``points`` — (moment, value, num_with_outcome), in time order.

    The incidents it opens and ends, and the series of values it saw.
    """
    state = state or State()
    result = Replay()
    open_incident = None
    for moment, metric_value, num_with_outcome in points:
        value = as_number(metric_value)
        result.series.append((moment, value))
        state, event = decide(policy, state, value, num_with_outcome, moment)
        if event == Event.FIRE:
            open_incident = Incident(start=moment, peak_value=value)
            result.incidents.append(open_incident)
        elif event == Event.UPDATE and open_incident is not None:
            open_incident.peak_value = worse(policy, open_incident.peak_value, value)
        elif event == Event.RESOLVE and open_incident is not None:
            open_incident.end = moment
            open_incident = None
    return result

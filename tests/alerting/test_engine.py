"""The rule state machine on hand-made values (alerting.engine): what the engine and the
preview both run."""
from datetime import UTC, datetime, timedelta

import pytest

from alerting.choices import RuleStateName
from alerting.engine import Event, Policy, State, decide, replay

T0 = datetime(2026, 3, 2, tzinfo=UTC)


def hours(values, labelled=100):
    return [(T0 + timedelta(hours=h), v, labelled) for h, v in enumerate(values)]


def spans(result):
    def hour(moment):
        return None if moment is None else int((moment - T0).total_seconds() // 3600)
    return [(hour(i.start), hour(i.end)) for i in result.incidents]


def policy(**overrides):
    return Policy(**{"comparison": "<", "threshold": 0.8, **overrides})


def test_pending_fires_on_the_nth_consecutive_bad_value():
    assert spans(replay(policy(pending_evaluations=3), hours([0.5, 0.5, 0.5, 0.5]))) == [(2, None)]


def test_a_good_value_resets_pending():
    result = replay(policy(pending_evaluations=3), hours([0.5, 0.5, 0.9, 0.5, 0.5, 0.5, 0.9]))
    assert spans(result) == [(5, 6)]


def test_recovery_threshold_holds_between_the_thresholds():
    result = replay(policy(recovery_threshold=0.85), hours([0.7, 0.82, 0.84, 0.85, 0.7]))
    assert spans(result) == [(0, 3), (4, None)]


def test_cooldown_counts_from_the_resolution():
    values = [0.5, 0.9, 0.5, 0.9, 0.5, 0.9, 0.5]
    assert spans(replay(policy(cooldown_minutes=0), hours(values))) == [
        (0, 1), (2, 3), (4, 5), (6, None)]
    assert spans(replay(policy(cooldown_minutes=180), hours(values))) == [(0, 1), (4, 5)]


def test_cooldown_with_the_condition_still_holding_fires_once_it_is_over():
    result = replay(policy(cooldown_minutes=120), hours([0.5, 0.9, 0.5, 0.5, 0.5]))
    assert spans(result) == [(0, 1), (3, None)]


def test_null_values_and_too_few_labels_decide_nothing():
    p = policy(min_samples=30)
    state = State(RuleStateName.FIRING, T0, 3, 0.5)
    assert decide(p, state, None, 100, T0) == (state, Event.NOTHING)
    assert decide(p, state, 0.9, 10, T0) == (state, Event.NOTHING)
    assert decide(p, state, float("nan"), 100, T0) == (state, Event.NOTHING)


def test_min_and_max_value_bound_the_condition():
    p = policy(min_value=0.1)
    assert decide(p, State(), 0.05, None, T0)[1] == Event.NOTHING
    assert decide(p, State(), 0.5, None, T0)[1] == Event.FIRE


@pytest.mark.parametrize("comparison, recovery, values, expected", [
    (">", 0.1, [0.3, 0.15, 0.1], [(0, 2)]),
    (">=", 0.1, [0.2, 0.19, 0.05], [(0, 2)]),
    ("<=", 0.9, [0.8, 0.85, 0.95], [(0, 2)]),
])
def test_recovery_on_each_side(comparison, recovery, values, expected):
    p = Policy(comparison=comparison, threshold=0.2 if ">" in comparison else 0.8,
               recovery_threshold=recovery)
    assert spans(replay(p, hours(values))) == expected


def test_the_incident_peak_is_its_worst_value():
    result = replay(policy(), hours([0.7, 0.4, 0.6, 0.9]))
    assert result.incidents[0].peak_value == 0.4
    assert [v for _, v in result.series] == [0.7, 0.4, 0.6, 0.9]

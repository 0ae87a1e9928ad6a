"""Helpers of the MLOps tests: predictions with given features, in bulk."""
import itertools
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from predictions.models import ModelVersion, Prediction
from tests.conftest import store_predictions

_ids = itertools.count(1)


@pytest.fixture
def add_predictions(db):
    """add_predictions(version, features_list, start, end) spreads the rows over [start, end)."""

    def add(version, features_list, start, end, **fields):
        step = (end - start) / max(len(features_list), 1)
        rows = [
            Prediction(
                prediction_id=f"m{next(_ids):09d}",
                model_version=version,
                timestamp=start + step * i,
                predicted_outcome=fields.get("predicted_outcome", 1),
                confidence=fields.get("confidence", 0.8),
                features=features,
            )
            for i, features in enumerate(features_list)
        ]
        store_predictions(rows, batch_size=1000)
        return rows

    return add


@pytest.fixture
def drift_windows():
    """(reference_start, reference_end, current_start, current_end): a week, then the last hour."""
    now = timezone.now()
    return now - timedelta(days=10), now - timedelta(days=3), now - timedelta(hours=1), now


def numeric_rows(rng, n, shift=0.0, name="x"):
    return [{name: float(v)} for v in rng.normal(shift, 1.0, n)]


def register(version="v1", model_name="churn", **fields):
    return ModelVersion.objects.create(version=version, model_name=model_name, **fields)


@pytest.fixture
def rng():
    return np.random.default_rng(20261124)

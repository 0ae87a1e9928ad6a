"""Pages of the predictions app: thin views over the metric services."""
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max
from django.shortcuts import render

from predictions.models import Prediction


@login_required
def dashboard(request):
    versions = (
        Prediction.objects.values("model_version")
        .annotate(num_predictions=Count("id"), last_seen=Max("timestamp"))
        .order_by("model_version")
    )
    return render(request, "predictions/dashboard.html", {"versions": versions})

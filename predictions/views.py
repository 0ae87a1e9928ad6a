"""Pages of the predictions app.

The dashboard and the model version pages are in ``dashboard.views``: they show open
alerts beside the metrics, and ``predictions`` never imports ``alerting``. Their data
comes from ``predictions.overview`` and ``predictions.metrics``, their charts from
``predictions.charts``.
"""

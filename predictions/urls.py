"""Pages of the predictions app.

The dashboard (``/``) and the model version pages (``/models/<version>/``) show alerts
beside the metrics, so they are served by ``alerting.urls`` (alerting reads predictions,
never the reverse); their templates are under ``templates/predictions/``.
"""

urlpatterns = []

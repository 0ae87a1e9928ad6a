from django.apps import AppConfig


class PredictionsConfig(AppConfig):
    name = "predictions"
    verbose_name = "Predictions and metrics"

    def ready(self):
        from predictions import rollup_receivers

        rollup_receivers.connect()

from django.apps import AppConfig


class AlertingConfig(AppConfig):
    name = "alerting"
    verbose_name = "Alerting"

    def ready(self):
        # The rules watch what predictions' API computes: predictions sends the signals
        # (it may not import alerting), alerting listens.
        from alerting import receivers
        from predictions.signals import drift_report_computed, snapshots_computed

        snapshots_computed.connect(
            receivers.evaluate_computed_snapshots, dispatch_uid="alerting.snapshots_computed"
        )
        drift_report_computed.connect(
            receivers.evaluate_computed_drift_report, dispatch_uid="alerting.drift_computed"
        )

"""monitoring_client: send predictions and outcomes to the model-monitoring site.

    from monitoring_client import Client
    client = Client("https://monitor.example.com", token="…")
    client.log_prediction("req-42", "v3", predicted_outcome=1, confidence=0.91)

Standard library only; no Django. See Client for the behaviour when the site is down.
"""
from monitoring_client.client import Client
from monitoring_client.transport import Response

__all__ = ["Client", "Response"]
__version__ = "0.1.0"

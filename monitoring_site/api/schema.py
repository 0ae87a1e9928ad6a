"""Schema components shared by every app's API, so each has one name in the OpenAPI document."""
from rest_framework import serializers


class DetailSerializer(serializers.Serializer):
    """The error document every endpoint answers with: {"detail": "…"}."""

    detail = serializers.CharField()

"""What every view of the predictions API shares: documented error answers, query parsing."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework.exceptions import ValidationError

from monitoring_site.api.schema import DetailSerializer

AUTH_ERRORS = {
    401: OpenApiResponse(DetailSerializer, description="Not authenticated."),
    403: OpenApiResponse(DetailSerializer, description="No permission."),
}
READ_ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="Bad query parameters."),
    401: AUTH_ERRORS[401],
}


def parse_query(serializer_class, request):
    """Validated query parameters, each given at most once.

    Parameters the endpoint does not declare were refused before the view ran
    (monitoring_site.api.query), so a misspelling is a 400 naming it, never ignored.
    """
    fields = serializer_class().fields
    errors = {
        name: ["Give this parameter once."]
        for name in fields
        if len(request.query_params.getlist(name)) > 1
    }
    if errors:
        raise ValidationError(errors)
    # A plain dict, not the QueryDict: DRF would drop blank values of optional fields
    # silently, where the schema says they are invalid.
    params = serializer_class(data=request.query_params.dict())
    params.is_valid(raise_exception=True)
    return params.validated_data

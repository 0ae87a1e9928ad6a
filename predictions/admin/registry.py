"""Admin of the registry, drift reports and retraining decisions (SPEC §8).

Stages change only through ``registry.promote`` (the admin's promote actions call it with
the admin user), so that every move is on the timeline and production stays unique.
"""
from django import forms
from django.contrib import admin, messages
from django.db import DatabaseError

from predictions.choices import Stage
from predictions.models import DriftReport, ModelStageChange, ModelVersion
from predictions.registry import RegistryError, promote, register_version


class StageChangeInline(admin.TabularInline):
    model = ModelStageChange
    extra = 0
    can_delete = False
    fields = ["changed_at", "from_stage", "to_stage", "changed_by", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


def _promote_action(stage):
    def promote_selected(modeladmin, request, queryset):
        by = request.user.get_username()
        moved = 0
        # One version of a model can be in production: promote in a stable order, the
        # last of each model wins (and the admin says so).
        for version in queryset.order_by("model_name", "created_at", "pk"):
            try:
                promote(version.version, stage, by=by, note="admin")
            except (RegistryError, DatabaseError) as error:
                modeladmin.message_user(
                    request, f"{version.version}: {error}", level=messages.ERROR
                )
            else:
                moved += 1
        modeladmin.message_user(request, f"{moved} version(s) moved to {stage}.")

    promote_selected.__name__ = f"promote_to_{stage}"
    promote_selected.short_description = f"Promote selected versions to {stage}"
    promote_selected.allowed_permissions = ("change",)
    return promote_selected


class ModelVersionForm(forms.ModelForm):
    """Refuses a model name change that would give a model two production versions."""

    class Meta:
        model = ModelVersion
        fields = "__all__"  # noqa: DJ007 (the admin's fieldsets decide)

    def clean_model_name(self):
        model_name = self.cleaned_data["model_name"]
        version = self.instance
        if (
            version.pk
            and version.stage == Stage.PRODUCTION
            and model_name != version.model_name
            and ModelVersion.objects.filter(model_name=model_name, stage=Stage.PRODUCTION)
            .exclude(pk=version.pk)
            .exists()
        ):
            raise forms.ValidationError(
                f"{model_name!r} already has a version in production; archive one first."
            )
        return model_name


class ModelVersionAdmin(admin.ModelAdmin):
    form = ModelVersionForm
    list_display = ["version", "model_name", "stage", "algorithm", "accuracy", "f1_score",
                    "promoted_at", "promoted_by", "created_at"]
    list_filter = ["stage", "model_name", "algorithm"]
    search_fields = ["version", "model_name", "mlflow_run_id"]
    readonly_fields = ["stage", "promoted_at", "promoted_by", "created_at", "updated_at"]
    date_hierarchy = "created_at"
    inlines = [StageChangeInline]
    actions = [_promote_action(Stage.STAGING), _promote_action(Stage.PRODUCTION),
               _promote_action(Stage.ARCHIVED)]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        # A new version enters the timeline as "registered", like over the API.
        fields = {f.name: getattr(obj, f.name) for f in ModelVersion._meta.concrete_fields
                  if f.editable and f.name not in ("id", "stage")}
        created = register_version(fields, by=request.user.get_username())
        obj.pk = created.pk
        obj.refresh_from_db()


class ModelStageChangeAdmin(admin.ModelAdmin):
    list_display = ["version", "from_stage", "to_stage", "changed_at", "changed_by", "note"]
    list_filter = ["to_stage", "from_stage"]
    search_fields = ["version__version", "changed_by"]
    date_hierarchy = "changed_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class DriftReportAdmin(admin.ModelAdmin):
    list_display = ["model_version", "created_at", "num_features", "num_drifted_features",
                    "feature_drift_ratio", "drift_score", "dataset_drift_detected"]
    list_filter = ["dataset_drift_detected", "model_version"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in DriftReport._meta.fields]

    def has_add_permission(self, request):
        return False


class RetrainingDecisionAdmin(admin.ModelAdmin):
    list_display = ["model_version", "timestamp", "action", "trigger_reason",
                    "labeled_samples", "coverage_pct", "action_ref", "recorded_by"]
    list_filter = ["action", "trigger_reason", "model_version"]
    search_fields = ["model_version", "action_ref__action_id"]
    list_select_related = ["action_ref"]
    raw_id_fields = ["action_ref"]
    date_hierarchy = "timestamp"

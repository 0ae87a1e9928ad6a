"""Forms of the alerting app: the rule editor of the admin, alert notes and list filters."""
from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.html import format_html, format_html_join

from alerting.choices import AlertStatus, ChannelName, Severity
from alerting.lifecycle import NOTE_MAX_LENGTH
from alerting.models import AlertRule
from alerting.rule_checks import AGGREGATES
from predictions.choices import MetricName

# The typed form fields that stand for the keys of AlertRule.conditions.
CONDITION_FIELDS = (
    "min_value", "max_value", "min_samples", "webhook_url", "aggregate", "webhook_secret",
    "pagerduty_routing_key",
)
# A pseudo-status of the alert list filter: open or acknowledged.
UNRESOLVED = "unresolved"


class MetricNameInput(forms.TextInput):
    """A text box that suggests the §4 metric names; ``custom:<name>`` is typed freely."""

    def render(self, name, value, attrs=None, renderer=None):
        list_id = f"{name}-suggestions"
        box = super().render(name, value, {**(attrs or {}), "list": list_id}, renderer)
        options = format_html_join("", '<option value="{}">', ((v,) for v in MetricName.values))
        return format_html('{}<datalist id="{}">{}</datalist>', box, list_id, options)


class AlertRuleForm(forms.ModelForm):
    """Edit a rule with checkboxes for channels and one typed field per condition.

    The typed fields are folded into ``AlertRule.conditions`` before the model's own
    ``clean()`` (the one validation of a rule, shared with the API) runs; its messages
    about conditions are shown beside the field they name.
    """

    channels = forms.MultipleChoiceField(
        choices=ChannelName.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Where the alert is sent. None: the alert is only recorded.",
    )
    min_value = forms.FloatField(
        required=False,
        help_text="Fire only when the metric value is at least this (optional).",
    )
    max_value = forms.FloatField(
        required=False,
        help_text="Fire only when the metric value is at most this (optional).",
    )
    min_samples = forms.IntegerField(
        required=False,
        min_value=0,
        help_text="Fire only when the snapshot has at least this many labelled predictions.",
    )
    aggregate = forms.ChoiceField(
        choices=[("", "—"), *((a, a) for a in AGGREGATES)],
        required=False,
        help_text="custom:<name> rules only: how the window's pushed values are combined "
        "(default avg).",
    )
    webhook_url = forms.URLField(
        required=False,
        assume_scheme="https",
        help_text='Required with the "webhook" channel: the URL the alert is POSTed to.',
    )
    webhook_secret = forms.CharField(
        required=False,
        max_length=200,
        help_text="Signs the webhook's POSTs (X-Monitoring-Signature); blank: "
        "MONITORING_WEBHOOK_SECRET.",
    )
    pagerduty_routing_key = forms.CharField(
        required=False,
        max_length=200,
        help_text='The "pagerduty" channel\'s Events API v2 routing key; blank: '
        "PAGERDUTY_ROUTING_KEY.",
    )

    class Meta:
        model = AlertRule
        fields = [
            "rule_id", "name", "description", "metric_name", "comparison",
            "threshold", "severity", "component", "model_version", "enabled",
            "cooldown_minutes", "pending_evaluations", "recovery_threshold",
            "repeat_interval_minutes", "window_minutes", "channels",
        ]
        widgets = {"metric_name": MetricNameInput}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "pending_evaluations" in self.fields:
            # Blank means the default (1), as for a rule created over the API.
            self.fields["pending_evaluations"].required = False
        conditions = self.instance.conditions if isinstance(self.instance.conditions, dict) else {}
        for name in CONDITION_FIELDS:
            if name in conditions and name in self.fields and not self.is_bound:
                self.initial[name] = conditions[name]
        if "channels" in self.fields and not self.is_bound:
            self.initial["channels"] = list(self.instance.channels or [])

    def clean_pending_evaluations(self):
        value = self.cleaned_data.get("pending_evaluations")
        return 1 if value is None else value

    def clean(self):
        cleaned = super().clean()
        conditions = {}
        for name in CONDITION_FIELDS:
            value = cleaned.get(name)
            if value not in (None, ""):
                conditions[name] = value
        # The model's clean() (run next, by _post_clean) validates the assembled conditions.
        self.instance.conditions = conditions
        return cleaned

    def _update_errors(self, errors):
        """Show the model's ``conditions`` message beside the condition it names."""
        if hasattr(errors, "error_dict") and "conditions" in errors.error_dict:
            error_dict = dict(errors.error_dict)
            for error in error_dict.pop("conditions"):
                text = " ".join(error.messages)
                named = [name for name in CONDITION_FIELDS if name in text]
                target = min(named, key=text.index) if named else NON_FIELD_ERRORS
                error_dict.setdefault(target, []).append(error)
            errors = ValidationError(error_dict)
        super()._update_errors(errors)


class AlertNoteForm(forms.Form):
    """The optional note of an acknowledgment or a resolution."""

    note = forms.CharField(
        required=False,
        max_length=NOTE_MAX_LENGTH,
        strip=True,
        widget=forms.TextInput(attrs={"placeholder": "Note (optional)"}),
    )


class AlertFilterForm(forms.Form):
    """The filters of the alert list page (GET)."""

    severity = forms.ChoiceField(
        required=False, choices=[("", "Any severity"), *Severity.choices]
    )
    status = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Any status"),
            (UNRESOLVED, "Unresolved (open or acknowledged)"),
            *AlertStatus.choices,
        ],
    )
    # A select of the versions alerts carry (a link may still name any version).
    model_version = forms.CharField(required=False, max_length=64, widget=forms.Select)
    component = forms.CharField(required=False, max_length=64)

    def __init__(self, *args, versions=(), **kwargs):
        super().__init__(*args, **kwargs)
        chosen = (self.data.get("model_version") or "") if self.is_bound else ""
        known = list(versions)
        if chosen and chosen not in known:
            known.append(chosen)
        self.fields["model_version"].widget.choices = [("", "Any version")] + [
            (v, v) for v in sorted(known)
        ]

    def filter(self, alerts):
        """``alerts`` narrowed to the valid filters given (invalid ones are ignored)."""
        if not self.is_valid():
            return alerts
        for name in ("severity", "status", "model_version", "component"):
            value = self.cleaned_data.get(name)
            if name == "status" and value == UNRESOLVED:
                alerts = alerts.unresolved()
            elif value:
                alerts = alerts.filter(**{name: value})
        return alerts

"""The alerting app's admin: every model it shows, registered here in one place.

Django's admin autodiscovery imports ``alerting.admin``; the ModelAdmin classes live in
the modules beside this one and are registered explicitly below, not as a side effect of
importing them.
"""
from django.contrib import admin

from alerting.admin.actions import AgentActionAdmin
from alerting.admin.alerts import AlertAdmin, DeliveryAdmin, RuleStateAdmin, SilenceAdmin
from alerting.admin.rules import AlertRuleAdmin
from alerting.models import AgentAction, Alert, AlertRule, Delivery, RuleState, Silence

admin.site.register(AlertRule, AlertRuleAdmin)
admin.site.register(Alert, AlertAdmin)
admin.site.register(Delivery, DeliveryAdmin)
admin.site.register(RuleState, RuleStateAdmin)
admin.site.register(Silence, SilenceAdmin)
admin.site.register(AgentAction, AgentActionAdmin)

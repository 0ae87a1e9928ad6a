"""The alerting app's admin: every model it shows, registered here in one place.

Django's admin autodiscovery imports ``alerting.admin``; the ModelAdmin classes live in
the modules beside this one and are registered explicitly below, not as a side effect of
importing them.
"""
from django.contrib import admin

from alerting.admin.actions import AgentActionAdmin
from alerting.admin.alerts import AlertAdmin, DeliveryAdmin, RuleCooldownAdmin
from alerting.admin.rules import AlertRuleAdmin
from alerting.models import AgentAction, Alert, AlertRule, Delivery, RuleCooldown

admin.site.register(AlertRule, AlertRuleAdmin)
admin.site.register(Alert, AlertAdmin)
admin.site.register(Delivery, DeliveryAdmin)
admin.site.register(RuleCooldown, RuleCooldownAdmin)
admin.site.register(AgentAction, AgentActionAdmin)

"""Forms of the dispatch pages. They only parse input; the services validate and write."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fupin.dispatch.choices import AnswerWay, Category, Channel, Urgency
from fupin.dispatch.models import RoutingRule, WorkOrderType
from fupin.geo.pickers import village_choices


def _departments():
    from fupin.org.models import Department

    return Department.objects.filter(is_active=True).order_by("order", "code")


class OrderForm(forms.Form):
    order_type = forms.ModelChoiceField(label=_("Type of need"), queryset=WorkOrderType.objects.none(),
                                        to_field_name="code")
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(label=_("Details"), widget=forms.Textarea(attrs={"rows": 4}), required=False)
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices, initial=Urgency.NORMAL)
    department = forms.ModelChoiceField(label=_("Department"), queryset=None, required=False, to_field_name="code",
                                        empty_label=_("By the routing rules"),
                                        help_text=_("Leave empty to let the routing rules choose."))
    place = forms.CharField(label=_("Place"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["order_type"].queryset = WorkOrderType.objects.filter(is_active=True)
        self.fields["department"].queryset = _departments()


class ActForm(forms.Form):
    action = forms.CharField(max_length=20)
    note = forms.CharField(required=False, max_length=4000)
    department = forms.CharField(required=False, max_length=30)
    handler = forms.IntegerField(required=False)
    satisfaction = forms.IntegerField(required=False)


class PinForm(forms.Form):
    household = forms.CharField(label=pgettext_lazy("dispatch", "Household"), max_length=64)
    reason = forms.CharField(label=_("Reason"), max_length=300)


class UnpinForm(forms.Form):
    reason = forms.CharField(label=_("Reason for unpinning"), max_length=300)


class PlanForm(forms.Form):
    title = forms.CharField(label=_("Plan title"), max_length=200)
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}), required=False)


class PlanItemForm(forms.Form):
    project = forms.CharField(label=_("Project"), max_length=200)
    department = forms.ModelChoiceField(label=_("Responsible unit"), queryset=None, to_field_name="code")
    responsible_person = forms.CharField(label=_("Responsible person"), max_length=50, required=False)
    deadline = forms.DateField(label=_("Deadline"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = _departments()


class EvidenceForm(forms.Form):
    evidence = forms.CharField(label=_("Evidence"), widget=forms.Textarea(attrs={"rows": 2}), max_length=4000)


class ReportForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices, initial=Urgency.NORMAL)
    household = forms.CharField(label=_("Household number"), max_length=64, required=False,
                                help_text=_("户编号; leave empty for a matter of the whole village."))
    village = forms.CharField(label=_("Village"), max_length=15, required=False, widget=forms.Select,
                              help_text=_("Leave empty for your own village or grid."))
    place = forms.CharField(label=_("Place"), max_length=200, required=False)
    reporter_name = forms.CharField(label=_("Reported by"), max_length=50, required=False)
    reporter_phone = forms.CharField(label=_("Phone"), max_length=30, required=False)
    content = forms.CharField(label=_("What was reported"), widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["village"].widget.choices = village_choices(user)


class AnswerForm(forms.Form):
    answer = forms.CharField(label=_("Answer given to the household"), widget=forms.Textarea(attrs={"rows": 3}))
    way = forms.ChoiceField(label=_("Answered by way of"), choices=AnswerWay.choices)


class ClassifyForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices)
    analysis = forms.CharField(label=_("Analysis"), widget=forms.Textarea(attrs={"rows": 2}), required=False)


class RuleForm(forms.ModelForm):
    class Meta:
        model = RoutingRule
        fields = ["priority", "name", "order_type", "cause", "measure_kind", "category", "area_prefix", "department",
                  "is_active", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = _departments()
        self.fields["order_type"].required = False
        for name, choices in (("cause", _cause_choices()), ("measure_kind", _measure_choices()),
                              ("category", [("", "—"), *Category.choices])):
            self.fields[name] = forms.ChoiceField(label=self.fields[name].label, choices=choices, required=False)


class TypeForm(forms.ModelForm):
    class Meta:
        model = WorkOrderType
        fields = ["name", "accept_days", "resolve_days", "escalate_days", "is_active"]


def _cause_choices():
    from fupin.registry.codes import CAUSE

    return [("", "—"), *CAUSE]


def _measure_choices():
    try:
        from fupin.assistance.choices import MeasureKind
    except ImportError:
        return [("", "—")]
    return [("", "—"), *MeasureKind.choices]

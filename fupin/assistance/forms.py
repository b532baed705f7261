"""Forms of the assistance pages. They only parse input; the services decide and write."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fupin.assistance.choices import (
    AreaPairingKind,
    BenefitForm,
    Colour,
    ErrandStatus,
    MeasureKind,
    MeasureStatus,
    RecordKind,
    UnitKind,
)
from fupin.assistance.conf import local_today
from fupin.assistance.models import Cadre, Policy, Unit

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TEXT = forms.Textarea(attrs={"rows": 3})
MAX_UPLOAD = 10 * 1024 * 1024
UPLOAD_TYPES = ("image/", "application/pdf")


def check_uploads(files) -> list[str]:
    """Problems with uploaded attachments (photos or PDF, at most 10 MB each)."""
    problems = []
    for f in files:
        if f.size > MAX_UPLOAD:
            problems.append(_("%(f_name)s: the file is larger than 10 MB") % {"f_name": f.name})
        elif not (f.content_type or "").startswith(UPLOAD_TYPES):
            problems.append(_("%(f_name)s: only photos or PDF can be uploaded") % {"f_name": f.name})
    return problems


def cadre_label(c: Cadre) -> str:
    return f"{c.name}({c.unit}{' ' + c.post if c.post else ''})"


class CadreSelect(forms.Select):
    """A select that renders only the chosen cadre; a search box beside it fills in the options (a county has
    thousands of cadres, too many for one list)."""

    template_name = "assistance/widgets/cadre_select.html"

    def optgroups(self, name, value, attrs=None):
        ids = [v for v in value if v and str(v).isdigit()]
        groups = [(None, [self.create_option(name, "", "—", not ids, 0)], 0)]
        for i, c in enumerate(Cadre.objects.filter(pk__in=ids).select_related("unit"), start=1):
            groups.append((None, [self.create_option(name, str(c.pk), cadre_label(c), True, i)], i))
        return groups


class CadreChoiceField(forms.ModelChoiceField):
    """A cadre chosen by id."""

    def label_from_instance(self, obj):
        return cadre_label(obj)


CADRE_LABEL = _("Cadre")


def cadre_field(required: bool = True, label=CADRE_LABEL) -> CadreChoiceField:
    return CadreChoiceField(queryset=Cadre.objects.filter(is_active=True).select_related("unit"), required=required,
                            label=label, widget=CadreSelect)


class RecordForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=RecordKind.choices, initial=RecordKind.VISIT,
                             widget=forms.RadioSelect)
    occurred_on = forms.DateField(label=_("Date"), widget=DATE)
    content = forms.CharField(label=_("What was done"), max_length=4000, widget=TEXT)
    needs = forms.CharField(label=_("Needs raised"), required=False, max_length=2000, widget=TEXT)
    cadre = forms.ChoiceField(label=_("Cadre"), required=False)
    lng = forms.FloatField(required=False, widget=forms.HiddenInput)
    lat = forms.FloatField(required=False, widget=forms.HiddenInput)
    gps_accuracy = forms.FloatField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, cadres: list[Cadre] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.cadres = {str(c.pk): c for c in cadres}
        self.fields["cadre"].choices = [("", "—")] + [(str(c.pk), f"{c.name}({c.unit})") for c in cadres]
        self.fields["occurred_on"].initial = local_today()

    def cleaned_cadre(self) -> Cadre | None:
        return self.cadres.get(self.cleaned_data.get("cadre") or "")


class ErrandForm(forms.Form):
    matter = forms.CharField(label=_("What"), max_length=200)
    office = forms.CharField(label=_("Office"), max_length=100, required=False)
    person = forms.ChoiceField(label=_("For whom"), required=False)
    opened_on = forms.DateField(label=_("Taken on"), widget=DATE)

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.members = {str(p.pk): p for p in members}
        self.fields["person"].choices = [("", "—")] + [(str(p.pk), p.name) for p in members]
        self.fields["opened_on"].initial = local_today()


class ErrandCloseForm(forms.Form):
    status = forms.ChoiceField(label=_("Result"), choices=[(ErrandStatus.DONE, ErrandStatus.DONE.label),
                                                           (ErrandStatus.FAILED, ErrandStatus.FAILED.label)])
    result = forms.CharField(label=_("What came of it"), max_length=2000, widget=TEXT)


class TermsForm(forms.Form):
    duty = forms.CharField(label=_("Duty"), max_length=200, required=False)
    post = forms.CharField(label=_("Post"), max_length=100, required=False)
    exit_commitment = forms.CharField(label=_("Exit commitment"), max_length=200, required=False)
    exit_target_year = forms.IntegerField(label=_("Target exit year"), required=False, min_value=2014,
                                          max_value=2035)


class PairingAssignForm(TermsForm):
    cadre = cadre_field(required=False)
    new_name = forms.CharField(label=_("or a new cadre: name"), max_length=50, required=False)
    new_phone = forms.CharField(label=_("phone"), max_length=30, required=False)
    new_unit = forms.ModelChoiceField(label=_("work unit"), queryset=Unit.objects.filter(is_active=True),
                                      required=False)
    new_post = forms.CharField(label=_("position"), max_length=50, required=False)
    start = forms.DateField(label=_("From"), widget=DATE, required=False)

    def clean(self):
        data = super().clean()
        if not data.get("cadre") and not data.get("new_name"):
            raise forms.ValidationError(_("Choose a cadre or enter a new one."))
        if not data.get("cadre") and not data.get("new_unit"):
            raise forms.ValidationError(_("A new cadre needs a work unit."))
        return data


class PairingReassignForm(forms.Form):
    cadre = cadre_field(label=_("New cadre"))
    reason = forms.CharField(label=_("Reason"), max_length=300)
    approver = forms.ChoiceField(label=_("Approved by"))
    start = forms.DateField(label=_("From"), widget=DATE, required=False)

    def __init__(self, *args, approvers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.approvers = {str(u.pk): u for u in approvers}
        self.fields["approver"].choices = [(str(u.pk), f"{u}({u.get_role_display()})") for u in approvers]

    def cleaned_approver(self):
        return self.approvers.get(self.cleaned_data.get("approver") or "")


class PairingEndForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)


class MeasureForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=MeasureKind.choices)
    title = forms.CharField(label=_("Measure"), max_length=200)
    detail = forms.CharField(label=_("Details"), required=False, widget=TEXT)
    responsible_name = forms.CharField(label=_("Responsible person"), max_length=100, required=False,
                                       help_text=_("Empty: the household's cadre"))
    target_date = forms.DateField(label=_("Target date"), widget=DATE)


class MeasureUpdateForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=MeasureStatus.choices)
    target_date = forms.DateField(label=_("Target date"), widget=DATE, required=False)
    evidence = forms.CharField(label=_("Evidence"), required=False, widget=TEXT)
    evidence_file = forms.FileField(label=_("Evidence file"), required=False)

    def clean_evidence_file(self):
        f = self.cleaned_data.get("evidence_file")
        if f:
            problems = check_uploads([f])
            if problems:
                raise forms.ValidationError(problems[0])
        return f


class SuggestionsForm(forms.Form):
    titles = forms.MultipleChoiceField(label=_("Suggested measures"), widget=forms.CheckboxSelectMultiple)
    target_date = forms.DateField(label=_("Target date"), widget=DATE)

    def __init__(self, *args, suggestions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["titles"].choices = [(s.title, f"{s.title} — {s.reason}") for s in suggestions]
        self.fields["titles"].initial = [s.title for s in suggestions]


class PlanGoalForm(forms.Form):
    goal = forms.CharField(label=_("Goal"), required=False, widget=TEXT)
    exit_target_year = forms.IntegerField(label=_("Target exit year"), required=False, min_value=2014,
                                          max_value=2035)


class ReceiptForm(forms.Form):
    policy = forms.ModelChoiceField(label=_("Policy"), queryset=Policy.objects.filter(is_active=True))
    received_on = forms.DateField(label=_("Received on"), widget=DATE)
    amount = forms.DecimalField(label=_("Amount (yuan)"), required=False, min_value=0, max_digits=12,
                                decimal_places=2, help_text=_("Empty: the policy's standard amount"))
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class PolicyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=MeasureKind.choices)
    department = forms.ModelChoiceField(label=_("Department"), required=False, queryset=None)
    form = forms.ChoiceField(label=_("Form of benefit"), choices=BenefitForm.choices)
    amount = forms.DecimalField(label=_("Standard amount (yuan)"), required=False, min_value=0, max_digits=10,
                                decimal_places=2)
    amount_unit = forms.CharField(label=_("per"), max_length=20, required=False)
    benefit = forms.CharField(label=_("Benefit"), max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        from fupin.org.models import Department

        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.filter(is_active=True)


class UnitForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=UnitKind.choices)
    phone = forms.CharField(label=_("Phone"), max_length=30, required=False)


class CadreForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("person", "Name"), max_length=50)
    unit = forms.ModelChoiceField(label=_("Work unit"), queryset=Unit.objects.filter(is_active=True))
    post = forms.CharField(label=_("Position"), max_length=50, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=30, required=False)


class AreaPairingForm(TermsForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=[c for c in AreaPairingKind.choices
                                                       if c[0] != AreaPairingKind.WORK_TEAM])
    division = forms.ChoiceField(label=_("Village or town"))
    cadre = cadre_field(required=False, label=_("Person"))
    unit = forms.ModelChoiceField(label=_("Unit or enterprise"), queryset=Unit.objects.filter(is_active=True),
                                  required=False)
    start = forms.DateField(label=_("From"), widget=DATE, required=False)

    def __init__(self, *args, divisions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.divisions = {d.code: d for d in divisions}
        self.fields["division"].choices = [(d.code, f"{d.name}{'(贫困村)' if d.is_poor_village else ''}")
                                           for d in divisions]


class AreaReassignForm(forms.Form):
    cadre = cadre_field(required=False, label=_("New person"))
    unit = forms.ModelChoiceField(label=_("New unit or enterprise"), queryset=Unit.objects.filter(is_active=True),
                                  required=False)
    reason = forms.CharField(label=_("Reason"), max_length=300)
    approver = forms.ChoiceField(label=_("Approved by"))

    def __init__(self, *args, approvers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.approvers = {str(u.pk): u for u in approvers}
        self.fields["approver"].choices = [(str(u.pk), f"{u}({u.get_role_display()})") for u in approvers]


class WorkTeamForm(forms.Form):
    village = forms.ChoiceField(label=_("Village"))
    unit = forms.ModelChoiceField(label=_("Dispatching unit"), queryset=Unit.objects.filter(is_active=True))
    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    leader = cadre_field(required=False, label=_("Team leader"))
    members = forms.CharField(label=_("Members"), required=False,
                              help_text=_("Names separated by commas; new names become cadres of the unit"))
    formed_on = forms.DateField(label=_("Formed on"), widget=DATE, required=False)

    def __init__(self, *args, villages=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.villages = {d.code: d for d in villages}
        self.fields["village"].choices = [(d.code, d.name) for d in villages]


class VillagePlanForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), min_value=2014, max_value=2035)
    projects = forms.CharField(label=_("Projects"), required=False, widget=TEXT)
    leading_industries = forms.CharField(label=_("Leading industries"), required=False, widget=TEXT)
    infrastructure = forms.CharField(label=_("Infrastructure"), required=False, widget=TEXT)
    targets = forms.CharField(label=_("Targets"), required=False, widget=TEXT)
    exit_target_year = forms.IntegerField(label=_("Target exit year"), required=False, min_value=2014,
                                          max_value=2035)


class ImportForm(forms.Form):
    file = forms.FileField(label=_("File (xlsx or csv)"))


class LightRulesForm(forms.Form):
    yellow_from_days = forms.IntegerField(label=_("Yellow from day"), min_value=1, max_value=365)
    red_from_days = forms.IntegerField(label=_("Red from day"), min_value=2, max_value=365)
    finding_days = forms.IntegerField(label=_("Days a comparison finding may stay unverified"), min_value=1,
                                      max_value=365)
    no_cadre_colour = forms.ChoiceField(label=_("Colour when no cadre"), choices=Colour.choices)
    overdue_measure_colour = forms.ChoiceField(label=_("Colour when a measure is overdue"), choices=Colour.choices)
    finding_colour = forms.ChoiceField(label=_("Colour when a finding is left unverified"), choices=Colour.choices)

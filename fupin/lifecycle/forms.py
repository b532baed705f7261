"""Forms of the procedure pages: the next step (fields follow the step's rules), a spot-check, a start, settings."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from fupin.lifecycle.choices import AttachmentKind, Decision
from fupin.lifecycle.definitions import GUARANTEES, VILLAGE_CONDITIONS, StepDef
from fupin.lifecycle.selectors import code_labels

REVIEW_STEPS = {"village_review", "committee_review", "town_review", "county_approval", "county_verification"}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files under one name; cleans to a list (empty when none)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"multiple": True}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


def _choices(key: str, blank: bool = True) -> list[tuple[str, str]]:
    items = list(code_labels(key).items())
    return ([("", "—")] if blank else []) + items


class StepForm(forms.Form):
    """The form for one step; `data_fields` are the names that go into the step's data."""

    date = forms.DateField(label=_("Date"), widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}))
    decision = forms.ChoiceField(label=_("Decision"), choices=Decision.choices, widget=forms.RadioSelect,
                                 initial=Decision.APPROVE)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    documents = MultipleFileField(label=_("Minutes, photos and documents"),
                                  help_text=_("Images, PDF, Word or Excel files; several at once."))

    def __init__(self, *args, step: StepDef, kind: str, first: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.step = step
        self.data_fields: list[str] = []
        if first:
            self.fields["decision"].choices = [c for c in Decision.choices if c[0] != Decision.RETURN]
        if step.code in REVIEW_STEPS:
            self.fields["documents"].label = _("Minutes of the meeting, photos")
        if step.notice:
            self._add("notice_until", forms.DateField(
                label=_("Notice until"), required=False, widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
                help_text=_("Last day of the notice; empty: the shortest period allowed.")))
        for check in step.checks:
            if check == "assessment" and kind in ("identification", "return_to_poverty"):
                self._add("attribute", forms.ChoiceField(label=_("Proposed attribute"), required=False,
                                                         choices=_choices("attribute")))
                self._add("main_cause", forms.ChoiceField(label=_("Proposed main cause"), required=False,
                                                          choices=_choices("cause")))
                self._add("identification_standard", forms.ChoiceField(
                    label=_("Identification standard"), required=False, choices=_choices("standard")))
            elif check == "income_and_guarantees":
                for key, label in GUARANTEES:
                    self._add(key, forms.BooleanField(label=label, required=False))
            elif check == "consent":
                self.fields["thumbprint"] = forms.FileField(
                    label=_("Signature or thumbprint photo"), required=False,
                    help_text=_("A photo (or PDF) of the form signed or thumbprinted by the household."))
            elif check == "monitoring_category":
                self._add("monitoring_category", forms.ChoiceField(
                    label=_("Monitoring category"), choices=_choices("monitoring_category"), required=False))
                self._add("monitoring_risks", forms.MultipleChoiceField(
                    label=_("Risk types"), choices=_choices("monitoring_risk", blank=False), required=False,
                    widget=forms.CheckboxSelectMultiple))
            elif check == "risks_eliminated":
                self._add("risks_eliminated", forms.BooleanField(label=_("The risks are eliminated"), required=False))
            elif check == "village_conditions":
                for key, label in VILLAGE_CONDITIONS:
                    self._add(key, forms.BooleanField(label=label, required=False))

        # Files last: the step's own checks come right after the decision and notes.
        for name in ("documents", "thumbprint"):
            if name in self.fields:
                self.fields[name] = self.fields.pop(name)

    def _add(self, name: str, field: forms.Field) -> None:
        self.fields[name] = field
        self.data_fields.append(name)

    def step_data(self) -> dict:
        out = {}
        for name in self.data_fields:
            value = self.cleaned_data.get(name)
            if hasattr(value, "isoformat"):
                value = value.isoformat()
            out[name] = value
        return out

    def uploads(self) -> list[tuple[str, object]]:
        review = self.step.code in REVIEW_STEPS
        out = []
        for f in self.cleaned_data.get("documents") or []:
            is_image = (getattr(f, "content_type", "") or "").startswith("image/")
            kind = AttachmentKind.PHOTO if is_image else (AttachmentKind.MINUTES if review else AttachmentKind.DOCUMENT)
            out.append((kind, f))
        if self.cleaned_data.get("thumbprint"):
            out.append((AttachmentKind.THUMBPRINT, self.cleaned_data["thumbprint"]))
        return out


class SpotCheckForm(forms.Form):
    date = forms.DateField(label=_("Date of the visit"), widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}))
    finding = forms.ChoiceField(label=_("Finding"), widget=forms.RadioSelect, initial=Decision.APPROVE,
                                choices=[(Decision.APPROVE, _("Verified as declared")),
                                         (Decision.REJECT, _("Problem found"))])
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    photos = MultipleFileField(label=_("Photos"))


class SettingsForm(forms.Form):
    def __init__(self, *args, rows: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        for row in rows:
            self.fields[row["key"]] = forms.DecimalField(label=row["label"], initial=row["value"],
                                                         decimal_places=0 if row["integer"] else 4)

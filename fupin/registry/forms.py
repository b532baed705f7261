"""Forms of the registry pages: the roster upload and the membership change (one form, one service per kind)."""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fupin.core.errors import ServiceError
from fupin.registry import codes, services
from fupin.registry.models import Household, MemberChange

MAX_UPLOAD = 200 * 1024 * 1024


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Roster file (xlsx or csv)"))
    dry_run = forms.BooleanField(label=_("Check only, do not import"), required=False)

    def clean_file(self):
        f = self.cleaned_data["file"]
        if Path(f.name).suffix.lower() not in (".xlsx", ".xlsm", ".csv", ".txt"):
            raise forms.ValidationError(_("Only .xlsx or .csv files are accepted"))
        if f.size > MAX_UPLOAD:
            raise forms.ValidationError(_("The file is larger than 200 MB"))
        return f


KIND_CHOICES = [
    (MemberChange.Kind.BIRTH, _("birth")),
    (MemberChange.Kind.MARRIAGE_IN, _("married in")),
    (MemberChange.Kind.ADD, _("other new member")),
    (MemberChange.Kind.DEATH, _("death")),
    (MemberChange.Kind.MARRIAGE_OUT, _("married out")),
    (MemberChange.Kind.MOVE_OUT, _("moved away")),
    (MemberChange.Kind.MOVE, _("moved to another household")),
    (MemberChange.Kind.SPLIT, _("split off a new household")),
    (MemberChange.Kind.MERGE, _("merge this household into another")),
    (MemberChange.Kind.HEAD, _("new head of household")),
]
NEW_MEMBER = {MemberChange.Kind.BIRTH, MemberChange.Kind.MARRIAGE_IN, MemberChange.Kind.ADD}
RELATIONSHIPS = [("", "—")] + [(c, label) for c, label in codes.RELATIONSHIP]


class MemberChangeForm(forms.Form):
    kind = forms.ChoiceField(label=_("Change"), choices=KIND_CHOICES)
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    person = forms.TypedChoiceField(label=_("Member"), coerce=int, required=False)
    split_members = forms.TypedMultipleChoiceField(label=_("Members who split off"), coerce=int, required=False,
                                                   widget=forms.CheckboxSelectMultiple)
    new_head = forms.TypedChoiceField(label=_("New head (when the head leaves)"), coerce=int, required=False)
    name = forms.CharField(label=pgettext_lazy("person", "Name"), max_length=50, required=False)
    id_number = forms.CharField(label=_("ID number"), max_length=25, required=False)
    relationship = forms.ChoiceField(label=_("Relationship to the head"), choices=RELATIONSHIPS, required=False)
    target = forms.CharField(label=_("Other household (poor household number)"), max_length=40, required=False)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args, members, user, household: Household, **kwargs):
        super().__init__(*args, **kwargs)
        self.members = {p.pk: p for p in members}
        self.user = user
        self.household = household
        choices = [("", "—")] + [(p.pk, f"{p.name}({p.relationship})") for p in members]
        self.fields["person"].choices = choices
        self.fields["new_head"].choices = choices
        self.fields["split_members"].choices = choices[1:]
        self.fields["date"].initial = timezone.localdate()

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind in NEW_MEMBER:
            if not data.get("name"):
                self.add_error("name", _("Write the new member's name"))
            if not data.get("relationship"):
                self.add_error("relationship", _("Choose the relationship to the head"))
        elif kind in (MemberChange.Kind.DEATH, MemberChange.Kind.MARRIAGE_OUT, MemberChange.Kind.MOVE_OUT,
                      MemberChange.Kind.MOVE, MemberChange.Kind.HEAD) and not data.get("person"):
            self.add_error("person", _("Choose a member"))
        if kind in (MemberChange.Kind.MOVE, MemberChange.Kind.MERGE):
            key = (data.get("target") or "").strip()
            target = Household.objects.restrict(self.user).filter(poor_code=key).first() if key else None
            if target is None:
                self.add_error("target", _("No household with this number, or outside your jurisdiction"))
            data["target_household"] = target
        if kind == MemberChange.Kind.SPLIT and not data.get("split_members"):
            self.add_error("split_members", _("Choose the members who leave"))
        return data

    def _p(self, pk):
        return self.members.get(pk) if pk else None

    def apply(self, *, actor):
        d = self.cleaned_data
        kind, date, note = d["kind"], d["date"], d.get("note", "")
        hh = self.household
        if kind in NEW_MEMBER:
            return services.member_add(actor=actor, household=hh, kind=kind, date=date, note=note, member={
                "name": d["name"], "relationship": d["relationship"], "id_number": d.get("id_number", "")})
        person, new_head = self._p(d.get("person")), self._p(d.get("new_head"))
        if kind == MemberChange.Kind.DEATH:
            return services.member_death(actor=actor, person=person, date=date, new_head=new_head, note=note)
        if kind in (MemberChange.Kind.MARRIAGE_OUT, MemberChange.Kind.MOVE_OUT):
            return services.member_leave(actor=actor, person=person, date=date, kind=kind, new_head=new_head,
                                         note=note)
        if kind == MemberChange.Kind.MOVE:
            return services.member_move(actor=actor, person=person, to_household=d["target_household"],
                                        relationship=d.get("relationship") or "其他", date=date, new_head=new_head,
                                        note=note)
        if kind == MemberChange.Kind.HEAD:
            return services.head_change(actor=actor, household=hh, new_head=person,
                                        old_head_relationship=d.get("relationship") or "其他", date=date, note=note)
        if kind == MemberChange.Kind.SPLIT:
            chosen = [self.members[pk] for pk in d["split_members"] if pk in self.members]
            head = person if person in chosen else chosen[0]
            rel = {p.pk: ("户主" if p.pk == head.pk else "其他") for p in chosen}
            return services.household_split(actor=actor, household=hh, members=chosen, relationships=rel,
                                            date=date, new_head_of_source=new_head, note=note)
        if kind == MemberChange.Kind.MERGE:
            return services.household_merge(actor=actor, source=hh, target=d["target_household"], date=date,
                                             note=note)
        raise ServiceError(_("Unknown change type: %(kind)s") % {"kind": kind})

"""Forms of the accounts pages: login (with the lockout message) and a simple user form for `manage_users`."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fupin.accounts.choices import Role
from fupin.geo.models import Division, Grid
from fupin.geo.pickers import grid_choices
from fupin.org.models import CommandUnit, Department

INDENT = {"county": 0, "town": 1, "village": 2, "community": 2}


class LoginForm(AuthenticationForm):
    """Django's login form. A locked account gets the same answer as a wrong password or an unknown name (which names
    the lockout rule), so the answer never tells whether an account exists."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("The user name or password is not correct. After %(attempts)s failed attempts in a row "
                           "the account is locked for %(minutes)s minutes."),
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].widget.attrs.update({"autofocus": True, "autocomplete": "username"})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})

    def get_invalid_login_error(self):
        from django.conf import settings

        return ValidationError(self.error_messages["invalid_login"], code="invalid_login",
                               params={"attempts": settings.FUPIN_LOCKOUT_ATTEMPTS,
                                       "minutes": settings.FUPIN_LOCKOUT_MINUTES})


class DivisionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return "\u3000" * INDENT.get(obj.level, 0) + f"{obj.name} ({obj.code})"


class UserForm(forms.Form):
    """Create or edit a user; the choices offered are limited to the editor's jurisdiction."""

    username = forms.CharField(label=_("User name"), max_length=150)
    display_name = forms.CharField(label=pgettext_lazy("person", "Name"), max_length=50)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    division = DivisionChoiceField(label=_("Jurisdiction"), queryset=Division.objects.none(), required=False,
                                   help_text=_("The town, village or community whose data the user works on; the "
                                               "county for county staff. Department handlers may leave it empty."))
    grid_code = forms.CharField(label=_("Grid"), max_length=15, required=False, widget=forms.Select,
                                help_text=_("Only for grid workers and information officers."))
    department = forms.ModelChoiceField(label=_("Department"), queryset=Department.objects.filter(is_active=True),
                                        required=False)
    command_unit = forms.ModelChoiceField(label=_("Command unit"), queryset=CommandUnit.objects.none(), required=False)
    unit_name = forms.CharField(label=_("Work unit"), max_length=100, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput(render_value=False), required=False,
                               help_text=_("At least 8 characters."))
    password2 = forms.CharField(label=_("Password again"), widget=forms.PasswordInput(render_value=False),
                                required=False)

    def __init__(self, *args, actor, instance=None, **kwargs):
        self.actor = actor
        self.instance = instance
        if instance is not None:
            kwargs.setdefault("initial", {
                "username": instance.username, "display_name": instance.display_name, "role": instance.role,
                "division": instance.division_id, "grid_code": instance.grid.code if instance.grid_id else "",
                "department": instance.department_id, "command_unit": instance.command_unit_id,
                "unit_name": instance.unit_name, "phone": instance.phone, "email": instance.email,
                "is_active": instance.is_active,
            })
        super().__init__(*args, **kwargs)
        self.fields["division"].queryset = Division.objects.restrict(actor).order_by("code")
        self.fields["command_unit"].queryset = CommandUnit.objects.restrict(actor).order_by("area_code", "kind")
        self.fields["grid_code"].widget.choices = grid_choices(actor)
        if instance is not None:
            self.fields["username"].disabled = True
            self.fields["password"].help_text = _("Leave empty to keep the current password.")
        else:
            self.fields["password"].required = True
            self.fields["password2"].required = True
            del self.fields["is_active"]

    def clean_grid_code(self):
        code = (self.cleaned_data.get("grid_code") or "").strip()
        if not code:
            return None
        grid = Grid.objects.restrict(self.actor).filter(code=code).first()
        if grid is None:
            raise ValidationError(_("No grid with this code in your jurisdiction."))
        return grid

    def clean(self):
        data = super().clean()
        if data.get("password") != data.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return data

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        out = {k: d.get(k) for k in ("display_name", "role", "division", "department", "command_unit", "unit_name",
                                     "phone", "email")}
        out["grid"] = d.get("grid_code")
        out["phone"] = out["phone"] or ""
        out["email"] = out["email"] or ""
        out["unit_name"] = out["unit_name"] or ""
        if self.instance is not None:
            out["is_active"] = d.get("is_active", True)
            if d.get("password"):
                out["password"] = d["password"]
        else:
            out["username"] = d["username"]
            out["password"] = d["password"]
        return out


class ApiKeyForm(forms.Form):
    """Issue an API key for another system: its name, jurisdiction, capabilities, read-only or not, and expiry."""

    name = forms.CharField(label=_("Name of the other system"), max_length=100)
    division = DivisionChoiceField(label=_("Jurisdiction"), queryset=Division.objects.none(),
                                   help_text=_("The key reads and writes only data of this area."))
    capabilities = forms.MultipleChoiceField(label=_("Capabilities"), widget=forms.CheckboxSelectMultiple,
                                             choices=())
    read_only = forms.BooleanField(label=_("Read-only"), required=False, initial=True,
                                   help_text=_("A read-only key is refused on every write."))
    expires_on = forms.DateField(label=_("Expires on"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                 help_text=_("Empty: the key never expires (revoke it by hand)."))

    def __init__(self, *args, actor, capability_labels: dict, **kwargs):
        from fupin.accounts.services import API_KEY_FORBIDDEN

        super().__init__(*args, **kwargs)
        self.fields["division"].queryset = Division.objects.restrict(actor).order_by("code")
        self.fields["capabilities"].choices = [(c, label) for c, label in capability_labels.items()
                                               if c not in API_KEY_FORBIDDEN and actor.can(c)]
        self.fields["capabilities"].initial = ["view"]

    def service_kwargs(self) -> dict:
        import datetime as dt

        d = self.cleaned_data
        expires = None
        if d.get("expires_on"):
            expires = timezone.make_aware(dt.datetime.combine(d["expires_on"], dt.time(23, 59, 59)))
        return {"name": d["name"], "division": d["division"], "capabilities": list(d["capabilities"]),
                "read_only": bool(d.get("read_only")), "expires_at": expires}

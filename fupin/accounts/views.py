"""Login, users, the roles-and-capabilities matrix, and device tokens and API keys."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from fupin.accounts import selectors, services
from fupin.accounts.choices import Role
from fupin.accounts.forms import ApiKeyForm, LoginForm, UserForm
from fupin.core.errors import ServiceError
from fupin.core.pages import capability_required, paginate, run_service
from fupin.geo.areas import filter_area

CAPABILITY_LABELS = {
    "view": gettext_lazy("View data in the jurisdiction"),
    "view_full_id": gettext_lazy("See full ID numbers"),
    "edit": gettext_lazy("Edit records"),
    "collect": gettext_lazy("Collect data in the field"),
    "village_review": gettext_lazy("Village review"),
    "approve_town": gettext_lazy("Town approval"),
    "approve_county": gettext_lazy("County approval"),
    "import": gettext_lazy("Import files"),
    "manage_geo": gettext_lazy("Manage the grid network"),
    "manage_users": gettext_lazy("Manage users"),
    "department_work": gettext_lazy("Department work"),
    "read_audit": gettext_lazy("Read the audit trail"),
    "privacy_requests": gettext_lazy("Answer personal-information requests"),
    "manage_security": gettext_lazy("Manage sign-in security and the separated roles"),
    "approve_exports": gettext_lazy("Approve exports of people's data"),
}


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        """A correct password: a user with an authenticator goes on to the second step, others are signed in."""
        from fupin.accounts import security_views, sessions, twofactor

        user = form.get_user()
        if twofactor.confirmed_device(user) is not None:
            return security_views.start_second_step(self.request, user, self.get_success_url())
        response = super().form_valid(form)
        sessions.signed_in(self.request, user, two_factor=False)
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["ended"] = {"idle": _("You were signed out after a period of inactivity."),
                            "expired": _("The session reached its maximum age: sign in again."),
                            "browser": _("The session was opened in another browser: sign in again."),
                            "ended": _("This session was ended from another place.")}.get(
                                self.request.GET.get("ended", ""))
        return context


def user_list(request):
    role = request.GET.get("role", "")
    q = request.GET.get("q", "").strip()
    qs = filter_area(selectors.user_list(viewer=request.user, role=role, q=q), request)
    return render(request, "accounts/user_list.html", {
        "page_obj": paginate(request, qs), "roles": Role.choices, "role": role, "q": q,
    })


def roles(request):
    caps, rows = selectors.roles_matrix()
    return render(request, "accounts/roles.html", {
        "caps": [(c, CAPABILITY_LABELS.get(c, c)) for c in caps], "rows": rows,
    })


def _get_user_or_404(request, username):
    user = selectors.user_get(viewer=request.user, username=username)
    if user is None:
        raise Http404
    return user


def user_detail(request, username):
    person = _get_user_or_404(request, username)
    caps, _rows = selectors.roles_matrix()
    posts = person.grid_posts.select_related("grid").order_by("-start_date")
    return render(request, "accounts/user_detail.html", {
        "person": person, "posts": posts,
        "capabilities": [CAPABILITY_LABELS.get(c, c) for c in caps if person.can(c)],
    })


def _save(request, form, instance=None):
    try:
        if instance is None:
            return services.user_create(actor=request.user, **form.service_kwargs())
        return services.user_update(actor=request.user, user=instance, **form.service_kwargs())
    except ServiceError as exc:
        field = exc.field if exc.field in form.fields else None
        if field == "grid":
            field = "grid_code"
        form.add_error(field, exc.message)
        return None


@capability_required("manage_users")
def user_create(request):
    form = UserForm(request.POST or None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        user = _save(request, form)
        if user is not None:
            messages.success(request, _("User %(name)s was created.") % {"name": user.username})
            return redirect("accounts:user_detail", username=user.username)
    return render(request, "accounts/user_form.html", {"form": form, "person": None})


@capability_required("manage_users")
def user_edit(request, username):
    person = _get_user_or_404(request, username)
    form = UserForm(request.POST or None, actor=request.user, instance=person)
    if request.method == "POST" and form.is_valid():
        user = _save(request, form, person)
        if user is not None:
            messages.success(request, _("The changes were saved."))
            return redirect("accounts:user_detail", username=user.username)
    return render(request, "accounts/user_form.html", {"form": form, "person": person})


@require_POST
@capability_required("manage_users")
def user_unlock(request, username):
    person = _get_user_or_404(request, username)
    services.user_unlock(actor=request.user, user=person)
    messages.success(request, _("The account was unlocked."))
    return redirect("accounts:user_detail", username=person.username)


# Device tokens and API keys ------------------------------------------------------------------------------------------


def my_devices(request):
    """The signed-in user's phones: each can be revoked in one click (a lost phone's next sync is refused)."""
    return render(request, "accounts/my_devices.html", {"tokens": selectors.devices_of(request.user),
                                                        "now_ts": timezone.now()})


@capability_required("manage_users")
def token_list(request):
    kind = request.GET.get("kind", "")
    if kind not in ("", "device", "api_key"):
        kind = ""
    qs = filter_area(selectors.token_list(viewer=request.user, kind=kind), request)
    return render(request, "accounts/token_list.html", {"page_obj": paginate(request, qs), "kind": kind,
                                                        "now_ts": timezone.now()})


@capability_required("manage_users")
def api_key_create(request):
    form = ApiKeyForm(request.POST or None, actor=request.user, capability_labels=CAPABILITY_LABELS)
    if request.method == "POST" and form.is_valid():
        try:
            token, secret = services.api_key_create(actor=request.user, **form.service_kwargs())
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            # the secret is shown on this response only: it is not stored and cannot be shown again
            return render(request, "accounts/api_key_issued.html", {"token": token, "secret": secret})
    return render(request, "accounts/api_key_form.html", {"form": form})


@require_POST
def token_revoke(request, token_id):
    token = selectors.token_for_revoke(viewer=request.user, token_id=token_id)
    if token is None:
        raise Http404
    run_service(request, lambda: services.token_revoke(actor=request.user, token=token,
                                                       reason=request.POST.get("reason", "")),
                _("%(name)s was revoked: it can no longer reach the system.") % {"name": token.name})
    target = request.POST.get("next", "")
    return redirect(target if target in ("/accounts/devices/", "/accounts/tokens/") else "/accounts/devices/")

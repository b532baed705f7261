"""What accounts registers: live device tokens and API keys in `fupin stats`; a signed-out session is marked ended
in the user's session list."""

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver
from django.utils import timezone

from fupin.core.stats import stats_provider


@stats_provider(order=15)
def token_stats() -> dict:
    from fupin.accounts.selectors import tokens_active_count

    return tokens_active_count()


@receiver(user_logged_out, dispatch_uid="fupin.accounts.session_ended")
def _session_ended(sender, request, user, **kwargs):
    from fupin.accounts.models import UserSession

    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        UserSession.objects.filter(session_key=key, ended_at__isnull=True).update(ended_at=timezone.now())

"""What accounts adds to `fupin stats`: live device tokens and API keys."""

from fupin.core.stats import stats_provider


@stats_provider(order=15)
def token_stats() -> dict:
    from fupin.accounts.selectors import tokens_active_count

    return tokens_active_count()

"""What the map registers at start-up: the registry's household attributes and choropleth indicators."""

from fupin.maps import builtin  # noqa: F401

"""What the map registers at start-up: the registry's household attributes and choropleth indicators."""

from fupin.core import extensions as ext
from fupin.maps import builtin

for _item in builtin.EXTENSIONS:
    ext.register(_item)

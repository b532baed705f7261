"""Copy the front-end libraries from node_modules into fupin/static/vendor (served locally, never from a CDN)."""

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NM = ROOT / "node_modules"
DEST = ROOT / "fupin" / "static" / "vendor"

FILES = {
    "htmx.org/dist/htmx.min.js": "htmx.min.js",
    # Alpine's CSP build: evaluates x- expressions with its own parser, never eval/new Function (issue 12)
    "@alpinejs/csp/dist/cdn.min.js": "alpine.min.js",
    "echarts/dist/echarts.min.js": "echarts.min.js",
    "leaflet/dist/leaflet.js": "leaflet/leaflet.js",
    "leaflet/dist/leaflet.css": "leaflet/leaflet.css",
    "leaflet/dist/images": "leaflet/images",
    "leaflet.markercluster/dist/leaflet.markercluster.js": "leaflet/leaflet.markercluster.js",
    "leaflet.markercluster/dist/MarkerCluster.css": "leaflet/MarkerCluster.css",
    "leaflet.markercluster/dist/MarkerCluster.Default.css": "leaflet/MarkerCluster.Default.css",
}


def main() -> None:
    for src, dst in FILES.items():
        s, d = NM / src, DEST / dst
        d.parent.mkdir(parents=True, exist_ok=True)
        if s.is_dir():
            shutil.copytree(s, d, dirs_exist_ok=True)
        else:
            shutil.copyfile(s, d)
    print(f"front-end libraries copied to {DEST.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

"""Static files in production: collectstatic writes each file under a name with its content's hash and a gzip/brotli
copy beside it (whitenoise's CompressedManifestStaticFilesStorage); whitenoise then serves the hashed names with a
year's cache and the compressed copy to browsers that accept it, so a page's CSS and scripts are fetched once per
release, not on every page.

A name missing from the manifest (a template naming a file that was never collected, or collectstatic not run yet)
gives its plain /static/ URL instead of an error on every page that names it. References inside CSS files
(url(...)) are rewritten to the hashed names; the source-map comments of the vendored scripts are left alone (their
.map files are not shipped).
"""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    manifest_strict = False
    patterns = tuple((glob, rules) for glob, rules in CompressedManifestStaticFilesStorage.patterns
                     if glob != "*.js")

    def stored_name(self, name):
        try:
            return super().stored_name(name)
        except ValueError:  # not in the manifest and not on disk to be hashed
            return name

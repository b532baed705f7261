"""Department data exchange: sources, snapshots (one import of one source), staged records with provenance,
record→person links (the master person index) and the review queue of uncertain links.

Staged records and links are written in bulk (hundreds of thousands of rows), so they are plain tables without the
BaseModel columns (uuid, version, timestamps); their provenance is their snapshot (file, hash, batch) and row number.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fupin.core.fields import BlindIndexField, EncryptedJSONField, EncryptedTextField
from fupin.core.models import BaseModel
from fupin.core.scoping import ScopedQuerySet


class Source(BaseModel):
    """A department extract (车辆, 工商, 不动产 ...): its fields with their header synonyms and linkage roles."""

    scope_field = None  # reference data

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    department = models.ForeignKey("org.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="exchange_sources")
    row_label = models.CharField(_("what one row is"), max_length=100, blank=True)
    # [{"name": canonical, "role": id|disability_card|name|birth_date|sex|address|date|number|text,
    #   "required": bool, "synonyms": [...]}]
    fields = models.JSONField(_("fields"), default=list)
    is_active = models.BooleanField(_("active"), default=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("department source")
        verbose_name_plural = _("department sources")
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return f"/exchange/sources/{self.code}/"

    def field_names(self) -> list[str]:
        return [f["name"] for f in self.fields]

    def role_field(self, role: str) -> str | None:
        return next((f["name"] for f in self.fields if f.get("role") == role), None)


class ColumnMapping(BaseModel):
    """A saved column mapping for a source: header as it appears in a department's file → canonical field."""

    scope_field = None

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="mappings")
    name = models.CharField(_("name"), max_length=100)
    mapping = models.JSONField(_("mapping"), default=dict)
    is_default = models.BooleanField(_("used by default"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = _("column mapping")
        ordering = ["source", "name"]
        constraints = [models.UniqueConstraint(fields=["source", "name"], name="unique_mapping_name")]

    def __str__(self) -> str:
        return f"{self.source.code}: {self.name}"


class Snapshot(BaseModel):
    """One import of one source's file. The newest import of a source is its current snapshot; older ones stay."""

    scope_field = None  # metadata (file, counts); the rows are scoped through their links

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="snapshots")
    file_name = models.CharField(_("file"), max_length=300)
    file_sha256 = models.CharField(max_length=64, db_index=True)
    raw_path = models.CharField(max_length=500, blank=True)
    headers_seen = models.JSONField(default=list, blank=True)
    mapping_used = models.JSONField(default=dict, blank=True)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    problem_count = models.PositiveIntegerField(_("rows with problems"), default=0)
    unreadable_count = models.PositiveIntegerField(_("unreadable rows"), default=0)
    problems = models.JSONField(default=list, blank=True)  # [[row, column, value, problem], ...] (first 5,000)
    id_stats = models.JSONField(default=dict, blank=True)  # counts by id_status
    id_kinds = models.JSONField(default=dict, blank=True)  # counts by id_kind (full, repaired, ... missing)
    sheets = models.JSONField(default=list, blank=True)  # [{"name", "rows", "read": bool, "reason"}] of a workbook
    skipped = models.JSONField(default=list, blank=True)  # [[sheet, row, kind, text], ...] footer and note rows
    # mapped fields: {field: {value as received: count}}; values no mapping knows: [[field, value, count], ...]
    value_counts = models.JSONField(default=dict, blank=True)
    not_understood = models.JSONField(default=list, blank=True)
    is_current = models.BooleanField(_("current"), default=False, db_index=True)
    replaced_at = models.DateTimeField(_("replaced at"), null=True, blank=True)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    link_fingerprint = models.CharField(max_length=200, blank=True)  # registry state the links were computed on

    class Meta:
        verbose_name = _("snapshot")
        verbose_name_plural = _("snapshots")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["source"], condition=models.Q(is_current=True),
                                               name="one_current_snapshot_per_source")]

    def __str__(self) -> str:
        return f"{self.source.name} {self.created_at:%Y-%m-%d %H:%M}"

    def get_absolute_url(self) -> str:
        return f"/exchange/snapshots/{self.pk}/"


class IdStatus(models.TextChoices):
    VALID = "valid", _("valid")
    LEGACY15 = "legacy15", _("15-digit number upgraded")
    TRUNCATED = "truncated", _("stored by Excel as a number (last digits lost)")
    INVALID = "invalid", _("invalid")
    EMPTY = "empty", _("empty")
    MASKED = "masked", _("desensitised (part of the digits hidden)")


class IdKind(models.TextChoices):
    """fupin.core.idnumber.IdKind: what the ID cell was, for the per-snapshot counts and the linkage's blocking."""

    FULL = "full", _("complete")
    REPAIRED = "repaired", _("valid after cleaning")
    LEGACY15 = "legacy15", _("15-digit number upgraded")
    MASKED = "masked", _("desensitised")
    INVALID = "invalid", _("invalid")
    MISSING = "missing", _("missing")


class StagedRecord(models.Model):
    """One row of a department file as received (raw values) and as read (canonical values, cleaned ID)."""

    scope_field = "links__area_code"

    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="records")
    source_code = models.CharField(max_length=40)
    batch = models.ForeignKey("core.Batch", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              db_index=False)
    row_number = models.PositiveIntegerField(_("row"))
    sheet = models.CharField(_("sheet"), max_length=100, blank=True)  # of a workbook with several sheets
    # sealed at rest (fupin/core/fields.py): the raw and canonical values hold the ID number and the department's
    # figures; the engines open them in the run's memory (linkage.load_records, public.snapshot_record_data)
    raw = EncryptedJSONField(default=dict, audit_name=False)  # header as in the file → cell text
    data = EncryptedJSONField(default=dict, audit_name=False)  # canonical field → cleaned text
    id_raw = EncryptedTextField(max_length=60, blank=True)
    id_clean = EncryptedTextField(max_length=40, blank=True)
    id_number = EncryptedTextField(max_length=18, blank=True)  # normalised when it passes its check
    id_index = BlindIndexField(source="id_number")  # exact search (the privacy office's person report)
    # the ID stored once: True when id_raw, id_clean and id_number are equal (the usual case), in which case only
    # id_number is stored and id_raw, id_clean are stored empty; `from_db` fills them back (readers of raw columns
    # in SQL take them from id_number themselves: linkage.load_records, public.records_for)
    id_once = models.BooleanField(default=False)
    id_status = models.CharField(max_length=10, choices=IdStatus.choices)
    # what is visible of the ID (fupin.core.idnumber.parse), for blocking masked IDs; see docs/exchange.md
    id_kind = models.CharField(max_length=10, choices=IdKind.choices, default=IdKind.MISSING)
    id_area6 = models.CharField(max_length=6, blank=True)
    id_birth_year = models.PositiveSmallIntegerField(null=True, blank=True)
    id_birth_date = models.DateField(null=True, blank=True)
    id_last4 = models.CharField(max_length=4, blank=True)
    id_sex = models.CharField(max_length=1, blank=True)
    name = models.CharField(_("name"), max_length=100, blank=True)
    birth_date = models.DateField(null=True, blank=True)
    sex = models.CharField(max_length=1, blank=True)
    address = models.CharField(max_length=300, blank=True)
    readable = models.BooleanField(default=True)
    problem = models.CharField(max_length=300, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("department record")
        verbose_name_plural = _("department records")
        ordering = ["snapshot", "id"]  # the order of the file (sheets in order, rows in order)

    def __str__(self) -> str:
        return f"{self.source_code} #{self.row_number} {self.name}"

    @classmethod
    def from_db(cls, db, field_names, values):
        rec = super().from_db(db, field_names, values)
        d = rec.__dict__
        if d.get("id_once") and "id_number" in d:  # loaded (not deferred): the copies stored once
            for name in ("id_raw", "id_clean"):
                if name in d:
                    d[name] = d["id_number"]
        return rec


class LinkMethod(models.TextChoices):
    EXACT_ID = "exact_id", _("same ID number")
    LEGACY_ID = "legacy_id", _("15-digit ID number upgraded")
    PROBABILISTIC = "probabilistic", _("probabilistic match (name, birth date, ID digits, village)")
    REVIEWED = "reviewed", _("confirmed by a reviewer")


class RecordLink(models.Model):
    """A staged record linked to a registry person, with how it was linked. Rewritten when a snapshot is relinked."""

    scope_field = "area_code"

    record = models.ForeignKey(StagedRecord, on_delete=models.CASCADE, related_name="links")
    person = models.ForeignKey("registry.Person", on_delete=models.CASCADE, related_name="department_links")
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="+")
    source_code = models.CharField(max_length=40)
    method = models.CharField(max_length=20, choices=LinkMethod.choices)
    score = models.FloatField(null=True, blank=True)
    area_code = models.CharField(max_length=15)  # scoping goes through the person (indexed) or the record
    # a probabilistic link's explanation: {"fields": [{"field", "level", "weight"}], "weight", "probability"}
    explanation = models.JSONField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("record link")

    def __str__(self) -> str:
        return f"{self.record_id}→{self.person_id} ({self.method})"


class LinkReview(BaseModel):
    """An uncertain record–person pair for a person to decide; the decision is remembered by the record's content."""

    class Status(models.TextChoices):
        OPEN = "open", _("to review")
        MATCH = "match", _("same person")
        NON_MATCH = "non_match", _("different person")

    scope_field = "area_code"

    record_key = models.CharField(max_length=64, db_index=True)
    source_code = models.CharField(max_length=40)
    person = models.ForeignKey("registry.Person", on_delete=models.CASCADE, related_name="link_reviews")
    record = models.ForeignKey(StagedRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    score = models.FloatField(null=True, blank=True)
    details = EncryptedJSONField(default=dict, blank=True, audit_name=False)  # the record's side holds its ID
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN,
                              db_index=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    area_code = models.CharField(max_length=15, db_index=True)

    class Meta:
        verbose_name = _("link review")
        verbose_name_plural = _("link reviews")
        ordering = ["status", "-score", "id"]
        constraints = [models.UniqueConstraint(fields=["record_key", "person"], name="unique_review_pair")]

    def __str__(self) -> str:
        return f"{self.source_code} {self.record_key[:8]} ↔ {self.person_id}"

    def get_absolute_url(self) -> str:
        return f"/exchange/review/{self.pk}/"


class LinkModel(models.Model):
    """The probabilistic model a linkage run used: trained on that run's records (m, u, prior), or the stored model
    it fell back on (a run with too few records to train). Kept with its run, never edited."""

    created_at = models.DateTimeField(auto_now_add=True)
    trained = models.BooleanField(_("trained on this run's records"), default=False)
    reason = models.CharField(_("why not trained"), max_length=40, blank=True)
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    records = models.PositiveIntegerField(_("records trained on"), default=0)
    persons = models.PositiveIntegerField(_("registry persons"), default=0)
    match_rate = models.FloatField(_("share of records about a registry person"), null=True, blank=True)
    parameters = models.JSONField(default=dict)  # {comparison: {level: [m, u]}, "match_rate": share}
    splink = models.JSONField(default=dict, blank=True)  # Splink's own model JSON (save_model_to_json)
    figures = models.JSONField(default=dict, blank=True)  # seconds, settings version, errors

    class Meta:
        verbose_name = _("linkage model")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"linkage model {self.pk} ({'trained' if self.trained else self.reason})"


class LinkRun(models.Model):
    """One run of the linkage: counts by method, timings, engine, the model it used."""

    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    engine = models.CharField(max_length=30, default="duckdb")
    stats = models.JSONField(default=dict, blank=True)
    model = models.ForeignKey(LinkModel, null=True, blank=True, on_delete=models.PROTECT, related_name="runs")

    class Meta:
        verbose_name = _("linkage run")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"linkage {self.started_at:%Y-%m-%d %H:%M}"

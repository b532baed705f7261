"""Admin: a county edits its department sources (names, fields, header synonyms) and saved column mappings."""

from django.contrib import admin

from fupin.exchange.models import ColumnMapping, Source


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "department", "is_active", "order")
    list_editable = ("is_active", "order")
    search_fields = ("code", "name")


@admin.register(ColumnMapping)
class ColumnMappingAdmin(admin.ModelAdmin):
    list_display = ("source", "name", "is_default", "created_by")
    list_filter = ("source",)

"""Errors that services raise and pages show as they stand (messages are Chinese)."""

from __future__ import annotations

from dataclasses import dataclass, field


class ServiceError(Exception):
    """A refused change; the message is shown to the user."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class ConflictError(ServiceError):
    """The record changed since the client read it (per-record version mismatch)."""


def only_changes(changes, allowed) -> None:
    """Refuse (ServiceError) a service's `**changes` that name a field outside `allowed`, listing them."""
    bad = set(changes) - set(allowed)
    if bad:
        from django.utils.translation import gettext as _

        from fupin.core.i18n import join_list

        raise ServiceError(_("Cannot be changed: %(items)s") % {"items": join_list(sorted(bad))})


@dataclass
class RowProblem:
    """One problem in an imported file: Excel-style row number, column, value, what is wrong."""

    row: int
    column: str
    value: str
    problem: str

    def as_text(self) -> str:
        where = f"第{self.row}行" if self.row else "文件"
        col = f"「{self.column}」列" if self.column else ""
        val = f"值「{self.value}」" if self.value not in ("", None) else ""
        return "".join(p for p in (where, col, val) if p) + ":" + self.problem


@dataclass
class ImportRefused(ServiceError):
    """A file refused as a whole; nothing was written. `problems` is the row-by-row report."""

    problems: list[RowProblem] = field(default_factory=list)
    headline: str = "文件未导入"

    def __post_init__(self):
        ServiceError.__init__(self, self.report())

    def report(self, limit: int = 200) -> str:
        lines = [f"{self.headline}(共{len(self.problems)}处问题,数据库未作任何改动):"]
        lines += [p.as_text() for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"……另有{len(self.problems) - limit}处问题未列出")
        return "\n".join(lines)

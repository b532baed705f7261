"""Choices of the dispatch app: work-order states and events, pins, joint plans and 民情 (public opinion) reports."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class State(models.TextChoices):
    PUSHED = "pushed", _("pushed")
    ACCEPTED = "accepted", _("accepted")
    IN_PROGRESS = "in_progress", _("in progress")
    RESOLVED = "resolved", _("resolved")
    RETURNED = "returned", _("returned")
    CONFIRMED = "confirmed", _("confirmed")
    CLOSED = "closed", _("closed")
    CANCELLED = "cancelled", _("cancelled")


# The department still owes work on these (they count towards overdue and escalation).
WITH_DEPARTMENT = (State.PUSHED, State.ACCEPTED, State.IN_PROGRESS)
# Open = not finished for anybody.
OPEN_STATES = (State.PUSHED, State.ACCEPTED, State.IN_PROGRESS, State.RESOLVED, State.RETURNED)
# Not yet resolved (未办结): with the department, or returned by it; a resolved order waiting for the sender's
# confirmation is 已办结 and not counted here.
UNRESOLVED_STATES = (State.PUSHED, State.ACCEPTED, State.IN_PROGRESS, State.RETURNED)
# The problem counts as solved ("累计解决群众困难3000余件").
SOLVED_STATES = (State.RESOLVED, State.CONFIRMED, State.CLOSED)
STATE_TONES = {
    State.PUSHED: "blue", State.ACCEPTED: "blue", State.IN_PROGRESS: "amber", State.RESOLVED: "green",
    State.RETURNED: "red", State.CONFIRMED: "green", State.CLOSED: "grey", State.CANCELLED: "grey",
}
# Chinese state names for messages (errors are Chinese by requirement, whatever the UI language).
STATE_ZH = {
    State.PUSHED: "已推送", State.ACCEPTED: "已受理", State.IN_PROGRESS: "办理中", State.RESOLVED: "已办结",
    State.RETURNED: "已退回", State.CONFIRMED: "已确认", State.CLOSED: "已关闭", State.CANCELLED: "已撤销",
}


class EventKind(models.TextChoices):
    PUSH = "push", _("pushed to a department")
    ACCEPT = "accept", _("accepted")
    START = "start", _("work started")
    RESOLVE = "resolve", _("resolved")
    RETURN = "return", _("returned to the sender")
    REROUTE = "reroute", _("sent to another department")
    REASSIGN = "reassign", _("handler changed")
    REOPEN = "reopen", _("reopened: not solved")
    CONFIRM = "confirm", _("confirmed by the sender side")
    CLOSE = "close", _("closed")
    CANCEL = "cancel", _("cancelled")
    COMMENT = "comment", _("comment")
    ATTACH = "attach", _("attachment")
    ESCALATE = "escalate", _("escalated: overdue")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("normal")
    URGENT = "urgent", _("urgent")
    CRITICAL = "critical", _("very urgent")


URGENCY_TONES = {Urgency.NORMAL: "grey", Urgency.URGENT: "amber", Urgency.CRITICAL: "red"}


class Origin(models.TextChoices):
    """Where a work order came from."""

    MANUAL = "manual", _("entered by hand")
    MEASURE = "measure", _("household plan measure")
    RECORD = "record", _("assistance record (visit)")
    MINQING = "minqing", _("public-opinion report")
    FINDING = "finding", _("comparison finding")
    JOINT_PLAN = "joint_plan", _("joint assistance plan")


class PlanStatus(models.TextChoices):
    OPEN = "open", _("in progress")
    DONE = "done", _("completed")
    CANCELLED = "cancelled", _("cancelled")


class Channel(models.TextChoices):
    """How a 民情 report reached the platform."""

    GRID_WORKER = "grid_worker", _("grid worker")
    VILLAGE_TEAM = "village_team", _("village work team")
    HOUSEHOLD = "household", _("household, through a worker")
    HOTLINE = "hotline", _("hotline")


class Category(models.TextChoices):
    """Classification of a 民情 report (what the household reports)."""

    POLICY = "policy", _("policy question")
    LIVING = "living", _("living difficulty")
    MEDICAL = "medical", _("medical care")
    EDUCATION = "education", _("school and education")
    HOUSING = "housing", _("housing")
    EMPLOYMENT = "employment", _("jobs and training")
    INDUSTRY = "industry", _("farming and industry")
    CREDIT = "credit", _("loans and credit")
    INFRASTRUCTURE = "infrastructure", _("roads, water and power")
    IDENTIFICATION = "identification", _("identification and exit")
    DISPUTE = "dispute", _("dispute")
    CADRE_CONDUCT = "cadre_conduct", _("conduct of cadres")
    OTHER = "other", _("other")


class ReportStatus(models.TextChoices):
    OPEN = "open", _("awaiting an answer")
    IN_HAND = "in_hand", _("work order in hand")
    ANSWERED = "answered", _("answered")


class AnswerWay(models.TextChoices):
    VISIT = "visit", _("home visit")
    PHONE = "phone", _("phone call")
    MEETING = "meeting", _("village meeting")
    WRITTEN = "written", _("written reply")

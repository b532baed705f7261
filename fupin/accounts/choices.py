from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CITY_LEADER = "city_leader", _("City leader")
    CITY_OFFICE = "city_office", _("City poverty office staff")
    TOWN_STAFF = "town_staff", _("Town station staff")
    VILLAGE_TEAM = "village_team", _("Village work team member")
    FIRST_SECRETARY = "first_secretary", _("First secretary")
    GRID_WORKER = "grid_worker", _("Grid worker")
    INFO_OFFICER = "info_officer", _("Information officer")
    PAIRING_CADRE = "pairing_cadre", _("Pairing cadre")
    DEPT_HANDLER = "dept_handler", _("Department handler")
    AUDITOR = "auditor", _("Auditor (read-only)")
    SYSTEM_ADMIN = "system_admin", _("System administrator")
    SECURITY_ADMIN = "security_admin", _("Security administrator")


# What each role may do. Reads are always limited to the user's jurisdiction by the scoping mechanism.
ROLE_CAPABILITIES: dict[str, set[str]] = {
    Role.CITY_LEADER: {"view"},
    Role.CITY_OFFICE: {"view", "view_full_id", "edit", "manage_geo", "manage_users", "approve_county", "import",
                      "privacy_requests", "approve_exports"},
    Role.TOWN_STAFF: {"view", "view_full_id", "edit", "approve_town", "import"},
    Role.VILLAGE_TEAM: {"view", "view_full_id", "edit", "village_review"},
    Role.FIRST_SECRETARY: {"view", "view_full_id", "edit", "village_review"},
    Role.GRID_WORKER: {"view", "view_full_id", "edit", "collect"},
    Role.INFO_OFFICER: {"view", "view_full_id", "edit", "collect"},
    Role.PAIRING_CADRE: {"view", "edit"},
    Role.DEPT_HANDLER: {"view", "department_work"},
    Role.AUDITOR: {"view", "read_audit"},
    # 三员分立 (等保 2.0): the system administrator keeps accounts and the grid network, the security administrator
    # keeps sign-in security and who holds the three roles, the auditor reads the trail; none of them changes
    # people's data, and only the auditor reads the trail's security records.
    Role.SYSTEM_ADMIN: {"view", "manage_users", "manage_geo"},
    Role.SECURITY_ADMIN: {"view", "manage_users", "manage_security"},
}
# Roles that only a security administrator (or a superuser) may give or take away.
SEPARATED_ROLES = {Role.AUDITOR, Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN}
# Audit actions that are security records: shown only to those who may read the audit trail.
SECURITY_ACTION_PREFIXES = ("accounts.", "privacy.")
ALL_CAPABILITIES = set().union(*ROLE_CAPABILITIES.values())

# Who a menu entry is for (the fifth element of an AppConfig.nav entry): each role's menu follows its work, not only
# what it may read, so that a grid worker is not shown the county's department data or the users list.
FIELD_ROLES = frozenset({Role.GRID_WORKER, Role.INFO_OFFICER, Role.PAIRING_CADRE})
VILLAGE_ROLES = frozenset({Role.VILLAGE_TEAM, Role.FIRST_SECRETARY})
TOWN_ROLES = frozenset({Role.TOWN_STAFF})
COUNTY_ROLES = frozenset({Role.CITY_OFFICE})
LEADER_ROLES = frozenset({Role.CITY_LEADER})
DEPARTMENT_ROLES = frozenset({Role.DEPT_HANDLER})
AUDIT_ROLES = frozenset({Role.AUDITOR})
ADMIN_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN})
# the people who work on households in an area (everyone but leaders, departments, auditors and administrators)
AREA_WORK_ROLES = FIELD_ROLES | VILLAGE_ROLES | TOWN_ROLES | COUNTY_ROLES
OFFICE_ROLES = TOWN_ROLES | COUNTY_ROLES

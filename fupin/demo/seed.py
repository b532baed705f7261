"""`seed_demo`: a deterministic demo county built from the real division list of the fixtures.

What it writes, all under one Batch with one audit event (the code lists and the division import keep their own):
synthetic town, village and grid boundaries; 850 grids over the villages, each with a grid worker, an information
officer and a terminal; the 13 departments with their heads; the command units; residents in households with valid
ID numbers, the registered poor households among them; one demo user per role. Scale changes the people only.

Speed matters (390,000 people in under three minutes on two cores): everything is built in memory with explicit
primary keys and written in one transaction, with bulk_create, except households and persons, which go through
`fupin.core.bulk.BulkWriter` (plain INSERT / COPY); the sequences are reset afterwards for PostgreSQL.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.utils.translation import gettext as _

from fupin.accounts.choices import Role
from fupin.accounts.models import User
from fupin.core import audit
from fupin.core.bulk import BulkWriter
from fupin.core.coords import convert_geometry
from fupin.core.errors import ServiceError
from fupin.core.services import batch_finish, batch_start
from fupin.demo import people
from fupin.demo.names import SurnamePool, full_name
from fupin.demo.world import (
    DivisionRecord,
    Unit,
    build_world,
    grid_of,
    np_rng,
    py_rng,
    settlement_groups,
    settlement_points,
)
from fupin.geo.choices import Post, TerminalStatus
from fupin.geo.models import Division, Grid, GridPost, Terminal
from fupin.geo.services import import_divisions
from fupin.org.models import CommandUnit, Department
from fupin.registry.codes_service import codes_load
from fupin.registry.models import Household, Person

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DIVISIONS_CSV = FIXTURES / "yidu_420581_divisions_2016.csv"
OUTLINE_GEOJSON = FIXTURES / "yidu_420581_boundary_gcj02.geojson"

DEFAULT_PASSWORD = "fupin-demo-2016"
DEFAULT_SEED = 2016
PERSONS_AT_SCALE_1 = 390_000
POOR_HOUSEHOLDS_AT_SCALE_1 = 4491  # one for each of the bulletin's 4,491 pairing cadres
GRIDS = 850
POOR_VILLAGES = 26
POOR_VILLAGE_WEIGHT = 3.5  # a poor village has about 3.5 times the poverty incidence of another village
UNASSIGNED_SHARE = 0.01  # village households not yet in a grid (待分配网格)
POSTS_FROM = dt.date(2016, 3, 1)  # when the grid network started in the demo
BULK = 5000

# code, short name, name after the county's (2016 names; a county renames them in the admin)
DEPARTMENTS = [
    ("minzheng", "民政", "民政局"), ("gongan", "公安", "公安局"), ("renshe", "人社", "人力资源和社会保障局"),
    ("zhujian", "住建", "住房和城乡建设局"), ("weiji", "卫计", "卫生和计划生育局"), ("jiaoyu", "教育", "教育局"),
    ("caizheng", "财政", "财政局"), ("gongshang", "工商", "工商行政管理局"), ("guotu", "国土", "国土资源局"),
    ("nongye", "农业", "农业局"), ("linye", "林业", "林业局"), ("canlian", "残联", "残疾人联合会"),
    ("fupinban", "扶贫办", "扶贫开发办公室"),
]
ROLE_LABELS = {
    "": "超级用户", Role.CITY_LEADER: "市级领导", Role.CITY_OFFICE: "市扶贫办工作人员", Role.TOWN_STAFF: "乡镇管理站工作人员",
    Role.VILLAGE_TEAM: "驻村工作队员", Role.FIRST_SECRETARY: "第一书记", Role.GRID_WORKER: "网格员",
    Role.INFO_OFFICER: "信息员", Role.PAIRING_CADRE: "结对帮扶干部", Role.DEPT_HANDLER: "部门经办人",
    Role.AUDITOR: "审计(只读)",
}
TERMINAL_MODEL = "精准扶贫移动手持终端"

Progress = Callable[[str], None]


def _say_nothing(message: str) -> None:
    pass


@contextmanager
def _sql_unlogged() -> Iterator[None]:
    """Development settings log every SQL statement (DEBUG); formatting 20,000 bulk INSERTs costs a tenth of the run."""
    debug = settings.DEBUG
    settings.DEBUG = False
    try:
        yield
    finally:
        settings.DEBUG = debug


def database_has_people() -> bool:
    return Grid.objects.exists() or Household.objects.exists()


def database_is_seeded() -> bool:
    """What `--if-empty` asks: are there divisions or households already?"""
    return Division.objects.exists() or Household.objects.exists()


def seeded_uuid(seed: int, table: str, n: int) -> uuid.UUID:
    """The uuid of row n of a table: the same for the same seed, and ordered within the table (RFC 9562 version 8,
    a hash of seed and table in the high bits, n in the low bits), so unique-index inserts append instead of
    scattering as random uuids do."""
    return uuid.UUID(int=_uuid_prefix(seed, table) | n)


@functools.lru_cache(maxsize=64)
def _uuid_prefix(seed: int, table: str) -> int:
    prefix = int.from_bytes(hashlib.sha256(f"{seed}/{table}".encode()).digest()[:6], "big")
    return prefix << 80 | 0x8 << 76 | 0b10 << 62


def _next_id(model: type[models.Model]) -> int:
    return (model.objects.aggregate(m=models.Max("pk"))["m"] or 0) + 1


def _place(name: str) -> str:
    """陆城街道办事处 → 陆城街道, 松宜矿区管理委员会 → 松宜矿区: the name as it is written in an address."""
    for suffix in ("办事处", "管理委员会"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _imei(rng, used: set[str]) -> str:
    """A 15-digit device id with a valid Luhn check digit (the IMEI format of the handhelds)."""
    while True:
        body = "86" + f"{rng.randrange(10**12):012d}"
        total = 0
        for i, ch in enumerate(reversed(body)):
            d = int(ch) * (2 if i % 2 == 0 else 1)
            total += d - 9 if d > 9 else d
        number = body + str((10 - total % 10) % 10)
        if number not in used:
            used.add(number)
            return number


@dataclass
class DemoPlan:
    """Where the demo users sit: a poor village, its town, its first grid, and the department 民政."""

    county: Division | None
    town: Division | None
    village: Division | None
    grid: Grid | None
    department: Department | None
    units: dict[str, CommandUnit]


def _demo_specs(plan: DemoPlan) -> list[dict]:
    county, town, village, grid = plan.county, plan.town, plan.village, plan.grid
    units = plan.units

    def bind(division=None, grid_=None, unit_key=None, department=None):
        if grid_ is not None and division is None:
            division = grid_.village
        return {"division": division, "grid": grid_, "department": department,
                "command_unit": units.get(unit_key) if unit_key else None,
                "area_code": grid_.code if grid_ is not None else (division.code if division is not None else "")}

    specs = [{"username": "demo_admin", "role": "", "superuser": True, **bind(county, unit_key="city_centre")}]
    by_role = {
        Role.CITY_LEADER: bind(county, unit_key="city_hq"),
        Role.CITY_OFFICE: bind(county, unit_key="city_centre"),
        Role.TOWN_STAFF: bind(town, unit_key="town_station"),
        Role.VILLAGE_TEAM: bind(village, unit_key="village_office"),
        Role.FIRST_SECRETARY: bind(village, unit_key="village_office"),
        Role.GRID_WORKER: bind(grid_=grid, unit_key="village_office") if grid else bind(village),
        Role.INFO_OFFICER: bind(grid_=grid, unit_key="village_office") if grid else bind(village),
        Role.PAIRING_CADRE: bind(village),
        Role.DEPT_HANDLER: bind(department=plan.department),
        Role.AUDITOR: bind(county),
    }
    for role in Role:
        specs.append({"username": f"demo_{role.value}", "role": role.value, "superuser": False,
                      **by_role.get(role, bind(county))})
    return specs


def jurisdiction_text(user: User) -> str:
    if user.is_superuser:
        return "全市(超级用户)"
    if user.grid_id:
        return f"{user.grid.name}({user.grid.code})"
    if user.division_id:
        return f"{user.division.name}({user.division.code})"
    if user.department_id:
        return f"{user.department.name}(部门,无区划)"
    return "(未绑定)"


def demo_logins() -> list[dict]:
    """The demo users as printed at the end of seeding: username, role, jurisdiction."""
    users = (User.objects.filter(username__startswith="demo_").select_related("grid", "division", "department")
             .order_by("username"))
    order = ["demo_admin"] + [f"demo_{r.value}" for r in Role]
    rank = {u: i for i, u in enumerate(order)}
    return [{"username": u.username, "role": ROLE_LABELS.get(u.role, u.role), "jurisdiction": jurisdiction_text(u)}
            for u in sorted(users, key=lambda u: rank.get(u.username, 99))]


def _current_plan() -> DemoPlan:
    county = Division.objects.filter(level="county").order_by("code").first()
    seated = User.objects.filter(username="demo_first_secretary", division__level="village").first()
    villages = Division.objects.filter(level="village").order_by("-is_poor_village", "code")
    village = (seated.division if seated else None) or villages.filter(grids__isnull=False).first() or villages.first()
    grid = village.grids.order_by("code").first() if village else None
    town = village.parent if village else Division.objects.filter(level="town").order_by("code").first()
    department = Department.objects.filter(code="minzheng").first() or Department.objects.order_by("order").first()
    units = {}
    for key, division in (("city_hq", county), ("city_centre", county), ("town_station", town),
                          ("village_office", village)):
        if division is not None:
            unit = CommandUnit.objects.filter(division=division, kind=key).first()
            if unit:
                units[key] = unit
    return DemoPlan(county=county, town=town, village=village, grid=grid, department=department, units=units)


@transaction.atomic
def demo_users_ensure(*, actor, password: str = DEFAULT_PASSWORD) -> list[dict]:
    """Make sure every demo user exists and has `password` (what `seed_demo --if-empty` does on a seeded database).

    Missing users are created bound like a fresh seeding would bind them; existing ones keep their binding.
    """
    hashed = make_password(password)
    plan = _current_plan()
    created = []
    for spec in _demo_specs(plan):
        user = User.objects.filter(username=spec["username"]).first()
        if user is None:
            user = User(username=spec["username"], display_name=spec["username"], role=spec["role"],
                        is_superuser=spec["superuser"], is_staff=spec["superuser"], division=spec["division"],
                        grid=spec["grid"], department=spec["department"], command_unit=spec["command_unit"],
                        area_code=spec["area_code"])
            created.append(spec["username"])
        user.password = hashed
        user.failed_logins = 0
        user.locked_until = None
        user.save()
    if created:
        audit.record(actor=actor, action="demo.users.ensure", object_type="accounts.user",
                     object_repr="演示账号", after={"created": created})
    return demo_logins()


def seed_demo(*, actor, scale: float = 1.0, seed: int = DEFAULT_SEED, password: str = DEFAULT_PASSWORD,
              progress: Progress | None = None) -> dict:
    """Build the demo county in an empty database; all or nothing. Returns counts and timings."""
    if not scale > 0:
        raise ServiceError(_("The scale (--scale) must be greater than 0"))
    if scale > 5:
        raise ServiceError(_("The scale (--scale) is at most 5"))
    if database_has_people():
        raise ServiceError(_("The database already holds grids or households; the demo county is built only in an empty "
                             "database: use a new DATABASE_URL, or add --if-empty to only make sure of the demo accounts "
                             "and print the sign-in details"))
    say = progress or _say_nothing
    with _sql_unlogged(), transaction.atomic():
        return _Seeder(actor=actor, scale=scale, seed=seed, password=password, say=say).run()


class _Seeder:
    def __init__(self, *, actor, scale: float, seed: int, password: str, say: Progress):
        self.actor, self.scale, self.seed, self.password, self.say = actor, scale, seed, password, say
        self.started = time.monotonic()
        self.rows: dict[str, int] = {}
        self.rng = py_rng(seed, "staff")

    def _log(self, message: str) -> None:
        self.say(f"[{time.monotonic() - self.started:6.1f}s] {message}")

    def run(self) -> dict:
        codes = codes_load(actor=self.actor)
        self._log(f"代码表:新增{codes['codes']}条代码、{codes['poverty_lines']}条贫困线")
        imported = import_divisions(actor=self.actor, path=DIVISIONS_CSV)
        self._log(f"区划:{imported['rows']}个(新增{imported['created']})")
        file_codes = [row["code"] for row in csv.DictReader(DIVISIONS_CSV.open(encoding="utf-8-sig"))]
        self.divisions = {d.code: d for d in Division.objects.filter(code__in=file_codes)}
        records = [DivisionRecord(d.code, d.name, d.level, d.parent.code if d.parent_id else "", d.lng, d.lat)
                   for d in self.divisions.values()]
        gcj = json.loads(OUTLINE_GEOJSON.read_text(encoding="utf-8"))["features"][0]["geometry"]
        self.outline = convert_geometry(gcj)
        self.world = build_world(records, self.outline, seed=self.seed, grids_total=GRIDS, poor_villages=POOR_VILLAGES)
        self._log("边界:乡镇、村(社区)、网格的示意边界已生成")

        self.batch = batch_start(kind="seed_demo", actor=self.actor)
        self._divisions()
        self._departments_and_units()
        self._grids()
        self._staff()
        self._posts_and_terminals()
        self._log(f"网格{self.rows['grids']}个,工作人员{self.rows['users']}名,终端{self.rows['terminals']}部")
        self._residents()
        self._reset_sequences()
        self._capabilities()
        county = self.world.county
        summary = {"scale": self.scale, "seed": self.seed, **self.rows}
        batch_finish(self.batch, actor=self.actor, rows=sum(self.rows.values()), summary=summary,
                     area_code=county.code)
        seconds = round(time.monotonic() - self.started, 1)
        self._log(f"完成:共写入{sum(self.rows.values())}行")
        return {**summary, "batch": self.batch.pk, "seconds": seconds}

    def _capabilities(self) -> None:
        """Each capability's own demo data: `seed_<label>(*, rng, scale, batch)` in `fupin/<app>/demo.py`, called in
        INSTALLED_APPS order (so pairing and visits exist before the work orders made from them)."""
        from importlib import import_module
        from importlib.util import find_spec

        from fupin.core.appconfig import fupin_apps

        for app in fupin_apps():
            if app.label == "demo" or find_spec(f"{app.name}.demo") is None:
                continue
            fn = getattr(import_module(f"{app.name}.demo"), f"seed_{app.label}", None)
            if fn is None:
                continue
            result = fn(rng=py_rng(self.seed, app.label), scale=self.scale, batch=self.batch) or {}
            counted = {k: v for k, v in result.items() if isinstance(v, int)}
            self.rows.update({f"{app.label}_{k}": v for k, v in counted.items()})
            self._log(f"{app.verbose_name}:{json.dumps(counted, ensure_ascii=False)}")

    # --- geography -----------------------------------------------------------------------------------------------

    def _divisions(self) -> None:
        world = self.world
        plane = world.plane
        changed = []
        county = self.divisions[world.county.code]
        county.boundary, county.boundary_synthetic = self.outline, False
        changed.append(county)
        for unit in [*world.towns.values(), *world.locals.values()]:
            d = self.divisions[unit.code]
            d.boundary = plane.to_geojson(unit.cell)
            d.boundary_synthetic = True
            if unit.point_synthetic:
                d.lng, d.lat = plane.lnglat(*unit.point)
                d.point_synthetic = True
            d.is_poor_village = unit.poor
            changed.append(d)
        for d in changed:
            d.version += 1
            d.batch = self.batch
        Division.objects.bulk_update(changed, ["boundary", "boundary_synthetic", "lng", "lat", "point_synthetic",
                                               "is_poor_village", "version", "batch", "updated_at"], batch_size=200)
        self.rows["divisions"] = len(changed)

    def _departments_and_units(self) -> None:
        county = self.divisions[self.world.county.code]
        next_dept = _next_id(Department)
        self.departments = [
            Department(id=next_dept + i, uuid=seeded_uuid(self.seed, "department", i), code=code, short_name=short, name=f"{county.name}{name}",
                       order=(i + 1) * 10, batch=self.batch)
            for i, (code, short, name) in enumerate(DEPARTMENTS)]
        Department.objects.bulk_create(self.departments)
        next_unit = _next_id(CommandUnit)
        units: list[CommandUnit] = []

        def unit(kind, name, division, parent=None) -> CommandUnit:
            u = CommandUnit(id=next_unit + len(units), uuid=seeded_uuid(self.seed, "unit", len(units)), kind=kind, name=name, division=division,
                            area_code=division.code, parent=parent, batch=self.batch)
            units.append(u)
            return u

        hq = unit(CommandUnit.Kind.CITY_HQ, f"{county.name}精准扶贫作战指挥部", county)
        centre = unit(CommandUnit.Kind.CITY_CENTRE, f"{county.name}精准扶贫网格化管理中心", county, hq)
        self.units = {"city_hq": hq, "city_centre": centre}
        self.town_units: dict[str, tuple[CommandUnit, CommandUnit]] = {}
        self.village_units: dict[str, CommandUnit] = {}
        for code in sorted(self.world.towns):
            town = self.divisions[code]
            place = _place(town.name)
            command = unit(CommandUnit.Kind.TOWN_COMMAND, f"{place}精准扶贫战区指挥部", town, hq)
            station = unit(CommandUnit.Kind.TOWN_STATION, f"{place}精准扶贫网格化管理站", town, centre)
            self.town_units[code] = (command, station)
        for v in sorted(self.world.villages, key=lambda u: u.code):
            village = self.divisions[v.code]
            self.village_units[v.code] = unit(CommandUnit.Kind.VILLAGE_OFFICE, f"{village.name}精准扶贫网格化工作室",
                                              village, self.town_units[v.parent][1])
        CommandUnit.objects.bulk_create(units)
        self.rows["departments"] = len(self.departments)
        self.rows["command_units"] = len(units)

    def _grids(self) -> None:
        plane = self.world.plane
        next_id = _next_id(Grid)
        self.grids: list[Grid] = []
        self.grid_by_code: dict[str, Grid] = {}
        for v in sorted(self.world.villages, key=lambda u: u.code):
            village = self.divisions[v.code]
            for plan in v.grids:
                lng, lat = plane.lnglat(*plan.point)
                g = Grid(id=next_id + len(self.grids), uuid=seeded_uuid(self.seed, "grid", len(self.grids)), code=plan.code, village=village,
                         name=f"{village.name}第{plan.number}网格", boundary=plane.to_geojson(plan.cell),
                         boundary_synthetic=True, lng=lng, lat=lat, batch=self.batch)
                self.grids.append(g)
                self.grid_by_code[g.code] = g
        Grid.objects.bulk_create(self.grids, batch_size=BULK)
        self.rows["grids"] = len(self.grids)

    # --- people who work -------------------------------------------------------------------------------------------

    def _staff(self) -> None:
        rng = self.rng
        surnames = SurnamePool(rng, clans=0)
        unusable = make_password(None)  # staff log in once an administrator sets their password
        demo_hash = make_password(self.password)
        next_id = _next_id(User)
        users: list[User] = []
        taken = set(User.objects.values_list("username", flat=True))

        def person_name(sex: str | None = None) -> str:
            sex = sex or ("1" if rng.random() < 0.6 else "2")
            return full_name(rng, surnames.pick(rng), sex, rng.randint(1960, 1994))

        def add(username: str, **kw) -> User | None:
            if username in taken:
                return None
            taken.add(username)
            kw.setdefault("display_name", person_name())
            u = User(id=next_id + len(users), username=username, uuid=seeded_uuid(self.seed, "user", len(users)), password=kw.pop("password",
                     unusable), batch=self.batch, **kw)
            users.append(u)
            return u

        # demo users: a poor village with grids, its town, its first grid
        # the demo village: the most populous poor village, so that the village roles have something to look at
        candidates = [v for v in self.world.villages if v.poor and v.grids] or self.world.villages
        demo_v = max(candidates, key=lambda v: (v.weight, v.code))
        demo_village = self.divisions[demo_v.code]
        demo_town = self.divisions[demo_v.parent]
        demo_grid = self.grid_by_code[demo_v.grids[0].code]
        plan = DemoPlan(
            county=self.divisions[self.world.county.code], town=demo_town, village=demo_village, grid=demo_grid,
            department=next(d for d in self.departments if d.code == "minzheng"),
            units={**self.units, "town_station": self.town_units[demo_town.code][1],
                   "village_office": self.village_units[demo_village.code]})
        demo_by_role = {}
        # demo users left from an earlier database keep their binding but take this run's password
        User.objects.filter(username__startswith="demo_").update(password=demo_hash)
        for spec in _demo_specs(plan):
            u = add(spec["username"], display_name=spec["username"], role=spec["role"], password=demo_hash,
                    is_superuser=spec["superuser"], is_staff=spec["superuser"], division=spec["division"],
                    grid=spec["grid"], department=spec["department"], command_unit=spec["command_unit"],
                    area_code=spec["area_code"])
            if u is not None:
                demo_by_role[spec["role"]] = u
        self.holders: dict[tuple[str, str], User] = {}
        if Role.GRID_WORKER in demo_by_role:
            self.holders[(demo_grid.code, Post.GRID_WORKER)] = demo_by_role[Role.GRID_WORKER]
        if Role.INFO_OFFICER in demo_by_role:
            self.holders[(demo_grid.code, Post.INFO_OFFICER)] = demo_by_role[Role.INFO_OFFICER]

        for grid in self.grids:
            office = self.village_units[grid.village.code]
            for post, prefix in ((Post.GRID_WORKER, "wg"), (Post.INFO_OFFICER, "xx")):
                if (grid.code, post) in self.holders:
                    continue
                u = add(f"{prefix}{grid.code}", role=post.value, division=grid.village, grid=grid,
                        command_unit=office, area_code=grid.code, unit_name=office.name)
                if u is not None:
                    self.holders[(grid.code, post)] = u
        for code in sorted(self.world.towns):
            town = self.divisions[code]
            station = self.town_units[code][1]
            add(f"zz{code[:9]}", role=Role.TOWN_STAFF, division=town, command_unit=station, area_code=town.code,
                unit_name=station.name)
        heads = {}
        for dept in self.departments:
            u = add(f"bm_{dept.code}", role=Role.DEPT_HANDLER, department=dept, unit_name=dept.name)
            if u is not None:
                heads[dept.code] = u
        User.objects.bulk_create(users, batch_size=BULK)
        for dept in self.departments:
            dept.head = heads.get(dept.code)
        Department.objects.bulk_update(self.departments, ["head"])
        self.rows["users"] = len(users)

    def _posts_and_terminals(self) -> None:
        rng = self.rng
        posts, terminals, used = [], [], set(Terminal.objects.values_list("device_id", flat=True))
        for grid in self.grids:
            for post in (Post.GRID_WORKER, Post.INFO_OFFICER):
                holder = self.holders.get((grid.code, post))
                if holder is not None:
                    posts.append(GridPost(uuid=seeded_uuid(self.seed, "gridpost", len(posts)), grid=grid, post=post, user=holder,
                                          start_date=POSTS_FROM, end_date=None, batch=self.batch))
            terminals.append(Terminal(uuid=seeded_uuid(self.seed, "terminal", len(terminals)), device_id=_imei(rng, used), grid=grid,
                                      status=TerminalStatus.IN_USE, holder=self.holders.get((grid.code, Post.GRID_WORKER)),
                                      model_name=TERMINAL_MODEL, batch=self.batch))
        GridPost.objects.bulk_create(posts, batch_size=BULK)
        Terminal.objects.bulk_create(terminals, batch_size=BULK)
        self.rows["grid_posts"] = len(posts)
        self.rows["terminals"] = len(terminals)

    # --- residents -----------------------------------------------------------------------------------------------

    def _residents(self) -> None:
        world = self.world
        units = sorted(world.locals.values(), key=lambda u: u.code)
        total_persons = round(PERSONS_AT_SCALE_1 * self.scale)
        targets = _allocate(total_persons, [u.weight for u in units])
        villages = [u for u in units if u.level == "village"]
        total_poor = max(1, round(POOR_HOUSEHOLDS_AT_SCALE_1 * self.scale))
        poor_quota = dict(zip((v.code for v in villages),
                              _allocate(total_poor, [v.weight * (POOR_VILLAGE_WEIGHT if v.poor else 1.0)
                                                     for v in villages]), strict=True))
        self.next_household = _next_id(Household)
        self.next_person = _next_id(Person)
        self.ids = people.IdAllocator(world.county.code[:6])
        self.hh_writer, self.person_writer = BulkWriter(Household, with_pk=True), BulkWriter(Person, with_pk=True)
        self.hh_rows: list[tuple] = []
        self.person_rows: list[tuple] = []
        self.rows["households"] = self.rows["persons"] = 0
        self.poor_count = self.unassigned = 0
        carry = 0  # people made beyond the targets so far: the next places make fewer, so the total stays on target
        for n, (unit, target) in enumerate(zip(units, targets, strict=True), start=1):
            made = self._unit_residents(unit, max(0, target - carry), poor_quota.get(unit.code, 0))
            carry += made - target
            if len(self.person_rows) >= 20_000:
                self._flush()
            if n % 20 == 0 or n == len(units):
                self._flush()
                self._log(f"居民:{n}/{len(units)}个村(社区),{self.rows['households']}户{self.rows['persons']}人,"
                          f"其中建档立卡{self.poor_count}户")
        self._flush()
        self.rows["poor_households"] = self.poor_count
        self.rows["unassigned_households"] = self.unassigned

    def _unit_residents(self, unit: Unit, target: int, poor: int) -> int:
        """The households of one village or community; returns the number of people made."""
        rng = py_rng(self.seed, "people", unit.code)
        town = self.world.towns[unit.parent]
        tujia = "土家族" in town.name
        ctx = people.Context(rng=rng, ids=self.ids, surnames=SurnamePool(rng, tujia=tujia),
                             tujia_share=0.6 if tujia else 0.08, rural=unit.level == "village")
        specs: list[tuple[list[dict], dict]] = [people.poor_household(ctx) for _n in range(poor)]
        count = sum(len(m) for m, _ in specs)
        while count < target:
            members = people.household_members(ctx)
            if count + len(members) - target > target - count:
                break  # this household would overshoot more than leaving it out undershoots
            specs.append((members, {}))
            count += len(members)
        if not specs:
            return 0
        rng.shuffle(specs)
        sites = settlement_points(unit, len(specs), np_rng(self.seed, "sites", unit.code))
        lngs, lats = self.world.plane.lnglat_arrays(sites[:, 0], sites[:, 1])
        village = self.divisions[unit.code]
        is_village = unit.level == "village"
        groups = settlement_groups(unit, sites) if is_village else None
        grids = grid_of(unit, sites) if is_village else None
        place = f"{self.world.county.name}{_place(town.name)}{unit.name}"
        house_no: dict[int, int] = {}
        poor_no = 0
        for i, (members, fields) in enumerate(specs):
            hid = self.next_household
            self.next_household += 1
            grid = None
            if is_village:
                g = int(groups[i])
                house_no[g] = house_no.get(g, 0) + 1
                group_name = f"{g + 1}组"
                address = f"{place}{group_name}{house_no[g]}号"
                if fields or rng.random() >= UNASSIGNED_SHARE:
                    grid = self.grid_by_code[unit.grids[int(grids[i])].code]
                else:
                    self.unassigned += 1
            else:
                group_name = ""
                address = (f"{place}{rng.randint(1, 40)}栋{rng.randint(1, 4)}单元"
                           f"{rng.randint(1, 7)}{rng.randint(1, 4):02d}室")
            area = grid.code if grid else unit.code
            head = members[0]
            extra = {}
            if fields:
                poor_no += 1
                self.poor_count += 1
                extra = {**fields, "poor_code": f"{unit.code}{poor_no:04d}", "phone": people.phone(rng)}
                if "annual_income" not in self.hh_writer.index:  # 年收入 came with a later registry migration
                    extra.pop("annual_income")
            self.hh_rows.append(self.hh_writer.row({
                "id": hid, "uuid": seeded_uuid(self.seed, "household", hid), "hukou_no": f"{unit.code[6:]}{i + 1:05d}", "village_id": village.pk,
                "grid_id": grid.pk if grid else None, "area_code": area, "group_name": group_name, "address": address,
                "head_name": head["name"], "size": len(members), "lng": float(lngs[i]), "lat": float(lats[i]),
                "location_source": "synthetic", "batch_id": self.batch.pk, **extra}))
            for m in members:
                self.person_rows.append(self.person_writer.row({
                    "id": self.next_person, "uuid": seeded_uuid(self.seed, "person", self.next_person), "household_id": hid, "area_code": area,
                    "batch_id": self.batch.pk, **m}))
                self.next_person += 1
        self.rows["households"] += len(specs)
        self.rows["persons"] += count
        return count

    def _flush(self) -> None:
        self.hh_writer.write_prepared(self.hh_rows)
        self.person_writer.write_prepared(self.person_rows)
        self.hh_rows, self.person_rows = [], []

    def _reset_sequences(self) -> None:
        """Rows were written with explicit ids: move PostgreSQL's sequences past them (SQLite needs nothing)."""
        statements = connection.ops.sequence_reset_sql(
            no_style(), [Department, CommandUnit, Grid, User, Household, Person])
        if statements:
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)


def _allocate(total: int, weights: list[float]) -> list[int]:
    """Split total into integers proportional to weights (largest remainder, ties by position)."""
    s = sum(weights) or 1.0
    quotas = [total * w / s for w in weights]
    floors = [int(q) for q in quotas]
    order = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - floors[i]), i))
    for i in order[: total - sum(floors)]:
        floors[i] += 1
    return floors

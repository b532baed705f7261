import datetime as dt
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from fupin.core.errors import ImportRefused, ServiceError
from fupin.core.models import AuditEvent, Batch
from fupin.core.testing import make_household, make_user
from fupin.geo import services
from fupin.geo.models import Division, Grid, GridPost

DIVISIONS = Path(__file__).resolve().parents[2] / "demo" / "fixtures" / "yidu_420581_divisions_2016.csv"
HEADER = "code,parent,name,level,urban_rural_class,lng_gcj02,lat_gcj02,full_name\n"


def write(tmp_path, text, name="d.csv", encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


SMALL = HEADER + (
    "420581000000,420500000000,测试市,county,,111.450096,30.378299,测试市\n"
    "420581100000,420581000000,红花套镇,town,,,,红花套镇\n"
    "420581100201,420581100000,甲村,village,220,,,甲村村委会\n"
)


@pytest.mark.django_db
def test_import_divisions_is_idempotent_and_converts_points(tmp_path):
    path = write(tmp_path, SMALL)
    first = services.import_divisions(actor="test", path=path)
    second = services.import_divisions(actor="test", path=path)
    assert (first["created"], second["created"], second["updated"]) == (3, 0, 0)
    county = Division.objects.get(code="420581000000")
    assert county.parent is None
    # GCJ-02 → WGS-84 moves the point by a few hundred metres
    assert 0.002 < 111.450096 - county.lng < 0.01 and 0.0005 < abs(30.378299 - county.lat) < 0.01
    from fupin.core.coords import wgs84_to_gcj02

    back = wgs84_to_gcj02(county.lng, county.lat)
    assert abs(back[0] - 111.450096) < 1e-6 and abs(back[1] - 30.378299) < 1e-6
    assert Division.objects.get(code="420581100201").parent.code == "420581100000"
    assert Batch.objects.filter(kind="import_divisions").count() == 2
    assert AuditEvent.objects.filter(action="batch.import_divisions").count() == 2


@pytest.mark.django_db
def test_import_divisions_gbk_file(tmp_path):
    services.import_divisions(actor="test", path=write(tmp_path, SMALL, encoding="gbk"))
    assert Division.objects.get(code="420581100000").name == "红花套镇"


@pytest.mark.django_db
def test_broken_parent_link_refuses_the_whole_file(tmp_path):
    bad = SMALL + "420581100202,420581199000,乙村,village,220,,,乙村村委会\n"
    with pytest.raises(ImportRefused) as exc:
        services.import_divisions(actor="test", path=write(tmp_path, bad))
    assert "第5行" in exc.value.report() and "420581199000" in exc.value.report()
    assert not Division.objects.exists() and not Batch.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("line", "problem"),
    [("42058110020,420581100000,乙村,village,220,,,乙村", "12位数字"),
     ("420581100202,420581100000,,village,220,,,乙", "名称不能为空"),
     ("420581100202,420581100000,乙村,hamlet,220,,,乙", "级别"),
     ("420581100202,420581100000,乙村,village,999,,,乙", "城乡分类代码"),
     ("420581100202,420581100000,乙村,village,220,abc,30,乙", "经纬度"),
     ("420581100201,420581100000,甲村,village,220,,,甲村", "重复"),
     ("420581100202,420581100201,乙村,village,220,,,乙村", "级别为village")],
)
def test_malformed_rows_get_a_chinese_message_naming_row_and_field(tmp_path, line, problem):
    with pytest.raises(ImportRefused) as exc:
        services.import_divisions(actor="test", path=write(tmp_path, SMALL + line + "\n"))
    report = exc.value.report()
    assert "第5行" in report and problem in report
    assert not Division.objects.exists()


@pytest.mark.django_db
def test_file_without_required_columns_is_refused(tmp_path):
    with pytest.raises(ImportRefused) as exc:
        services.import_divisions(actor="test", path=write(tmp_path, "a,b\n1,2\n"))
    assert "必需的列" in exc.value.report()


@pytest.mark.django_db
def test_command_exits_non_zero_with_the_report(tmp_path):
    with pytest.raises(CommandError) as exc:
        call_command("import_divisions", str(write(tmp_path, SMALL + "x,y,z,village,,,,\n")))
    assert exc.value.returncode == 2 and "第5行" in str(exc.value)


@pytest.mark.django_db
def test_real_division_file_imports():
    services.import_divisions(actor="test", path=DIVISIONS)
    assert Division.objects.filter(level="town").count() == 11
    assert Division.objects.filter(level="village").count() == 123
    assert Division.objects.filter(level="community").count() == 30


@pytest.mark.django_db
def test_boundaries_attach_by_code_and_convert(tmp_path, county):
    gj = ('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"420581","crs":"GCJ-02"},'
          '"geometry":{"type":"Polygon","coordinates":[[[111.4,30.3],[111.5,30.3],[111.5,30.4],[111.4,30.3]]]}}]}')
    services.import_boundaries(actor="test", path=write(tmp_path, gj, "b.geojson"))
    county["county"].refresh_from_db()
    assert county["county"].boundary["coordinates"][0][0][0] < 111.4
    bad = gj.replace("420581", "429999")
    with pytest.raises(ImportRefused):
        services.import_boundaries(actor="test", path=write(tmp_path, bad, "c.geojson"))


@pytest.mark.django_db
def test_grid_codes_are_unique_and_only_in_villages(county):
    g = services.grid_create(actor="test", village=county["va2"], number=3)
    assert g.code == county["va2"].code + "003"
    with pytest.raises(ServiceError, match="网格代码重复"):
        services.grid_create(actor="test", village=county["va2"], number=3)
    with pytest.raises(ServiceError, match="只能设在村或社区"):
        services.grid_create(actor="test", village=county["town_a"], number=1)
    assert Grid.objects.filter(village=county["va2"]).count() == 1


@pytest.mark.django_db
def test_reassigning_a_post_keeps_history(county):
    grid = county["ga1"]
    w1, w2 = make_user("w1", "grid_worker", grid=grid), make_user("w2", "grid_worker", grid=grid)
    services.grid_assign_post(actor="test", grid=grid, post="grid_worker", user=w1, start=dt.date(2016, 1, 1))
    services.grid_assign_post(actor="test", grid=grid, post="grid_worker", user=w2, start=dt.date(2016, 6, 1))
    rows = list(GridPost.objects.filter(grid=grid).order_by("start_date").values_list("user__username", "end_date"))
    assert rows == [("w1", dt.date(2016, 6, 1)), ("w2", None)]
    with pytest.raises(ServiceError):
        services.grid_assign_post(actor="test", grid=grid, post="grid_worker", user=w1, start=dt.date(2016, 2, 1))


@pytest.mark.django_db
def test_unassigned_households_assigned_by_location_and_by_hand(county):
    va = county["va1"]
    grid = county["ga1"]
    grid.boundary = {"type": "Polygon", "coordinates": [[[111.3, 30.4], [111.5, 30.4], [111.5, 30.6], [111.3, 30.6],
                                                          [111.3, 30.4]]]}
    grid.save()
    inside = make_household(va, head="里", lng=111.4, lat=30.5)
    outside = make_household(va, head="外", lng=112.0, lat=30.5)
    result = services.households_assign_grid(actor="test", village=va, by="location")
    inside.refresh_from_db()
    outside.refresh_from_db()
    assert result == {"assigned": 1, "unassigned_left": 1}
    assert inside.grid == grid and inside.area_code == grid.code
    assert set(inside.members.values_list("area_code", flat=True)) == {grid.code}
    assert outside.grid is None
    services.households_assign_grid(actor="test", village=va, by="hand", grid=grid, household_ids=[outside.pk])
    outside.refresh_from_db()
    assert outside.grid == grid

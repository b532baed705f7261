from django.urls import path, register_converter

from fupin.geo import views


class DivisionCode:
    regex = r"\d{12}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class GridCode(DivisionCode):
    regex = r"\d{15}"


register_converter(DivisionCode, "divcode")
register_converter(GridCode, "gridcode")

app_name = "geo"
urlpatterns = [
    path("", views.division_index, name="index"),
    path("grids/", views.grid_list, name="grid_list"),
    path("grids/<gridcode:code>/", views.grid_detail, name="grid_detail"),
    path("grids/<gridcode:code>/posts/", views.grid_assign_post, name="grid_assign_post"),
    path("staff/", views.staff, name="staff"),
    path("<divcode:code>/", views.division_detail, name="division_detail"),
    path("<divcode:code>/assign-households/", views.assign_households, name="assign_households"),
]

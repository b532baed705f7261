"""Where a department record's address is: the village and the town its words name, found at a province's size.

A record states its place in words (`湖北省宜都市红花套镇渔洋溪村3组`); the registry's divisions have codes. Both
engines and the skew guard read an address the same way, here:

- its **village** is the village (or community) whose name the address contains, preferring the one whose town's
  name the address contains too (+100), and whose county's name it contains as well (+100: two 新华村 in two 城关镇
  of two counties of a province are told apart by the county the address names), then the longer name, then the
  smaller code;
- its **town** is its village's town; an address naming no village: the town whose name it contains, preferring
  the one whose county it names (+100), then the longer name, then the smaller code. A town is the first nine
  digits of a division code (the registry's side cuts a person's area code the same way: a town found by its own
  name was compared whole, twelve digits against nine, and never agreed with anyone's before this module).

Without comparing every address with every division (a province: millions of distinct addresses — a house number or
a group makes each its own — against 26,000 villages, hundreds of billions of `contains`): a division's name that an
address contains ends at one of the address's characters, a character some division's name ends in, and is as long
as some division's name. So the address's substrings that end in such a character and have such a length are looked up
among the names (a hash join): the same names as `contains(address, name)` over every pair finds, about (characters
of the address that end a name) × (distinct name lengths) lookups per address; then the divisions of those names.

`statements(dialect)` gives the SQL, for DuckDB and for Spark SQL (they differ in one function), over two inputs:
`place_addresses(address)` — distinct, not null — and `place_divisions(code, name, level, parent_code)`; it makes
`place_of(address, village_code, town_code)`, one row per address that names a village or a town.
"""

# ruff: noqa: S608 - the SQL interpolates the dialect's function, an integer and the caller's own SELECTs only
from __future__ import annotations

# an address's character positions as rows, per dialect
_POSITIONS = {
    "duckdb": "unnest(generate_series(1, length(address)))",
    "spark": "explode(sequence(1, length(address)))",
}

BONUS = 100  # a named town (of a village) or county (of a town) outweighs any difference in the names' lengths
RANKED = 1000  # above any score (a name's length and two bonuses): its complement orders the candidates


def statements(dialect: str) -> list[tuple[str, str]]:
    """(table name, SELECT) in order; each engine makes the tables its own way (DuckDB: CREATE TABLE AS, Spark: a
    checkpointed view)."""
    positions = _POSITIONS[dialect]
    return [
        ("place_ends", "SELECT DISTINCT right(name, 1) AS ch FROM place_divisions"),
        ("place_lengths", "SELECT DISTINCT length(name) AS len FROM place_divisions"),
        # every position of an address where some division's name could end
        ("place_address_ends", f"""
            SELECT address, e FROM (SELECT address, {positions} AS e FROM place_addresses WHERE length(address) > 0) p
            WHERE substr(address, e, 1) IN (SELECT ch FROM place_ends)"""),
        # every division name the address contains
        ("place_hits", """
            SELECT DISTINCT address, name FROM (
                SELECT a.address, substr(a.address, a.e - l.len + 1, l.len) AS name
                FROM place_address_ends a JOIN place_lengths l ON l.len <= a.e) c
            WHERE name IN (SELECT name FROM place_divisions)"""),
        # the best of the villages named: the highest score, then the smallest code (one sortable text: the score's
        # complement, then the code)
        ("place_village", f"""
            SELECT h.address, substr(min(lpad(CAST({RANKED} - (length(v.name)
                    + CASE WHEN ht.name IS NOT NULL THEN {BONUS} ELSE 0 END
                    + CASE WHEN hc.name IS NOT NULL THEN {BONUS} ELSE 0 END) AS STRING), 4, '0') || v.code), 5)
                AS village_code
            FROM place_hits h JOIN place_divisions v ON v.name = h.name AND v.level IN ('village', 'community')
            LEFT JOIN place_divisions t ON t.code = v.parent_code
            LEFT JOIN place_hits ht ON ht.address = h.address AND ht.name = t.name
            LEFT JOIN place_divisions c ON c.code = t.parent_code
            LEFT JOIN place_hits hc ON hc.address = h.address AND hc.name = c.name
            GROUP BY h.address"""),
        ("place_town", f"""
            SELECT h.address, substr(min(lpad(CAST({RANKED} - (length(t.name)
                    + CASE WHEN hc.name IS NOT NULL THEN {BONUS} ELSE 0 END) AS STRING), 4, '0') || t.code), 5)
                AS town_code
            FROM place_hits h JOIN place_divisions t ON t.name = h.name AND t.level = 'town'
            LEFT JOIN place_divisions c ON c.code = t.parent_code
            LEFT JOIN place_hits hc ON hc.address = h.address AND hc.name = c.name
            GROUP BY h.address"""),
        ("place_of", """
            SELECT coalesce(v.address, t.address) AS address, v.village_code,
                substr(coalesce(v.village_code, t.town_code), 1, 9) AS town_code
            FROM place_village v FULL OUTER JOIN place_town t ON t.address = v.address"""),
    ]


def spark_places(make_table, addresses_sql: str, divisions_sql: str) -> None:
    """Make `place_of` on Spark: `make_table(name, sql)` makes a table of the step (the engine's `_table`)."""
    make_table("place_addresses", f"SELECT DISTINCT address FROM ({addresses_sql}) a WHERE address IS NOT NULL")
    make_table("place_divisions", "SELECT code, name, level, parent_code "
                                  f"FROM ({divisions_sql}) d WHERE length(name) >= 2")
    for name, sql in statements("spark"):
        make_table(name, sql)


def duckdb_places(con, addresses_sql: str, divisions_sql: str) -> None:
    """Make `place_of` on a DuckDB connection from SELECTs of the addresses and the divisions (names of two
    characters or more: a one-character name would be found in most addresses)."""
    con.execute(f"CREATE OR REPLACE TABLE place_addresses AS SELECT DISTINCT address FROM ({addresses_sql}) a "
                "WHERE address IS NOT NULL")
    con.execute("CREATE OR REPLACE TABLE place_divisions AS SELECT code, name, level, parent_code "
                f"FROM ({divisions_sql}) d WHERE length(name) >= 2")
    for name, sql in statements("duckdb"):
        con.execute(f"CREATE OR REPLACE TABLE {name} AS {sql}")
    for name in ("place_ends", "place_lengths", "place_address_ends", "place_hits", "place_village", "place_town",
                 "place_addresses", "place_divisions"):
        con.execute(f"DROP TABLE {name}")

"""Chinese names for synthetic residents: a surname by frequency, a given name that fits the sex and the decade.

Pure functions of a `random.Random`: the same generator state gives the same names.
"""

from __future__ import annotations

import itertools
import random

# The commonest surnames, most frequent first (weights fall off with rank), then surnames frequent in the Tujia
# areas of western Hubei (向, 覃, 田, 冉, 谭 ...), which `SurnamePool(tujia=True)` favours.
SURNAMES = (
    "王李张刘陈杨黄赵周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴"
    "夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文向覃冉卢聂鲁舒"
)
TUJIA_SURNAMES = "向覃田彭冉谭杨龚舒李"

# Given-name characters by sex and birth era: (first characters, second characters, share of one-character names).
_GIVEN = {
    ("1", "old"): ("建国德明志永学文光长正春红福兴家新中世金", "华国明军民林平生荣山贵强成才发清福祥富元", 0.35),
    ("1", "mid"): ("志建晓文海小俊红立永国剑云国", "伟军勇涛斌峰华明杰刚波辉林龙平超磊鹏", 0.30),
    ("1", "new"): ("浩宇子俊博文天思一梓睿嘉奕明家", "轩然宇涵杰豪航博阳泽睿辰铭晨乐", 0.12),
    ("2", "old"): ("秀桂玉淑凤翠兰春金素冬", "英兰珍芳华梅莲香云琴菊娥容", 0.30),
    ("2", "mid"): ("小晓春海丽美雪红文秋艳", "丽红燕娟霞玲敏芳琴萍梅静", 0.30),
    ("2", "new"): ("子欣雨梓诗思佳可语若一紫", "涵怡萱琪彤妍悦欣雯婷瑶馨", 0.12),
}


def _era(birth_year: int) -> str:
    return "old" if birth_year < 1966 else "mid" if birth_year < 1990 else "new"


class SurnamePool:
    """Surnames weighted by national frequency, with a few surnames made common in one place (a village's clans)."""

    def __init__(self, rng: random.Random, *, clans: int = 3, tujia: bool = False):
        names = list(dict.fromkeys(SURNAMES))
        weights = [1.0 / (rank + 4) ** 0.9 for rank in range(len(names))]
        if tujia:
            for ch in TUJIA_SURNAMES:
                weights[names.index(ch)] += 0.06
        for ch in rng.sample(names[:60], clans):
            weights[names.index(ch)] += 0.08
        self.names = names
        self.cum = list(itertools.accumulate(weights))

    def pick(self, rng: random.Random) -> str:
        return rng.choices(self.names, cum_weights=self.cum)[0]


def given_name(rng: random.Random, sex: str, birth_year: int) -> str:
    first, second, single = _GIVEN[(sex, _era(birth_year))]
    if rng.random() < single:
        return rng.choice(second)
    return rng.choice(first) + rng.choice(second)


def full_name(rng: random.Random, surname: str, sex: str, birth_year: int) -> str:
    return surname + given_name(rng, sex, birth_year)

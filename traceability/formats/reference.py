"""Real reference tables and their lookups: GB/T 2260 districts, customs parameter codes.

Production code (ingest, analysis, statistics) reads names from here; the demo generator
draws from the same tables.  Unknown codes are kept, with the code standing in for the name.

Sources used to check the facts:

* GB/T 2260 county codes: the National Bureau of Statistics list as mirrored in
  python-stdnum ``stdnum/cn/loc.dat``.
* Customs country, unit and customs-office codes: the JGS-20 customs parameter tables
  as reproduced in public CEB integration code, and the official CEB sample messages.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class District:
    """A county-level division (GB/T 2260) with a few street names for addresses.

    For the four municipalities ``city`` repeats ``province`` (e.g. 北京市); addresses
    then mention it once.
    """

    code: str
    province: str
    city: str
    name: str
    streets: tuple[str, ...]


def _d(code: str, province: str, city: str, name: str, streets: str) -> District:
    return District(code, province, city, name, tuple(streets.split()))


_ZMD = "驻马店市"
_ZZ = "郑州市"
_HN = "河南省"

DISTRICTS: tuple[District, ...] = (
    # 河南省驻马店市 (4117xx): the pilot city, all ten county-level units.
    _d("411702", _HN, _ZMD, "驿城区", "解放大道 中华大道 雪松路 骏马路 文明大道 前进大道 风光路"),
    _d("411721", _HN, _ZMD, "西平县", "人民路 嫘祖大道 柏亭路 文化路 建设路"),
    _d("411722", _HN, _ZMD, "上蔡县", "蔡都大道 重阳大道 健康路 文化路 人民路"),
    _d("411723", _HN, _ZMD, "平舆县", "挚地大道 清河大道 健康路 人民路 中心街"),
    _d("411724", _HN, _ZMD, "正阳县", "慎水大道 正阳大道 解放路 建设路 花园路"),
    _d("411725", _HN, _ZMD, "确山县", "盘龙大道 朗陵大道 生产街 人民路 建设路"),
    _d("411726", _HN, _ZMD, "泌阳县", "盘古大道 泌水大道 花园路 人民路 建设路"),
    _d("411727", _HN, _ZMD, "汝南县", "天中山大道 汝宁大道 梁祝大道 人民路 南海路"),
    _d("411728", _HN, _ZMD, "遂平县", "嵖岈山大道 建设路 灈阳大道 人民路 车站路"),
    _d("411729", _HN, _ZMD, "新蔡县", "今是街 月亮湾大道 人民路 建设路 幸福路"),
    # 河南省郑州市 (4101xx).
    _d("410102", _HN, _ZZ, "中原区", "中原路 建设路 桐柏路 伏牛路 棉纺路 化工路"),
    _d("410103", _HN, _ZZ, "二七区", "大学路 航海路 京广路 兴华街 长江路 政通路"),
    _d("410104", _HN, _ZZ, "管城回族区", "紫荆山路 城东路 商城路 东大街 航海东路"),
    _d("410105", _HN, _ZZ, "金水区", "金水路 花园路 农业路 经三路 纬五路 文化路 东风路"),
    _d("410106", _HN, _ZZ, "上街区", "济源路 新安路 中心路 工业路 登封路"),
    _d("410108", _HN, _ZZ, "惠济区", "天河路 开元路 英才街 江山路 清华园路"),
    _d("410122", _HN, _ZZ, "中牟县", "商都大道 青年路 建设路 广惠街 人民路"),
    _d("410181", _HN, _ZZ, "巩义市", "杜甫路 新兴路 嵩山路 人民路 建设路"),
    _d("410182", _HN, _ZZ, "荥阳市", "索河路 京城路 郑上路 中原路 演武路"),
    _d("410183", _HN, _ZZ, "新密市", "青屏大街 开阳路 溱水路 嵩山大道 西大街"),
    _d("410184", _HN, _ZZ, "新郑市", "轩辕路 人民路 中华路 文化路 新华路"),
    _d("410185", _HN, _ZZ, "登封市", "少林大道 嵩阳路 中岳大街 书院河路 崇高路"),
    # 河南省, other cities.
    _d("410202", _HN, "开封市", "龙亭区", "中山路 自由路 北门大街 宋都御街 西门大街"),
    _d("410302", _HN, "洛阳市", "老城区", "中州东路 西大街 东大街 金业路 定鼎北路"),
    _d("410305", _HN, "洛阳市", "涧西区", "中州西路 建设路 武汉路 长安路 青岛路"),
    _d("411002", _HN, "许昌市", "魏都区", "七一路 文峰路 建安大道 八一路 劳动路"),
    _d("411102", _HN, "漯河市", "源汇区", "人民路 黄河路 交通路 解放路 牡丹江路"),
    _d("411302", _HN, "南阳市", "宛城区", "中州路 新华路 建设路 独山大道 工业路"),
    _d("411502", _HN, "信阳市", "浉河区", "胜利路 东方红大道 中山路 民权路 新华路"),
    _d("411602", _HN, "周口市", "川汇区", "七一路 八一大道 交通大道 人民路 中州大道"),
    # Municipalities.
    _d("110101", "北京市", "北京市", "东城区", "东长安街 王府井大街 朝阳门内大街 东四北大街"),
    _d("110102", "北京市", "北京市", "西城区", "西单北大街 金融大街 复兴门内大街 德胜门外大街"),
    _d("110105", "北京市", "北京市", "朝阳区", "建国路 朝阳北路 东三环中路 望京街 酒仙桥路"),
    _d("110108", "北京市", "北京市", "海淀区", "中关村大街 学院路 知春路 北四环西路 万泉河路"),
    _d("120101", "天津市", "天津市", "和平区", "南京路 滨江道 解放北路 成都道 营口道"),
    _d("120104", "天津市", "天津市", "南开区", "卫津路 鞍山西道 白堤路 红旗南路 复康路"),
    _d("310101", "上海市", "上海市", "黄浦区", "南京东路 淮海中路 西藏中路 河南中路 复兴中路"),
    _d("310104", "上海市", "上海市", "徐汇区", "漕溪北路 衡山路 肇嘉浜路 天钥桥路 宜山路"),
    _d("310112", "上海市", "上海市", "闵行区", "沪闵路 莘松路 七莘路 虹井路 都市路"),
    _d("310115", "上海市", "上海市", "浦东新区", "世纪大道 张杨路 浦东南路 杨高中路 锦绣路"),
    # Other provinces.
    _d("130102", "河北省", "石家庄市", "长安区", "中山东路 建设北大街 胜利北街 谈固大街"),
    _d("320102", "江苏省", "南京市", "玄武区", "中山路 北京东路 珠江路 龙蟠中路 太平北路"),
    _d("320106", "江苏省", "南京市", "鼓楼区", "中山北路 湖南路 广州路 草场门大街 北京西路"),
    _d("320508", "江苏省", "苏州市", "姑苏区", "人民路 干将西路 观前街 十全街 石路"),
    _d("320505", "江苏省", "苏州市", "虎丘区", "长江路 狮山路 塔园路 金山路 滨河路"),
    _d("330106", "浙江省", "杭州市", "西湖区", "文三路 天目山路 教工路 古墩路 文一西路"),
    _d("330108", "浙江省", "杭州市", "滨江区", "江南大道 滨盛路 江虹路 长河路 网商路"),
    _d("330212", "浙江省", "宁波市", "鄞州区", "天童南路 四明中路 钱湖北路 首南中路 中山东路"),
    _d("340104", "安徽省", "合肥市", "蜀山区", "长江西路 黄山路 潜山路 望江西路 稻香路"),
    _d("350203", "福建省", "厦门市", "思明区", "中山路 湖滨南路 厦禾路 莲前西路 鹭江道"),
    _d("370102", "山东省", "济南市", "历下区", "泉城路 经十路 历山路 解放路 文化东路"),
    _d("370202", "山东省", "青岛市", "市南区", "香港中路 中山路 南京路 东海西路 山东路"),
    _d("420102", "湖北省", "武汉市", "江岸区", "解放大道 沿江大道 中山大道 黄浦大街 建设大道"),
    _d("420106", "湖北省", "武汉市", "武昌区", "中南路 武珞路 中北路 和平大道 友谊大道"),
    _d("420111", "湖北省", "武汉市", "洪山区", "珞喻路 雄楚大道 鲁磨路 南湖大道 青年路"),
    _d("430102", "湖南省", "长沙市", "芙蓉区", "五一大道 芙蓉中路 韶山北路 八一路 解放东路"),
    _d("430104", "湖南省", "长沙市", "岳麓区", "麓山南路 枫林一路 桐梓坡路 金星中路 岳麓大道"),
    _d("440104", "广东省", "广州市", "越秀区", "中山五路 北京路 环市东路 东风中路 解放北路"),
    _d("440106", "广东省", "广州市", "天河区", "天河路 体育西路 黄埔大道 中山大道 花城大道"),
    _d("440304", "广东省", "深圳市", "福田区", "深南大道 福华路 益田路 彩田路 新洲路"),
    _d("440305", "广东省", "深圳市", "南山区", "南海大道 科技园路 后海大道 沙河西路 创业路"),
    _d("520102", "贵州省", "贵阳市", "南明区", "中华南路 遵义路 宝山南路 花果园大街 市府路"),
    _d("530102", "云南省", "昆明市", "五华区", "人民中路 东风西路 青年路 翠湖南路 学府路"),
)  # fmt: skip

#: The ten county-level codes of 驻马店市.
ZHUMADIAN_CODES: tuple[str, ...] = tuple(d.code for d in DISTRICTS if d.code.startswith("4117"))

_DISTRICT_BY_CODE = {d.code: d for d in DISTRICTS}


def district_by_code(code: str) -> District:
    """Return the :class:`District` with GB/T 2260 ``code`` (``KeyError`` if unknown)."""
    return _DISTRICT_BY_CODE[code]


# --- Customs parameters -------------------------------------------------------------

#: Customs country/region codes (JGS-20, 3 digits; not ISO 3166) used in this module.
COUNTRIES: dict[str, str] = {
    "110": "中国香港",
    "116": "日本",
    "122": "马来西亚",
    "132": "新加坡",
    "133": "韩国",
    "136": "泰国",
    "142": "中国",
    "301": "比利时",
    "302": "丹麦",
    "303": "英国",
    "304": "德国",
    "305": "法国",
    "306": "爱尔兰",
    "307": "意大利",
    "309": "荷兰",
    "312": "西班牙",
    "315": "奥地利",
    "330": "瑞典",
    "331": "瑞士",
    "344": "俄罗斯联邦",
    "501": "加拿大",
    "502": "美国",
    "601": "澳大利亚",
    "609": "新西兰",
}

#: Customs units of measure (JGS-20) that the product pool uses.
CUSTOMS_UNITS: dict[str, str] = {
    "001": "台",
    "006": "套",
    "007": "个",
    "011": "件",
    "012": "支",
    "035": "千克",
    "122": "罐",
    "125": "包",
    "136": "袋",
    "140": "盒",
    "142": "瓶",
}

#: Customs offices (关区代码, 4 digits): the 46xx Zhengzhou area plus a few national ones.
CUSTOMS_OFFICES: dict[str, str] = {
    "4600": "郑州海关",
    "4604": "郑州机办",
    "4605": "郑州邮办",
    "4606": "郑铁东办",
    "4612": "新郑综保",
    "0100": "北京海关",
    "2200": "上海海关",
    "2244": "上海快件",
    "2249": "洋山保税",
    "2900": "杭州海关",
    "2928": "杭关电商",
    "3100": "宁波海关",
    "3700": "厦门海关",
    "4200": "青岛海关",
    "5100": "广州海关",
    "5300": "深圳海关",
}

#: Codes of :data:`CUSTOMS_OFFICES` under the Zhengzhou directly-affiliated customs.
HENAN_CUSTOMS_CODES: tuple[str, ...] = tuple(c for c in CUSTOMS_OFFICES if c.startswith("46"))

#: GS1 company-prefix ranges (first 2-3 digits of an EAN-13) by customs country code.
GS1_PREFIXES: dict[str, tuple[str, ...]] = {
    "116": ("45", "49"),
    "133": ("880",),
    "136": ("885",),
    "142": ("690", "691", "692", "693", "694", "695"),
    "303": ("50",),
    "304": ("400", "401", "402", "403", "404", "405", "406", "407", "408", "409", "440"),
    "305": ("30", "31", "32", "33", "34", "35", "36", "37"),
    "307": ("80", "81", "82", "83"),
    "309": ("87",),
    "312": ("84",),
    "330": ("73",),
    "331": ("76",),
    "501": ("754", "755"),
    "502": ("00", "01", "03", "04", "06", "07", "08", "09"),
    "601": ("93",),
    "609": ("94",),
}


def district_info(code: str) -> dict[str, str]:
    try:
        district = district_by_code(code)
    except KeyError:
        return {"code": code, "name": code}
    return {
        "code": code,
        "name": district.name,
        "city": district.city,
        "province": district.province,
    }


def customs_office_name(code: str) -> str:
    return CUSTOMS_OFFICES.get(code, code)


def country_name(code: str | None) -> str:
    if not code:
        return ""
    return COUNTRIES.get(code, code)

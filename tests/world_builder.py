"""A small world built by hand, with answers worked out on paper.

    Maker M1 (NZ) commissions ingredient lot I1 and I2 (whey, product PW).
    Maker M2 (DE) transforms I1 -> formula lot F1, and I2 -> formula lot F2 (product PF).

    O1: 1 x F1             buyer Alice, ships to Alice (驿城区 411702), platform EBP1
    O2: 1 x F1 + 1 x F2    buyer Bob,   ships to Bob   (金水区 410105), platform EBP2
    O3: 2 x F2             buyer Alice, ships to Alice,                platform EBP1

Recall of I1 reaches O1 and O2 (through F1); recall of F2 reaches O2 and O3.
O1 has every partner document; O3 has no waybill or inventory yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from traceability.epcis.graph import epcis_event
from traceability.formats.ceb.xml import Record
from traceability.formats.identifiers import gtin_check_digit
from traceability.formats.privacy import PersonalDataHasher
from traceability.ingest.mapping import CebMapper, GraphBatch


def gtin13(body12: str) -> str:
    return body12 + gtin_check_digit(body12)


PW = gtin13("940000100001")  # whey protein
PF = gtin13("400000200002")  # infant formula
PW14, PF14 = "0" + PW, "0" + PF
M1_PGLN, M2_PGLN = "urn:epc:id:pgln:9400001.00001", "urn:epc:id:pgln:4000002.00001"
M1_GLN = "940000100001" + gtin_check_digit("940000100001")
M2_GLN = "400000200001" + gtin_check_digit("400000200001")
ALICE_ID, BOB_ID = "11010519491231002X", "410102199003071230"
EBP1, EBP2, EBC, PAY, CARRIER, AGENT = (
    "4101960001", "4101960002", "4101970003", "4101980004", "4101990005", "4117960006",
)  # fmt: skip


@dataclass
class SmallWorld:
    batches: list[GraphBatch] = field(default_factory=list)
    orders: dict[str, str] = field(default_factory=dict)
    lots: dict[str, str] = field(default_factory=dict)


def lgtin(gtin13_: str, lot: str) -> str:
    g = "0" + gtin13_
    return f"urn:epc:class:lgtin:{g[1:8]}.{g[0]}{g[8:13]}.{lot}"


def _order(no: str, ebp: str, lines: list[tuple[str, str, int]], buyer: tuple[str, str, str],
           district: str, address: str) -> Record:  # fmt: skip
    total = sum(100 * qty for _, _, qty in lines)
    head = {
        "appTime": "20260301101500", "orderType": "I", "orderNo": no, "ebpCode": ebp,
        "ebpName": f"平台{ebp[-1]}", "ebcCode": EBC, "ebcName": "样例电商企业",
        "goodsValue": str(total), "freight": "10", "discount": "0", "taxTotal": "9.1",
        "acturalPaid": str(total + 19.1), "currency": "142", "buyerName": buyer[1],
        "buyerTelephone": buyer[2], "buyerIdType": "1", "buyerIdNumber": buyer[0],
        "payCode": PAY, "payName": "样例支付", "payTransactionId": f"P{no}",
        "batchNumbers": ",".join(lot for _, lot, _ in lines), "consignee": buyer[1],
        "consigneeTelephone": buyer[2], "consigneeAddress": address,
        "consigneeDistrict": district,
    }  # fmt: skip
    order_lines = [
        {"gnum": str(i), "itemName": "配方奶粉", "barCode": gtin, "unit": "122",
         "qty": str(qty), "price": "100", "totalPrice": str(100 * qty), "country": "304"}
        for i, (gtin, _, qty) in enumerate(lines, 1)
    ]  # fmt: skip
    return Record(head, order_lines)


def build_small_world(hasher: PersonalDataHasher) -> SmallWorld:
    world = SmallWorld()
    master = {
        M1_PGLN: {"name": "Kiwi Whey Ltd", "country": "609"},
        M2_PGLN: {"name": "Alpen Formula GmbH", "country": "304"},
        PW14: {"name": "乳清蛋白粉", "countryOfOrigin": "609"},
        PF14: {"name": "婴儿配方奶粉", "countryOfOrigin": "304"},
    }
    events = [
        {"type": "ObjectEvent", "action": "ADD", "bizStep": "commissioning",
         "eventID": f"urn:uuid:e-{lot}", "eventTime": f"2026-01-0{day}T00:00:00.000Z",
         "sourceList": [{"type": "owning_party", "source": M1_PGLN}],
         "quantityList": [{"epcClass": lgtin(PW, lot), "quantity": 100, "uom": "KGM"}]}
        for lot, day in (("I1", 1), ("I2", 2))
    ] + [
        {"type": "TransformationEvent", "bizStep": "commissioning",
         "eventID": f"urn:uuid:t-{out}", "eventTime": f"2026-01-1{day}T00:00:00.000Z",
         "sourceList": [{"type": "owning_party", "source": M2_PGLN}],
         "inputQuantityList": [{"epcClass": lgtin(PW, source), "quantity": 50, "uom": "KGM"}],
         "outputQuantityList": [{"epcClass": lgtin(PF, out), "quantity": 500}]}
        for source, out, day in (("I1", "F1", 1), ("I2", "F2", 2))
    ]  # fmt: skip
    production = GraphBatch()
    for event in events:
        production.extend(epcis_event(event, master))
    world.batches.append(production)
    world.lots = {"I1": f"{PW14}:I1", "I2": f"{PW14}:I2", "F1": f"{PF14}:F1", "F2": f"{PF14}:F2"}

    mapper = CebMapper(hasher)
    alice = (ALICE_ID, "张晓丽", "13812345678")
    bob = (BOB_ID, "王大伟", "13987654321")
    home_a, home_b = "河南省驻马店市驿城区解放大道1号", "河南省郑州市金水区花园路2号"
    orders = {
        "O1": _order("O1", EBP1, [(PF, "F1", 1)], alice, "411702", home_a),
        "O2": _order("O2", EBP2, [(PF, "F1", 1), (PF, "F2", 1)], bob, "410105", home_b),
        "O3": _order("O3", EBP1, [(PF, "F2", 2)], alice, "411702", home_a),
    }
    for name, record in orders.items():
        world.batches.append(mapper.order(record))
        world.orders[name] = f"{record.head['ebpCode']}:{name}"
    for name in ("O1", "O2"):
        head = orders[name].head
        world.batches.append(mapper.payment(Record({
            "payCode": PAY, "payName": "样例支付", "payTransactionId": f"P{name}",
            "orderNo": name, "ebpCode": head["ebpCode"], "payerIdType": "1",
            "payerIdNumber": head["buyerIdNumber"], "payerName": head["buyerName"],
            "telephone": head["buyerTelephone"], "amountPaid": head["acturalPaid"],
            "currency": "142", "payTime": "20260301102000",
        })))  # fmt: skip
        world.batches.append(mapper.waybill(Record({
            "appTime": "20260301120000", "logisticsCode": CARRIER, "logisticsName": "样例物流",
            "logisticsNo": f"W{name}", "orderNo": name, "freight": "10", "insuredFee": "0",
            "consignee": head["consignee"], "consigneeTelephone": head["consigneeTelephone"],
            "consigneeAddress": head["consigneeAddress"],
        })))  # fmt: skip
        world.batches.append(mapper.inventory(Record({
            "orderNo": name, "ebpCode": head["ebpCode"], "ebcCode": EBC,
            "logisticsCode": CARRIER, "logisticsNo": f"W{name}", "copNo": f"C{name}",
            "agentCode": AGENT, "agentName": "样例报关行", "declTime": "20260302",
            "customsCode": "4612", "tradeMode": "1210", "freight": "10", "insuredFee": "0",
        }, [{"gnum": "1", "gcode": "1901101090", "gname": "配方奶粉", "barCode": PF,
             "qty": "1", "totalPrice": "100", "country": "304"}])))  # fmt: skip
        world.batches.append(mapper.inventory_return(Record({
            "copNo": f"C{name}", "preNo": f"B{name}", "invtNo": f"I{name}",
            "returnStatus": "800", "returnTime": "20260303090000000", "returnInfo": "放行",
            "customsCode": "4612",
        })))  # fmt: skip
    return world

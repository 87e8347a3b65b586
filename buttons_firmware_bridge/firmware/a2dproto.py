# A2D button-box line protocol, MicroPython and CPython alike (see docs/bridge.md).
# box -> bridge: $A2D,1,<box_id>,<seq>,<event>,<button>*<XX>\n
# bridge -> box: $A2D,1,ACK,<box_id>,<seq>*<XX>\n   (XX: hex XOR of the characters between $ and *)

MODULO = 65536


def checksum(body):
    x = 0
    for ch in body:
        x ^= ord(ch)
    return f"{x & 0xFF:02X}"


def frame(box_id, seq, event, button):
    body = f"A2D,1,{box_id},{seq},{event},{button}"
    return f"${body}*{checksum(body)}\n"


def parse_ack(line, box_id):
    """The acknowledged sequence number, or None if ``line`` is not an ACK for this box."""
    line = line.strip()
    if not line.startswith("$") or "*" not in line:
        return None
    star = line.rfind("*")
    body, given = line[1:star], line[star + 1 :]
    if checksum(body) != given:
        return None
    parts = body.split(",")
    if len(parts) != 5 or parts[0] != "A2D" or parts[1] != "1" or parts[2] != "ACK" or parts[3] != box_id:
        return None
    if not parts[4].isdigit():
        return None
    seq = int(parts[4])
    return seq if seq < MODULO else None

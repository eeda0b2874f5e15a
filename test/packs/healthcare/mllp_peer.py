"""An independent MLLP peer (Debian's python3-hl7): sends each file's message over one
connection with hl7.mllp and prints one JSON line per ACK, parsed by python-hl7 itself.

    /usr/bin/python3 mllp_peer.py HOST PORT FILE...
"""
import asyncio
import json
import sys

import hl7
from hl7.mllp import open_hl7_connection


def field(msg, segment, n):
    try:
        return str(msg.segment(segment)[n])
    except (KeyError, IndexError):
        return ""


async def main(host, port, files):
    reader, writer = await open_hl7_connection(host, port, encoding="utf-8")
    for name in files:
        with open(name, "rb") as f:
            text = f.read().decode("utf-8")
        writer.writemessage(hl7.parse(text))
        await writer.drain()
        ack = await asyncio.wait_for(reader.readmessage(), 10)
        print(json.dumps({
            "file": name,
            "msa1": field(ack, "MSA", 1), "msa2": field(ack, "MSA", 2),
            "msh3": field(ack, "MSH", 3), "msh4": field(ack, "MSH", 4),
            "msh5": field(ack, "MSH", 5), "msh6": field(ack, "MSH", 6),
            "msh9": field(ack, "MSH", 9), "msh12": field(ack, "MSH", 12),
            "err": str(ack.segment("ERR")) if any(str(s[0]) == "ERR" for s in ack) else None,
        }), flush=True)
    writer.close()


asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3:]))

#!/usr/bin/env python3
"""Opens COUNT idle server-sent-event streams to Flagpole, waits for each to receive its first
event, and prints the server's resident memory before and after, per stream.

Usage: streams.py HOST PORT CLIENT_TOKEN SERVER_PID COUNT
"""

import asyncio
import sys

HOST, PORT, TOKEN, PID, COUNT = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])


def rss_kib():
    with open(f"/proc/{PID}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def open_stream():
    reader, writer = await asyncio.open_connection(HOST, PORT)
    writer.write(
        f"GET /api/client/streaming HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: {TOKEN}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    await writer.drain()
    received = b""
    while b"unleash-connected" not in received:
        chunk = await reader.read(65536)
        if not chunk:
            raise RuntimeError("stream closed early")
        received += chunk
    return reader, writer


async def main():
    before = rss_kib()
    streams = []
    for start in range(0, COUNT, 500):
        batch = [open_stream() for _ in range(min(500, COUNT - start))]
        streams.extend(await asyncio.gather(*batch))
    await asyncio.sleep(1)
    after = rss_kib()
    print(f"{COUNT} idle streams: RSS {before / 1024:.1f} MiB -> {after / 1024:.1f} MiB, "
          f"{(after - before) / COUNT:.1f} KiB per stream")
    for _, writer in streams:
        writer.close()


asyncio.run(main())

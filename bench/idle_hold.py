#!/usr/bin/python3
"""Idle-connection load for the RSS-per-connection measure.

  idle_hold.py server PORT             accept, answer each 1-byte ping with 1 byte, hold
  idle_hold.py client HOST PORT N SECS open N connections, ping each once (proves the path
                                       through the proxy), print "READY <ok>", hold them
                                       SECS (or until killed), then close all

Both sides are bounded: the client gives up connecting after SECS and the server exits
after SECS of its own (argument 3, default 600)."""
import asyncio
import sys


async def serve(port, lifetime):
    async def handle(reader, writer):
        try:
            if await reader.read(1):
                writer.write(b"y")
                await writer.drain()
            await reader.read(1)  # held until the peer closes
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
    async with server:
        await asyncio.sleep(lifetime)


async def hold(host, port, n, secs):
    sem = asyncio.Semaphore(200)  # bounded connect burst: stays under listen backlogs
    conns = []

    async def one():
        async with sem:
            try:
                r, w = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
                w.write(b"x")
                await w.drain()
                if await asyncio.wait_for(r.read(1), 10) != b"y":
                    w.close()
                    return
                conns.append(w)
            except (OSError, asyncio.TimeoutError):
                pass

    try:
        await asyncio.wait_for(asyncio.gather(*(one() for _ in range(n))), secs)
    except asyncio.TimeoutError:
        pass
    print("READY %d" % len(conns), flush=True)
    await asyncio.sleep(secs)  # the harness normally kills us long before
    for w in conns:
        w.close()


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "server":
        lifetime = float(sys.argv[3]) if len(sys.argv) > 3 else 600
        asyncio.run(serve(int(sys.argv[2]), lifetime))
    elif len(sys.argv) == 6 and sys.argv[1] == "client":
        asyncio.run(hold(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()

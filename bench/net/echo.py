"""Echo round trips over TCP with asyncio: the same workload as echo.noodle (C client
coroutines, each with its own connection, M round trips of a 64-byte line; a server handler
per connection). Sizes from the environment (C, M). Prints one line of JSON."""
import asyncio
import json
import os
import sys
import time

C = int(os.environ.get("C", "50"))
M = int(os.environ.get("M", "2000"))


async def main():
    echoed = 0
    done = asyncio.Event()
    closed = 0

    async def echo(reader, writer):
        nonlocal echoed, closed
        while True:
            line = await reader.readline()
            if not line:
                break
            writer.write(line)
            await writer.drain()
            echoed += 1
        writer.close()
        closed += 1
        if closed == C:
            done.set()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    async def client():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        line = b"x" * 63 + b"\n"
        ok = 0
        for _ in range(M):
            writer.write(line)
            await writer.drain()
            if len(await reader.readline()) == 64:
                ok += 1
        writer.close()
        return ok

    start = time.monotonic()
    oks = await asyncio.gather(*(client() for _ in range(C)))
    secs = time.monotonic() - start
    await done.wait()
    server.close()
    if sum(oks) != C * M or echoed != C * M:
        print(f"wrong counts: {sum(oks)} answers, {echoed} echoed", file=sys.stderr)
        sys.exit(1)
    print(json.dumps({"workload": "echo", "connections": C, "round_trips": C * M, "seconds": round(secs, 4), "us_per_round_trip": round(secs * 1e6 / (C * M), 2)}))


asyncio.run(main())

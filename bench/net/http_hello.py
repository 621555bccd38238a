"""The same server as http_hello.noodle on uvicorn (one worker, its default HTTP parser),
for wrk: see compare. The port comes from PORT."""
import os

import uvicorn


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
    await send({"type": "http.response.body", "body": b"hello, world"})


uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8080")), log_level="error", access_log=False)

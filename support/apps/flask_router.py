"""A Flask app with a restricted area routed by Flask's <path:> converter, for the routing tests.

/admin/<path:page> is the application's admin handler; everything else is public. Each answer
says which handler ran and what path the app received, so a test can tell whether a request that
nginx matched to a less-restricted location still reached the admin handler.
Run: python3 flask_router.py --host 127.0.0.1 --port 5001
"""

from __future__ import annotations

import argparse

from flask import Flask, jsonify, request

app = Flask(__name__)


def answer(handler: str):
    return jsonify(handler=handler, path=request.path, user=request.headers.get("X-Auth-User"))


@app.route("/healthz")
def healthz():
    return "ok"


@app.route("/admin/", defaults={"page": ""})
@app.route("/admin/<path:page>")
def admin(page: str):
    return answer("admin")


@app.route("/", defaults={"path": ""})
@app.route("/<path:path>")
def public(path: str):
    return answer("public")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    args, _ = parser.parse_known_args()
    app.run(host=args.host, port=args.port)

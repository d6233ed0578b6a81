"""Demo authenticator for nginx-jwt-auth: the "Flask-style login app" (README, "The authenticator contract").

The service (not nginx) calls ``POST /login`` with the user's body, parsed and re-serialized
(``application/json`` or ``application/x-www-form-urlencoded``, nothing else).
200 + a JSON user object means the credentials are good; 401 + ``{"error": ...}`` means they
are not. The app keeps its users; the service never sees a password store.

The same process is also the demo's *upstream application*: ``GET /whoami`` and the catch-all
echo route show what nginx forwarded (identity headers, method, body length), which is what the
end-to-end tests assert on.

Run:     python3 app.py [--host 127.0.0.1] [--port 5000] [--users users.json]
Hash:    python3 app.py hash-password            (reads the password from stdin or a prompt)
Env:     HOST, PORT, USERS_FILE override the defaults; flags override the environment.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import hmac
import json
import os
import sys
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.security import check_password_hash, generate_password_hash

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_USERS_FILE = os.path.join(HERE, "users.json")

# PBKDF2-HMAC-SHA256 with 600 000 iterations (OWASP 2023 guidance, werkzeug 3.0's default).
# werkzeug 2.2 (Debian 12) cannot make scrypt hashes, every werkzeug can make and check these,
# and node:crypto verifies them too (examples/node-authenticator): one users file for both apps.
HASH_METHOD = "pbkdf2:sha256:600000"

# werkzeug also accepts "plain" and bare hashlib names (unsalted) in check_password_hash;
# a users file must never be able to opt into those.
ACCEPTED_PREFIXES = ("pbkdf2:", "scrypt:")

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def verify_password(pwhash: str, password: str) -> bool:
    """Check ``password`` against a werkzeug-format hash (pbkdf2 or scrypt only)."""
    if not isinstance(pwhash, str) or not pwhash.startswith(ACCEPTED_PREFIXES):
        return False
    if pwhash.startswith("scrypt:"):
        return _verify_scrypt(pwhash, password)
    return check_password_hash(pwhash, password)


def _verify_scrypt(pwhash: str, password: str) -> bool:
    """werkzeug >= 2.3's ``scrypt:N:r:p$salt$hex`` format, checked with hashlib.

    Done here rather than by werkzeug because werkzeug 2.2 (Debian 12) predates scrypt support;
    the computation is the same as werkzeug's (64-byte key, salt used as UTF-8 text).
    """
    try:
        method, salt, expected = pwhash.split("$", 2)
        _, n, r, p = method.split(":")
        n_i, r_i, p_i = int(n), int(r), int(p)
        derived = hashlib.scrypt(
            password.encode("utf-8"),
            salt=salt.encode("utf-8"),
            n=n_i,
            r=r_i,
            p=p_i,
            maxmem=132 * n_i * r_i * p_i,
            dklen=64,
        ).hex()
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(derived, expected)


def load_users(path: str) -> dict[str, dict[str, Any]]:
    """Read ``{"users": {"<username>": {"password_hash", "name", "roles", ...}}}``."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    users = data.get("users") if isinstance(data, dict) else None
    if not isinstance(users, dict):
        raise SystemExit(f"{path}: expected an object with a \"users\" object")
    for username, user in users.items():
        if not isinstance(user, dict) or not str(user.get("password_hash", "")).startswith(
            ACCEPTED_PREFIXES
        ):
            raise SystemExit(f"{path}: user {username!r} needs a pbkdf2: or scrypt: password_hash")
    return users


def create_app(users_file: str = DEFAULT_USERS_FILE) -> Flask:
    users = load_users(users_file)
    # Checked when the username is unknown, so "no such user" costs as much as "bad password".
    dummy_hash = generate_password_hash("dummy-password", method=HASH_METHOD)

    app = Flask(__name__)

    # All methods routed here so that GET /login is a 405, not the catch-all echo below.
    @app.route("/login", methods=ALL_METHODS)
    def login():  # type: ignore[no-untyped-def]
        if request.method != "POST":
            return jsonify(error="method_not_allowed"), 405, {"Allow": "POST"}
        # The service forwards a JSON object or a form, re-serialized, with that canonical Content-Type.
        data = request.get_json(silent=True) if request.is_json else request.form
        if not hasattr(data, "get"):
            data = {}
        username, password = data.get("username"), data.get("password")
        if not isinstance(username, str) or not isinstance(password, str) or not username:
            return jsonify(error="invalid_request"), 400

        user = users.get(username)
        ok = verify_password(user["password_hash"] if user else dummy_hash, password)
        if user is None or not ok:
            return jsonify(error="invalid_credentials"), 401

        profile = {k: v for k, v in user.items() if k != "password_hash"}
        profile.setdefault("sub", username)
        return jsonify(profile), 200

    @app.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        return jsonify(status="ok")

    @app.get("/whoami")
    def whoami():  # type: ignore[no-untyped-def]
        return jsonify(
            user=request.headers.get("X-Auth-User"),
            roles=request.headers.get("X-Auth-Roles"),
            name=request.headers.get("X-Auth-Name"),
            identity=_identity_headers(),
            request_id=request.headers.get("X-Request-ID"),
        )

    # Everything else echoes what arrived, for every method: the e2e tests check that the upstream
    # got the whole body of a POST/PUT/DELETE and only nginx's identity headers.
    @app.route("/", defaults={"path": ""}, methods=ALL_METHODS)
    @app.route("/<path:path>", methods=ALL_METHODS)
    def echo(path: str):  # type: ignore[no-untyped-def]
        body = request.get_data(cache=False)
        return jsonify(
            method=request.method,
            path="/" + path,
            query=request.query_string.decode("latin-1"),
            identity=_identity_headers(),
            headers={k: v for k, v in request.headers.items()},
            body_length=len(body),
            body_sha256=hashlib.sha256(body).hexdigest(),
        )

    return app


def _identity_headers() -> dict[str, str]:
    """Every X-Auth-* header that reached the app (a header nginx failed to overwrite shows up here)."""
    return {k: v for k, v in request.headers.items() if k.lower().startswith("x-auth-")}


def hash_password_command() -> int:
    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if password != getpass.getpass("again: "):
            print("passwords differ", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        print("empty password", file=sys.stderr)
        return 1
    print(generate_password_hash(password, method=HASH_METHOD))
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["hash-password"]:
        return hash_password_command()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    parser.add_argument("--users", default=os.environ.get("USERS_FILE", DEFAULT_USERS_FILE))
    args = parser.parse_args(argv)
    app = create_app(args.users)
    # werkzeug's development server, threaded (HTTP/1.1 keep-alive with nginx's upstream pool);
    # run it under gunicorn or similar for anything beyond a demo.
    app.run(host=args.host, port=args.port, threaded=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

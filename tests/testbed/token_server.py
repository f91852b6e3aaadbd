"""A registry token server in the manner of Docker Hub's auth.docker.io.

It implements both halves of the distribution token specification: `GET /token` (Basic
credentials, `scope` repeated, `offline_token`) and the OAuth2 `POST /token` (password and
refresh_token grants). Tokens are RS256 JWTs whose `x5c` header carries the test CA certificate
the registry trusts through `rootcertbundle`.

Partial grants follow the specification: the token lists only the actions the user may have,
and drops a resource entirely when none remain. The registry, not this server, then refuses the
request: distribution 2.8 answers 401 with code UNAUTHORIZED and `error="insufficient_scope"` in
its Bearer challenge (never DENIED), and `error="invalid_token"` for a token it cannot verify.
"""

import argparse
import base64
import binascii
import json
import secrets
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

SERVICE = "imagescope-testbed"
ISSUER = "imagescope-testbed-token-server"
TOKEN_TTL = 300

# The secrets of the test bed: they guard nothing but throwaway fixtures on 127.0.0.1.
USERS = {
    "alice": {"password": "wonderland-token", "identity_token": "alice-identity-token"},
    "pusher": {"password": "pusher-secret"},
}

REPOSITORY_ACTIONS = ("pull", "push", "delete")

POLICY = {"anonymous": "pull on public/*",
          "alice": "pull on every repository; registry:catalog:*",
          "pusher": "pull, push, delete on every repository; registry:catalog:*"}


def allowed_actions(user, kind, name):
    """What `user` (None when anonymous) may do on one resource; see POLICY."""
    if kind == "repository":
        if user == "pusher":
            return set(REPOSITORY_ACTIONS)
        if user == "alice":
            return {"pull"}
        return {"pull"} if name.startswith("public/") else set()
    if kind == "registry" and name == "catalog" and user is not None:
        return {"*"}
    return set()


def parse_scope(scope):
    """`type:name:actions`; the name may itself hold colons (a registry host with a port)."""
    kind, sep, rest = scope.partition(":")
    name, sep2, actions = rest.rpartition(":")
    if not sep or not sep2 or not kind or not name:
        return None
    return kind, name, [a for a in actions.split(",") if a]


def grant(user, scopes):
    access = {}
    for scope in scopes:
        parsed = parse_scope(scope)
        if parsed is None:
            continue
        kind, name, wanted = parsed
        allowed = allowed_actions(user, kind, name)
        if "*" in wanted and "*" not in allowed:
            given = allowed
        else:
            given = {a for a in wanted if a in allowed or "*" in allowed}
        access.setdefault((kind, name), set()).update(given)
    return [{"type": kind, "name": name, "actions": sorted(actions)}
            for (kind, name), actions in access.items() if actions]


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Signer:
    def __init__(self, key_path, cert_path):
        self.key_path = key_path
        with open(cert_path) as fh:
            pem = fh.read()
        body = pem.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
        self.x5c = "".join(body.split())

    def token(self, subject, service, access):
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        claims = {"iss": ISSUER, "sub": subject or "", "aud": service, "exp": now + TOKEN_TTL,
                  "nbf": now, "iat": now, "jti": secrets.token_hex(16), "access": access}
        signing_input = (b64url(json.dumps(header).encode()) + "."
                         + b64url(json.dumps(claims).encode()))
        signature = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", self.key_path],
            input=signing_input.encode(), stdout=subprocess.PIPE, check=True).stdout
        return signing_input + "." + b64url(signature), now


class RequestError(Exception):
    def __init__(self, status, body):
        super().__init__(body)
        self.status = status
        self.body = body


def unauthorized(message, oauth=False):
    body = {"errors": [{"code": "UNAUTHORIZED", "message": message}]}
    if oauth:
        body.update({"error": "invalid_grant", "error_description": message})
    return RequestError(401, body)


def bad_request(error, message):
    return RequestError(400, {"error": error, "error_description": message,
                              "errors": [{"code": "UNSUPPORTED", "message": message}]})


def rfc3339(ts):
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class TokenService:
    def __init__(self, signer):
        self.signer = signer
        self.lock = threading.Lock()
        self.refresh_tokens = {u["identity_token"]: name for name, u in USERS.items()
                               if "identity_token" in u}

    def check_password(self, username, password, oauth=False):
        user = USERS.get(username)
        if user is None or not secrets.compare_digest(user["password"], password):
            raise unauthorized("incorrect username or password", oauth)
        return username

    def new_refresh_token(self, username):
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.refresh_tokens[token] = username
        return token

    def user_for_refresh_token(self, token):
        with self.lock:
            user = self.refresh_tokens.get(token)
        if user is None:
            raise unauthorized("invalid refresh token", oauth=True)
        return user

    def check_service(self, service):
        if service and service != SERVICE:
            raise bad_request("invalid_request", f"unknown service {service!r}")
        return service or SERVICE

    def get(self, query, authorization):
        service = self.check_service(first(query, "service"))
        user = None
        if authorization:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() != "basic":
                raise bad_request("invalid_request", "only Basic credentials are accepted")
            try:
                decoded = base64.b64decode(value, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise bad_request("invalid_request", "malformed Basic credentials")
            username, sep, password = decoded.partition(":")
            if not sep:
                raise bad_request("invalid_request", "malformed Basic credentials")
            user = self.check_password(username, password)
        token, now = self.signer.token(user, service, grant(user, query.get("scope", [])))
        body = {"token": token, "access_token": token, "expires_in": TOKEN_TTL,
                "issued_at": rfc3339(now)}
        if user and first(query, "offline_token") == "true":
            body["refresh_token"] = self.new_refresh_token(user)
        return body

    def post(self, form):
        grant_type = first(form, "grant_type")
        service = first(form, "service")
        if not grant_type or not service or not first(form, "client_id"):
            raise bad_request("invalid_request", "grant_type, service and client_id are required")
        service = self.check_service(service)
        refresh_token = None
        if grant_type == "password":
            username, password = first(form, "username"), first(form, "password")
            if username is None or password is None:
                raise bad_request("invalid_request", "username and password are required")
            user = self.check_password(username, password, oauth=True)
            refresh_token = self.new_refresh_token(user)
        elif grant_type == "refresh_token":
            presented = first(form, "refresh_token")
            if not presented:
                raise bad_request("invalid_request", "refresh_token is required")
            user = self.user_for_refresh_token(presented)
            if first(form, "access_type") == "offline":
                refresh_token = presented
        else:
            raise bad_request("unsupported_grant_type", f"unsupported grant_type {grant_type!r}")
        scopes = [s for value in form.get("scope", []) for s in value.split()]
        access = grant(user, scopes)
        token, now = self.signer.token(user, service, access)
        body = {"access_token": token, "expires_in": TOKEN_TTL, "issued_at": rfc3339(now),
                "scope": " ".join(f"{a['type']}:{a['name']}:{','.join(a['actions'])}"
                                  for a in access)}
        if refresh_token:
            body["refresh_token"] = refresh_token
        return body


def first(params, name):
    values = params.get(name)
    return values[0] if values else None


class Handler(BaseHTTPRequestHandler):
    server_version = "imagescope-token-server"
    protocol_version = "HTTP/1.1"

    def send_json(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def dispatch(self, action):
        try:
            self.send_json(200, action())
        except RequestError as e:
            self.send_json(e.status, e.body)

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/healthz":
            self.send_json(200, {"ok": True})
        elif url.path == "/token":
            query = parse_qs(url.query, keep_blank_values=True)
            self.dispatch(lambda: self.server.service.get(query,
                                                          self.headers.get("Authorization")))
        else:
            self.send_json(404, {"errors": [{"code": "NOT_FOUND", "message": "no such path"}]})

    def do_POST(self):
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if url.path != "/token":
            self.send_json(404, {"errors": [{"code": "NOT_FOUND", "message": "no such path"}]})
            return
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            error = bad_request("invalid_request", "expected a form-urlencoded body")
            self.send_json(error.status, error.body)
            return
        form = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
        self.dispatch(lambda: self.server.service.post(form))

    def do_OPTIONS(self):
        self.send_response(204)
        self.send_header("Allow", "GET, POST, OPTIONS")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.log_date_time_string(), fmt % args))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--cert", required=True)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.service = TokenService(Signer(args.key, args.cert))
    server.serve_forever()


if __name__ == "__main__":
    main()

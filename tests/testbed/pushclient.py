"""A small push client for the distribution API, enough to seed the test bed.

It authenticates the way a real client does: it sends the request, and when the registry
answers 401 it reads the challenge, fetches a Bearer token from the challenged realm (or sends
Basic credentials), and retries once.
"""

import base64
import hashlib
import http.client
import json
import re
from urllib.parse import urlencode, urlsplit

CHUNK_BYTES = 8 * 1024 * 1024
MONOLITHIC_LIMIT = 4 * 1024 * 1024

_PARAM = re.compile(r'([A-Za-z_]+)="([^"]*)"')


class PushError(Exception):
    pass


def parse_challenge(header):
    scheme, _, rest = (header or "").partition(" ")
    return scheme.lower(), dict(_PARAM.findall(rest))


def basic(username, password):
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def http_request(url, method="GET", headers=None, body=None, timeout=120):
    """One request on a fresh connection; returns (status, headers, body bytes)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        target = parts.path + ("?" + parts.query if parts.query else "")
        conn.request(method, target, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, resp.headers, data
    finally:
        conn.close()


class Pusher:
    def __init__(self, host, username=None, password=None):
        self.base = f"http://{host}"
        self.credentials = (username, password) if username else None
        self.authorization = {}

    def _token(self, params, repo):
        scopes = [params["scope"]] if params.get("scope") else []
        scopes.append(f"repository:{repo}:pull,push")
        query = urlencode([("service", params.get("service", ""))]
                          + [("scope", s) for s in scopes])
        headers = {"Authorization": basic(*self.credentials)} if self.credentials else {}
        status, _, body = http_request(params["realm"] + "?" + query, headers=headers)
        if status != 200:
            raise PushError(f"token server answered {status}: {body[:200]!r}")
        doc = json.loads(body)
        return "Bearer " + (doc.get("token") or doc["access_token"])

    def request(self, repo, method, url, headers=None, body=None, expect=(200,)):
        url = url if url.startswith("http") else self.base + url
        for attempt in range(2):
            all_headers = dict(headers or {})
            if repo in self.authorization:
                all_headers["Authorization"] = self.authorization[repo]
            status, resp_headers, data = http_request(url, method, all_headers, body)
            if status != 401 or attempt:
                break
            scheme, params = parse_challenge(resp_headers.get("WWW-Authenticate"))
            if scheme == "bearer":
                self.authorization[repo] = self._token(params, repo)
            elif scheme == "basic" and self.credentials:
                self.authorization[repo] = basic(*self.credentials)
            else:
                break
        if status not in expect:
            raise PushError(f"{method} {url} answered {status}: {data[:300]!r}")
        return status, resp_headers, data

    def has_blob(self, repo, digest):
        status, _, _ = self.request(repo, "HEAD", f"/v2/{repo}/blobs/{digest}", expect=(200, 404))
        return status == 200

    def _start_upload(self, repo):
        _, headers, _ = self.request(repo, "POST", f"/v2/{repo}/blobs/uploads/", expect=(202,))
        return headers["Location"]

    def _finish(self, repo, location, digest, body=b""):
        sep = "&" if "?" in location else "?"
        self.request(repo, "PUT", f"{location}{sep}digest={digest}",
                     {"Content-Type": "application/octet-stream"}, body, expect=(201,))

    def push_blob(self, repo, blob):
        if self.has_blob(repo, blob.digest):
            return
        if len(blob.data) <= MONOLITHIC_LIMIT:
            self._finish(repo, self._start_upload(repo), blob.digest, blob.data)
        else:
            self.push_chunks(repo, blob.digest, _slices(blob.data))

    def push_stream(self, repo, blob):
        if self.has_blob(repo, blob.digest):
            return
        self.push_chunks(repo, blob.digest, _rechunk(blob.chunks()))

    def push_chunks(self, repo, digest, chunks):
        """Chunked upload: one PATCH per chunk, so memory stays bounded by CHUNK_BYTES."""
        location = self._start_upload(repo)
        offset = 0
        sent = hashlib.sha256()
        for chunk in chunks:
            sent.update(chunk)
            headers = {"Content-Type": "application/octet-stream",
                       "Content-Range": f"{offset}-{offset + len(chunk) - 1}"}
            _, resp, _ = self.request(repo, "PATCH", location, headers, chunk, expect=(202,))
            location = resp["Location"]
            offset += len(chunk)
        if "sha256:" + sent.hexdigest() != digest:
            raise PushError(f"streamed bytes of {repo} do not match {digest}")
        self._finish(repo, location, digest)

    def push_manifest(self, repo, ref, manifest):
        _, headers, _ = self.request(repo, "PUT", f"/v2/{repo}/manifests/{ref}",
                                     {"Content-Type": manifest.media_type}, manifest.data,
                                     expect=(201,))
        if headers.get("Docker-Content-Digest") != manifest.digest:
            raise PushError(f"{repo}:{ref} stored as {headers.get('Docker-Content-Digest')}, "
                            f"expected {manifest.digest}")

    def push(self, step):
        if step.manifest is not None:
            self.push_manifest(step.repo, step.ref, step.manifest)
        elif hasattr(step.blob, "chunks"):
            self.push_stream(step.repo, step.blob)
        else:
            self.push_blob(step.repo, step.blob)


def _slices(data):
    for start in range(0, len(data), CHUNK_BYTES):
        yield data[start:start + CHUNK_BYTES]


def _rechunk(pieces):
    buf = bytearray()
    for piece in pieces:
        buf += piece
        while len(buf) >= CHUNK_BYTES:
            yield bytes(buf[:CHUNK_BYTES])
            del buf[:CHUNK_BYTES]
    if buf:
        yield bytes(buf)

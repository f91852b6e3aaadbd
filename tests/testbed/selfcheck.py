"""End-to-end verification of a running test bed, with skopeo as the independent client."""

import hashlib
import http.client
import io
import json
import subprocess
import tarfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from pushclient import basic, http_request, parse_challenge

ORIGIN = "http://127.0.0.1:1"


class Report:
    """Counts results per section and prints only the failures in detail."""

    def __init__(self):
        self.sections = {}
        self.current = None

    def section(self, name):
        self.current = self.sections.setdefault(name, [0, 0])

    def check(self, ok, what, detail=""):
        self.current[0 if ok else 1] += 1
        if not ok:
            print(f"FAIL {what}" + (f": {detail}" if detail else ""), flush=True)
        return ok

    def summary(self):
        failures = 0
        for name, (passed, failed) in self.sections.items():
            failures += failed
            print(f"{'ok  ' if not failed else 'FAIL'} {name}: {passed}/{passed + failed}")
        return failures


def skopeo(args):
    proc = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "-n"] + args,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr.decode(errors="replace").strip()


def creds_for(state, mode, repo):
    users = state["users"]
    if mode == "basic":
        return ["--creds", f"{users['basic']['username']}:{users['basic']['password']}"]
    if mode == "token" and not repo.startswith("public/"):
        return ["--creds", f"{users['token']['username']}:{users['token']['password']}"]
    return ["--no-creds"]


def skopeo_jobs(state):
    """(description, skopeo arguments, verifier) for every fixture in every registry."""
    jobs = []
    for mode, reg in state["registries"].items():
        for key, fx in state["fixtures"].items():
            repo = fx["repository"]
            creds = creds_for(state, mode, repo)
            for tag in fx["tags"]:
                ref = f"docker://{reg['direct']}/{repo}:{tag}"
                jobs.append((f"{mode} {repo}:{tag} raw digest", creds + ["--raw", ref],
                             digest_is(fx["manifest_digest"])))
            ref = f"docker://{reg['direct']}/{key}"
            if "platforms" in fx:
                for p in fx["platforms"]:
                    override = ["--override-arch", p["architecture"]]
                    if p.get("variant"):
                        override += ["--override-variant", p["variant"]]
                    jobs.append((f"{mode} {key} {p['platform']} layers",
                                 creds + override + [ref], layers_are(fx["manifest_digest"], p)))
            elif "artifact_type" in fx:
                rt = fx["referrers_tag"]
                ref = f"docker://{reg['direct']}/{rt['repository']}:{rt['tag']}"
                jobs.append((f"{mode} referrers tag {rt['tag'][:19]}…",
                             creds + ["--raw", ref], digest_is(rt["digest"])))
            else:
                jobs.append((f"{mode} {key} inspect", creds + [ref],
                             layers_are(fx["manifest_digest"], fx)))
        if mode != "anon":
            secret = f"docker://{reg['direct']}/private/secret:1.0"
            jobs.append((f"{mode} private/secret refused without credentials",
                         ["--no-creds", "--raw", secret], fails))
    return jobs


def digest_is(expected):
    def verify(rc, out, err):
        if rc != 0:
            return False, err
        got = "sha256:" + hashlib.sha256(out).hexdigest()
        return got == expected, f"got {got}, want {expected}"
    return verify


def layers_are(top_digest, expected):
    """skopeo reports the top-level digest and the chosen image's layer digests."""
    def verify(rc, out, err):
        if rc != 0:
            return False, err
        doc = json.loads(out)
        want = [layer["digest"] for layer in expected["layers"]]
        arch = expected.get("architecture", "amd64")
        if doc.get("Digest") != top_digest or doc.get("Architecture") != arch:
            return False, f"{doc.get('Digest')} {doc.get('Architecture')}, want {top_digest} {arch}"
        return doc.get("Layers") == want, f"layers {doc.get('Layers')}, want {want}"
    return verify


def fails(rc, _out, err):
    return rc != 0 and "unauthorized" in err, err or "skopeo succeeded without credentials"


def run_skopeo(report, state):
    jobs = skopeo_jobs(state)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda job: skopeo(job[1]), jobs))
    for (what, _, verify), result in zip(jobs, results):
        ok, detail = verify(*result)
        report.check(ok, "skopeo " + what, detail)


def get(url, headers=None, method="GET", body=None):
    return http_request(url, method, headers or {}, body, timeout=30)


def token(state, scopes, auth=None):
    query = urlencode([("service", state["token_server"]["service"])]
                      + [("scope", s) for s in scopes])
    status, _, body = get(state["token_server"]["direct"] + "?" + query,
                          {"Authorization": auth} if auth else {})
    return status, json.loads(body)


def bearer(value):
    return {"Authorization": "Bearer " + value}


def check_auth(report, state):
    regs, users = state["registries"], state["users"]
    basic_url, token_url = f"http://{regs['basic']['direct']}", f"http://{regs['token']['direct']}"
    alice = users["token"]

    status, headers, _ = get(basic_url + "/v2/")
    scheme, params = parse_challenge(headers.get("WWW-Authenticate"))
    report.check(status == 401 and scheme == "basic"
                 and params.get("realm") == regs["basic"]["realm"],
                 "basic /v2/ without credentials: 401 Basic challenge",
                 f"{status} {headers.get('WWW-Authenticate')}")
    wrong = basic(users["basic"]["username"], "wrong")
    status, _, body = get(basic_url + "/v2/", {"Authorization": wrong})
    report.check(status == 401 and b"UNAUTHORIZED" in body, "basic wrong password: 401",
                 f"{status} {body[:120]!r}")
    status, _, _ = get(basic_url + "/v2/", {"Authorization": basic(users["basic"]["username"],
                                                                     users["basic"]["password"])})
    report.check(status == 200, "basic /v2/ with alice: 200", str(status))

    status, headers, _ = get(token_url + "/v2/")
    scheme, params = parse_challenge(headers.get("WWW-Authenticate"))
    report.check(status == 401 and scheme == "bearer"
                 and params.get("realm") == state["token_server"]["cors"]
                 and params.get("service") == state["token_server"]["service"],
                 "token /v2/ without a token: 401 Bearer challenge naming the CORS realm",
                 f"{status} {headers.get('WWW-Authenticate')}")

    status, body = token(state, ["repository:public/hello:pull"],
                         basic(alice["username"], "wrong"))
    report.check(status == 401 and body.get("errors", [{}])[0].get("code") == "UNAUTHORIZED",
                 "token server wrong password: 401 UNAUTHORIZED", f"{status} {body}")

    status, body = token(state, ["repository:private/secret:pull"])
    report.check(status == 200 and body["token"] == body["access_token"],
                 "token server anonymous token issued", f"{status}")
    manifest = "/v2/private/secret/manifests/1.0"
    status, headers, data = get(token_url + manifest, bearer(body["token"]))
    challenge = parse_challenge(headers.get("WWW-Authenticate"))[1]
    report.check(status == 401 and challenge.get("error") == "insufficient_scope",
                 "token anonymous on private/*: 401 insufficient_scope",
                 f"{status} {headers.get('WWW-Authenticate')} {data[:120]!r}")

    _, body = token(state, ["repository:public/hello:pull,push"],
                    basic(alice["username"], alice["password"]))
    status, headers, data = get(token_url + "/v2/public/hello/blobs/uploads/",
                                bearer(body["token"]), "POST")
    challenge = parse_challenge(headers.get("WWW-Authenticate"))[1]
    report.check(status == 401 and challenge.get("error") == "insufficient_scope",
                 "token alice push: 401 insufficient_scope",
                 f"{status} {headers.get('WWW-Authenticate')} {data[:120]!r}")

    form = urlencode({"grant_type": "refresh_token", "refresh_token": alice["identity_token"],
                      "service": state["token_server"]["service"], "client_id": "selfcheck",
                      "scope": "repository:private/secret:pull"}).encode()
    status, _, data = get(state["token_server"]["direct"],
                          {"Content-Type": "application/x-www-form-urlencoded"}, "POST", form)
    body = json.loads(data)
    ok = status == 200 and "access_token" in body
    if ok:
        status, headers, _ = get(token_url + manifest, {
            **bearer(body["access_token"]), "Accept": state["fixtures"]["private/secret:1.0"][
                "media_type"]})
        ok = status == 200 and headers.get("Docker-Content-Digest") == \
            state["fixtures"]["private/secret:1.0"]["manifest_digest"]
    report.check(ok, "identity token → OAuth2 refresh grant → private manifest", str(status))

    form = urlencode({"grant_type": "password", "username": alice["username"],
                      "password": "wrong", "service": state["token_server"]["service"],
                      "client_id": "selfcheck"}).encode()
    status, _, _ = get(state["token_server"]["direct"],
                       {"Content-Type": "application/x-www-form-urlencoded"}, "POST", form)
    report.check(status == 401, "OAuth2 password grant with a wrong password: 401", str(status))


def preflight(front, path):
    return get(f"http://{front}{path}", {
        "Origin": ORIGIN, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization,accept"}, "OPTIONS")


def check_cors(report, state):
    regs = state["registries"]
    fronts = [(f"{m} CORS front", regs[m]["cors"], "/v2/public/hello/manifests/1.0")
              for m in ("anon", "basic", "token")]
    ts = urlsplit(state["token_server"]["cors"])
    fronts.append(("token server CORS front", ts.netloc, ts.path))
    expose = set(h.strip() for h in state["cors"]["expose_headers"].split(","))
    for name, front, path in fronts:
        status, headers, _ = preflight(front, path)
        report.check(status == 204 and headers.get("Access-Control-Allow-Origin") == ORIGIN
                     and "Authorization" in headers.get("Access-Control-Allow-Headers", "")
                     and "DELETE" in headers.get("Access-Control-Allow-Methods", "")
                     and headers.get("Access-Control-Max-Age"),
                     f"{name} preflight: 204 with CORS headers", f"{status} {dict(headers)}")
        status, headers, _ = get(f"http://{front}{path}", {"Origin": ORIGIN})
        got = set(h.strip() for h in headers.get("Access-Control-Expose-Headers", "").split(","))
        report.check(headers.get("Access-Control-Allow-Origin") == ORIGIN and expose <= got,
                     f"{name} GET ({status}): Allow-Origin and Expose-Headers present",
                     str(dict(headers)))

    status, headers, _ = preflight(regs["basic"]["nocors"], "/v2/public/hello/manifests/1.0")
    report.check(status == 401 and "Access-Control-Allow-Origin" not in headers,
                 "no-CORS front preflight: registry's own 401, no Allow-Origin",
                 f"{status} {dict(headers)}")
    status, headers, _ = get(f"http://{regs['basic']['nocors']}/v2/", {"Origin": ORIGIN})
    report.check("Access-Control-Allow-Origin" not in headers,
                 "no-CORS front GET: no Allow-Origin", str(dict(headers)))

    front = regs["anon"]["cors"]
    status, headers, _ = get(f"http://{front}/v2/public/hello/blobs/uploads/",
                             {"Origin": ORIGIN}, "POST")
    location = headers.get("Location", "")
    report.check(status == 202 and urlsplit(location).netloc == front,
                 "upload Location through a CORS front names the front", location)
    if location:
        get(location, method="DELETE")

    hello = state["fixtures"]["public/hello:1.0"]
    layer = hello["layers"][0]
    _, body = token(state, ["repository:public/hello:pull"])
    status, headers, data = get(
        f"http://{regs['token']['cors']}/v2/public/hello/blobs/{layer['digest']}",
        {"Origin": ORIGIN, "Range": "bytes=0-9", **bearer(body["token"])})
    report.check(status == 206 and len(data) == 10
                 and headers.get("Content-Range") == f"bytes 0-9/{layer['size']}"
                 and headers.get("Access-Control-Allow-Origin") == ORIGIN,
                 "ranged blob GET with a Bearer token through the token CORS front",
                 f"{status} {headers.get('Content-Range')}")


def check_app(report, state):
    origin, app_dir = state["app_origin"], state["app_dir"]
    status, headers, _ = get(origin + "/")
    report.check(status == 200 and headers.get("Content-Type", "").startswith("text/html"),
                 "app origin serves index.html", f"{status} {headers.get('Content-Type')}")
    status, headers, _ = get(origin + "/no/such/route")
    report.check(status == 200 and headers.get("Content-Type", "").startswith("text/html"),
                 "app origin falls back to index.html", str(status))
    wasm = next(Path(app_dir).rglob("*.wasm"), None)
    if wasm:
        status, headers, _ = get(f"{origin}/{wasm.relative_to(app_dir)}", method="HEAD")
        report.check(headers.get("Content-Type") == "application/wasm",
                     "app origin serves .wasm as application/wasm",
                     str(headers.get("Content-Type")))


TAR_TYPES = {tarfile.REGTYPE: "file", tarfile.DIRTYPE: "dir", tarfile.SYMTYPE: "symlink",
             tarfile.LNKTYPE: "hardlink"}
SMALL_LAYER = 16 * 1024 * 1024


def stream_blob(host, repo, digest):
    conn = http.client.HTTPConnection(*host.split(":"), timeout=120)
    try:
        conn.request("GET", f"/v2/{repo}/blobs/{digest}")
        resp = conn.getresponse()
        if resp.status != 200:
            raise OSError(f"GET blob {digest} answered {resp.status}")
        while chunk := resp.read(1024 * 1024):
            yield chunk
    finally:
        conn.close()


def unpack(host, repo, layer):
    """Streams one layer, returning its digest, diff_id and (for small layers) its bytes."""
    packed, unpacked, keep = hashlib.sha256(), hashlib.sha256(), bytearray()
    if layer["media_type"].endswith("+zstd"):
        data = b"".join(stream_blob(host, repo, layer["digest"]))
        packed.update(data)
        raw = subprocess.run(["zstd", "-dc"], input=data, stdout=subprocess.PIPE,
                             check=True).stdout
        unpacked.update(raw)
        keep += raw
    else:
        inflate = zlib.decompressobj(31)
        for chunk in stream_blob(host, repo, layer["digest"]):
            packed.update(chunk)
            raw = inflate.decompress(chunk)
            unpacked.update(raw)
            if layer["size"] <= SMALL_LAYER:
                keep += raw
        unpacked.update(inflate.flush())
    return "sha256:" + packed.hexdigest(), "sha256:" + unpacked.hexdigest(), bytes(keep)


def listing(raw):
    files = []
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        for m in tar.getmembers():
            entry = {"path": m.name, "type": TAR_TYPES.get(m.type, m.type), "mode": f"{m.mode:04o}",
                     "uid": m.uid, "gid": m.gid}
            if m.isfile():
                entry["size"] = m.size
            if m.issym() or m.islnk():
                entry["linkname"] = m.linkname
            files.append(entry)
    return files


def check_layers(report, state):
    host = state["registries"]["anon"]["direct"]
    seen = set()
    for fx in state["fixtures"].values():
        images = fx.get("platforms") or [fx]
        for layer in [lay for image in images for lay in image.get("layers", [])]:
            if "diff_id" not in layer or layer["digest"] in seen:
                continue
            seen.add(layer["digest"])
            what = f"{fx['repository']} layer {layer['digest'][7:19]}"
            digest, diff_id, raw = unpack(host, fx["repository"], layer)
            report.check(digest == layer["digest"] and diff_id == layer["diff_id"],
                         f"{what} digest and diff_id", f"{digest} {diff_id}")
            if raw:
                report.check(listing(raw) == layer["files"], f"{what} file list",
                             json.dumps(listing(raw)))


def check_listings(report, state):
    base = f"http://{state['registries']['anon']['direct']}"
    _, _, body = get(base + "/v2/_catalog")
    repos = set(json.loads(body)["repositories"])
    wanted = {fx["repository"] for fx in state["fixtures"].values()}
    report.check(wanted <= repos, "catalog lists every fixture repository", str(sorted(repos)))
    for fx in state["fixtures"].values():
        _, _, body = get(f"{base}/v2/{fx['repository']}/tags/list")
        tags = sorted(json.loads(body)["tags"])
        expected = sorted(fx.get("repository_tags", fx["tags"]))
        report.check(tags == expected, f"tags of {fx['repository']}", f"{tags}, want {expected}")


def run(state):
    sections = [("auth: challenges, wrong credentials, scopes, OAuth2 grants", [check_auth]),
                ("CORS fronts: preflights, headers on every answer, Location, Range",
                 [check_cors]),
                ("layers and listings: digests, diff_ids, tar entries, catalog, tags (anon)",
                 [check_layers, check_listings]),
                ("skopeo: every fixture in every registry, digests and layers", [run_skopeo])]
    if state.get("app_origin"):
        sections.insert(2, (f"app origin {state['app_origin']}", [check_app]))
    report = Report()
    for name, checks in sections:
        report.section(name)
        for check in checks:
            try:
                check(report, state)
            except (OSError, ValueError, KeyError, subprocess.SubprocessError) as e:
                report.check(False, f"{check.__name__} stopped", repr(e))
    failures = report.summary()
    print("all checks passed" if not failures else f"{failures} checks FAILED")
    return 1 if failures else 0

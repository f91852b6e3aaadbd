#!/usr/bin/env python3
"""The real registry test bed: three distribution registries, a token server, nginx fronts.

    testbed.py up [--with-large] [--app-dir DIR]   start (or reuse) and print state.json's path
    testbed.py seed-large                          push the large benchmark image to a running bed
    testbed.py status                              print state.json, or exit 1 if nothing runs
    testbed.py check                               verify the running bed end to end
    testbed.py down                                stop everything and remove the state directory
"""

import argparse
import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import fixtures  # noqa: E402
import selfcheck  # noqa: E402
import token_server  # noqa: E402
from pushclient import PushError, Pusher, http_request  # noqa: E402
from supervisor import proc_stat, write_pid_file  # noqa: E402

STATE = Path(os.environ.get("IMAGESCOPE_TESTBED_DIR", "/tmp/imagescope-testbed")).resolve()
STATE_FILE = STATE / "state.json"
LOCK_FILE = STATE.with_name(STATE.name + ".lock")

REGISTRY_BIN = "/usr/bin/docker-registry"
NGINX_BIN = "/usr/sbin/nginx"

BASIC_USER, BASIC_PASSWORD = "alice", "wonderland-basic"
BASIC_REALM = "imagescope-testbed-basic"
PUSHER = "pusher"

CORS_ALLOW_HEADERS = "Authorization, Accept, Range, Content-Type, Cache-Control"
CORS_ALLOW_METHODS = "GET, HEAD, POST, OPTIONS, DELETE"
CORS_EXPOSE_HEADERS = ("Docker-Content-Digest, WWW-Authenticate, Link, Content-Range, "
                       "Content-Length, Content-Type, Retry-After, RateLimit-Limit, "
                       "RateLimit-Remaining, Docker-Distribution-Api-Version, OCI-Subject, "
                       "OCI-Filters-Applied, Warning")
CORS_MAX_AGE = 600

READY_TIMEOUT = 20
STOP_TIMEOUT = 10


def log(msg):
    print(f"[testbed] {msg}", file=sys.stderr, flush=True)


class TestbedError(Exception):
    pass


@contextmanager
def locked(remove=False):
    """Serialises concurrent `up`/`down` calls, e.g. from test binaries running in parallel.

    `down` removes the lock file too; a waiter that then wins the lock on the removed file
    notices the file is gone or replaced and locks the current one instead."""
    LOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fh = open(LOCK_FILE, "a")
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            current = os.stat(LOCK_FILE).st_ino == os.fstat(fh.fileno()).st_ino
        except FileNotFoundError:
            current = False
        if current:
            break
        fh.close()
    try:
        yield
        if remove:
            LOCK_FILE.unlink()
    finally:
        fh.close()


# ---- processes -----------------------------------------------------------------------------

def pid_alive(proc):
    """`proc` is (pid, start time) from a pid file, so a recycled pid does not count."""
    stat = proc_stat(proc[0])
    return stat is not None and stat[0] != "Z" and stat[1] == proc[1]


def start_supervisor(services):
    """Starts the servers under supervisor.py and returns once every one has a pid file."""
    spec = STATE / "services.json"
    spec.write_text(json.dumps({"state": str(STATE), "services": services}, indent=2))
    with open(STATE / "logs" / "supervisor.log", "ab") as logfile:
        proc = subprocess.Popen([sys.executable, str(HERE / "supervisor.py"), str(spec)],
                                stdin=subprocess.DEVNULL, stdout=logfile,
                                stderr=subprocess.STDOUT, start_new_session=True, cwd=STATE)
    write_pid_file(STATE, "supervisor", proc.pid)
    deadline = time.monotonic() + READY_TIMEOUT
    while len(recorded_pids()) <= len(services):
        if proc.poll() is not None:
            raise TestbedError(f"the supervisor exited with {proc.returncode}; see {STATE}/logs/")
        if time.monotonic() > deadline:
            raise TestbedError("the supervisor did not start every server")
        time.sleep(0.02)
    return proc


def recorded_pids():
    """{name: (pid, start time)} from the pid files."""
    pids = {}
    for path in sorted((STATE / "pids").glob("*.pid")):
        try:
            pid, start = path.read_text().split()
            pids[path.stem] = (int(pid), int(start))
        except ValueError:
            continue
    return pids


def signal_all(procs, sig):
    for proc in procs:
        try:
            os.kill(proc[0], sig)
        except ProcessLookupError:
            pass


def wait_gone(procs, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(map(pid_alive, procs)):
        time.sleep(0.02)
    return [p for p in procs if pid_alive(p)]


def stop_processes():
    """Asks the supervisor to stop (it reaps the servers); signals the servers directly only
    when the supervisor is gone or does not finish in time. Returns the names it stopped."""
    procs = {name: proc for name, proc in recorded_pids().items() if pid_alive(proc)}
    supervisor = procs.get("supervisor")
    servers = [proc for name, proc in procs.items() if name != "supervisor"]
    if supervisor:
        signal_all([supervisor], signal.SIGTERM)
        wait_gone([supervisor], STOP_TIMEOUT)
    left = [proc for proc in servers if pid_alive(proc)]
    if left:
        signal_all(left, signal.SIGTERM)
        left = wait_gone(left, STOP_TIMEOUT)
    left += [supervisor] if supervisor and pid_alive(supervisor) else []
    if left:
        log(f"killing pids {[proc[0] for proc in left]}, which ignored SIGTERM")
        signal_all(left, signal.SIGKILL)
        wait_gone(left, STOP_TIMEOUT)
    return list(procs)


def teardown():
    if not STATE.exists():
        return {}
    stopped = stop_processes()
    shutil.rmtree(STATE, ignore_errors=True)
    return stopped


def free_ports(count):
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def port_answers(hostport):
    host, _, port = hostport.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


def wait_ready(supervisor, urls):
    deadline = time.monotonic() + READY_TIMEOUT
    pending = list(urls)
    while pending:
        dead = [name for name, proc in recorded_pids().items() if not pid_alive(proc)]
        if dead or supervisor.poll() is not None:
            raise TestbedError(f"{', '.join(dead) or 'supervisor'} exited; see {STATE}/logs/")
        try:
            http_request(pending[0], timeout=2)
            pending.pop(0)
            continue
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TestbedError(f"{pending[0]} did not answer within {READY_TIMEOUT}s")
        time.sleep(0.05)


# ---- configuration -------------------------------------------------------------------------

def make_ca(directory):
    """A self-signed CA; the token server signs with its key and ships it in `x5c`."""
    directory.mkdir(parents=True)
    cnf = directory / "openssl.cnf"
    cnf.write_text("[req]\ndistinguished_name = dn\nx509_extensions = ext\nprompt = no\n"
                   "[dn]\nCN = imagescope test bed token CA\n"
                   "[ext]\nbasicConstraints = critical,CA:TRUE\n"
                   "keyUsage = critical,digitalSignature,keyCertSign\n"
                   "subjectKeyIdentifier = hash\n")
    key, cert = directory / "ca.key", directory / "ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-config", str(cnf), "-newkey", "rsa:2048",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "30"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return key, cert


def make_htpasswd(path):
    # distribution only accepts bcrypt entries.
    out = subprocess.run(["htpasswd", "-Bbn", BASIC_USER, BASIC_PASSWORD], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    path.write_text(out.strip() + "\n")


def registry_config(name, port, auth):
    root = STATE / "registries" / name
    (root / "data").mkdir(parents=True)
    text = f"""version: 0.1
log:
  level: info
  formatter: text
  fields:
    service: registry
    instance: {name}
storage:
  filesystem:
    rootdirectory: "{root / 'data'}"
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: "127.0.0.1:{port}"
  secret: "{secrets.token_hex(16)}"
  headers:
    X-Content-Type-Options: [nosniff]
{auth}"""
    path = root / "config.yml"
    path.write_text(text)
    return path


def cors_server(port, upstream):
    return f"""
    server {{
        listen 127.0.0.1:{port};
        add_header Access-Control-Allow-Origin $http_origin always;
        add_header Access-Control-Allow-Headers "{CORS_ALLOW_HEADERS}" always;
        add_header Access-Control-Allow-Methods "{CORS_ALLOW_METHODS}" always;
        add_header Access-Control-Expose-Headers "{CORS_EXPOSE_HEADERS}" always;
        add_header Access-Control-Max-Age {CORS_MAX_AGE} always;
        add_header Vary Origin always;
        location / {{
            # Browsers never send credentials on a preflight, and an auth-enabled distribution
            # registry answers one with 401, so the proxy answers it instead.
            if ($request_method = OPTIONS) {{
                return 204;
            }}
            proxy_pass http://{upstream};
        }}
    }}
"""


def plain_server(port, upstream):
    return f"""
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://{upstream};
        }}
    }}
"""


def app_server(port, app_dir):
    return f"""
    server {{
        listen 127.0.0.1:{port};
        root "{app_dir}";
        index index.html;
        default_type application/octet-stream;
        types {{
            text/html html;
            text/css css;
            text/javascript js mjs;
            application/wasm wasm;
            application/json json map webmanifest;
            image/svg+xml svg;
            image/png png;
            image/x-icon ico;
            font/woff2 woff2;
            text/plain txt;
        }}
        # A rebuilt app must never be mixed with a cached one in a test run.
        add_header Cache-Control "no-store" always;
        location / {{
            try_files $uri $uri/ /index.html;
        }}
    }}
"""


def nginx_config(servers):
    base = STATE / "nginx"
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (base / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    # Workers of a root master default to `nobody`, who could not write the temp directories.
    user = "user root;\n" if os.geteuid() == 0 else ""
    text = f"""{user}daemon off;
master_process on;
worker_processes 1;
pid {base}/nginx.pid;
error_log {STATE}/logs/nginx-error.log notice;
events {{
    worker_connections 512;
}}
http {{
    access_log {STATE}/logs/nginx-access.log;
    client_body_temp_path {base}/tmp/client_body;
    proxy_temp_path {base}/tmp/proxy;
    fastcgi_temp_path {base}/tmp/fastcgi;
    uwsgi_temp_path {base}/tmp/uwsgi;
    scgi_temp_path {base}/tmp/scgi;
    server_tokens off;
    sendfile on;
    client_max_body_size 0;
    proxy_http_version 1.1;
    # Blobs stream through in both directions instead of being spooled to disk first.
    proxy_buffering off;
    proxy_request_buffering off;
    proxy_read_timeout 600s;
    proxy_send_timeout 600s;
    # The registry builds its Location headers from Host, so they must name the front.
    proxy_set_header Host $http_host;
{"".join(servers)}}}
"""
    path = base / "nginx.conf"
    path.write_text(text)
    return path


# ---- up ------------------------------------------------------------------------------------

def start(app_dir):
    for binary in (REGISTRY_BIN, NGINX_BIN):
        if not os.access(binary, os.X_OK):
            raise TestbedError(f"{binary} is missing; run scripts/setup.sh")
    for sub in ("logs", "pids"):
        (STATE / sub).mkdir(parents=True, exist_ok=True)

    names = ["anon", "anon_cors", "basic", "basic_cors", "basic_nocors", "token", "token_cors",
             "token_server", "token_server_cors"] + (["app"] if app_dir else [])
    port = dict(zip(names, free_ports(len(names))))
    addr = {name: f"127.0.0.1:{p}" for name, p in port.items()}
    service, issuer = token_server.SERVICE, token_server.ISSUER
    realm = f"http://{addr['token_server_cors']}/token"

    key, cert = make_ca(STATE / "token")
    htpasswd = STATE / "registries" / "htpasswd"
    htpasswd.parent.mkdir(parents=True, exist_ok=True)
    make_htpasswd(htpasswd)
    auth = {
        "anon": "",
        "basic": f'auth:\n  htpasswd:\n    realm: "{BASIC_REALM}"\n    path: "{htpasswd}"\n',
        "token": (f'auth:\n  token:\n    realm: "{realm}"\n    service: "{service}"\n'
                  f'    issuer: "{issuer}"\n    rootcertbundle: "{cert}"\n'),
    }

    registry_env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    services = [{"name": f"registry-{mode}", "env": registry_env, "argv": [
        REGISTRY_BIN, "serve", str(registry_config(mode, port[mode], auth[mode]))]}
        for mode in ("anon", "basic", "token")]
    services.append({"name": "token-server", "argv": [
        sys.executable, str(HERE / "token_server.py"), "--port", str(port["token_server"]),
        "--key", str(key), "--cert", str(cert)]})
    servers = [cors_server(port[f"{m}_cors"], addr[m]) for m in ("anon", "basic", "token")]
    servers.append(plain_server(port["basic_nocors"], addr["basic"]))
    servers.append(cors_server(port["token_server_cors"], addr["token_server"]))
    if app_dir:
        servers.append(app_server(port["app"], app_dir))
    conf = nginx_config(servers)
    services.append({"name": "nginx", "argv": [NGINX_BIN, "-p", f"{STATE}/nginx/", "-c", str(conf),
                                               "-e", f"{STATE}/logs/nginx-error.log"]})
    supervisor = start_supervisor(services)

    probes = [f"http://{addr[m]}/v2/" for m in ("anon", "basic", "token")]
    probes.append(f"http://{addr['token_server']}/healthz")
    probes += [f"http://{addr[n]}/" for n in names if n.endswith("cors") or n == "app"]
    wait_ready(supervisor, probes)

    return {
        "dir": str(STATE),
        "logs": str(STATE / "logs"),
        "started_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "registries": {
            "anon": {"direct": addr["anon"], "cors": addr["anon_cors"], "auth": "none"},
            "basic": {"direct": addr["basic"], "cors": addr["basic_cors"],
                      "nocors": addr["basic_nocors"], "auth": "basic", "realm": BASIC_REALM},
            "token": {"direct": addr["token"], "cors": addr["token_cors"], "auth": "token",
                      "realm": realm, "service": service, "issuer": issuer},
        },
        "token_server": {"direct": f"http://{addr['token_server']}/token", "cors": realm,
                         "service": service, "issuer": issuer, "ca_cert": str(cert),
                         "expires_in": token_server.TOKEN_TTL,
                         "policy": token_server.POLICY},
        "app_origin": f"http://{addr['app']}" if app_dir else None,
        "app_dir": str(app_dir) if app_dir else None,
        "cors": {"allow_headers": CORS_ALLOW_HEADERS, "allow_methods": CORS_ALLOW_METHODS,
                 "expose_headers": CORS_EXPOSE_HEADERS, "max_age": CORS_MAX_AGE},
        "users": {
            "basic": {"username": BASIC_USER, "password": BASIC_PASSWORD},
            "token": {"username": "alice",
                      "password": token_server.USERS["alice"]["password"],
                      "identity_token": token_server.USERS["alice"]["identity_token"]},
            "pusher": {"username": PUSHER, "password": token_server.USERS[PUSHER]["password"]},
        },
        "fixtures": {},
        "pids": {name: proc[0] for name, proc in recorded_pids().items()},
    }


def pushers(state):
    regs, users = state["registries"], state["users"]
    return [Pusher(regs["anon"]["direct"]),
            Pusher(regs["basic"]["direct"], users["basic"]["username"], users["basic"]["password"]),
            Pusher(regs["token"]["direct"], users["pusher"]["username"],
                   users["pusher"]["password"])]


def seed(state, fixture_list):
    """Pushes the same fixtures to the three registries, one thread per registry."""
    def push_all(pusher):
        for fx in fixture_list:
            for step in fx.pushes:
                pusher.push(step)

    with ThreadPoolExecutor(3) as pool:
        for future in [pool.submit(push_all, p) for p in pushers(state)]:
            future.result()
    for fx in fixture_list:
        state["fixtures"][fx.key] = fx.info


def write_state(state):
    tmp = STATE_FILE.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    tmp.replace(STATE_FILE)


def load_state():
    try:
        return json.loads(STATE_FILE.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def endpoints(state):
    eps = []
    for reg in state["registries"].values():
        eps += [reg[k] for k in ("direct", "cors", "nocors") if k in reg]
    for url in (state["token_server"]["direct"], state["token_server"]["cors"],
                state.get("app_origin")):
        if url:
            eps.append(url.split("//", 1)[1].split("/", 1)[0])
    return eps


def is_live(state):
    procs = recorded_pids()
    return (procs.keys() == state["pids"].keys() and all(map(pid_alive, procs.values()))
            and all(port_answers(ep) for ep in endpoints(state)))


LARGE_KEY = "bench/large:1.0"


def seed_large(state):
    started = time.monotonic()
    log("building the large benchmark layer")
    fx = fixtures.large()
    log(f"pushing {fx.info['layers_size'] / 2**20:.0f} MiB to each registry")
    seed(state, [fx])
    write_state(state)
    log(f"large image seeded in {time.monotonic() - started:.0f}s")


def cmd_up(args):
    app_dir = Path(args.app_dir).resolve() if args.app_dir else None
    if app_dir and not app_dir.is_dir():
        raise TestbedError(f"--app-dir {app_dir} is not a directory")
    with locked():
        state = load_state()
        if state and is_live(state) and (app_dir is None or str(app_dir) == state["app_dir"]):
            if args.with_large and LARGE_KEY not in state["fixtures"]:
                seed_large(state)
            print(STATE_FILE)
            return 0
        if STATE.exists():
            log("tearing down a stale or differently configured test bed")
            teardown()
        started = time.monotonic()
        # Ports are picked free but only bound later, so another program may take one first;
        # a second attempt with fresh ports makes that race harmless.
        for attempt in (1, 2):
            try:
                state = start(app_dir)
                seed(state, fixtures.build_fixtures())
                write_state(state)
                break
            except TestbedError as e:
                stop_processes()
                if attempt == 2:
                    log(f"start failed; processes stopped, logs kept in {STATE}/logs")
                    raise
                log(f"{e}; retrying with fresh ports")
                shutil.rmtree(STATE, ignore_errors=True)
            except BaseException:
                stop_processes()
                log(f"start failed; processes stopped, logs kept in {STATE}/logs")
                raise
        log(f"up in {time.monotonic() - started:.1f}s")
        if args.with_large:
            seed_large(state)
        print(STATE_FILE)
        return 0


def cmd_seed_large(_args):
    with locked():
        state = load_state()
        if not state or not is_live(state):
            raise TestbedError("no running test bed; run `testbed.py up` first")
        if LARGE_KEY not in state["fixtures"]:
            seed_large(state)
        print(STATE_FILE)
        return 0


def cmd_down(_args):
    with locked(remove=True):
        stopped = teardown()
    log(f"stopped {', '.join(stopped) or 'nothing'}")
    return 0


def cmd_status(_args):
    state = load_state()
    if not state:
        log(f"no test bed at {STATE}")
        return 1
    if not is_live(state):
        log(f"the test bed at {STATE} is not running (stale state)")
        return 1
    sys.stdout.write(STATE_FILE.read_text())
    return 0


def cmd_check(_args):
    state = load_state()
    if not state or not is_live(state):
        log("no running test bed; run `testbed.py up` first")
        return 1
    return selfcheck.run(state)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the test bed (or reuse a running one)")
    up.add_argument("--with-large", action="store_true",
                    help="also push the >= 256 MiB benchmark image")
    up.add_argument("--app-dir", help="serve this directory (the built app) as app_origin")
    up.set_defaults(func=cmd_up)
    for name, func, text in (("down", cmd_down, "stop everything and remove the state"),
                             ("status", cmd_status, "print state.json of a running bed"),
                             ("check", cmd_check, "verify the running bed"),
                             ("seed-large", cmd_seed_large, "push the benchmark image")):
        sub.add_parser(name, help=text).set_defaults(func=func)
    args = parser.parse_args()
    try:
        return args.func(args)
    except (TestbedError, PushError) as e:
        log(str(e))
        return 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""A local stand-in for the Hugging Face hub, for tests/hub/test_hub.c.

Serves tiny fake checkpoints in the hub's URL layout, {base}/{org}/{name}/resolve/{rev}/{file},
with the headers huggingface.co sends (as huggingface_hub's file_download.py reads them):
  plain git files: 200, ETag "<git blob sha1>", X-Repo-Commit, Content-Length, Accept-Ranges
  LFS files:       302 to an absolute CDN URL, X-Linked-Etag "<sha256>", X-Linked-Size,
                   X-Repo-Commit; the CDN answers 200/206 with an S3-style md5 ETag
  errors:          X-Error-Code RepoNotFound / EntryNotFound / RevisionNotFound / GatedRepo
                   and X-Error-Message; a missing repo is 401 without a token, 404 with one
  renamed repo:    307 with a relative Location (tiny/oldname -> tiny/single)

The files are generated (seeded, deterministic) and written under ROOT/repos/ORG/NAME/ so the test
can compare downloads byte for byte with what was served.

Test controls (GET): /_ctl/reset, /_ctl/log (JSON list of requests),
  /_ctl/rule?path=ORG/NAME/FILE&cut=N&times=K     close the CDN/file connection after N body bytes
  /_ctl/rule?path=...&corrupt=1&times=K           serve the bytes with one byte flipped
  /_ctl/rule?path=...&delay=S                     sleep S seconds per 16 KiB chunk
  /_ctl/rule?path=...&status=403                  answer with that status (a CDN refusing)
times: how many requests the rule applies to (default 1, -1 = all).

Only binds 127.0.0.1, on a free port written to --port-file. Exits on SIGTERM, when its parent
dies, or after --lifetime seconds, whichever comes first.
"""
import argparse
import hashlib
import json
import os
import random
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COMMIT = "0123456789abcdef0123456789abcdef01234567"
TOKEN_OK = "secret-token"       # may read tiny/private
TOKEN_NO_ACCESS = "other-token" # a valid token without access to tiny/private


def rand_bytes(seed, n):
    return random.Random(seed).getrandbits(8 * n).to_bytes(n, "little")  # randbytes needs 3.9


def jbytes(obj):
    return (json.dumps(obj, indent=2) + "\n").encode()


def build_repos():
    """{repo: {file: (bytes, is_lfs)}}"""
    tok_cfg = jbytes({"add_bos_token": False, "model_max_length": 2048})
    specials = jbytes({"eos_token": "<|endoftext|>"})
    repos = {}
    repos["tiny/single"] = {
        "config.json": (jbytes({"model_type": "tinyllava", "hidden_size": 64,
                                "llm_model_name_or_path": "base/llm"}), False),
        "generation_config.json": (jbytes({"bos_token_id": 1, "eos_token_id": 2}), False),
        "vocab.json": (jbytes({"a": 0, "b": 1, "ab": 2}), False),
        "merges.txt": (b"#version: 0.2\na b\n", False),
        "tokenizer_config.json": (tok_cfg, False),
        "special_tokens_map.json": (specials, False),
        "model.safetensors": (rand_bytes(1, 300000), True),
        "README.md": (b"# not fetched\n", False),
    }
    weight_map = {"a.weight": "model-00001-of-00002.safetensors",
                  "b.weight": "model-00001-of-00002.safetensors",
                  "c.weight": "model-00002-of-00002.safetensors"}
    repos["tiny/sharded"] = {
        "config.json": (jbytes({"model_type": "tinyllava", "hidden_size": 32}), False),
        "model.safetensors.index.json": (jbytes({"metadata": {"total_size": 270000},
                                                 "weight_map": weight_map}), False),
        "model-00001-of-00002.safetensors": (rand_bytes(2, 150000), True),
        "model-00002-of-00002.safetensors": (rand_bytes(3, 120000), True),
        "tokenizer.json": (jbytes({"model": {"type": "BPE", "vocab": {"a": 0}}}), False),
        "tokenizer_config.json": (tok_cfg, False),
    }
    # No tokenizer of its own: config.json names the base repo (MODELS.md 2.1).
    repos["tiny/notok"] = {
        "config.json": (jbytes({"model_type": "tinyllava", "tokenizer_name_or_path": "base/llm",
                                "llm_model_name_or_path": "base/unused"}), False),
        "special_tokens_map.json": (jbytes({"eos_token": "</s>", "from": "notok"}), False),
        "model.safetensors": (rand_bytes(4, 5000), True),
    }
    repos["tiny/llmname"] = {
        "config.json": (jbytes({"model_type": "tinyllava", "tokenizer_name_or_path": "/home/x/ckpt",
                                "llm_model_name_or_path": "base/llm"}), False),
        "model.safetensors": (rand_bytes(5, 4000), True),
    }
    # Gemma-like: the base tokenizer's repo is gated.
    repos["tiny/gatedbase"] = {
        "config.json": (jbytes({"model_type": "tinyllava", "tokenizer_name_or_path": "tiny/private"}), False),
        "model.safetensors": (rand_bytes(9, 2000), True),
    }
    repos["base/llm"] = {
        "config.json": (jbytes({"model_type": "llama"}), False),
        "generation_config.json": (jbytes({"from": "base"}), False),
        "tokenizer.model": (rand_bytes(6, 20000), True),
        "tokenizer.json": (jbytes({"model": {"type": "BPE", "from": "base"}}), False),
        "tokenizer_config.json": (jbytes({"add_bos_token": True, "from": "base"}), False),
        "special_tokens_map.json": (jbytes({"bos_token": "<s>", "from": "base"}), False),
    }
    repos["tiny/private"] = {
        "config.json": (jbytes({"model_type": "tinyllava"}), False),
        "vocab.json": (jbytes({"x": 0}), False),
        "merges.txt": (b"#version: 0.2\n", False),
        "model.safetensors": (rand_bytes(7, 3000), True),
    }
    repos["tiny/pt"] = {
        "config.json": (jbytes({"model_type": "tinyllava"}), False),
        "pytorch_model.bin": (rand_bytes(8, 1000), True),
    }
    repos["tiny/badindex"] = {
        "config.json": (jbytes({"model_type": "tinyllava"}), False),
        "vocab.json": (jbytes({"x": 0}), False),
        "model.safetensors.index.json": (jbytes({"weight_map": {"a": "../evil.safetensors"}}), False),
    }
    return repos


class Hub:
    def __init__(self, root):
        self.repos = build_repos()
        self.private = {"tiny/private"}
        self.renamed = {"tiny/oldname": "tiny/single"}
        self.revisions = {"main", COMMIT, "refs/pr/1"}
        self.by_sha = {}
        self.lock = threading.Lock()
        self.log = []
        self.rules = {}
        for repo, files in self.repos.items():
            d = os.path.join(root, "repos", repo)
            os.makedirs(d, exist_ok=True)
            for name, (data, lfs) in files.items():
                with open(os.path.join(d, name), "wb") as f:
                    f.write(data)
                if lfs:
                    self.by_sha[hashlib.sha256(data).hexdigest()] = (repo + "/" + name, data)

    def take_rule(self, path):
        with self.lock:
            r = self.rules.get(path)
            if not r:
                return {}
            if r["times"] > 0:
                r["times"] -= 1
                if r["times"] == 0:
                    del self.rules[path]
            return dict(r)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms delayed-ACK stalls
    hub = None  # set in main

    def log_message(self, fmt, *args):  # quiet
        pass

    def do_HEAD(self):
        self.handle_any(head=True)

    def do_GET(self):
        self.handle_any(head=False)

    def send(self, code, headers, body=b"", head=False, rule=None):
        self.send_response(code)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if head or not body:
            return
        rule = rule or {}
        if rule.get("corrupt"):
            body = bytearray(body)
            body[len(body) // 2] ^= 0xFF
            body = bytes(body)
        cut = rule.get("cut")
        delay = rule.get("delay", 0.0)
        sent = 0
        while sent < len(body):
            n = min(16384, len(body) - sent)
            if cut is not None and sent + n > cut:
                n = cut - sent
            if n > 0:
                self.wfile.write(body[sent:sent + n])
                sent += n
            if cut is not None and sent >= cut:
                self.wfile.flush()
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if delay:
                self.wfile.flush()
                time.sleep(delay)

    def error(self, code, err_code, msg, head):
        self.send(code, {"X-Error-Code": err_code, "X-Error-Message": msg,
                         "Content-Type": "text/plain; charset=utf-8"}, msg.encode(), head)

    def handle_any(self, head):
        hub = self.hub
        url = urllib.parse.urlsplit(self.path)
        with hub.lock:
            hub.log.append({"method": self.command, "path": url.path, "range": self.headers.get("Range"),
                            "auth": self.headers.get("Authorization")})
        if url.path.startswith("/_ctl/"):
            return self.control(url)
        if url.path.startswith("/cdn/"):
            return self.cdn(url, head)
        # /{org}/{name}/resolve/{rev}/{file}
        parts = url.path.lstrip("/").split("/")
        if len(parts) < 5 or parts[2] != "resolve":
            return self.error(404, "", "Not Found", head)
        repo = parts[0] + "/" + parts[1]
        rev = urllib.parse.unquote(parts[3])
        fname = urllib.parse.unquote("/".join(parts[4:]))
        auth = self.headers.get("Authorization")
        token = auth[len("Bearer "):] if auth and auth.startswith("Bearer ") else None
        if token is not None and token not in (TOKEN_OK, TOKEN_NO_ACCESS):
            return self.error(401, "", "Invalid credentials in Authorization header", head)
        if repo in hub.renamed:
            loc = "/" + hub.renamed[repo] + "/resolve/" + parts[3] + "/" + "/".join(parts[4:])
            return self.send(307, {"Location": loc, "Content-Type": "text/plain"},
                             b"Temporary Redirect. Redirecting to " + loc.encode(), head)
        if repo not in hub.repos:
            if token is None:
                return self.error(401, "RepoNotFound", "Repository not found", head)
            return self.error(404, "RepoNotFound", "Repository not found", head)
        if repo in hub.private:
            if token is None:
                return self.error(401, "GatedRepo", "Access to model %s is restricted. You must have access to it "
                                  "and be authenticated to access it. Please log in." % repo, head)
            if token != TOKEN_OK:
                return self.error(403, "GatedRepo", "Access to model %s is restricted and you are not in the "
                                  "authorized list." % repo, head)
        if rev not in hub.revisions:
            return self.error(404, "RevisionNotFound", "Invalid rev id: " + rev, head)
        files = hub.repos[repo]
        if fname not in files:
            return self.error(404, "EntryNotFound", "Entry not found", head)
        data, lfs = files[fname]
        common = {"X-Repo-Commit": COMMIT, "Accept-Ranges": "bytes"}
        if lfs:
            sha = hashlib.sha256(data).hexdigest()
            # Another host name, as the real CDN is: the client must not send the token there.
            host = "localhost:%d" % self.server.server_address[1]
            loc = "http://%s/cdn/%s?X-Amz-Signature=fake&response-content-disposition=%s" % (host, sha, fname)
            h = dict(common)
            h.update({"Location": loc, "X-Linked-Etag": '"%s"' % sha, "X-Linked-Size": str(len(data)),
                      "ETag": '"%s"' % sha, "Content-Type": "text/plain; charset=utf-8"})
            return self.send(302, h, b"Found. Redirecting to " + loc.encode(), head)
        blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        h = dict(common)
        h.update({"ETag": '"%s"' % blob, "Content-Type": "application/octet-stream"})
        return self.serve_bytes(repo + "/" + fname, data, h, head)

    def cdn(self, url, head):
        sha = url.path[len("/cdn/"):]
        if sha not in self.hub.by_sha:
            return self.error(403, "", "AccessDenied", head)
        if self.headers.get("Authorization"):
            return self.error(400, "", "Only one auth mechanism allowed", head)  # as S3 says
        path, data = self.hub.by_sha[sha]
        md5 = hashlib.md5(data).hexdigest()
        return self.serve_bytes(path, data, {"ETag": '"%s"' % md5, "Accept-Ranges": "bytes",
                                             "Content-Type": "binary/octet-stream"}, head)

    def serve_bytes(self, path, data, headers, head):
        rule = {} if head else self.hub.take_rule(path)
        if rule.get("status"):  # e.g. a CDN refusing an expired signature: no X-Error-Code
            return self.send(rule["status"], {"Content-Type": "application/xml"},
                             b"<Error><Code>AccessDenied</Code></Error>", head)
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[len("bytes="):-1])
            if start >= len(data):
                h = dict(headers)
                h["Content-Range"] = "bytes */%d" % len(data)
                return self.send(416, h, b"", head)
            h = dict(headers)
            h["Content-Range"] = "bytes %d-%d/%d" % (start, len(data) - 1, len(data))
            return self.send(206, h, data[start:], head, rule)
        return self.send(200, headers, data, head, rule)

    def control(self, url):
        hub = self.hub
        q = dict(urllib.parse.parse_qsl(url.query))
        body = b"ok\n"
        if url.path == "/_ctl/reset":
            with hub.lock:
                hub.log.clear()
                hub.rules.clear()
        elif url.path == "/_ctl/log":
            with hub.lock:
                body = json.dumps(hub.log).encode()
        elif url.path == "/_ctl/rule":
            r = {"times": int(q.get("times", "1"))}
            if "cut" in q:
                r["cut"] = int(q["cut"])
            if "corrupt" in q:
                r["corrupt"] = True
            if "status" in q:
                r["status"] = int(q["status"])
            if "delay" in q:
                r["delay"] = float(q["delay"])
            with hub.lock:
                hub.rules[q["path"]] = r
        else:
            return self.send(404, {}, b"unknown control\n")
        self.send(200, {"Content-Type": "application/json"}, body)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that hang up on purpose (cancel tests) are not errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--lifetime", type=float, default=120.0)
    a = ap.parse_args()
    Handler.hub = Hub(a.root)
    srv = Server(("127.0.0.1", 0), Handler)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    parent = os.getppid()
    deadline = time.time() + a.lifetime

    def watchdog():
        while time.time() < deadline and os.getppid() == parent:
            time.sleep(0.2)
        srv.shutdown()

    threading.Thread(target=watchdog, daemon=True).start()
    srv.serve_forever(poll_interval=0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

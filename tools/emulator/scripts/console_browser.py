#!/usr/bin/env python3
"""Drives the emulator's dev console (/_emulator/) in a real headless chromium over the DevTools
protocol (--remote-debugging-pipe: no websocket library needed), standard library only.

  console_browser.py EMULATOR CHROMIUM test
      starts the emulator on a free port, loads the page, picks "503" in the fault controls and
      clicks Inject, sends one API write, and checks that the page's request log shows that
      request answered 503 with the fault marked, then clicks "Reset emulator" and checks that
      the counters, the log and the emulator's state are cleared. Exit 0 on success, 1 with a
      message otherwise.
  console_browser.py EMULATOR CHROMIUM screenshot PROFILES OUT.png
      fills the emulator with PROFILES profiles (plus a few requests of each kind) and saves a
      screenshot of the page with a request expanded and a profile's timeline open.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid


def fail(message):
    print("console_browser: FAIL: " + message, file=sys.stderr)
    sys.exit(1)


class Emulator:
    def __init__(self, binary):
        self.proc = subprocess.Popen([binary, "--port", "0"], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.isdigit():
            fail("the emulator did not print its port")
        self.base = "http://127.0.0.1:" + line

    def call(self, method, path, body=None, key=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        req.add_header("Authorization", "Bearer console-test")
        if key:
            req.add_header("Idempotency-Key", key)
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                return res.status, json.loads(res.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Browser:
    """Chromium with the DevTools protocol on fds 3 (commands in) and 4 (replies out)."""

    def __init__(self, binary, width, height):
        self.profile = tempfile.mkdtemp(prefix="console-chromium-")
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()
        # The child sees the read end of the command pipe as fd 3 and the reply pipe as fd 4.
        def child_fds():
            # Via high numbers first: the pipe ends may themselves be fds 3 or 4.
            a, b = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(a, 3)
            os.dup2(b, 4)
        args = [binary, "--headless=new", "--remote-debugging-pipe", "--no-first-run",
                "--no-default-browser-check", "--disable-gpu", "--disable-extensions",
                "--disable-dev-shm-usage", "--user-data-dir=" + self.profile,
                "--window-size=%d,%d" % (width, height), "about:blank"]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")
        self.proc = subprocess.Popen(args, preexec_fn=child_fds, pass_fds=(3, 4),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.buffer = b""
        self.next_id = 0
        self.session = None

    def send(self, method, params=None, session=True):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.time() + 30
        while time.time() < deadline:
            while b"\0" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self.next_id:
                    if "error" in reply:
                        fail(method + ": " + json.dumps(reply["error"]))
                    return reply.get("result", {})
            chunk = os.read(self.from_browser, 1 << 16)
            if not chunk:
                fail("chromium closed the DevTools pipe")
            self.buffer += chunk
        fail(method + ": no reply in 30 s")

    def open(self, url):
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)
        attached = self.send("Target.attachToTarget",
                             {"targetId": target["targetId"], "flatten": True}, session=False)
        self.session = attached["sessionId"]
        self.send("Page.enable")
        self.send("Page.navigate", {"url": url})

    def eval(self, expression):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})
        if "exceptionDetails" in result:
            fail("page script failed: " + json.dumps(result["exceptionDetails"])[:400])
        return result.get("result", {}).get("value")

    def wait_for(self, expression, what, seconds=15):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if self.eval(expression):
                return
            time.sleep(0.05)  # polling a condition in the page, bounded by the deadline
        fail("timed out waiting for " + what)

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def run_test(emulator_binary, chromium):
    emulator = Emulator(emulator_binary)
    browser = Browser(chromium, 1280, 900)
    try:
        browser.open(emulator.base + "/_emulator/")
        browser.wait_for("!!document.getElementById('fault-apply') && "
                         "document.getElementById('c-clock').textContent.length > 0",
                         "the page to load and read /_emulator/api/summary")
        browser.eval("document.getElementById('fault-kind').value = '503';"
                     "document.getElementById('fault-apply').click(); true")
        browser.wait_for("document.getElementById('fault-apply').dataset.applied === '1'",
                         "the Inject click to post the fault script")
        status, faults = emulator.call("GET", "/_emulator/faults")
        if faults.get("remaining_sequence") != 1:
            fail("the page did not install a one-entry fault sequence: " + json.dumps(faults))
        key = str(uuid.uuid4())
        status, _ = emulator.call("POST", "/public/v1/records/profiles/upsert",
                                  {"record": {"email": "browser@example.com"}, "matchKey": "email"},
                                  key)
        if status != 503:
            fail("the write after the injected fault answered %d, not 503" % status)
        browser.wait_for(
            "(() => { const r = document.querySelector('#log-rows tr.row');"
            " return !!r && r.dataset.status === '503' && r.textContent.includes('fault 503')"
            " && r.textContent.includes('%s'); })()" % key,
            "the request log to show the 503 request with its Idempotency-Key")
        status, _ = emulator.call("POST", "/public/v1/records/profiles/upsert",
                                  {"record": {"email": "browser@example.com"}, "matchKey": "email"},
                                  key)
        if status != 200:
            fail("the retry after the one-shot fault answered %d" % status)
        browser.wait_for(
            "(() => { const r = document.querySelector('#log-rows tr.row');"
            " return !!r && r.dataset.status === '200'; })()", "the retried request in the log")
        browser.wait_for("document.getElementById('c-profiles').textContent === '1'",
                         "the counters to show the profile")
        # The reset button (its confirm() answered yes): the emulator and the page start over.
        browser.eval("window.confirm = () => true; document.getElementById('reset').click(); true")
        browser.wait_for("document.getElementById('c-profiles').textContent === '0' && "
                         "document.getElementById('c-requests').textContent === '0' && "
                         "document.querySelectorAll('#log-rows tr.row').length === 0",
                         "the reset button to clear the counters and the log")
        status, summary = emulator.call("GET", "/_emulator/api/summary")
        if summary["counters"]["requests"] != 0 or summary["profiles"].get("profiles", 0) != 0:
            fail("the reset button left the emulator's state: " + json.dumps(summary))
        print("console_browser: ok: fault injected from the page, the next request is in the log,"
              " the reset button cleared the emulator")
    finally:
        browser.close()
        emulator.stop()


def fill(emulator, profiles):
    batch, sent = 10000, 0
    while sent < profiles:
        n = min(batch, profiles - sent)
        records = [{"email": "user%d@example.com" % (sent + i), "customer_id": "C%06d" % (sent + i),
                    "first_name": "User", "tier": ["gold", "silver", "bronze"][(sent + i) % 3]}
                   for i in range(n)]
        emulator.call("POST", "/public/v1/records/profiles/upsert-batch",
                      {"records": records, "matchKey": "email"}, str(uuid.uuid4()))
        sent += n
    key = str(uuid.uuid4())
    body = {"records": [{"email": "user0@example.com", "tier": "platinum", "last_name": "Zero"},
                        {"email": "not-an-email"}], "matchKey": "email"}
    emulator.call("POST", "/public/v1/records/profiles/upsert-batch", body, key)
    emulator.call("POST", "/public/v1/records/profiles/upsert-batch", body, key)  # a replay
    emulator.call("POST", "/public/v1/records/events/append-batch",
                  {"records": [{"event": "opened", "device_id": "d1"},
                               {"event": "purchase", "device_id": "d1"}]}, str(uuid.uuid4()))
    emulator.call("POST", "/_emulator/faults", {"sequence": ["503"]})
    emulator.call("POST", "/public/v1/records/profiles/upsert",
                  {"record": {"email": "user1@example.com", "tier": "gold"}, "matchKey": "email"},
                  str(uuid.uuid4()))


def run_screenshot(emulator_binary, chromium, profiles, out):
    emulator = Emulator(emulator_binary)
    browser = Browser(chromium, 1400, 1500)
    try:
        fill(emulator, profiles)
        browser.open(emulator.base + "/_emulator/")
        browser.send("Emulation.setDeviceMetricsOverride",
                     {"width": 1400, "height": 1500, "deviceScaleFactor": 1, "mobile": False})
        browser.wait_for("document.querySelectorAll('#log-rows tr.row').length >= 3 && "
                         "document.querySelectorAll('#pr-rows tr').length > 0", "the page to fill")
        browser.eval("document.getElementById('pr-q').value = 'user0@';"
                     "document.getElementById('pr-q').dispatchEvent(new Event('input')); true")
        browser.wait_for("document.getElementById('pr-range').textContent.includes('matching')",
                         "the search")
        browser.eval("document.querySelector('#pr-rows tr').click();"
                     "Array.from(document.querySelectorAll('#log-rows tr.row'))"
                     ".find((r) => r.textContent.includes('1 rejected')).click(); true")
        browser.wait_for("!!document.querySelector('#timeline table') && "
                         "!!document.querySelector('#log-rows tr.detail')", "the timeline")
        shot = browser.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        with open(out, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        print("console_browser: wrote " + out)
    finally:
        browser.close()
        emulator.stop()


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    emulator_binary, chromium, mode = sys.argv[1:4]
    if mode == "test":
        run_test(emulator_binary, chromium)
    elif mode == "screenshot" and len(sys.argv) == 6:
        run_screenshot(emulator_binary, chromium, int(sys.argv[4]), sys.argv[5])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

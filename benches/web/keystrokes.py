"""Times keystrokes in the admin page's URL field, and sizes the built page.

Drives headless Chromium through chromedriver (W3C WebDriver, plain JSON over HTTP). The page
records, for each key pressed, the time of the `keydown` event and the time the preview's DOM
changed (a MutationObserver). Paint is not timed: headless Chromium schedules frames at its own
pace while keys arrive faster than a person types, so a frame time would measure the queue of
keystrokes rather than the page. Called by `run`.
"""

import argparse
import gzip
import json
import pathlib
import statistics
import time
import urllib.request

KEYSTROKES = 200
TEMPLATE_BYTES = 2048
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


def webdriver(base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.load(response)["value"]


def template():
    """Returns a valid template of at least TEMPLATE_BYTES bytes, most of it tags."""
    text = "http://127.0.0.1:9/bench?"
    index = 0
    while len(text) < TEMPLATE_BYTES:
        text += f"a{index}={{agent.id}}&c{index}={{client.name}}&l{index}={{calling_list.id}}&"
        index += 1
    return text + "pad="


INSTRUMENT = """
window.benchTimes = { down: [], dom: [] };
const times = window.benchTimes;
document.getElementById('hook-url').addEventListener('keydown', () => {
    times.down.push(performance.now());
}, true);
new MutationObserver(() => {
    if (times.dom.length >= times.down.length) return;
    times.dom.push(performance.now());
}).observe(document.getElementById('preview'), { childList: true, subtree: true, characterData: true });
"""


def wait_for(session, script, what, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if webdriver(session, "POST", "/execute/sync", {"script": script, "args": []}):
            return
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}")


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def measure(driver, page, token, profile):
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update",
            "--window-size=1280,900", f"--user-data-dir={profile}"]
    capabilities = {"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}}}}
    session_id = webdriver(driver, "POST", "/session", capabilities)["sessionId"]
    session = f"{driver}/session/{session_id}"
    try:
        webdriver(session, "POST", "/url", {"url": page + "/"})
        script = "localStorage.setItem('callout.token', arguments[0]);"
        webdriver(session, "POST", "/execute/sync", {"script": script, "args": [token]})
        webdriver(session, "POST", "/refresh", {})
        wait_for(session, "return !!document.getElementById('new-hook');", "the hooks view")
        webdriver(session, "POST", "/execute/sync",
                  {"script": "document.getElementById('new-hook').click();", "args": []})
        wait_for(session, "return !!document.getElementById('hook-url');", "the editor")

        text = template()
        set_text = ("const f = document.getElementById('hook-url'); f.value = arguments[0]; "
                    "f.dispatchEvent(new Event('input', { bubbles: true }));")
        webdriver(session, "POST", "/execute/sync", {"script": set_text, "args": [text]})
        wait_for(session, "return document.getElementById('preview').dataset.valid == 'true';",
                 "a valid preview of the long template")
        webdriver(session, "POST", "/execute/sync", {"script": INSTRUMENT, "args": []})

        field = webdriver(session, "POST", "/element",
                          {"using": "css selector", "value": "#hook-url"})[ELEMENT]
        typed = "x" * KEYSTROKES
        webdriver(session, "POST", f"/element/{field}/value", {"text": typed})
        wait_for(session, f"return window.benchTimes.dom.length >= {KEYSTROKES};",
                 "every keystroke's preview")
        times = webdriver(session, "POST", "/execute/sync",
                          {"script": "return window.benchTimes;", "args": []})
        preview = webdriver(session, "POST", "/execute/sync", {
            "script": "return document.getElementById('preview').textContent;", "args": []})
        if not preview.endswith("pad=" + typed):
            raise SystemExit("the preview does not end with the typed text")
        return len(text.encode()), times
    finally:
        webdriver(session, "DELETE", "")


def sizes(dist):
    rows = []
    for path in sorted(pathlib.Path(dist).iterdir()):
        if path.suffix in (".wasm", ".js"):
            raw = path.read_bytes()
            rows.append((path.suffix[1:], len(raw), len(gzip.compress(raw, compresslevel=9))))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--driver", required=True, help="chromedriver's base URL")
    parser.add_argument("--page", required=True, help="the served page's base URL")
    parser.add_argument("--token", required=True, help="an agent's API token")
    parser.add_argument("--profile", required=True, help="a folder for the browser profile")
    parser.add_argument("--dist", required=True, help="the built page's folder")
    options = parser.parse_args()

    for _ in range(100):
        try:
            if webdriver(options.driver, "GET", "/status")["ready"]:
                break
        except OSError:
            time.sleep(0.1)
    template_bytes, times = measure(options.driver, options.page, options.token, options.profile)
    count = len(times["down"])
    if count != KEYSTROKES:
        raise SystemExit(f"the page saw {count} keystrokes instead of {KEYSTROKES}")
    to_dom = [dom - down for down, dom in zip(times["down"], times["dom"])]

    print(f"{KEYSTROKES} keystrokes at the end of a {template_bytes}-byte template:")
    print()
    print("| from keydown to | median | p95 |")
    print("|---|---|---|")
    print(f"| preview updated in the DOM | {statistics.median(to_dom):.2f} ms "
          f"| {percentile(to_dom, 0.95):.2f} ms |")
    print()
    print("| file | raw | gzip -9 |")
    print("|---|---|---|")
    for kind, raw, packed in sizes(options.dist):
        print(f"| {kind} | {raw / 1024:.1f} KiB | {packed / 1024:.1f} KiB |")


if __name__ == "__main__":
    main()

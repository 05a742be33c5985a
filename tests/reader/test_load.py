"""How the site loads on a slow phone connection: bytes, requests and time.

Chromium (Playwright) with a cold cache under CDP network throttling of a slow 4G
link: 1,6 Mbps down, 750 kbps up, 150 ms latency, at a phone's width. For each page:
the bytes and requests until the network is idle, and the time to the load event.

The pages are served as the site's hosts serve them (Read the Docs, GitHub Pages):
text (HTML, CSS, JavaScript, JSON, SVG) compressed with gzip. The table also gives
the bytes uncompressed, as a plain file server sends them. It fails above the goals:
the landing page and the lessons <= 1 MB (compressed and uncompressed) and <= 3 s to
the load event, the explorer <= 2,5 MB.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import mimetypes
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

pytestmark = pytest.mark.slow  # about a minute: the throttled link is slow on purpose

PHONE = {"width": 390, "height": 844}
THROTTLE = {"offline": False, "latency": 150, "downloadThroughput": 1.6e6 / 8, "uploadThroughput": 750e3 / 8}
MB = 1e6
#: page -> (most bytes, most seconds to the load event or None)
GOALS = {
    "index.html": (1.0 * MB, 3.0),
    "clase/07-relu.html": (1.0 * MB, 3.0),
    "explorador.html": (2.5 * MB, None),
}


COMPRESSED = {".html", ".css", ".js", ".json", ".svg", ".txt", ".map"}


class _GzipHandler(http.server.SimpleHTTPRequestHandler):
    """Static files, text gzip-compressed when the browser accepts it (as static hosts do)."""

    def do_GET(self):
        path = Path(self.translate_path(unquote(urlsplit(self.path).path)))
        if path.is_dir():
            path = path / "index.html"
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", mimetypes.guess_type(path.name)[0] or "application/octet-stream")
        if path.suffix in COMPRESSED and "gzip" in self.headers.get("Accept-Encoding", ""):
            data = gzip.compress(data, compresslevel=6)
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def gzip_server(site):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_GzipHandler, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def measure(browser, url: str) -> dict:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", THROTTLE)
    sizes: dict[str, float] = {}
    urls: dict[str, str] = {}
    raw: dict[str, float] = {}
    cdp.on("Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]))
    cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], e["encodedDataLength"]))
    cdp.on("Network.dataReceived", lambda e: raw.__setitem__(e["requestId"], raw.get(e["requestId"], 0)
                                                             + e["dataLength"]))
    start = time.perf_counter()
    page.goto(url, wait_until="load", timeout=120_000)
    load_s = page.evaluate("() => { const n = performance.getEntriesByType('navigation')[0];"
                           " return (n.loadEventStart - n.startTime) / 1000; }")
    page.wait_for_load_state("networkidle", timeout=120_000)
    idle_s = time.perf_counter() - start
    by_file = sorted(((sizes.get(r, 0), urlsplit(u).path.rsplit("/", 1)[-1]) for r, u in urls.items()),
                     reverse=True)
    context.close()
    return {"bytes": sum(sizes.values()), "raw": sum(raw.values()), "requests": len(urls), "load_s": load_s,
            "idle_s": idle_s, "largest": by_file[:4]}


def test_pages_load_fast_on_a_slow_phone_connection(site, gzip_server, browser):
    rows, over = [], []
    for rel, (max_bytes, max_s) in GOALS.items():
        m = measure(browser, f"{gzip_server}/{rel}")
        rows.append(f"{rel:<24} {m['bytes'] / MB:6.2f} MB {m['raw'] / MB:6.2f} MB {m['requests']:4d} "
                    f"{m['load_s']:6.1f} s {m['idle_s']:6.1f} s   "
                    + ", ".join(f"{n} {b / 1e3:.0f} kB" for b, n in m["largest"]))
        if m["bytes"] > max_bytes:
            over.append(f"{rel}: {m['bytes'] / MB:.2f} MB sent > {max_bytes / MB:.1f} MB")
        if max_s is not None and m["raw"] > max_bytes:  # landing page and lessons: uncompressed too
            over.append(f"{rel}: {m['raw'] / MB:.2f} MB uncompressed > {max_bytes / MB:.1f} MB")
        if max_s is not None and m["load_s"] > max_s:
            over.append(f"{rel}: load {m['load_s']:.1f} s > {max_s:.0f} s")
    print("\n1,6 Mbps, 150 ms, cold cache, 390 px, text gzip-compressed:\n"
          f"{'page':<24} {'sent':>9} {'uncompr.':>9} {'req':>4} {'load':>8} {'idle':>8}   largest files (sent)\n"
          + "\n".join(rows))
    assert not over, "over the goals:\n" + "\n".join(over)

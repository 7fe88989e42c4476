"""Check the built site (`_docs/`) in a real browser: headless Chromium, driven by Playwright, on a local server.

For every page: it loads with no script error; every maths span was rendered by KaTeX and no `$$` or `\\(` is left
in the text; every picture decoded; every link inside the site resolves to a page, and to an element when it names
one (`page.html#id`). On the pages that check gradients, the comparison is shown (a `check_block` table or
'Comparing gradients'). No request of any page leaves 127.0.0.1: each is recorded and refused. A screenshot of
the Blocks page is saved to `_docs/screenshots/blocks.png`.

Usage: `python tools/browser_check.py [--site _docs]`; exits 1 and lists the problems when there are any.
Chromium: Debian's `chromium` (`make browser` installs it), else `google-chrome`, or the program named by `CHROMIUM`.
"""
import argparse, functools, http.server, os, re, shutil, sys, threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit, unquote

ROOT = Path(__file__).resolve().parent.parent
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync']
GRADIENT_PAGES = ('blocks.html', 'grad_compare.html', 'gradcheck.html')  # pages that must show a gradient comparison
SCREENSHOT = ('blocks.html', 'screenshots/blocks.png')

# Runs in the page: what it shows, gathered in one pass
PAGE_STATE = """() => {
  const text = el => { const c = el.cloneNode(true); c.querySelectorAll('pre, code, script, style, .katex').forEach(e => e.remove());
                       return c.textContent; };
  const math = [...document.querySelectorAll('span.math')];
  const outputs = [...document.querySelectorAll('.cell-output')];
  return {
    math: math.length,
    unrendered: math.filter(m => !m.querySelector('.katex') || m.querySelector('.katex-error')).map(m => m.textContent.slice(0, 80)),
    rawMath: (text(document.body).match(/\\$\\$|\\\\\\(|\\\\\\[/g) || []).length,
    brokenImages: [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src.slice(0, 80)),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    gradientOutputs: outputs.filter(o => /Comparing gradients/.test(o.textContent) ||
                                         (/check_block\\(/.test(o.textContent) && o.querySelector('table'))).length,
    title: document.title,
  };
}"""


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass


def serve(site: Path):
    "Serve `site` on 127.0.0.1 at a free port, in a thread; return the server."
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Ids(HTMLParser):
    "The `id` and `name` attributes of an HTML file: the targets of `#fragment` links."
    def __init__(self):
        super().__init__(); self.ids = set()
    def handle_starttag(self, tag, attrs):
        self.ids.update(v for k, v in attrs if k in ('id', 'name') and v)


@functools.lru_cache(None)
def ids_of(path: Path) -> frozenset:
    p = Ids(); p.feed(path.read_text(errors='replace')); return frozenset(p.ids)


def link_problem(site: Path, base: str, href: str):
    "Why the internal link `href` does not resolve, or None."
    u = urlsplit(href)
    path = unquote(u.path)
    target = site/path.lstrip('/')
    if path.endswith('/') or target.is_dir(): target = target/'index.html'
    if not target.is_file(): return f'{href[len(base):]}: no such page'
    if u.fragment and target.suffix == '.html' and unquote(u.fragment) not in ids_of(target):
        return f'{href[len(base):]}: no element #{unquote(u.fragment)}'


def chromium() -> str:
    exe = os.environ.get('CHROMIUM') or shutil.which('chromium') or shutil.which('google-chrome')  # Debian's; GitHub's runners
    if not exe: sys.exit('browser_check: no Chromium found; run `make browser` (Debian package chromium) or set CHROMIUM')
    return exe


def check(site: Path, screenshot: bool = True) -> list:
    "Every problem found on the site in `site`, as a line each."
    from playwright.sync_api import sync_playwright
    pages = sorted(str(p.relative_to(site)) for p in site.rglob('*.html'))
    if not pages: return [f'no pages in {site}: run `make docs` first']
    server = serve(site)
    base = f'http://127.0.0.1:{server.server_address[1]}/'
    problems, offsite = [], []

    def route(r):
        host = urlsplit(r.request.url).hostname
        if r.request.url.startswith(('data:', 'blob:')) or host in ('127.0.0.1', 'localhost'): return r.continue_()
        offsite.append(r.request.url); r.abort()

    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium(), args=FLAGS)
            ctx = browser.new_context(viewport={'width': 1280, 'height': 1000}, service_workers='block')
            ctx.route('**/*', route)
            for name in pages:
                page = ctx.new_page()
                errors = []
                page.on('pageerror', lambda e: errors.append(str(e)))
                page.on('requestfailed', lambda r: None if r.url in offsite else errors.append(f'failed to load {r.url}'))
                resp = page.goto(base + name, wait_until='load')
                if not resp or resp.status != 200: problems.append(f'{name}: HTTP {resp.status if resp else "no response"}')
                page.wait_for_load_state('networkidle')
                s = page.evaluate(PAGE_STATE)
                problems += [f'{name}: {e}' for e in errors]
                problems += [f'{name}: maths not rendered: {m!r}' for m in s['unrendered']]
                if s['rawMath']: problems.append(f'{name}: {s["rawMath"]} raw maths delimiters ($$, \\(, \\[) left in the text')
                problems += [f'{name}: picture did not load: {i}' for i in s['brokenImages']]
                for href in sorted(set(s['links'])):
                    if href.startswith(base):
                        why = link_problem(site, base, href)
                        if why: problems.append(f'{name}: broken link {why}')
                if name in GRADIENT_PAGES and not s['gradientOutputs']:
                    problems.append(f'{name}: no gradient comparison shown (a check_block table or "Comparing gradients")')
                print(f'  {name}: {s["math"]} maths, {len(set(s["links"]))} links, {s["gradientOutputs"]} gradient checks shown', flush=True)
                if screenshot and name == SCREENSHOT[0]:
                    shot = site/SCREENSHOT[1]
                    shot.parent.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(shot))
                page.close()
            browser.close()
    finally:
        server.shutdown()
    problems += [f'request to another host: {u}' for u in sorted(set(offsite))]
    missing = [p for p in GRADIENT_PAGES if p not in pages]
    problems += [f'{p}: page missing' for p in missing]
    return problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--site', default=str(ROOT/'_docs'), help='the built site (default _docs)')
    args = ap.parse_args(argv)
    problems = check(Path(args.site).resolve())
    for p in problems: print(f'browser_check: {p}', file=sys.stderr)
    print(f'browser_check: {"FAILED, " + str(len(problems)) + " problem(s)" if problems else "ok"}')
    sys.exit(1 if problems else 0)


if __name__ == '__main__': main()

"""Check the built site (`_docs/`) in a real browser: headless Chromium, driven by Playwright, on a local server.

For every page: it loads with no script error and no failed request (every request answered below 400, and the page
names its favicon, since a browser asks for a missing one as /favicon.ico, a 404); every maths span was rendered by
KaTeX and no `$$` or `\\(` is left in the text; every picture decoded; every link inside the site resolves to a page,
and to an element when it names one (`page.html#id`).
No link leaves the site for a copy of it: none points at the published site (settings.ini's `doc_host` +
`doc_baseurl`), at another host's copy of a page of this site (`https://backprop.github.io/backprop/blocks.html`),
or at a "source" file in a repository that settings.ini does not name as `git_url`. No Markdown shows as text: no
`[text](url)`, `](http` or pair of backticks in the prose, none in show_doc's signatures, and no link in a link. On
the pages that check gradients, the comparison is shown (a `check_block` table or 'Comparing gradients'). No request
of any page leaves 127.0.0.1: each is recorded and refused. No page opens with code: the first thing under its title is
prose. At a phone's width (390 pixels) no page is wider than the screen.

The site as a course: the sidebar holds the parts of `nbs/sidebar.yml`, in order, with their pages; each Block page
has its code in folded blocks (closed until opened): the backward method of every Block the page defines, and every
function that its exercise asks for, whose folded code fits the text column at a desktop's width (1440 pixels); and
each exercise link resolves to a notebook that is valid, and that runs in a fresh kernel up to the `TODO` it leaves
(its first error is that function's `NotImplementedError`). A screenshot of the Blocks page is saved to
`_docs/screenshots/blocks.png`, and one of the Linear page at a phone's width to `_docs/screenshots/linear-phone.png`.

Before the site, the check runs on a planted page (the home page with one of each of those problems added, served
from memory) and fails unless it reports every one of them: so it is known to catch them.

Usage: `python tools/browser_check.py [--site _docs]`; exits 1 and lists the problems when there are any.
Chromium: the program named by `CHROMIUM`, else Debian's `chromium` (as root, `make browser` installs it with
`apt-get install chromium chromium-driver`), else `google-chrome`.
"""
import argparse, functools, http.server, importlib, inspect as pyinspect, json, os, re, shutil, sys, tempfile, textwrap, threading, time
import subprocess, urllib.request
from concurrent.futures import ProcessPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit, unquote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'tools'))
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync']
GRADIENT_PAGES = ('linear.html', 'grad_compare.html', 'gradcheck.html')  # pages that must show a gradient comparison
SCREENSHOT = ('blocks.html', 'screenshots/blocks.png')
PHONE_SHOT = ('linear.html', 'screenshots/linear-phone.png')
PHONE, DESKTOP = 390, 1440   # widths in CSS pixels: a phone's, and a desktop's, at which the folded code must fit
LOCAL = ('127.0.0.1', 'localhost')
PLANTED = '_planted_problems.html'  # served from memory, never written to the site
HOW_TO_GET_CHROMIUM = ('as root, `make browser` (it runs `apt-get install chromium chromium-driver`), '
                       'or set CHROMIUM to the path of a Chromium or Chrome program')

# Runs in the page: what it shows, gathered in one pass
PAGE_STATE = """() => {
  const text = el => { const c = el.cloneNode(true); c.querySelectorAll('pre, code, script, style, .katex').forEach(e => e.remove());
                       return c.textContent; };
  const math = [...document.querySelectorAll('span.math')];
  const outputs = [...document.querySelectorAll('.cell-output')];
  const prose = text(document.body);
  const signatures = [...document.querySelectorAll('.cell-output-markdown pre')].map(p => p.textContent).join('\\n');
  const found = (s, re) => [...new Set(s.match(re) || [])].map(m => m.slice(0, 80));
  const bracketed = [...document.querySelectorAll('a')].filter(a =>
    (a.previousSibling?.textContent || '').endsWith('[') && (a.nextSibling?.textContent || '').startsWith(']('));
  return {
    math: math.length,
    unrendered: math.filter(m => !m.querySelector('.katex') || m.querySelector('.katex-error')).map(m => m.textContent.slice(0, 80)),
    rawMath: (prose.match(/\\$\\$|\\\\\\(|\\\\\\[/g) || []).length,
    rawMarkdown: found(prose, /\\[[^\\]\\n]*\\]\\([^)\\s]*\\)?|\\]\\(https?:[^)\\s]*|`[^`\\n]+`|\\{target=[^}]*\\}/g),
    signatureMarkdown: found(signatures, /\\]\\([^)\\s]*\\)?|`[^`\\n]+`/g),
    linkInLink: document.querySelectorAll('a a').length + bracketed.length,
    brokenImages: [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src.slice(0, 80)),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    icon: document.querySelector('link[rel~="icon"]')?.href || null,
    gradientOutputs: outputs.filter(o => /Comparing gradients/.test(o.textContent) ||
                                         (/check_block\\(/.test(o.textContent) && o.querySelector('table'))).length,
    title: document.title,
    opensWith: (() => {
      const first = [...document.querySelectorAll('main p, main ul, main ol, main blockquote, main table, main div.cell, ' +
                                                   'main details, main figure, main img')].find(e => !e.closest('header'));
      if (!first) return null;
      const cell = first.closest('div.cell') || first;
      const code = cell.matches('details') || !!cell.querySelector('pre.cell-code, details.code-fold');
      return code ? 'code: ' + cell.textContent.trim().slice(0, 60) : first.tagName.toLowerCase();
    })(),
    folds: [...document.querySelectorAll('main details.code-fold')].map(d => ({
      summary: d.querySelector('summary')?.textContent.trim() || '', open: d.open,
      text: [...d.querySelectorAll('pre')].map(p => p.textContent).join('\\n')})),
    sections: [...document.querySelectorAll('#quarto-sidebar .sidebar-item-section')].filter(
      sec => !sec.parentElement.closest('.sidebar-item-section')).map(sec => ({
      title: sec.querySelector('.sidebar-item-text')?.textContent.trim() || '',
      links: [...sec.querySelectorAll('ul a.sidebar-link[href]')].map(a => a.getAttribute('href'))})),
  };
}"""

# Runs in the page at a desktop's width: every folded block of code opened, and the lines wider than its box
FOLDS_FIT = """() => [...document.querySelectorAll('main details.code-fold')].flatMap(d => {
  d.open = true;
  return [...d.querySelectorAll('pre')].filter(p => p.scrollWidth > p.clientWidth + 1).map(p =>
    (d.querySelector('summary')?.textContent.trim() || '') + ': ' + p.textContent.split('\\n').reduce((a, b) => b.length > a.length ? b : a).trim().slice(0, 60));
})"""

# Runs in the page at a phone's width: how wide the page is, and its widest element that overflows the screen
PHONE_STATE = """() => {
  const w = document.documentElement.clientWidth;
  const scrolls = e => { for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
    const o = getComputedStyle(a).overflowX; if (o === 'auto' || o === 'scroll') return true; } return false; };
  const wide = [...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > w + 1 && !scrolls(e));
  return {width: document.documentElement.scrollWidth, screen: w,
          widest: wide.slice(0, 1).map(e => e.tagName.toLowerCase() + '.' + [...e.classList].join('.') + ': ' +
                                         e.textContent.trim().slice(0, 40))};
}"""


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):   # a page closed while a file was on its way: not a problem of the site
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)): super().handle_error(request, client_address)


def serve(site: Path):
    "Serve `site` on 127.0.0.1 at a free port, in a thread; return the server."
    server = QuietServer(('127.0.0.1', 0), functools.partial(Quiet, directory=str(site)))
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


class Settings:
    "What settings.ini says about where the site and the repository are, and the names of the site's pages."
    def __init__(self, pages):
        from nbdev.config import get_config
        from docs import site_base
        cfg = get_config(path=str(ROOT))
        self.published = site_base(cfg) if cfg.doc_host else None
        self.git_url, self.repo = cfg.git_url.rstrip('/'), cfg.repo
        self.source_path = f'/blob/{cfg.branch}/{cfg.lib_path.name}/'
        self.pages = {Path(p).name for p in pages if p != PLANTED} - {'index.html'}


def copy_problem(href: str, s: Settings):
    "Why the link `href` (off this server) leads to a copy of this site or of its code, or None."
    u = urlsplit(href)
    if u.scheme not in ('http', 'https') or u.hostname in LOCAL: return None
    if s.published and href.startswith(s.published):
        return f'{href}: a link to the published site, not to this copy'
    parts = u.path.split('/')
    if parts[-1] in s.pages and (s.repo in parts[:-1] or (u.hostname or '').split('.')[0] == s.repo):
        return f'{href}: a link to another copy of this site'
    if s.source_path in u.path and not (s.git_url and href.startswith(s.git_url + '/')):
        return f'{href}: a source link to a repository that settings.ini does not name (git_url)'


def chromium() -> str:
    exe = os.environ.get('CHROMIUM') or shutil.which('chromium') or shutil.which('google-chrome')  # Debian's; GitHub's runners
    if exe and (Path(exe).is_file() or shutil.which(exe)): return exe
    sys.exit(f'browser_check: no Chromium found{" at CHROMIUM=" + exe if exe else ""}. To get it: {HOW_TO_GET_CHROMIUM}.')


def planted_page(site: Path, s: Settings) -> tuple:
    "The home page with one of each problem the check must catch, and a name for each."
    html = (site/'index.html').read_text()
    page = next(iter(sorted(s.pages)), 'blocks.html')
    copy = (s.published or f'https://{s.repo}.github.io/{s.repo}/') + page
    plants = {
        'a link to a copy of the site': f'<p><a href="{copy}">a copy</a></p>',
        'a source link to an unnamed repository':
            f'<p><a href="https://github.com/{s.repo}/{s.repo}{s.source_path}x.py#L1">source</a></p>',
        'raw Markdown in the text': f'<p>see [<code>Linear</code>]({page}) here</p>',
        'a link in a link': f'<p>the stricter [<a href="{page}#x"><code>check_block</code></a>]({page})</p>',
        'raw Markdown in a signature': '<div class="cell-output cell-output-display cell-output-markdown"><pre><code>'
                                       'def f(\n    size, # a name in `SIZES`\n):</code></pre></div>',
        'a request answered 404': '<img src="_planted_missing.png" alt="">',
        'a page without a favicon': '',
        'a page that opens with code': '',
        'a page wider than a phone': '<p style="width:900px">a line as wide as a desktop</p>',
    }
    html = re.sub(r'<link rel="icon"[^>]*>', '', html)
    html = re.sub(r'(<main[^>]*>(?:\s*<header.*?</header>)?)', lambda m: m[1] + '<div class="cell"><div class="sourceCode">'
                  '<pre class="sourceCode python cell-code"><code>import torch</code></pre></div></div>', html, count=1, flags=re.S)
    return html.replace('</main>', ''.join(plants.values()) + '</main>', 1), list(plants)


CAUGHT_BY = {  # which reported problem shows that a planted one was caught
    'a link to a copy of the site': 'another copy of this site',
    'a source link to an unnamed repository': 'a repository that settings.ini does not name',
    'raw Markdown in the text': 'raw Markdown in the text',
    'a link in a link': 'inside the Markdown of a link',
    'raw Markdown in a signature': 'raw Markdown in a signature',
    'a request answered 404': 'HTTP 404',
    'a page without a favicon': 'no favicon link',
    'a page that opens with code': 'opens with code',
    'a page wider than a phone': 'wider than a phone',
}


def inspect(ctx, url: str, name: str, site: Path, base: str, s: Settings, offsite: list) -> tuple:
    "Load one page; return its problems (as lines) and what it shows."
    page = ctx.new_page()
    errors = []
    page.on('pageerror', lambda e: errors.append(str(e)))
    page.on('requestfailed', lambda r: None if r.url in offsite else errors.append(f'failed to load {r.url}'))
    page.on('response', lambda r: r.status >= 400 and r.url != url and errors.append(f'HTTP {r.status} for {r.url}'))
    resp = page.goto(url, wait_until='load')
    problems = [] if resp and resp.status == 200 else [f'HTTP {resp.status if resp else "no response"}']
    page.wait_for_load_state('networkidle')
    st = page.evaluate(PAGE_STATE)
    problems += errors
    problems += [f'maths not rendered: {m!r}' for m in st['unrendered']]
    if st['rawMath']: problems.append(f'{st["rawMath"]} raw maths delimiters ($$, \\(, \\[) left in the text')
    problems += [f'raw Markdown in the text: {m!r}' for m in st['rawMarkdown']]
    problems += [f'raw Markdown in a signature: {m!r}' for m in st['signatureMarkdown']]
    if st['linkInLink']:
        problems.append(f'{st["linkInLink"]} link(s) inside the Markdown of a link (or an <a> in an <a>)')
    problems += [f'picture did not load: {i}' for i in st['brokenImages']]
    if not st['icon']: problems.append('no favicon link (a browser then asks for /favicon.ico, a 404)')
    elif st['icon'].startswith(base) and link_problem(site, base, st['icon']):
        problems.append(f'favicon {link_problem(site, base, st["icon"])}')
    for href in sorted(set(st['links'])):
        why = link_problem(site, base, href) if href.startswith(base) else copy_problem(href, s)
        if why: problems.append(f'broken link {why}' if href.startswith(base) else why)
    if name in GRADIENT_PAGES and not st['gradientOutputs']:
        problems.append('no gradient comparison shown (a check_block table or "Comparing gradients")')
    if st['opensWith'] and st['opensWith'].startswith('code'): problems.append(f'the page opens with {st["opensWith"]}')
    return problems, st, page


def phone_problems(ctx, url):
    "What is wrong with the page at `url` at a phone's width: a page wider than the screen."
    page = ctx.new_page()
    page.goto(url, wait_until='load')
    st = page.evaluate(PHONE_STATE)
    out = [] if st['width'] <= st['screen'] and not st['widest'] else [
        f'wider than a phone at {st["screen"]} pixels: {", ".join(st["widest"]) or st["width"]} (cut off, or the page scrolls sideways)']
    return out, page


def course_expectations():
    "What the course needs on the site: the sidebar's parts, and for each Block page the code it must show folded."
    import yaml
    import backprop._modidx, backprop.blocks
    from backprop.course import course_parts, page_of
    import exercises
    parts = [(part, [page_of(n) for n in nbs]) for part, nbs in course_parts(ROOT/'nbs'/'sidebar.yml').items()]
    syms = {k: v[0].split('#')[0] for mod in backprop._modidx.d['syms'].values() for k, v in mod.items()}
    def source(obj): return textwrap.dedent(pyinspect.getsource(pyinspect.unwrap(obj)))
    folded = {}                                                  # page -> {what: source}
    for name, module in backprop.blocks._ELSEWHERE.items():
        cls = getattr(backprop.blocks, name)
        if 'backward' in cls.__dict__:
            folded.setdefault(syms[f'backprop.{module}.{name}'], {})[f'{name}.backward'] = source(cls.__dict__['backward'])
    exercise_pages = {}
    for nb, name in exercises.EXERCISES:
        key = next(k for k in syms if k.endswith('.' + name) and k.count('.') == 2 + name.count('.'))
        obj = importlib.import_module(key.rsplit('.', name.count('.') + 1)[0])
        for part in name.split('.'): obj = getattr(obj, part)
        folded.setdefault(syms[key], {})[name] = source(obj)
        exercise_pages.setdefault(syms[key], f'exercises/{nb}.ipynb')
    return parts, folded, exercise_pages


def _words(text): return ' '.join(text.split())


def run_exercise(url: str) -> tuple:
    "Download the exercise notebook at `url`, check that it is valid, and run it in a fresh kernel: `(problem, seconds)`."
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    start = time.time()
    try: nb = nbformat.reads(urllib.request.urlopen(url).read().decode(), as_version=4); nbformat.validate(nb)
    except Exception as e: return f'not a valid notebook: {e}', 0
    for cell in nb.cells:                                    # as nbdev_test: the cells flagged slow do not run
        if cell.cell_type == 'code' and re.search(r'^#\|\s*slow\b', cell.source, re.M): cell.source = ''
    os.environ['IN_TEST'] = '1'
    with tempfile.TemporaryDirectory() as where:
        try: NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": where}}).execute(stderr=subprocess.DEVNULL)
        except CellExecutionError as e:
            if e.ename == 'NotImplementedError': return None, time.time() - start
            return f'stopped with {e.ename}: {str(e.evalue)[:120]}, not at its TODO', time.time() - start
    return 'ran to the end: it leaves nothing to write', time.time() - start


def course_problems(site_pages, states, base) -> list:
    "What the course lacks on the built site: the sidebar's parts, the folded code of each Block page, the exercises."
    parts, folded, exercise_pages = course_expectations()
    problems = []
    shown = [(sec['title'], [Path(urlsplit(h).path).name for h in sec['links']]) for sec in states['index.html']['sections']]
    if shown != parts: problems.append(f'index.html: the sidebar shows the parts {shown}, but nbs/sidebar.yml has {parts}')
    for page, wanted in sorted(folded.items()):
        if page not in states: problems.append(f'{page}: page missing'); continue
        folds = states[page]['folds']
        if any(f['open'] for f in folds): problems.append(f'{page}: a block of code is open, not folded')
        texts = [_words(f['text']) for f in folds]
        for what, src in wanted.items():
            if not any(_words(src) in t for t in texts): problems.append(f'{page}: no folded code shows {what}')
    links = {}
    for page, link in sorted(exercise_pages.items()):
        if page in states and base + link not in states[page]['links']: problems.append(f'{page}: no link to its exercise, {link}')
        else: links[link] = page
    with ProcessPoolExecutor(2) as pool:                     # two kernels at a time
        for (link, page), (why, took) in zip(links.items(), pool.map(run_exercise, [base + l for l in links])):
            print(f'  {link} (linked from {page}): {why or "valid, and runs up to its TODO"} ({took:.0f} s)', flush=True)
            if why: problems.append(f'{page}: its exercise {link} {why}')
    return problems


def check(site: Path, screenshot: bool = True) -> list:
    "Every problem found on the site in `site`, as a line each."
    from playwright.sync_api import sync_playwright
    pages = sorted(str(p.relative_to(site)) for p in site.rglob('*.html'))
    if not pages: return [f'no pages in {site}: run `make docs` first']
    settings = Settings(pages)
    server = serve(site)
    base = f'http://127.0.0.1:{server.server_address[1]}/'
    problems, offsite = [], []
    planted_html, plants = planted_page(site, settings)

    def route(r):
        url = r.request.url
        if url == base + PLANTED: return r.fulfill(body=planted_html, content_type='text/html')
        if url.startswith(('data:', 'blob:')) or urlsplit(url).hostname in LOCAL: return r.continue_()
        offsite.append(url); r.abort()

    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium(), args=FLAGS)
            ctx = browser.new_context(viewport={'width': 1280, 'height': 1000}, service_workers='block')
            ctx.route('**/*', route)
            found, _, page = inspect(ctx, base + PLANTED, PLANTED, site, base, settings, offsite)
            page.close()
            missed = [p for p in plants if p != 'a page wider than a phone' and not any(CAUGHT_BY[p] in f for f in found)]
            problems += [f'the check did not catch {p} on a planted page' for p in missed]
            print(f'  planted page: {len(plants) - 1 - len(missed)} of {len(plants) - 1} planted problems caught (and one at a phone\'s width, below)', flush=True)
            states = {}
            for name in pages:
                found, st, page = inspect(ctx, base + name, name, site, base, settings, offsite)
                states[name] = st
                problems += [f'{name}: {p}' for p in found]
                print(f'  {name}: {st["math"]} maths, {len(set(st["links"]))} links, '
                      f'{st["gradientOutputs"]} gradient checks shown', flush=True)
                if screenshot and name == SCREENSHOT[0]:
                    shot = site/SCREENSHOT[1]
                    shot.parent.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(shot))
                page.close()
            wide = browser.new_context(viewport={'width': DESKTOP, 'height': 1000}, service_workers='block')
            wide.route('**/*', route)
            for name in pages:
                if not states[name]['folds']: continue
                page = wide.new_page(); page.goto(base + name, wait_until='load')
                problems += [f'{name}: folded code wider than the text column at {DESKTOP} pixels: {w}' for w in page.evaluate(FOLDS_FIT)]
                page.close()
            phone = browser.new_context(viewport={'width': PHONE, 'height': 800}, service_workers='block', is_mobile=True)
            phone.route('**/*', route)
            found, page = phone_problems(phone, base + PLANTED)
            if not found: problems.append('the check did not catch a page wider than a phone on a planted page')
            page.close()
            for name in pages:
                found, page = phone_problems(phone, base + name)
                problems += [f'{name}: {p}' for p in found]
                if screenshot and name == PHONE_SHOT[0]: page.screenshot(path=str(site/PHONE_SHOT[1]), full_page=True)
                page.close()
            print(f'  every page at a phone\'s width ({PHONE} pixels), and the folded code at a desktop\'s ({DESKTOP})', flush=True)
            browser.close()
            problems += course_problems(pages, states, base)
    finally:
        server.shutdown()
    problems += [f'request to another host: {u}' for u in sorted(set(offsite))]
    problems += [f'{p}: page missing' for p in GRADIENT_PAGES if p not in pages]
    return problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--site', default=str(ROOT/'_docs'), help='the built site (default _docs)')
    args = ap.parse_args(argv)
    chromium()  # say how to get it before anything else
    try: import playwright  # noqa: F401
    except ImportError: sys.exit('browser_check: Playwright is missing: `make install` installs it')
    problems = check(Path(args.site).resolve())
    for p in problems: print(f'browser_check: {p}', file=sys.stderr)
    print(f'browser_check: {"FAILED, " + str(len(problems)) + " problem(s)" if problems else "ok"}')
    sys.exit(1 if problems else 0)


if __name__ == '__main__': main()

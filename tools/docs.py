"""Build the documentation site into `_docs/` from the notebooks, offline and without Quarto.

The steps are nbdev's own, then a renderer that reads a Quarto website:

1. nbdev's notebook processing, called piece by piece (`nbdev_proc_nbs` would first try to install Quarto):
   `refresh_quarto_yml`, `_build_modidx`, `nbdev_sidebar` and `proc_nbs` write the processed notebooks and the site
   configuration to `_proc/`. `nbs/_quarto.yml` is a link to the top-level `_quarto.yml`, so that file is the
   site configuration (`tools/check_quarto_yml.py` proves it).
2. Quarto honours the `output-file` that nbdev writes into each page (`00_blocks.ipynb` becomes `blocks.html`);
   smalldocs names a page after its file, so each processed notebook is renamed to its `output-file` first.
3. smalldocs (PyPI) renders `_proc/` as a Quarto website: navbar, sidebar, table of contents, search, saved outputs.
4. The exercise notebooks that the Block pages link (`exercises/*.ipynb`) are written into the site by the code of
   `make exercises` (tools/exercises.py), from the same notebooks.
5. Nothing on a page loads from the internet: smalldocs points KaTeX at a CDN, so the pages get a local copy of
   KaTeX (from the npm registry, installed by `make katex`; or any copy named by `KATEX_DIR`), and the theme's
   import of web fonts is dropped (the theme's own fallback fonts apply).
6. Links stay on the site. nbdev writes a link to a documented name as `doc_host` + `doc_baseurl` + page (settings.ini),
   which leaves a local copy of the site for the published one (or, with both empty, starts at the server's root):
   each becomes a link relative to its page. show_doc's "source" links go to `git_url`, and are dropped when
   settings.ini names no repository (nbdev would point them at `/blob/...` on this site).
7. No Markdown shows as text. nbdev turns a backticked name into a link inside the text of an existing link (a link
   in a link, whose outer brackets show), and show_doc prints parameter comments, which are Markdown (docments), in
   the signature's code block: the outer link keeps its text, and a signature's comments show their links as links
   and their code without backticks.

Usage: `python tools/docs.py [--root DIR] [--out DIR]` (`make docs` runs it).
"""
import argparse, functools, json, os, re, shutil, sys, time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

ROOT = Path(__file__).resolve().parent.parent
KATEX_CDN = re.compile(r'https://cdn\.jsdelivr\.net/npm/katex@[\d.]+/dist')
FONT_IMPORT = re.compile(r'@import url\(https?://[^)]*\);?')
KATEX_FILES = ('katex.min.js', 'katex.min.css', 'contrib/auto-render.min.js', 'fonts')
HREF = re.compile(r'(\bhref=")([^"]*)(")')
SHOW_DOC_HEADING = re.compile(r'(?m)^(#{1,6} )([\w.]*_[\w.]*)$')  # `### Block.__call__`: no bold "call"
SOURCE_LINK = re.compile(r'\[source\]\((?![a-z]+://)[^)\s]*\)(?:\{[^}\n]*\})?\n?')  # show_doc's, to no repository
LINK_IN_LINK = re.compile(r'\[((?:(?!\]\().)*?<a href="[^"]*">(?:(?!\]\().)*?)\]\(([^)\s"<>]+)\)')
ANCHOR = re.compile(r'<a href="[^"]*">(.*?)</a>')
SIGNATURE = re.compile(r'<pre class="sourceCode python code-with-copy"><code[^>]*>.*?</code></pre>', re.S)
COMMENT = re.compile(r'(<span class="co">)(.*?)(</span>)', re.S)
MD_LINK = re.compile(r'\[`?([^\]`]+?)`?\]\(([^)\s]+)\)')
CODE_SPAN = re.compile(r'`([^`]+)`')
# smalldocs's notes about Quarto options it has no use for: expected, so not printed
QUIET = ('format commonmark is not built', 'keep-md is ignored')
EXERCISE_LINK = re.compile(r'broken link (exercises/[\w.-]+\.ipynb)$')  # written into the site after smalldocs renders it


def katex_dir() -> Path:
    "The folder of a KaTeX `dist/`: `$KATEX_DIR`, else the copy that `make katex` put in the environment."
    candidates = [os.environ.get('KATEX_DIR'), Path(sys.prefix)/'share'/'katex']
    for d in filter(None, candidates):
        if all((Path(d)/f).exists() for f in KATEX_FILES): return Path(d)
    sys.exit('docs: no local KaTeX found. Run `make katex` (it needs npm), or set KATEX_DIR to a KaTeX dist/ folder '
             f'holding {", ".join(KATEX_FILES)}.')


def process(root: Path) -> Path:
    "Run nbdev's processing of the notebooks in `root` into `root/_proc`, and return that folder."
    os.chdir(root)
    from nbdev.config import get_config
    from nbdev.quarto import refresh_quarto_yml, nbdev_sidebar
    from nbdev.serve import proc_nbs
    import nbdev.doclinks
    cfg = get_config()
    refresh_quarto_yml()                      # writes nbs/nbdev.yml; keeps nbs/_quarto.yml (our link)
    nbdev.doclinks._build_modidx()            # the index that turns `Name` in backticks into links
    nbdev_sidebar.__wrapped__()               # nbs/sidebar.yml, one entry per notebook
    shutil.rmtree(cfg.config_path/'_proc', ignore_errors=True)
    return proc_nbs(force=True, n_workers=2)


def front_matter(nb: dict):
    "The first cell of a processed notebook when it is raw YAML front matter, with that YAML parsed."
    import yaml
    cell = nb['cells'][0] if nb['cells'] else None
    if not cell or cell['cell_type'] != 'raw': return None, {}
    src = ''.join(cell['source']).strip()
    if not src.startswith('---'): return None, {}
    return cell, yaml.safe_load(src.strip('-')) or {}


def rename_to_output_files(proc: Path):
    "Rename each processed notebook to the name of its `output-file`, as Quarto would name its page."
    import yaml
    renames = {}
    for p in sorted(proc.rglob('*.ipynb')):
        nb = json.loads(p.read_text())
        cell, fm = front_matter(nb)
        out = fm.pop('output-file', None)
        if not out: continue
        cell['source'] = '---\n' + yaml.safe_dump(fm, sort_keys=True, allow_unicode=True) + '---\n'
        dest = p.with_name(Path(out).stem + '.ipynb')
        if dest != p and dest.exists(): sys.exit(f'docs: {p.name} and {dest.name} would both become {out}')
        p.unlink()
        dest.write_text(json.dumps(nb, indent=1, ensure_ascii=False))
        renames[str(p.relative_to(proc))] = str(dest.relative_to(proc))
    sidebar = proc/'sidebar.yml'
    if sidebar.exists():
        text = sidebar.read_text()
        for old, new in renames.items(): text = re.sub(rf'(?m)(^\s*-\s*(?:href:\s*)?){re.escape(old)}\s*$', rf'\g<1>{new}', text)
        sidebar.write_text(text)
    return renames


def fix_show_doc(proc: Path, drop_source: bool) -> int:
    "In show_doc's output in the processed notebooks: escape `_` in headings; drop 'source' links if `drop_source`."
    fixed = 0
    for p in sorted(proc.rglob('*.ipynb')):
        nb, n = json.loads(p.read_text()), 0
        for o in (o for cell in nb['cells'] for o in cell.get('outputs', [])):
            if 'text/markdown' not in o.get('data', {}): continue
            md = ''.join(o['data']['text/markdown'])
            new = SHOW_DOC_HEADING.sub(lambda m: m[1] + m[2].replace('_', '\\_'), md)
            if drop_source: new = SOURCE_LINK.sub('', new)
            if new != md: o['data']['text/markdown'], n = new.splitlines(True), n + 1
        if n: p.write_text(json.dumps(nb, indent=1, ensure_ascii=False))
        fixed += n
    return fixed


def render(proc: Path, out: Path) -> list:
    "Render the website in `proc` with smalldocs, move it to `out`, and return smalldocs's warnings."
    from smalldocs.site import build
    site = build(str(proc), quiet=True)
    built = Path(site.out) if hasattr(site, 'out') else proc/'_docs'
    if not built.is_absolute(): built = proc/built
    shutil.rmtree(out, ignore_errors=True)
    shutil.move(str(built), str(out))
    return [w for w in site.warnings if not any(q in w for q in QUIET)]


def write_exercises(root: Path, dest: Path):
    "Write the exercise notebooks of `root`'s notebooks into `dest`, as `make exercises` does (quietly)."
    sys.path.insert(0, str(ROOT/'tools'))
    import contextlib, io, exercises
    with contextlib.redirect_stdout(io.StringIO()): exercises.write_exercises(dest=dest, nbs=root/'nbs')


def localise(out: Path, katex: Path):
    "Make every page load KaTeX from `site_libs/katex` and drop the theme's web-font import."
    shutil.copytree(katex, out/'site_libs'/'katex', dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns('*.mjs', '*.ttf', '*.woff', 'katex.js', 'katex.css', '*.map'))
    for page in out.rglob('*.html'):
        offset = '../' * (len(page.relative_to(out).parts) - 1)
        html = page.read_text()
        new = KATEX_CDN.sub(f'{offset}site_libs/katex', html)
        if new != html: page.write_text(new)
    for css in (out/'site_libs').rglob('*.css'):
        text = css.read_text()
        new = FONT_IMPORT.sub('', text)
        if new != text: css.write_text(new)


def site_base(cfg) -> str:
    "What nbdev writes before a page's name in a link to the docs: doc_host and doc_baseurl, joined as nbdev does."
    return urljoin(urljoin(cfg.doc_host + '/', cfg.doc_baseurl) + '/', 'PAGE')[:-len('PAGE')]


def site_link(href: str, page: Path, out: Path, base: str) -> str:
    "`href`, relative to `page` when it is nbdev's link to a page of this site (`base` + page)."
    for pre in dict.fromkeys([base, urlsplit(base).path]):  # the link as nbdev writes it, and from the server's root
        if not href.startswith(pre) or href.startswith('//'): continue
        path, _, frag = href[len(pre):].partition('#')
        target = out/path if path else out/'index.html'
        if target.is_dir(): target = target/'index.html'
        if target.is_file():
            href = os.path.relpath(target, page.parent).replace(os.sep, '/') + (f'#{frag}' if frag else '')
            break
    return method_anchor(href, page)


def method_anchor(href: str, page: Path) -> str:
    "`href`, with `#linear.backward` shortened to `#linear` where the page it names documents the method with its class."
    u = urlsplit(href)
    if u.scheme or u.netloc or '.' not in u.fragment: return href  # nbdev links every method; not every page shows each
    target = (page.parent/unquote(u.path)) if u.path else page
    if not target.is_file() or target.suffix != '.html': return href
    frag, ids = unquote(u.fragment), ids_of(target.resolve())
    while '.' in frag and frag not in ids: frag = frag.rsplit('.', 1)[0]
    return href.split('#')[0] + '#' + frag if frag in ids else href


class Ids(HTMLParser):
    "The `id` attributes of an HTML page."
    def __init__(self):
        super().__init__(); self.ids = set()
    def handle_starttag(self, tag, attrs): self.ids.update(v for k, v in attrs if k == 'id' and v)


@functools.lru_cache(None)
def ids_of(path: Path) -> frozenset:
    p = Ids(); p.feed(path.read_text(errors='replace')); return frozenset(p.ids)


def signature_comments(html: str) -> str:
    "In show_doc's signatures (code blocks in a cell's Markdown output), parameter comments with links, no backticks."
    def fix_block(m):
        return COMMENT.sub(lambda c: c[1] + CODE_SPAN.sub(r'\1', MD_LINK.sub(r'<a href="\2">\1</a>', c[2])) + c[3], m[0])
    cells = html.split('<div id="cell-')
    return '<div id="cell-'.join(SIGNATURE.sub(fix_block, c) if 'cell-output-markdown' in c else c for c in cells)


def relink(out: Path, cfg) -> int:
    "Keep every page's links on the site and its Markdown rendered (steps 6 and 7 above); return the links changed."
    base = site_base(cfg)
    changed = 0
    for page in out.rglob('*.html'):
        html = page.read_text()
        new = LINK_IN_LINK.sub(lambda m: '<a href="' + m[2] + '">' + ANCHOR.sub(r'\1', m[1]) + '</a>', html)
        new = signature_comments(new)
        new = HREF.sub(lambda m: m[1] + site_link(m[2], page, out, base) + m[3], new)
        if new != html:
            changed += 1
            page.write_text(new)
    return changed


def external_loads(out: Path) -> list:
    "Every `src=` or stylesheet `href=` (and CSS `url(`/`@import`) in the site that points off the machine."
    bad = []
    for f in out.rglob('*'):
        if f.suffix not in ('.html', '.css', '.js') or 'katex' in f.parts and f.suffix == '.js': continue
        text = f.read_text(errors='replace')
        pats = [r'<(?:script|img|iframe)\b[^>]*\bsrc="(https?:)?//[^"]*"', r'<link\b[^>]*\bhref="(https?:)?//[^"]*"'] if f.suffix == '.html' \
            else [r'@import\s+url\((["\']?)https?://[^)]*\)', r'url\((["\']?)https?://[^)]*\)']
        for pat in pats:
            for m in re.finditer(pat, text):
                tag = m.group(0)
                if f.suffix == '.html' and tag.startswith('<link') and not re.search(r'rel="(stylesheet|preload|modulepreload|icon)"', tag): continue
                bad.append(f'{f.relative_to(out)}: {tag[:120]}')
    return bad


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--root', default=str(ROOT), help='the project (with settings.ini); default: this repository')
    ap.add_argument('--out', default=None, help='where the site goes; default: doc_path of settings.ini (_docs)')
    args = ap.parse_args(argv)
    start = time.time()
    root = Path(args.root).resolve()
    katex = katex_dir()
    proc = process(root)
    renames = rename_to_output_files(proc)
    from nbdev.config import get_config
    fix_show_doc(proc, drop_source=not get_config().git_url)
    out = Path(args.out).resolve() if args.out else get_config().doc_path
    warnings = render(proc, out)
    write_exercises(root, out/'exercises')
    warnings = [w for w in warnings if not ((m := EXERCISE_LINK.search(w)) and (out/m[1]).is_file())]  # written just now
    localise(out, katex)
    relink(out, get_config())
    for w in warnings: print(f'docs: warning: {w}', file=sys.stderr)
    bad = external_loads(out)
    if bad: sys.exit('docs: pages load from the internet:\n  ' + '\n  '.join(bad))
    pages = sorted(str(p.relative_to(out)) for p in out.rglob('*.html'))
    print(f'docs: {len(pages)} pages ({len(renames)} notebooks) in {out.relative_to(root) if out.is_relative_to(root) else out}, '
          f'{time.time() - start:.1f} s')


if __name__ == '__main__': main()

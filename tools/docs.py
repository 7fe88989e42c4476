"""Build the documentation site into `_docs/` from the notebooks, offline and without Quarto.

The steps are nbdev's own, then a renderer that reads a Quarto website:

1. nbdev's notebook processing, called piece by piece (`nbdev_proc_nbs` would first try to install Quarto):
   `refresh_quarto_yml`, `_build_modidx`, `nbdev_sidebar` and `proc_nbs` write the processed notebooks and the site
   configuration to `_proc/`. `nbs/_quarto.yml` is a link to the top-level `_quarto.yml`, so that file is the
   site configuration (`tools/check_quarto_yml.py` proves it).
2. Quarto honours the `output-file` that nbdev writes into each page (`00_blocks.ipynb` becomes `blocks.html`);
   smalldocs names a page after its file, so each processed notebook is renamed to its `output-file` first.
3. smalldocs (PyPI) renders `_proc/` as a Quarto website: navbar, sidebar, table of contents, search, saved outputs.
4. Nothing on a page loads from the internet: smalldocs points KaTeX at a CDN, so the pages get a local copy of
   KaTeX (from the npm registry, installed by `make katex`; or any copy named by `KATEX_DIR`), and the theme's
   import of web fonts is dropped (the theme's own fallback fonts apply).

Usage: `python tools/docs.py [--root DIR] [--out DIR]` (`make docs` runs it).
"""
import argparse, json, os, re, shutil, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KATEX_CDN = re.compile(r'https://cdn\.jsdelivr\.net/npm/katex@[\d.]+/dist')
FONT_IMPORT = re.compile(r'@import url\(https?://[^)]*\);?')
KATEX_FILES = ('katex.min.js', 'katex.min.css', 'contrib/auto-render.min.js', 'fonts')
# smalldocs's notes about Quarto options it has no use for: expected, so not printed
QUIET = ('format commonmark is not built', 'keep-md is ignored')


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


def render(proc: Path, out: Path) -> list:
    "Render the website in `proc` with smalldocs, move it to `out`, and return smalldocs's warnings."
    from smalldocs.site import build
    site = build(str(proc), quiet=True)
    built = Path(site.out) if hasattr(site, 'out') else proc/'_docs'
    if not built.is_absolute(): built = proc/built
    shutil.rmtree(out, ignore_errors=True)
    shutil.move(str(built), str(out))
    return [w for w in site.warnings if not any(q in w for q in QUIET)]


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
    out = Path(args.out).resolve() if args.out else get_config().doc_path
    warnings = render(proc, out)
    localise(out, katex)
    for w in warnings: print(f'docs: warning: {w}', file=sys.stderr)
    bad = external_loads(out)
    if bad: sys.exit('docs: pages load from the internet:\n  ' + '\n  '.join(bad))
    pages = sorted(str(p.relative_to(out)) for p in out.rglob('*.html'))
    print(f'docs: {len(pages)} pages ({len(renames)} notebooks) in {out.relative_to(root) if out.is_relative_to(root) else out}, '
          f'{time.time() - start:.1f} s')


if __name__ == '__main__': main()

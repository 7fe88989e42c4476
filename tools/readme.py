"""Write README.md from nbs/index.ipynb without Quarto (`nbdev_readme` needs it); `--check` fails on drift.

`make readme` runs it. nbdev's `nbdev_readme` (with Quarto) writes its own rendering of the page, which differs from
this one: after it, `make readme` writes this one back, and `make test` passes again.
"""
import argparse, json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = '<!-- Generated from nbs/index.ipynb by tools/readme.py: edit the notebook, not this file. -->\n\n'

def directives(src):
    "nbdev's `#| name` directive lines of a code cell, as a set of names."
    return {l[3:].strip().split()[0] for l in src.splitlines() if l.startswith('#|') and l[3:].strip()}

def output_md(out):
    "One saved output as Markdown: HTML as is (GitHub renders tables), text in a fence."
    if out['output_type'] == 'stream': return '```\n' + ''.join(out['text']).rstrip() + '\n```'
    data = out.get('data', {})
    if 'text/markdown' in data: return ''.join(data['text/markdown']).strip()
    if 'text/html' in data: return ''.join(data['text/html']).strip()
    if 'text/plain' in data: return '```\n' + ''.join(data['text/plain']).rstrip() + '\n```'
    return ''

def render(nb):
    parts = []
    for cell in nb['cells']:
        src = ''.join(cell['source'])
        if cell['cell_type'] == 'markdown': parts.append(src.strip()); continue
        if cell['cell_type'] != 'code' or directives(src) & {'hide', 'export', 'exporti', 'default_exp'}: continue
        code = '\n'.join(l for l in src.splitlines() if not l.startswith('#|')).strip()
        if code and 'echo: false' not in src: parts.append('```python\n' + code + '\n```')
        parts += [md for md in map(output_md, cell.get('outputs', [])) if md]
    return HEADER + '\n\n'.join(parts) + '\n'

def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--check', action='store_true', help='fail if README.md differs from what the notebook gives')
    args = ap.parse_args()
    text = render(json.loads((ROOT/'nbs/index.ipynb').read_text(encoding='utf-8')))
    readme = ROOT/'README.md'
    if args.check:
        if not readme.exists() or readme.read_text(encoding='utf-8') != text:
            sys.exit('README.md is out of date with nbs/index.ipynb (or was written by nbdev_readme): '
                     'run `make readme` (python tools/readme.py)')
        print('README.md is up to date')
    else:
        readme.write_text(text, encoding='utf-8'); print('wrote README.md')

if __name__ == '__main__': main()

"""Prove that the top-level `_quarto.yml` is the one site configuration: a change to it reaches the built site.

nbdev 2 reads the site configuration from `nbs/_quarto.yml` (and writes a default one there when it is missing), so
`nbs/_quarto.yml` is a committed link to `../_quarto.yml`. This check copies the project to a temporary folder,
changes the top-level file there (a new site title and a new navbar entry, both unique strings), builds the docs
of that copy with `tools/docs.py`, and requires the change in the processed configuration (`_proc/_quarto.yml`)
and in the built home page. Only `index.ipynb` is built, to keep it fast.
"""
import shutil, subprocess, sys, tempfile, uuid
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def main():
    problems = []
    link = ROOT/'nbs'/'_quarto.yml'
    if not link.is_symlink() or link.resolve() != (ROOT/'_quarto.yml').resolve():
        problems.append('nbs/_quarto.yml is not a link to ../_quarto.yml')
    mark = f'site-config-{uuid.uuid4().hex[:8]}'
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp)/'project'
        (copy/'nbs').mkdir(parents=True)
        for f in ('settings.ini', '_quarto.yml'): shutil.copy2(ROOT/f, copy/f)
        shutil.copytree(ROOT/'backprop', copy/'backprop', ignore=shutil.ignore_patterns('__pycache__'))
        for f in ('index.ipynb', 'styles.css', 'favicon.svg', '_quarto.yml'):
            src = ROOT/'nbs'/f
            if src.is_symlink(): (copy/'nbs'/f).symlink_to(src.readlink())
            elif src.exists(): shutil.copy2(src, copy/'nbs'/f)
        cfg = yaml.safe_load((copy/'_quarto.yml').read_text())
        cfg['website']['title'] = mark
        cfg['website']['navbar'].setdefault('left', []).append({'text': f'{mark}-nav', 'href': 'index.html'})
        (copy/'_quarto.yml').write_text(yaml.safe_dump(cfg, sort_keys=False))
        res = subprocess.run([sys.executable, str(ROOT/'tools'/'docs.py'), '--root', str(copy)],
                             capture_output=True, text=True)
        if res.returncode:
            problems.append(f'tools/docs.py failed on the copy:\n{res.stdout}{res.stderr}')
        else:
            proc = yaml.safe_load((copy/'_proc'/'_quarto.yml').read_text())
            if proc['website'].get('title') != mark: problems.append('_proc/_quarto.yml does not have the changed title')
            if f'{mark}-nav' not in [i.get('text') for i in proc['website']['navbar'].get('left', [])]:
                problems.append('_proc/_quarto.yml does not have the added navbar entry')
            home = (copy/'_docs'/'index.html').read_text()
            if f'<title>' not in home or mark not in home.split('</title>')[0]: problems.append('the built home page does not have the changed title')
            if f'{mark}-nav' not in home: problems.append('the built home page does not have the added navbar entry')
    for p in problems: print(f'check_quarto_yml: {p}', file=sys.stderr)
    print('check_quarto_yml: ' + ('FAILED' if problems else f'ok: a change to the top-level _quarto.yml ({mark}) reached '
                                  '_proc/_quarto.yml and the built site'))
    sys.exit(1 if problems else 0)


if __name__ == '__main__': main()

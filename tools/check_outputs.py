"""Check that the outputs saved in the notebooks are what running them produces now; `--refresh` saves new ones.

The site shows the outputs saved in the notebooks (nbdev re-runs only `show_doc` and import cells), so a saved
output that the code no longer produces is a wrong page. Each notebook runs top to bottom in a fresh Jupyter kernel
(nbclient, as `jupyter nbconvert --execute` does), two at a time, from `nbs/`.

What runs: every code cell but those nbdev_test skips too: cells flagged with one of settings.ini's `tst_flags`
(`#| slow`), cells with `#| eval: false`, and whole notebooks whose front matter says `skip_exec: true`. Their
saved outputs are left alone and not compared.

What is compared, cell by cell, after normalising:
- stdout and stderr, each joined into one text (Jupyter splits a stream into chunks by timing);
- `text/plain`, `text/html`, `text/markdown`, `text/latex` and JSON results, and errors (name and message);
- pictures (`image/png`, `image/svg+xml`, ...) by presence and type only: their bytes change with the versions of
  matplotlib, FreeType and libpng, not with our code, and they are seen in the browser check.
Normalising: ANSI colours dropped, ` at 0x7f...` dropped from reprs (as nbdev_clean does) and other addresses masked, trailing spaces and blank lines dropped,
and the elapsed times of fastprogress bars masked. Outputs must otherwise be deterministic (seeded); a notebook whose
outputs cannot be (timings) goes in LOOSE below, where only the kinds of outputs per cell are compared.

Usage:
  python tools/check_outputs.py [NOTEBOOK ...]            compare (default: every notebook in nbs/)
  python tools/check_outputs.py --refresh [NOTEBOOK ...]  run and save the outputs in place, then nbdev_clean
  add --slow to run the flagged cells too (the saved outputs of slow cells come from a run with --slow).
"""
import argparse, difflib, json, os, re, subprocess, sys, time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOOSE = {}  # notebook file name -> why its outputs vary from run to run (compared by kind of output only)
IMAGES = ('image/png', 'image/jpeg', 'image/gif', 'image/svg+xml')
TEXTS = ('text/plain', 'text/html', 'text/markdown', 'text/latex', 'application/json')
ANSI = re.compile(r'\x1b\[[0-9;]*[A-Za-z]')
REPR_ID = re.compile(r'(<.*?)( at 0x[0-9a-fA-F]+)(>)')  # what nbdev_clean removes (settings.ini: clean_ids)
ADDRESS = re.compile(r'\b0x[0-9a-fA-F]{6,}\b')
PROGRESS_TIME = re.compile(r'\b\d{1,2}(:\d\d){1,2}(<\d{1,2}(:\d\d){1,2})?')


def tst_flags() -> set:
    from nbdev.config import get_config
    return set((get_config().get('tst_flags') or '').split())


def skipped(cell, flags: set) -> bool:
    "Whether nbdev_test would skip this code cell: a `tst_flags` flag, or `#| eval: false`."
    from nbdev.process import extract_directives
    d = extract_directives(cell, remove=False)
    return bool(flags & d.keys()) or d.get('eval:', [''])[0].lower() == 'false'


def skip_notebook(path: Path) -> bool:
    "Whether the notebook's front matter says `skip_exec: true`, as nbdev_test reads it."
    from nbdev.process import NBProcessor
    from nbdev.frontmatter import FrontmatterProc
    from fastcore.basics import str2bool
    nb = NBProcessor(path, procs=FrontmatterProc, process=True).nb
    return str2bool(getattr(nb, 'frontmatter_', {}).get('skip_exec', False))


def text(v) -> str:
    v = ''.join(v) if isinstance(v, list) else v if isinstance(v, str) else json.dumps(v, sort_keys=True)
    v = ADDRESS.sub('0x…', REPR_ID.sub(r'\1\3', ANSI.sub('', v)))
    if '<progress' in v: v = PROGRESS_TIME.sub('m:ss', v)
    return '\n'.join(l.rstrip() for l in v.strip('\n').split('\n')).strip('\n')


def normalise(outputs: list, loose: bool = False) -> list:
    "The outputs of one cell as comparable `(kind, content)` pairs."
    res = []
    for o in outputs:
        t = o['output_type']
        if t == 'stream':
            if res and res[-1][0] == o['name']: res[-1] = (o['name'], res[-1][1] + ''.join(o['text']))
            else: res.append((o['name'], ''.join(o['text'])))
        elif t == 'error': res.append(('error', f"{o['ename']}: {text(o['evalue'])}"))
        elif t in ('execute_result', 'display_data'):
            for mime in sorted(o.get('data', {})):
                if mime in IMAGES: res.append((mime, 'a picture'))
                elif mime in TEXTS: res.append((mime, text(o['data'][mime])))
    res = [(k, text(v)) if k in ('stdout', 'stderr') else (k, v) for k, v in res]
    return [(k, '…') for k, v in res] if loose else res


def execute(path: Path, run_slow: bool):
    "Run a notebook in a fresh kernel; return it with its new outputs and the indexes of the cells that ran."
    import nbformat
    from nbclient import NotebookClient
    flags = set() if run_slow else tst_flags()
    nb = nbformat.read(path, as_version=4)
    ran = [i for i, c in enumerate(nb.cells) if c.cell_type == 'code' and not skipped(c, flags)]

    class Client(NotebookClient):
        async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
            if cell_index not in ran: return cell
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)

    Client(nb, timeout=1200, kernel_name='python3', resources={'metadata': {'path': str(path.parent)}}).execute(stderr=subprocess.DEVNULL)
    return nb, ran  # (the kernel's own stderr is only its start-up notices; cells' stderr comes as outputs)


def describe(cell) -> str:
    first = next((l for l in ''.join(cell.source).splitlines() if l.strip() and not l.startswith('#|')), '')
    return first[:70]


def check_one(path: Path, run_slow: bool = False, refresh: bool = False):
    "Compare (or refresh) one notebook; return (name, seconds, problems)."
    import nbformat
    start = time.time()
    if skip_notebook(path): return path.name, 0.0, None
    saved = nbformat.read(path, as_version=4)
    try: new, ran = execute(path, run_slow)
    except Exception as e:  # a cell raised: say which
        return path.name, time.time() - start, [f'running it failed: {type(e).__name__}: {str(e)[-1500:]}']
    if refresh:
        for i in ran: saved.cells[i].outputs = new.cells[i].outputs
        nbformat.write(saved, path)
        return path.name, time.time() - start, []
    loose, problems = path.name in LOOSE, []
    for i in ran:
        a, b = normalise(saved.cells[i].get('outputs', []), loose), normalise(new.cells[i].outputs, loose)
        if a == b: continue
        diff = difflib.unified_diff([f'{k}: {l}' for k, v in a for l in v.split('\n')],
                                    [f'{k}: {l}' for k, v in b for l in v.split('\n')], 'saved', 'now', lineterm='', n=1)
        problems.append(f'cell {i} ({describe(saved.cells[i])!r}):\n      ' + '\n      '.join(list(diff)[2:40]))
    return path.name, time.time() - start, problems


def notebooks(names) -> list:
    if names: return [Path(n).resolve() for n in names]
    from nbdev.doclinks import nbglob
    return sorted(Path(p) for p in nbglob(ROOT/'nbs', skip_file_re='^[_.]'))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('notebooks', nargs='*', help='notebooks to check (default: all in nbs/)')
    ap.add_argument('--refresh', action='store_true', help='save the new outputs in place, then nbdev_clean them')
    ap.add_argument('--slow', action='store_true', help='run the cells flagged with tst_flags (slow) too')
    ap.add_argument('--workers', type=int, default=2)
    args = ap.parse_args(argv)
    os.chdir(ROOT)
    paths, failed = notebooks(args.notebooks), 0
    with ProcessPoolExecutor(args.workers) as pool:
        futures = [pool.submit(check_one, p, args.slow, args.refresh) for p in paths]
        for f in futures:
            name, took, problems = f.result()
            if problems is None: print(f'  {name}: skipped (skip_exec)'); continue
            status = 'refreshed' if args.refresh and not problems else 'ok' if not problems else 'DIFFERENT'
            print(f'  {name}: {status} ({took:.0f} s){" [loose: " + LOOSE[name] + "]" if name in LOOSE else ""}', flush=True)
            for p in problems: print(f'    {p}')
            failed += bool(problems)
    if args.refresh:
        for p in paths: subprocess.run([str(Path(sys.executable).parent/'nbdev_clean'), '--fname', str(p)], check=True)
    print(f'check_outputs: {len(paths) - failed} of {len(paths)} notebooks ' +
          ('refreshed' if args.refresh else 'match their saved outputs') + ('' if not failed else f'; {failed} FAILED'))
    sys.exit(1 if failed else 0)


if __name__ == '__main__': main()

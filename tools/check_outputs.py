"""Run every notebook once, as the test run, and check that its saved outputs are what the code produces now.

The site shows the outputs saved in the notebooks (nbdev re-runs only `show_doc` and import cells), so a saved
output that the code no longer produces is a wrong page; and a cell that raises is a failed test. Each notebook runs
top to bottom in a fresh Jupyter kernel (nbclient, as `jupyter nbconvert --execute` does), two at a time, from `nbs/`.
`--refresh` saves the new outputs instead (`make outputs`).

What runs is what `nbdev_test` runs: every code cell but those flagged with one of settings.ini's `tst_flags`
(`#| slow`), those with `#| eval: false` and those that call `nbdev_export()`; notebooks whose front matter says
`skip_exec: true`, or with a `.notest` file beside them, are skipped. As in `nbdev_test`, `IN_TEST` is set. The saved
outputs of cells that do not run are left alone and not compared.

What is compared, cell by cell, after normalising:
- stdout and stderr, each joined into one text (Jupyter splits a stream into chunks by timing);
- `text/plain`, `text/html`, `text/markdown`, `text/latex` and JSON results, and errors (name and message);
- pictures (`image/png`, `image/svg+xml`, ...) by presence and type only: their bytes change with the versions of
  matplotlib, FreeType and libpng, not with our code, and they are seen in the browser check.
Normalising: ANSI colours dropped, ` at 0x7f...` dropped from reprs (as nbdev_clean does) and other addresses masked,
runs of spaces and tabs read as one space, trailing blank lines dropped, the elapsed times of fastprogress bars and the
targets of `show_doc`'s "source" links masked (the docs build makes those anew).

Numbers are compared within the tolerances declared below, everything else exactly: a changed word, verdict,
shape, table row or kind of output fails. The same code prints different last digits on another CPU, thread count or
set of torch's CPU kernels (`ATEN_CPU_CAPABILITY`, `MKL_ENABLE_INSTRUCTIONS`, `OMP_NUM_THREADS`), and this check has
to pass there too. Outputs must otherwise be deterministic (seeded); a notebook whose outputs cannot be (timings) goes
in LOOSE below, where only the kinds of outputs per cell are compared.

Usage:
  python tools/check_outputs.py [NOTEBOOK ...]            run and compare (default: every notebook in nbs/)
  python tools/check_outputs.py --refresh [NOTEBOOK ...]  run and save the outputs in place, then nbdev_clean
  add --slow to run the flagged cells too (the saved outputs of slow cells come from a run with --slow).
"""
import argparse, difflib, json, math, os, re, subprocess, sys, time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# How far a fresh number may be from the saved one. Measured under ATEN_CPU_CAPABILITY=default
# MKL_ENABLE_INSTRUCTIONS=SSE4_2 OMP_NUM_THREADS=2 against outputs saved with the default kernels: plain decimals kept
# their printed digits; error sizes in e-notation (norm-relative errors of 2.3e-08, finite-difference errors of
# 4.4e-11, float64 errors of 1e-16) moved by up to a factor of 4.3, and float64 errors of 3e-17 and 8e-17 became 0.
REL = 1e-3          # a plain decimal (1.0524, 97.2) matches within a relative 1e-3 of the saved one,
LAST_DIGITS = 1     # or within this many units of its last printed digit (rounding that flips at a boundary)
FACTOR = 10         # a number in e-notation (2.3e-08) is an error size at rounding level: within a factor of 10
ZERO_FLOOR = 1e-5   # error sizes both below this match, 0 included: under float32's gradient tolerance, their digits are
                    # rounding of rounding (one machine printed 1.0e-09 where another printed 3.1e-08)
# Integers (counts, shapes, seeds, sizes) match exactly, and so does all text between numbers.

LOOSE = {}  # notebook file name -> why its outputs vary from run to run (compared by kind of output only)
IMAGES = ('image/png', 'image/jpeg', 'image/gif', 'image/svg+xml')
TEXTS = ('text/plain', 'text/html', 'text/markdown', 'text/latex', 'application/json')
ANSI = re.compile(r'\x1b\[[0-9;]*[A-Za-z]')
REPR_ID = re.compile(r'(<.*?)( at 0x[0-9a-fA-F]+)(>)')  # what nbdev_clean removes (settings.ini: clean_ids)
ADDRESS = re.compile(r'\b0x[0-9a-fA-F]{6,}\b')
PROGRESS_TIME = re.compile(r'\b\d{1,2}(:\d\d){1,2}(<\d{1,2}(:\d\d){1,2})?')
SOURCE_LINK = re.compile(r'\[source\]\([^)\s]*\)')  # show_doc's link to the code: the docs build makes it anew
SPACES = re.compile(r'[ \t]+')
# A number stands alone: not part of a word, a version (2.13.0) or a hex colour; a full stop may end a sentence after it
NUMBER = re.compile(r'(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w]|\.\w)')


def tst_flags() -> set:
    from nbdev.config import get_config
    return set((get_config().get('tst_flags') or '').split())


def skipped(cell, flags: set) -> bool:
    "Whether nbdev_test would skip this code cell: a `tst_flags` flag, `#| eval: false`, or a call of nbdev_export."
    from nbdev.process import extract_directives
    d = extract_directives(cell, remove=False)
    return (bool(flags & d.keys()) or d.get('eval:', [''])[0].lower() == 'false'
            or 'nbdev_export' + '(' in ''.join(cell.source))


def skip_notebook(path: Path) -> bool:
    "Whether nbdev_test skips the whole notebook: `skip_exec: true` in its front matter, or a `.notest` file beside it."
    from nbdev.process import NBProcessor
    from nbdev.frontmatter import FrontmatterProc
    from fastcore.basics import str2bool
    if (path.parent/'.notest').exists(): return True
    nb = NBProcessor(path, procs=FrontmatterProc, process=True).nb
    return str2bool(getattr(nb, 'frontmatter_', {}).get('skip_exec', False))


def text(v) -> str:
    v = ''.join(v) if isinstance(v, list) else v if isinstance(v, str) else json.dumps(v, sort_keys=True)
    v = ADDRESS.sub('0x…', REPR_ID.sub(r'\1\3', ANSI.sub('', v)))
    if '<progress' in v: v = PROGRESS_TIME.sub('m:ss', v)
    v = SOURCE_LINK.sub('[source](…)', v)
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


def tokens(s: str) -> list:
    "`s` split into text and numbers, alternately (text first, possibly empty); spaces next to a number dropped."
    res, last = [], 0
    for m in NUMBER.finditer(s):
        res += [s[last:m.start()], m.group()]
        last = m.end()
    res.append(s[last:])
    return [SPACES.sub(' ', t).strip(' ') if i % 2 == 0 else t for i, t in enumerate(res)]


def number_mismatch(saved: str, now: str):
    "Why the printed number `now` is not `saved` within the declared tolerances, or None when it is."
    if saved == now: return None
    a, b = float(saved), float(now)
    if 'e' in (saved + now).lower():  # an error size
        if a == b or max(abs(a), abs(b)) < ZERO_FLOOR: return None
        if a == 0 or b == 0: return f'{saved} -> {now}: 0 matches only error sizes below {ZERO_FLOOR:g}'
        if (a > 0) == (b > 0) and max(abs(a), abs(b)) <= FACTOR * min(abs(a), abs(b)): return None
        return f'{saved} -> {now}: error sizes more than a factor of {FACTOR} apart'
    if '.' not in saved + now: return f'{saved} -> {now}: integers match exactly'
    places = max(len(x.split('.')[1]) if '.' in x else 0 for x in (saved, now))
    tol = max(REL * max(abs(a), abs(b)), LAST_DIGITS * 10.0 ** -places)
    if abs(a - b) <= tol * (1 + 1e-9): return None
    return f'{saved} -> {now}: more than a relative {REL:g} or {LAST_DIGITS} unit of the last digit apart'


def text_mismatch(saved: str, now: str):
    "Why the text `now` does not match `saved` (numbers within tolerance, the rest exactly), or None when it does."
    if saved == now: return None
    a, b = tokens(saved), tokens(now)
    if len(a) != len(b): return f'{len(a) // 2} numbers saved, {len(b) // 2} now'
    for i, (x, y) in enumerate(zip(a, b)):
        if i % 2 == 0:
            if x != y: return f'text differs: {x[:60]!r} -> {y[:60]!r}'
        else:
            why = number_mismatch(x, y)
            if why: return why
    return None


def outputs_mismatch(saved: list, now: list):
    "Why the normalised outputs `now` of a cell do not match the `saved` ones, or None when they do."
    if [k for k, _ in saved] != [k for k, _ in now]:
        return f'kinds of output differ: {[k for k, _ in saved]} -> {[k for k, _ in now]}'
    for (kind, a), (_, b) in zip(saved, now):
        why = text_mismatch(a, b)
        if why: return f'{kind}: {why}'
    return None


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

    os.environ['IN_TEST'] = '1'  # as nbdev_test sets it; the kernel inherits it
    Client(nb, timeout=1200, kernel_name='python3', resources={'metadata': {'path': str(path.parent)}}).execute(stderr=subprocess.DEVNULL)
    return nb, ran  # (the kernel's own stderr is only its start-up notices; cells' stderr comes as outputs)


def describe(cell) -> str:
    first = next((l for l in ''.join(cell.source).splitlines() if l.strip() and not l.startswith('#|')), '')
    return first[:70]


def failed_cell(e: Exception) -> str:
    "The cell and the error of a failed run, without colours, shortened to its end."
    msg = ANSI.sub('', str(e)).strip()
    lines = [l for l in msg.splitlines() if l.strip()]
    return '\n      '.join(lines[:8] + (['...'] if len(lines) > 20 else []) + lines[max(8, len(lines) - 12):])


def check_one(path: Path, run_slow: bool = False, refresh: bool = False):
    "Run one notebook and compare (or refresh) its outputs; return (name, seconds, problems), problems None if skipped."
    import nbformat
    start = time.time()
    if skip_notebook(path): return path.name, 0.0, None
    saved = nbformat.read(path, as_version=4)
    try: new, ran = execute(path, run_slow)
    except Exception as e:  # a cell raised: say which
        return path.name, time.time() - start, [f'a cell raised ({type(e).__name__}):\n      {failed_cell(e)}']
    if refresh:
        for i in ran: saved.cells[i].outputs = new.cells[i].outputs
        nbformat.write(saved, path)
        return path.name, time.time() - start, []
    loose, problems = path.name in LOOSE, []
    for i in ran:
        a, b = normalise(saved.cells[i].get('outputs', []), loose), normalise(new.cells[i].outputs, loose)
        why = outputs_mismatch(a, b)
        if not why: continue
        diff = difflib.unified_diff([f'{k}: {l}' for k, v in a for l in v.split('\n')],
                                    [f'{k}: {l}' for k, v in b for l in v.split('\n')], 'saved', 'now', lineterm='', n=1)
        problems.append(f'cell {i} ({describe(saved.cells[i])!r}): {why}\n      ' + '\n      '.join(list(diff)[2:40]))
    return path.name, time.time() - start, problems


def notebooks(names=None) -> list:
    if names: return [Path(n).resolve() for n in names]
    from nbdev.doclinks import nbglob
    return sorted(Path(p) for p in nbglob(ROOT/'nbs', skip_file_re='^[_.]'))


def check_all(paths, run_slow: bool = False, refresh: bool = False, workers: int = 2):
    "Yield `check_one`'s result for each of `paths`, in order, running `workers` notebooks at a time."
    os.chdir(ROOT)
    with ProcessPoolExecutor(workers) as pool:
        futures = [(p, pool.submit(check_one, p, run_slow, refresh)) for p in paths]
        for p, f in futures:
            try: yield f.result()
            except Exception as e: yield p.name, 0.0, [f'the check itself failed: {type(e).__name__}: {e}']


def report(name: str, took: float, problems, refresh: bool = False) -> str:
    "One notebook's result as printed lines."
    if problems is None: return f'  {name}: skipped (skip_exec or .notest)'
    status = 'refreshed' if refresh and not problems else 'ok' if not problems else 'FAILED'
    lines = [f'  {name}: {status} ({took:.0f} s){" [loose: " + LOOSE[name] + "]" if name in LOOSE else ""}']
    return '\n'.join(lines + [f'    {p}' for p in problems])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('notebooks', nargs='*', help='notebooks to check (default: all in nbs/)')
    ap.add_argument('--refresh', action='store_true', help='save the new outputs in place, then nbdev_clean them')
    ap.add_argument('--slow', action='store_true', help='run the cells flagged with tst_flags (slow) too')
    ap.add_argument('--workers', type=int, default=2)
    args = ap.parse_args(argv)
    paths, failed = notebooks(args.notebooks), 0
    for name, took, problems in check_all(paths, args.slow, args.refresh, args.workers):
        print(report(name, took, problems, args.refresh), flush=True)
        failed += bool(problems)
    if args.refresh:
        for p in paths: subprocess.run([str(Path(sys.executable).parent/'nbdev_clean'), '--fname', str(p)], check=True)
    done = 'refreshed' if args.refresh else 'ran and match their saved outputs'
    print(f'check_outputs: {len(paths) - failed} of {len(paths)} notebooks {done}' + (f'; {failed} FAILED' if failed else ''))
    sys.exit(1 if failed else 0)


if __name__ == '__main__': main()

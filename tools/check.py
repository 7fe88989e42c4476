"""Run every check that CI runs, each one even after another failed; print each result, end with 'N passed, N failed'.

Each notebook runs once: `tools/check_outputs.py` executes it in a fresh kernel with nbdev_test's rules (a cell that
raises fails the notebook) and compares its saved outputs in the same run; each notebook counts as one check.

Usage: `python tools/check.py [NOTEBOOK ...]` (`make test` runs it); with notebooks named, only those run.
"""
import argparse, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT/'tools'))
SKIPPED = object()  # a notebook that nbdev_test skips too


def snapshot(*dirs):
    "Contents of every file under `dirs`, to restore and compare."
    return {p: p.read_bytes() for d in dirs for p in sorted((ROOT/d).rglob('*'))
            if p.is_file() and '__pycache__' not in p.parts and '.ipynb_checkpoints' not in p.parts}


def unchanged_by(cmd, *dirs):
    "Run `cmd`; fail if it changed any file under `dirs` (and put the files back as they were)."
    before = snapshot(*dirs)
    res = subprocess.run(cmd, cwd=ROOT)
    after = snapshot(*dirs)
    changed = sorted(str(p.relative_to(ROOT)) for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    for p in after.keys() - before.keys(): p.unlink()
    for p, data in before.items():
        if after.get(p) != data: p.write_bytes(data)
    if res.returncode: return f'{Path(cmd[0]).name} exited with {res.returncode}'
    if changed: return f'{Path(cmd[0]).name} changed: ' + ', '.join(changed)


def run(*cmd):
    res = subprocess.run([str(c) for c in cmd], cwd=ROOT)
    if res.returncode: return f'{Path(str(cmd[0])).name} {" ".join(map(str, cmd[1:]))} exited with {res.returncode}'


def tool(name, *args): return lambda: run(sys.executable, f'tools/{name}', *args)


BEFORE = [
    ('notebooks are clean (nbdev_clean changes nothing)', lambda: unchanged_by([BIN/'nbdev_clean'], 'nbs')),
    ('library matches the notebooks (nbdev_export changes nothing)', lambda: unchanged_by([BIN/'nbdev_export'], 'backprop')),
    ('README.md matches nbs/index.ipynb (tools/readme.py --check)', tool('readme.py', '--check')),
    ('the output check passes on other kernels and catches real changes (tools/test_check_outputs.py)',
     tool('test_check_outputs.py')),
]
AFTER = [
    ('JupyterLab opens every notebook (tools/check_lab.py)', tool('check_lab.py')),
    ('the site builds offline into _docs (tools/docs.py)', tool('docs.py')),
    ('the top-level _quarto.yml configures the site (tools/check_quarto_yml.py)', tool('check_quarto_yml.py')),
    ('the site works in headless Chromium (tools/browser_check.py)', tool('browser_check.py')),
    ('the exercises round-trip: solutions pass, a planted mistake fails with its hint (tools/check_exercises.py)',
     tool('check_exercises.py')),
]


def notebook_checks(names=None):
    "One check per notebook: it runs (nbdev_test's rules) and its saved outputs match; two notebooks run at a time."
    import check_outputs
    for name, took, problems in check_outputs.check_all(check_outputs.notebooks(names)):
        label = f'{name} runs and its saved outputs match (tools/check_outputs.py)'
        yield label, SKIPPED if problems is None else '\n'.join(problems) or None, took


def timed(check):
    start = time.time()
    try: problem = check()
    except Exception as e: problem = f'{type(e).__name__}: {e}'
    return problem, time.time() - start


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('notebooks', nargs='*', help='run only these notebooks (default: every notebook in nbs/)')
    args = ap.parse_args(argv)
    counts, failed, current = {'passed': 0, 'failed': 0, 'skipped': 0}, [], []

    def start(name):
        current[:] = [name]; print(f'\n=== {name}', flush=True)

    def record(problem, took):
        if problem is SKIPPED: counts['skipped'] += 1; print('skipped (skip_exec or .notest)', flush=True)
        elif problem:
            counts['failed'] += 1; failed.append(current[0]); print(f'FAILED ({took:.0f} s): {problem}', flush=True)
        else: counts['passed'] += 1; print(f'ok ({took:.0f} s)', flush=True)

    for name, check in BEFORE: start(name); record(*timed(check))
    try:
        for name, problem, took in notebook_checks(args.notebooks): start(name); record(problem, took)
    except Exception as e: start('the notebooks run (tools/check_outputs.py)'); record(f'{type(e).__name__}: {e}', 0)
    for name, check in AFTER: start(name); record(*timed(check))
    if failed: print('\nFAILED:\n  ' + '\n  '.join(failed))
    skipped = f', {counts["skipped"]} skipped' if counts['skipped'] else ''
    print(f'\n{counts["passed"]} passed, {counts["failed"]} failed{skipped}')
    sys.exit(1 if counts['failed'] else 0)


if __name__ == '__main__': main()

"""Run every check that CI runs, in order, stopping at the first failure; end with 'N passed, N failed'."""
import hashlib, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

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
    if res.returncode: return f'{cmd[0]} exited with {res.returncode}'
    if changed: return f'{Path(cmd[0]).name} changed: ' + ', '.join(changed)

def run(*cmd):
    res = subprocess.run([str(c) for c in cmd], cwd=ROOT)
    if res.returncode: return f'{Path(str(cmd[0])).name} exited with {res.returncode}'

CHECKS = [
    ('notebooks are clean (nbdev_clean changes nothing)', lambda: unchanged_by([BIN/'nbdev_clean'], 'nbs')),
    ('library matches the notebooks (nbdev_export changes nothing)', lambda: unchanged_by([BIN/'nbdev_export'], 'backprop')),
    ('README.md matches nbs/index.ipynb', lambda: run(sys.executable, 'tools/readme.py', '--check')),
    ('JupyterLab opens every notebook', lambda: run(sys.executable, 'tools/check_lab.py')),
    ('every notebook passes (nbdev_test)', lambda: run(BIN/'nbdev_test', '--n_workers', '2', '--timing')),
    ('the site builds offline into _docs (tools/docs.py)', lambda: run(sys.executable, 'tools/docs.py')),
    ('the top-level _quarto.yml configures the site (tools/check_quarto_yml.py)', lambda: run(sys.executable, 'tools/check_quarto_yml.py')),
    ('the site works in headless Chromium (tools/browser_check.py)', lambda: run(sys.executable, 'tools/browser_check.py')),
    ('saved outputs match a fresh run (tools/check_outputs.py)', lambda: run(sys.executable, 'tools/check_outputs.py')),
]

def main():
    passed = failed = 0
    for name, check in CHECKS:
        print(f'\n=== {name}', flush=True)
        start = time.time()
        problem = check()
        took = time.time() - start
        if problem:
            failed += 1
            print(f'FAILED ({took:.0f} s): {problem}', flush=True)
            break
        passed += 1
        print(f'ok ({took:.0f} s)', flush=True)
    print(f'\n{passed} passed, {failed} failed')
    sys.exit(1 if failed else 0)

if __name__ == '__main__': main()

"""Check the exercise notebooks both ways: with the solutions put back they run clean; with a planted mistake they fail,
and the output names the mistake's hint.

The exercises are written by tools/exercises.py into a temporary folder and executed there with nbclient (a fresh
kernel each, as Jupyter runs them, two at a time), skipping the cells flagged `#| slow` as nbdev_test does. With `allow_errors`, a
notebook runs to the end, so that the check sees every cell's error, and the hint of the first `check_block` that fails.

Usage: `python tools/check_exercises.py` (`make exercises`); exits 1 when a check fails.
"""
import argparse, ast, copy, os, subprocess, sys, tempfile, time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
import exercises

# (notebook, function, the correct line, the planted mistake, a piece of the hint that must appear)
PLANTED = [
    ('00a_linear', 'linear_backward', 'db += dout.sum(0)', 'db += dout.mean(0)',
     'db equals the mean over the batch, not the sum'),
    ('00c_losses', 'cross_entropy_backward', 'return p.mul_(dout / n)', 'return p.mul_(dout)',
     'a missing 1/N'),
    ('02a_normalisation', 'batchnorm_backward', 'n * dout - v(sum_dy) - xhat * v(sum_dy_xhat)', 'n * dout - v(sum_dy)',
     'an affine function of the input'),
    ('02c_convolution', 'avgpool2d_backward', '1 / (kh * kw)', '1.',
     'off by a constant factor of 4'),
    ('02d_recurrent', 'rnn_backward', 'dh = dout[:, t] + dh', 'dh = dout[:, t]',
     'what goes back from later positions to earlier ones'),
    ('02e_attention', 'attention_backward', 'softmax_backward(dp, (p, -1)) / math.sqrt(d)', 'softmax_backward(dp, (p, -1))',
     'wrong only at 0 to 15 (of 0 to 23) along its dimension 0, right elsewhere, off by a constant factor of 2'),  # heads of 4: sqrt(4)
]
SOLVED = sorted({nb for nb, _ in exercises.EXERCISES})  # every exercise notebook: put back and run, a few seconds each


def put_back(ex, solutions):
    "A copy of exercise notebook `ex` with each function of `solutions` (`{name: def text}`) in place of its TODO."
    nb = copy.deepcopy(ex)
    for cell in nb.cells:
        if cell.cell_type != 'code': continue
        for name, text in solutions.items():
            try: found = name in exercises.functions(ast.parse(cell.source))
            except SyntaxError: found = False
            if found and 'NotImplementedError' in cell.source: cell.source = exercises.replace_function(cell.source, name, text)
    return nb


def run(nb, where):
    "Execute `nb` in a fresh kernel in folder `where`, slow cells skipped; return `(seconds, error outputs as text)`."
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == 'code' and any(l.strip().startswith('#|') and 'slow' in l for l in cell.source.splitlines()):
            cell.source = ''
    start, os.environ['IN_TEST'] = time.time(), '1'  # as nbdev_test sets it; the kernel inherits it
    client = NotebookClient(nb, timeout=300, kernel_name='python3', allow_errors=True, resources={'metadata': {'path': str(where)}})
    client.execute(stderr=subprocess.DEVNULL)         # the kernel's own stderr: start-up notices only
    errors = [f"{o.ename}: {o.evalue}" for c in nb.cells if c.cell_type == 'code' for o in c.outputs if o.output_type == 'error']
    return time.time() - start, errors


def main(argv=None):
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.devnull, 'w') as quiet:
            stdout, sys.stdout = sys.stdout, quiet
            try: sols = exercises.write_exercises(sorted({n for n in SOLVED} | {p[0] for p in PLANTED}), tmp)
            finally: sys.stdout = stdout
        exs = {n: nbformat.read(Path(tmp)/f'{n}.ipynb', as_version=4) for n in sols}
        jobs = [put_back(exs[n], sols[n]) for n in SOLVED]
        for n, name, right, wrong, hint in PLANTED:
            if right not in sols[n][name]: print(f'FAIL {n}: {right!r} is not in {name}'); failed.append(n); jobs.append(None)
            else: jobs.append(put_back(exs[n], dict(sols[n], **{name: sols[n][name].replace(right, wrong)})))
        with ProcessPoolExecutor(2) as pool:   # two kernels at a time
            results = pool.map(run, [j for j in jobs if j is not None], [tmp] * sum(j is not None for j in jobs))
            results = iter(results)
            for n in SOLVED:
                took, errors = next(results)
                stubbed = run_stub_check(exs[n])
                ok = not errors and stubbed
                print(f'{"ok  " if ok else "FAIL"} {n}: solutions put back, {len(errors)} errors ({took:.0f} s)', flush=True)
                if not stubbed: print(f'     the exercise of {n} does not raise NotImplementedError where the solutions were')
                for e in errors[:3]: print(f'     {e.splitlines()[0][:200]}')
                if not ok: failed.append(n)
            for (n, name, right, wrong, hint), job in zip(PLANTED, jobs[len(SOLVED):]):
                if job is None: continue
                took, errors = next(results)
                ok = any(hint in e for e in errors)
                print(f'{"ok  " if ok else "FAIL"} {n}: {wrong!r} planted in {name}: {len(errors)} errors, '
                      f'{"with" if ok else "WITHOUT"} the hint {hint!r} ({took:.0f} s)', flush=True)
                if not ok: failed.append(f'{n} planted')
    print(f'\n{"all exercise checks passed" if not failed else "FAILED: " + ", ".join(failed)}')
    sys.exit(1 if failed else 0)


def run_stub_check(ex):
    "Whether every TODO of `ex` sits in a function whose body is only `raise NotImplementedError` (the solutions taken out)."
    bodies = [c.source for c in ex.cells if c.cell_type == 'code' and 'TODO' in c.source]
    return bool(bodies) and all('raise NotImplementedError' in b for b in bodies)


if __name__ == '__main__': main()

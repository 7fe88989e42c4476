"""Prove that the output check passes on other CPU kernels and still catches real changes.

1. The comparison itself, on the saved outputs of the home page's example (nbs/index.ipynb): changes at rounding
   level pass (error sizes a few times larger or smaller, an exact 0 become 1e-09, a last digit flipped), and real
   changes fail (a loss off by 1%, an error size 1000 times larger, a word or verdict changed, a shape changed, a
   table row added, an output missing).
2. The whole check, end to end, on two copies of nbs/index.ipynb run in fresh kernels on torch's portable kernels
   (ATEN_CPU_CAPABILITY=default MKL_ENABLE_INSTRUCTIONS=SSE4_2 OMP_NUM_THREADS=2, a stand-in for someone else's CPU):
   the unchanged copy passes, and the copy whose code prints a loss computed by a changed formula fails.

Usage: `python tools/test_check_outputs.py`; ends with 'N passed, N failed'.
"""
import copy, os, re, shutil, sys, tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_outputs as co

STAND_IN = {'ATEN_CPU_CAPABILITY': 'default', 'MKL_ENABLE_INSTRUCTIONS': 'SSE4_2', 'OMP_NUM_THREADS': '2'}
HOME = co.ROOT/'nbs'/'index.ipynb'
results = []


def expect(name: str, ok: bool, detail: str = ''):
    results.append(ok)
    print(f'  {"ok" if ok else "FAILED"}: {name}' + (f' ({detail})' if detail else ''), flush=True)


def saved_outputs():
    "The normalised saved outputs of the example's two cells: the printed loss, and check_block's report."
    import nbformat
    nb = nbformat.read(HOME, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == 'code' and c.outputs]
    loss = next(c for c in cells if 'loss=' in ''.join(o.get('text', '') for o in c.outputs))
    report = next(c for c in cells if 'check_block(' in c.source)
    return co.normalise(loss.outputs), co.normalise(report.outputs)


def change(outputs, fn):
    "A copy of normalised `outputs` with `fn` applied to every text."
    return [(k, fn(v)) for k, v in copy.deepcopy(outputs)]


def scale_errors(factor):
    "Multiply every number in e-notation by `factor`, printed as check_block prints them."
    return lambda s: re.sub(r'\d\.\de[-+]\d\d', lambda m: f'{float(m.group()) * factor:.1e}', s)


def test_comparison():
    loss, report = saved_outputs()
    first_row = next(l for l in dict(report)['text/plain'].splitlines() if l.startswith('input'))
    zero_at = lambda s: s.replace('1.7e-10', '0', 1)  # an exact 0 on one machine, rounding noise on another
    same = [
        ('error sizes 3 times larger', report, change(report, scale_errors(3))),
        ('error sizes 4 times smaller', report, change(report, scale_errors(0.25))),
        ('an exact 0 printed as 1.7e-10 elsewhere', change(report, zero_at), report),
        ('an error size 30 times larger, still below float32 tolerance', report, change(report, lambda s: s.replace('2.3e-08', '6.9e-07'))),
        ('the loss off by one unit of its last digit', loss, change(loss, lambda s: s.replace('1.0524', '1.0525'))),
        ('columns aligned differently', report, change(report, lambda s: s.replace('  ok', '     ok'))),
    ]
    for name, a, b in same:
        why = co.outputs_mismatch(a, b)
        expect(f'rounding-level change passes: {name}', why is None, why or '')
    different = [
        ('the loss off by 1%', loss, change(loss, lambda s: s.replace('1.0524', '1.0629'))),
        ('an error size 1000 times larger', report, change(report, lambda s: s.replace('2.3e-08', '2.3e-05'))),
        ('a tolerance 30 times larger', report, change(report, lambda s: s.replace('1.0e-05', '3.0e-04'))),
        ('a verdict changed', report, change(report, lambda s: s.replace('passed', 'FAILED', 1))),
        ("a row's verdict changed", report, change(report, lambda s: s.replace('ok</td></tr>', 'FAIL</td></tr>', 1)
                                                  .replace(first_row, first_row[:-2] + 'FAIL'))),
        ('a shape changed', loss, change(loss, lambda s: s.replace('(8, 4)', '(8, 5)'))),
        ('a table row added', report, change(report, lambda s: s.replace(first_row, first_row + '\n' + first_row)
                                             .replace('</tbody>', '<tr><td>extra</td></tr></tbody>'))),
        ('an output missing', report, report[1:]),
        ('a number where there was none', loss, change(loss, lambda s: s.replace('shape', 'shape 1'))),
    ]
    for name, a, b in different:
        why = co.outputs_mismatch(a, b)
        expect(f'real change caught: {name}', why is not None, why or 'not caught')


def test_end_to_end():
    import nbformat
    os.environ.update(STAND_IN)  # the kernels inherit them, and torch reads them when it starts
    with tempfile.TemporaryDirectory() as tmp:
        same, planted = Path(tmp)/'same.ipynb', Path(tmp)/'planted.ipynb'
        shutil.copy(HOME, same)
        nb = nbformat.read(HOME, as_version=4)
        cell = next(c for c in nb.cells if c.cell_type == 'code' and 'l = loss(' in c.source)
        cell.source = cell.source.replace('l = loss(model(x), y)', 'l = loss(model(x), y) * 1.01')  # a changed formula
        assert cell.source != nbformat.read(HOME, as_version=4).cells[nb.cells.index(cell)].source, 'the plant missed'
        nbformat.write(nb, planted)
        (_, _, p_same), (_, _, p_planted) = co.check_all([same, planted])
    vars_ = ' '.join(f'{k}={v}' for k, v in STAND_IN.items())
    expect(f'the unchanged home page passes on other kernels ({vars_})', p_same == [], '; '.join(p_same or []))
    expect('the home page with a changed formula for its loss fails', bool(p_planted) and 'loss=' in p_planted[0],
           p_planted[0].splitlines()[0] if p_planted else 'not caught')


if __name__ == '__main__':
    test_comparison()
    test_end_to_end()
    print(f'{sum(results)} passed, {len(results) - sum(results)} failed')
    sys.exit(0 if all(results) else 1)

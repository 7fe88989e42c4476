"""Time a training step of the benchmark's MLP with today's Blocks, with the Blocks of an earlier commit, as flat code
and under autograd, side by side in one process.

The variants take turns within each repetition, and each is timed in CPU time (`time.process_time`), the best of the
repetitions: on a shared machine, CPU time is far less disturbed by other processes than wall time. The earlier Blocks
are the package as it was at that commit, read from git into a temporary folder and imported under another name, so
this runs in a clone of the repository.

  python tools/bench_before_after.py [--commit 46a5d0a] [--sizes tiny small] [--repeats 7] [--uncounted]

--uncounted adds today's Blocks with `_save` and `_saved` that note and check no version counters (nor memory
addresses, nor whether a parameter was replaced): the difference is what those checks cost (such Blocks would miss an
in-place change; they exist only in this measurement).
"""
import argparse, contextlib, importlib, io, subprocess, sys, tarfile, tempfile, time
from pathlib import Path

import nbformat
import torch

from backprop import blocks
from backprop.benchmark import autograd_step, blocks_step, make_models

ROOT = Path(__file__).resolve().parent.parent
STEPS = {'tiny': 300, 'small': 40, 'medium': 3, 'large': 1}   # steps per timed sample


def old_package(commit, where):
    "The `backprop` package as it was at `commit`, unpacked into `where` and imported as `backprop_<commit>`."
    name = f'backprop_{commit}'
    data = subprocess.check_output(['git', 'archive', '--format=tar', commit, 'backprop'], cwd=ROOT)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar: tar.extractall(where, filter='data')
    (Path(where)/'backprop').rename(Path(where)/name)
    sys.path.insert(0, str(where))
    return importlib.import_module(f'{name}.models')   # its imports are relative: the old Blocks, the old MLP


def old_model(mod, model):
    "The benchmark's MLP `model` rebuilt from the Blocks and `MLP` of `mod`, with the same weights."
    dims = [b.in_features for b in model.sequence.blocks[::2]] + [model.sequence.blocks[-1].out_features]
    old = mod.MLP(dims[0], dims[-1], hidden_features=dims[1:-1])
    for new, o in zip(model.sequence.blocks[::2], old.sequence.blocks[::2]): o.w.copy_(new.w); o.b.copy_(new.b)
    return old


def old_step(mod, model, x, y, input_grad, lr=1e-3):
    "`blocks_step` with the earlier Blocks: the homework's calls, then a fused SGD update."
    loss_fn = importlib.import_module(mod.__name__.rsplit('.', 1)[0] + '.blocks').CrossEntropyLoss()
    params, grads = (list(t) for t in zip(*model.params()))
    def step():
        loss_fn(model(x), y)
        model.backward(loss_fn.backward(), input_grad=input_grad)
        torch._foreach_add_(params, grads, alpha=-lr); torch._foreach_zero_(grads)
    return step


def flat_step():
    "The benchmark page's `flat_step`: the same tensor operations without Blocks or checks."
    nb = nbformat.read(ROOT/'nbs/08_benchmark.ipynb', as_version=4)
    g = {'torch': torch}
    exec(next(c.source for c in nb.cells if c.source.startswith('def flat_step')), g)
    return g['flat_step']


def _save_uncounted(self, *cache):
    rec = blocks._thread.state.current
    if rec is not None: rec.cache, rec.watched, rec.versions, rec.storage = cache, [], [], []

def _saved_uncounted(self): return self._bwd.cache


@contextlib.contextmanager
def uncounted():
    "Within it, Blocks note and check no version counters (set for a whole sample: changing a class is not free)."
    kept = blocks.Block._save, blocks.Block._saved
    blocks.Block._save, blocks.Block._saved = _save_uncounted, _saved_uncounted
    try: yield
    finally: blocks.Block._save, blocks.Block._saved = kept


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--commit', default='46a5d0a', help='the commit whose Blocks are "before"')
    ap.add_argument('--sizes', nargs='+', default=['tiny', 'small'])
    ap.add_argument('--repeats', type=int, default=7)
    ap.add_argument('--uncounted', action='store_true', help="add today's Blocks without their version counters")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as where:
        mod, flat = old_package(args.commit, where), flat_step()
        print(f'CPU time per step in µs, best of {args.repeats}, 1 thread, torch {torch.__version__}; ratio to autograd')
        for size in args.sizes:
            model, net, x, y = make_models(size)
            steps = {'autograd': autograd_step(net, x, y)}
            for ig, tag in ((True, ''), (False, ', input_grad=False')):
                steps['Blocks before' + tag] = old_step(mod, old_model(mod, model), x, y, ig)
                steps['Blocks now' + tag] = blocks_step(make_models(size)[0], x, y, input_grad=ig)
                if args.uncounted: steps['Blocks now, uncounted' + tag] = blocks_step(make_models(size)[0], x, y, input_grad=ig)
                steps['flat code' + tag] = flat(make_models(size)[0], x, y, input_grad=ig)
            best = dict.fromkeys(steps, float('inf'))
            for _ in range(args.repeats):
                for name, step in steps.items():
                    with uncounted() if 'uncounted' in name else contextlib.nullcontext():
                        t = time.process_time()
                        for _ in range(STEPS[size]): step()
                        best[name] = min(best[name], (time.process_time() - t) / STEPS[size])
            for name, t in best.items(): print(f'  {size:6s} {name:45s} {t * 1e6:9.1f}  {t / best["autograd"]:.2f}')


if __name__ == '__main__': main()

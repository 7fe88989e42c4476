"""Time a training step of the benchmark's MLP with today's Blocks and with the Blocks of an earlier commit, side by side.

Both run in one process, interleaved repetition by repetition (`backprop.benchmark.time_steps`), with autograd as the
reference, so that the ratios compare like with like on a shared, noisy machine. The earlier Blocks are read from git.

  python tools/bench_before_after.py [--commit 21a7917] [--sizes tiny small] [--repeats 15]
"""
import argparse, subprocess, sys, types
from pathlib import Path

import torch

from backprop.benchmark import autograd_step, blocks_step, make_models, quartiles, ratios, time_steps

ROOT = Path(__file__).resolve().parent.parent


def old_blocks(commit):
    "The `backprop.blocks` module as it was at `commit`."
    src = subprocess.check_output(['git', 'show', f'{commit}:backprop/blocks.py'], cwd=ROOT, text=True)
    mod = types.ModuleType('blocks_before')
    exec(compile(src, f'blocks.py@{commit}', 'exec'), mod.__dict__)
    return mod


def old_model(mod, model):
    "The MLP `model` rebuilt from the Blocks of `mod`, with the same weights."
    blocks = [mod.Linear(b.in_features, b.out_features) if hasattr(b, 'w') else mod.ReLU() for b in model.sequence.blocks]
    for new, old in zip(model.sequence.blocks, blocks):
        if hasattr(new, 'w'): old.w.copy_(new.w); old.b.copy_(new.b)
    return mod.Sequential(*blocks)


def old_step(mod, model, x, y, input_grad, lr=1e-3):
    "`blocks_step` with the earlier Blocks."
    loss_fn = mod.CrossEntropyLoss()
    params, grads = (list(t) for t in zip(*model.params()))
    def step():
        loss_fn(model(x), y)
        model.backward(loss_fn.backward(), input_grad=input_grad)
        torch._foreach_add_(params, grads, alpha=-lr); torch._foreach_zero_(grads)
    return step


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--commit', default='21a7917')
    ap.add_argument('--sizes', nargs='+', default=['tiny', 'small'])
    ap.add_argument('--repeats', type=int, default=15)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    mod = old_blocks(args.commit)
    print(f'ratios to autograd, median (IQR), {args.repeats} interleaved repetitions, 1 thread, torch {torch.__version__}')
    for size in args.sizes:
        model, net, x, y = make_models(size)
        before = old_model(mod, model)
        steps = {'autograd': autograd_step(net, x, y)}
        for ig in (True, False):
            tag = '' if ig else ', input_grad=False'
            steps[f'Blocks before{tag}'] = old_step(mod, before, x, y, ig)
            steps[f'Blocks now{tag}'] = blocks_step(make_models(size)[0], x, y, input_grad=ig)
        rs = ratios(time_steps(steps, repeats=args.repeats))
        for name, r in rs.items():
            if name == 'autograd': continue
            m, q1, q3 = quartiles(r)
            print(f'  {size:6s} {name:34s} {m:.2f} ({q1:.2f}-{q3:.2f})')


if __name__ == '__main__': main()

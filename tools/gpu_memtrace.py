"""Where the peak memory of one training step comes from, on a CUDA GPU: every allocation and free of 8 MiB or more.

For the Block MLP (`blocks`, with the homework's calls) and the torch.nn model under autograd (`autograd`), at one size
of the benchmark, this runs two steps, then records a third with torch's CUDA memory history and prints each large
allocation and free with the running total above the step's start, and where it came from: the Python line, or, for
autograd's backward pass (which runs in the engine's own thread), the torch operation.

Usage: python tools/gpu_memtrace.py [SIZE]   (SIZE: tiny, small, medium or large; default large). Needs a GPU.
"""
import re, sys

import torch

from backprop.benchmark import SIZES, _release_free_memory, _sync, make_steps

MiB = 2**20


def origin(event) -> str:
    "The innermost Python line of backprop or torch.nn that caused `event`, else the torch operation."
    frames = event.get('frames', [])
    py = [f for f in frames if f['filename'].endswith('.py')]
    if py: return f"{py[0]['filename'].rsplit('/', 1)[-1]}:{py[0]['line']} ({py[0]['name']})"
    ops = [m.group(1) for f in frames for m in [re.search(r'at::_ops::(\w+)::', f['name'])] if m]
    return f'torch op {ops[0]}' if ops else '?'


def trace(size, variant, min_bytes=8 * MiB):
    "The large allocations and frees of one step: (action, MiB, running MiB, origin)."
    step = make_steps(size, 'cuda')[variant]
    step(); step(); _sync('cuda'); _release_free_memory()
    torch.cuda.memory._record_memory_history(max_entries=100_000)
    try:
        step(); _sync('cuda')
        events = torch.cuda.memory._snapshot()['device_traces'][torch.cuda.current_device()]
    finally: torch.cuda.memory._record_memory_history(enabled=None)
    rows, total = [], 0.
    for e in events:
        if e['action'] not in ('alloc', 'free_completed') or e['size'] < min_bytes: continue
        total += (1 if e['action'] == 'alloc' else -1) * e['size'] / MiB
        rows.append((e['action'].replace('_completed', ''), e['size'] / MiB, total, origin(e) if e['action'] == 'alloc' else ''))
    return rows


if __name__ == '__main__':
    size = sys.argv[1] if len(sys.argv) > 1 else 'large'
    if not torch.cuda.is_available(): sys.exit(f'gpu_memtrace: torch {torch.__version__} sees no CUDA device')
    print(f'{torch.cuda.get_device_name()}, torch {torch.__version__}, size {size} ({SIZES[size]})')
    for variant in ('blocks', 'autograd'):
        rows = trace(size, variant)
        print(f'\n{variant}: allocations and frees of 8 MiB or more in one step; the running total is above the step\'s start')
        for action, mib, total, where in rows: print(f'  {action:5s} {mib:6.1f} {total:7.1f}  {where}')
        print(f'  highest running total: {max((r[2] for r in rows), default=0):.1f} MiB')

"""Run backprop's gradient checks on CUDA tensors; ends with 'N passed, N failed'. Needs a GPU (says so if none)."""
import sys, traceback

import torch

from backprop.blocks import CrossEntropyLoss, Dropout, LeakyReLU, Linear, ReLU, Sequential, Sigmoid, TanH
from backprop.gradcheck import check_block
from backprop.grad_compare import compare_block_to_torch
from backprop.models import MLP

def checks(dev):
    "(name, function) pairs; each function raises on failure."
    def block_check(make, shape, dtype, y=None):
        def f():
            torch.manual_seed(0)
            b = make().to(device=dev, dtype=dtype)
            r = check_block(b, torch.randn(*shape, device=dev, dtype=dtype), y=None if y is None else y.to(dev))
            print(r)
            assert r.passed
            assert all(p.device.type == 'cuda' for p, _ in b.params())
        return f
    def reuse(activation):
        def f():
            torch.manual_seed(0)
            mlp = MLP(10, 10, hidden_features=[100, 50, 100], activation=activation).to(device=dev)
            seq = Sequential(mlp, mlp, mlp, CrossEntropyLoss())
            x, y = torch.randn(100, 10, device=dev), torch.randint(0, 10, (100,), device=dev)
            assert max(compare_block_to_torch(seq, x, y)) < 1e-5
        return f
    def extreme():
        ce, s = CrossEntropyLoss(), Sigmoid()
        big = torch.tensor([[1e4, -1e4, 0.], [-1e4, 1e4, 5e3]], device=dev)
        lbl = torch.tensor([1, 2], device=dev)
        assert torch.isfinite(ce(big, lbl)) and torch.isfinite(ce.backward()).all()
        x = torch.tensor([[-1000., 1000.]], device=dev)
        s(x); assert torch.isfinite(s.backward(torch.ones(1, 2, device=dev))).all()
    y5 = torch.tensor([0, 3, 1, 1, 2])
    out = []
    for dtype in (torch.float32, torch.float64):
        n = str(dtype).split('.')[-1]
        out += [(f'Linear {n}', block_check(lambda: Linear(5, 3), (4, 5), dtype)),
                (f'Linear 4-D input {n}', block_check(lambda: Linear(24, 3), (4, 2, 3, 4), dtype)),
                (f'ReLU {n}', block_check(ReLU, (4, 6), dtype)),
                (f'LeakyReLU {n}', block_check(lambda: LeakyReLU(0.1), (4, 6), dtype)),
                (f'Sigmoid {n}', block_check(Sigmoid, (4, 6), dtype)),
                (f'TanH {n}', block_check(TanH, (4, 6), dtype)),
                (f'Dropout train {n}', block_check(lambda: Dropout(0.4), (4, 6), dtype)),
                (f'Dropout eval {n}', block_check(lambda: Dropout(0.4).eval(), (4, 6), dtype)),
                (f'CrossEntropyLoss {n}', block_check(CrossEntropyLoss, (5, 4), dtype, y5)),
                (f'MLP with dropout {n}', block_check(lambda: MLP(6, 3, [8, 8], activation='tanh', dropout=0.3), (5, 6), dtype))]
    out += [('reuse test, relu', reuse('relu')), ('reuse test, sigmoid', reuse('sigmoid')), ('extreme values', extreme)]
    return out

def main():
    if not torch.cuda.is_available():
        print('no CUDA device here: nothing to check'); return
    print(f'torch {torch.__version__} on {torch.cuda.get_device_name()}')
    passed = failed = 0
    for name, f in checks(torch.device('cuda')):
        try: f(); passed += 1; print(f'ok: {name}')
        except Exception: failed += 1; print(f'FAILED: {name}'); traceback.print_exc()
    print(f'{passed} passed, {failed} failed')
    sys.exit(1 if failed else 0)

if __name__ == '__main__': main()

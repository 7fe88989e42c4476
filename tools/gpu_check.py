"""Run backprop's gradient checks, and its compiled step against the eager one, on CUDA tensors; ends with 'N passed, N failed'.

Needs a GPU (says so if none). `--no-compile` leaves out the compiled steps (each compiles for seconds).
"""
import sys, traceback

import torch

from backprop.blocks import (BatchNorm1d, BatchNorm2d, CausalSelfAttention, Conv2d, CrossEntropyLoss, Dropout, Embedding, GELU,
                             LayerNorm, LeakyReLU, Linear, LSTM, MaxPool2d, ReLU, RNN, Sequential, Sigmoid, Softmax, TanH)
from backprop.compiled import compare_steps
from backprop.conv import ConvClassifier
from backprop.gradcheck import check_block
from backprop.grad_compare import compare_block_to_torch
from backprop.models import GPT, MLP
from backprop.optimizers import Adam, VanillaSGD

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
        out += [(f'Softmax {n}', block_check(Softmax, (4, 6), dtype)),
                (f'GELU {n}', block_check(GELU, (4, 6), dtype)),
                (f'LayerNorm {n}', block_check(lambda: LayerNorm(6), (4, 6), dtype)),
                (f'BatchNorm1d {n}', block_check(lambda: BatchNorm1d(6), (8, 6), dtype)),
                (f'BatchNorm2d {n}', block_check(lambda: BatchNorm2d(3), (4, 3, 5, 5), dtype)),
                (f'Conv2d {n}', block_check(lambda: Conv2d(3, 4, kernel_size=(3, 2), stride=(2, 1), padding=(1, 0)), (2, 3, 7, 6), dtype)),
                (f'MaxPool2d {n}', block_check(lambda: MaxPool2d(2), (2, 3, 6, 6), dtype)),
                (f'RNN {n}', block_check(lambda: RNN(3, 4), (2, 5, 3), dtype)),
                (f'LSTM {n}', block_check(lambda: LSTM(3, 4), (2, 5, 3), dtype)),
                (f'CausalSelfAttention {n}', block_check(lambda: CausalSelfAttention(8, n_head=2, wstd=0.5), (2, 5, 8), dtype))]
    def embedding():   # indices have no gradient to check by finite differences: the table's, against autograd's
        torch.manual_seed(0)
        b = Embedding(10, 4).to(device=dev, dtype=torch.float64)
        idx = torch.randint(0, 10, (3, 5), device=dev)                 # with repeats: their rows add up
        out = b(idx); g = torch.randn_like(out)
        b.zero_grad(); b.backward(g)
        (p, dp), = b.params()
        w = p.detach().clone().requires_grad_()
        torch.nn.functional.embedding(idx, w).backward(g)
        assert torch.equal(out, w[idx]) and (dp - w.grad).abs().max() < 1e-12 and dp.device.type == 'cuda'
    out += [('Embedding float64', embedding)]
    out += [('reuse test, relu', reuse('relu')), ('reuse test, sigmoid', reuse('sigmoid')), ('extreme values', extreme)]
    return out

def compiled_checks(dev):
    "The compiled step (and the flat step, eagerly) against the eager step on CUDA tensors, over five steps."
    x, y = torch.randn(16, 10, device=dev), torch.randint(0, 4, (16,), device=dev)
    tokens, targets = torch.randint(0, 20, (4, 8), device=dev), torch.randint(0, 20, (4, 8), device=dev)
    images, classes = torch.randn(4, 1, 8, 8, device=dev), torch.randint(0, 4, (4,), device=dev)
    models = {'MLP, BatchNorm, dropout': (lambda: MLP(10, 4, [32, 32], norm='batch', dropout=0.3), x, y, Adam),
              'GPT, dropout': (lambda: GPT(20, 8, 2, 2, 16, dropout=0.1), tokens, targets, VanillaSGD),
              'ConvClassifier': (lambda: ConvClassifier(in_size=(1, 8, 8), out_classes=4, channels=[4, 8], pool_every=1,
                                                        hidden_dims=[16]), images, classes, Adam)}
    def case(name, dtype, compile):
        make, a, b, optimizer = models[name]
        def f():
            e = compare_steps(make, a, b, optimizer, dtype=dtype, device=dev, compile=compile)
            print(f'{name}, {str(dtype)[6:]}, compile={compile}: largest relative difference {e:.1e}')
            if compile: assert e < (1e-13 if dtype == torch.float64 else 1e-5), e
            else: assert e == 0, e
        return f
    out = [(f'flat step, eagerly: {name}, float32', case(name, torch.float32, False)) for name in models]
    out += [(f'compiled step: {name}, {str(dt)[6:]}', case(name, dt, True))
            for name, dts in (('MLP, BatchNorm, dropout', (torch.float32, torch.float64)), ('GPT, dropout', (torch.float32,)),
                              ('ConvClassifier', (torch.float32,))) for dt in dts]
    return out

def main():
    if not torch.cuda.is_available():
        print('no CUDA device here: nothing to check'); return
    print(f'torch {torch.__version__} on {torch.cuda.get_device_name()}')
    passed = failed = 0
    dev = torch.device('cuda')
    for name, f in checks(dev) + ([] if '--no-compile' in sys.argv else compiled_checks(dev)):
        try: f(); passed += 1; print(f'ok: {name}')
        except Exception: failed += 1; print(f'FAILED: {name}'); traceback.print_exc()
    print(f'{passed} passed, {failed} failed')
    sys.exit(1 if failed else 0)

if __name__ == '__main__': main()

"""Write exercise notebooks into exercises/: the Block notebooks with the bodies of chosen functions replaced by a TODO.

A function is an exercise when its `def` line ends with the comment `# exercise` (in any notebook of nbs/), or when it
is listed in EXERCISES below (notebook, `Class.method` or `function`). Its signature and docstring stay; its body
becomes a TODO comment and `raise NotImplementedError`. Everything else stays in place: the derivation, the tests and
the gradient checks, which now run on the learner's class, because the exercise notebook defines that class in its own
cells as the source notebook does (an import of the same name from backprop is dropped, so that it cannot replace it).
nbdev's export directives are dropped, so that nothing a learner writes can reach the library, and outputs are cleared.

Usage: `python tools/exercises.py [NOTEBOOK ...]` (default: every notebook with an exercise); `--dest` another folder.
"""
import argparse, ast, copy, re, sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent

# (notebook, function) pairs made exercises without a directive in the notebook: the backward passes of the Blocks, as
# the pages show them beside their derivations (the pure functions that each Block calls, or the Block's own method).
EXERCISES = [
    ('00a_linear', 'linear_backward'),
    ('00b_activations', 'Activation.backward'),
    ('00b_activations', 'Sigmoid.derivative'),
    ('00b_activations', 'TanH.derivative'),
    ('00c_losses', 'cross_entropy_backward'),
    ('00c_losses', 'mse_backward'),
    ('00d_containers', 'Sequential.backward'),
    ('02a_normalisation', 'batchnorm_backward'),
    ('02a_normalisation', 'layernorm_backward'),
    ('02b_embedding', 'embedding_backward'),
    ('02c_convolution', 'conv2d_backward_im2col'),
    ('02c_convolution', 'maxpool2d_backward'),
    ('02c_convolution', 'avgpool2d_backward'),
    ('02d_recurrent', 'rnn_backward'),
    ('02d_recurrent', 'lstm_backward'),
    ('02e_attention', 'attention_backward'),
    ('02f_gpt', 'TransformerBlock.backward'),
    ('02f_gpt', 'GPT.backward'),
]
DIRECTIVE = re.compile(r'#\s*exercise\s*$')
EXPORT = re.compile(r'^[ \t]*#\|[ \t]*(default_exp|export|exports|exporti)\b.*\n?', re.M)
TODO = {'backward': 'add the parameter gradients, if any (+=, never =); return dx, or None when input_grad is False',
        'derivative': "return f'(x), computed from y = f(x), into `out` when it is given",
        '_backward': 'from the derivation above: add any parameter gradients into the tensors given (+=, never =); return dx'}
INTRO = ('**Exercise.** {what} left for you: each says `TODO`. Write them from the derivation above '
         'them, then run the notebook from the top. The tests and gradient checks below each one use your class; when '
         'a check fails, its report names the tensors that are wrong and, where the error has a simple shape, gives a '
         '`hint` at the likely mistake.')


def functions(tree):
    "`{qualified name: def node}` for the functions of a cell: `Class.method`, `function`, and `@patch`ed `Class.function`."
    out = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            out.update({f'{node.name}.{f.name}': f for f in node.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))})
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args.args
            patched = any(getattr(d, 'id', None) == 'patch' for d in node.decorator_list) and a and isinstance(a[0].annotation, ast.Name)
            out[f'{a[0].annotation.id}.{node.name}' if patched else node.name] = node
    return out


def _body_start(f):
    "The first statement of `f`'s body after its docstring, or `None` when the body is only a docstring."
    b = f.body
    doc = isinstance(b[0], ast.Expr) and isinstance(getattr(b[0], 'value', None), ast.Constant) and isinstance(b[0].value.value, str)
    return b[1] if doc and len(b) > 1 else None if doc else b[0]


def stub(source, name, f):
    "`source` with the body of the function `f` (qualified name `name`) replaced by a TODO and `raise NotImplementedError`."
    lines = source.splitlines(True)
    first = _body_start(f)
    if first is None: return source
    head_line, col = first.lineno - 1, first.col_offset
    indent = ' ' * (f.col_offset + 4)
    todo = TODO.get(f.name) or TODO.get('_backward' if f.name.endswith('_backward') else '', 'write this function')
    new = [f'{indent}# TODO: {todo}\n', f'{indent}raise NotImplementedError\n']
    if first.lineno == f.lineno:                     # a one-line def: keep the header, up to the body
        keep = lines[:head_line] + [lines[head_line][:col].rstrip() + '\n']
    else: keep = lines[:head_line]
    rest = lines[f.end_lineno:]
    if rest and not keep[-1].endswith('\n'): keep[-1] += '\n'
    return ''.join(keep + new + rest)


def replace_function(source, name, new_def):
    "`source` with the function `name` (decorators kept) replaced by the text `new_def` (a whole `def`, unindented)."
    f = functions(ast.parse(source))[name]
    lines = source.splitlines(True)
    indent = ' ' * f.col_offset
    body = [indent + l if l.strip() else l for l in new_def.splitlines(True)]
    if body and not body[-1].endswith('\n'): body[-1] += '\n'
    return ''.join(lines[:f.lineno - 1] + body + lines[f.end_lineno:])


def function_source(source, name):
    "The text of the function `name` in `source`, from its `def` line, dedented."
    f = functions(ast.parse(source))[name]
    lines = source.splitlines(True)[f.lineno - 1:f.end_lineno]
    return ''.join(l[f.col_offset:] if l.strip() else l for l in lines)


def _drop_imports(source, names):
    "Drop `names` from `from backprop... import` lines, so that the library's class cannot replace the learner's."
    def fix(m):
        kept = [n for n in m.group(2).split(',') if n.strip().split(' as ')[-1].strip() not in names]
        return f'{m.group(1)}{",".join(kept).strip()}' if kept else ''
    return re.sub(r'^(\s*from backprop[\w.]* import )([^\n(]+)$', fix, source, flags=re.M)


def targets(nb, listed):
    "The `(cell index, qualified name)` exercises of notebook `nb`: those `listed` (in exported cells) and those with the directive."
    out = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != 'code': continue
        src = EXPORT.sub('', cell.source)
        try: fs = functions(ast.parse(src))
        except SyntaxError: continue                 # a cell of shell or magic commands
        for name, f in fs.items():
            marked = DIRECTIVE.search(src.splitlines()[f.lineno - 1])
            if marked or (name in listed and EXPORT.search(cell.source)): out.append((i, name))
    return out


def make_exercise(nb, listed=()):
    "`(exercise notebook, {name: solution text})` for notebook `nb`, or `(None, {})` when it has no exercise."
    found = targets(nb, set(listed))
    if not found: return None, {}
    ex, solutions = copy.deepcopy(nb), {}
    classes = {n.split('.')[0] for _, n in found}
    for i, cell in enumerate(ex.cells):
        if cell.cell_type == 'code':
            cell.source = _drop_imports(EXPORT.sub('', cell.source), classes)
            cell.outputs, cell.execution_count = [], None
    for i, name in found:
        src = ex.cells[i].source
        solutions[name] = function_source(src, name)
        ex.cells[i].source = stub(src, name, functions(ast.parse(src))[name])
    names = ', '.join(f'`{n}`' for _, n in found)
    what = f'The body of {names} is' if len(found) == 1 else f'The bodies of {names} are'
    ex.cells.insert(1, nbformat.v4.new_markdown_cell(INTRO.format(what=what)))
    for k, cell in enumerate(ex.cells): cell['id'] = cell.get('id') or f'e{k:04d}'
    ex.nbformat_minor = max(ex.nbformat_minor, 5)
    return ex, solutions


def write_exercises(names=None, dest=ROOT/'exercises', nbs=ROOT/'nbs'):
    "Write the exercise notebooks of `names` (default: all) of the folder `nbs` into `dest`; return `{notebook: solutions}`."
    dest = Path(dest); dest.mkdir(parents=True, exist_ok=True)
    listed = {}
    for nbname, fn in EXERCISES: listed.setdefault(nbname, []).append(fn)
    paths = [Path(nbs)/f'{Path(n).stem}.ipynb' for n in names] if names else sorted(Path(nbs).glob('[0-9]*.ipynb'))
    out = {}
    for p in paths:
        ex, solutions = make_exercise(nbformat.read(p, as_version=4), listed.get(p.stem, ()))
        if ex is None: continue
        nbformat.write(ex, dest/p.name)
        out[p.stem] = solutions
        print(f'{dest.name}/{p.name}: ' + ', '.join(solutions))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('notebooks', nargs='*', help='notebooks of nbs/ to make exercises of (default: all that have one)')
    ap.add_argument('--dest', default=str(ROOT/'exercises'), help='folder to write them into (default: exercises/)')
    args = ap.parse_args(argv)
    if not write_exercises(args.notebooks or None, args.dest): sys.exit('exercises: no notebook has an exercise')


if __name__ == '__main__': main()

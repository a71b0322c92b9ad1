"""Answers as plain data: what crosses from a student's kernel to the judge, and nothing that runs.

A student's answers are written by code in the student's own kernel, so the grader reads them as
JSON only: numbers, strings, lists, tensors and arrays (as raw bytes), and functions as their
source code with the names they use. Nothing here unpickles, so a forged answer file can make an
answer wrong but cannot run code in the judge. Decoding rebuilds a function by compiling its
source under the file name `ANSWER_FILE`, which the judge uses to tell the student's own calls
from the check's.

>>> import torch
>>> decode(json.loads(json.dumps(encode({"gap": 0.25, "epochs": [3, 4], "w": torch.ones(2)}))))
{'gap': 0.25, 'epochs': [3, 4], 'w': tensor([1., 1.])}
>>> def double(x):
...     return 2 * x
>>> decode(encode(double))(21)  # doctest: +SKIP
42
"""
from __future__ import annotations

import base64
import builtins
import dis
import importlib
import inspect
import json
import math
import numbers
import textwrap
import types

ANSWER_FILE = "<student answer>"
MAX_BYTES = 50_000_000  # what one exercise's answers may weigh, encoded
MAX_DEPTH = 20
BUILTIN_NAMES = frozenset(dir(builtins))


class Unsupported(ValueError):
    """An answer the grader cannot carry to the judge (an object of a class from the notebook)."""


def encode(value, _depth: int = 0, _seen: frozenset = frozenset()):
    """`value` as JSON-ready data; raises `Unsupported` for what cannot be carried."""
    if _depth > MAX_DEPTH:
        raise Unsupported("the answer is nested too deeply")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else {"$float": repr(number)}
    if isinstance(value, str):
        return {"$str": str.__str__(value)} if value.startswith("$") else str.__str__(value)
    nested = _depth + 1
    if isinstance(value, (list, tuple)):
        items = [encode(item, nested, _seen) for item in value]
        return items if isinstance(value, list) else {"$tuple": items}
    if isinstance(value, dict):
        return {"$dict": [[encode(k, nested, _seen), encode(v, nested, _seen)]
                          for k, v in value.items()]}
    tensor = _tensor(value)
    if tensor is not None:
        return tensor
    if isinstance(value, types.FunctionType):
        return _function(value, nested, _seen)
    if isinstance(value, (types.BuiltinFunctionType, types.ModuleType, type)) or callable(value):
        found = _importable(value)
        if found is not None:
            return found
    raise Unsupported(f"a {type(value).__name__} cannot be carried to the grader; give a number, "
                      "a string, a list, a tensor or a function")


def decode(data, namespace: dict | None = None):
    """The value that `encode` wrote; functions are compiled afresh (in `namespace` if given)."""
    if isinstance(data, list):
        return [decode(item, namespace) for item in data]
    if not isinstance(data, dict):
        return data
    if "$float" in data:
        return float(data["$float"])
    if "$str" in data:
        return data["$str"]
    if "$tuple" in data:
        return tuple(decode(item, namespace) for item in data["$tuple"])
    if "$dict" in data:
        return {_hashable(decode(k, namespace)): decode(v, namespace) for k, v in data["$dict"]}
    if "$tensor" in data or "$ndarray" in data:
        return _array(data)
    if "$import" in data:
        return _import(data["$import"], data["name"])
    if "$function" in data:
        return _rebuild(data, namespace)
    raise ValueError(f"an answer file holds an unknown record {sorted(data)[:3]}")


def _hashable(key):
    return tuple(key) if isinstance(key, list) else key


def _tensor(value):
    """A tensor or array as dtype, shape and raw bytes; None for anything else."""
    import numpy as np
    import torch

    if isinstance(value, torch.Tensor):
        array = value.detach().cpu().contiguous()
        array = torch.Tensor.as_subclass(array, torch.Tensor)  # a subclass loses its behaviour
        kind, numpy = "$tensor", array.numpy() if array.dtype != torch.bfloat16 else None
        if numpy is None:
            raise Unsupported("bfloat16 tensors cannot be carried; convert to float32")
    elif isinstance(value, np.ndarray):
        if value.dtype == object:
            raise Unsupported("an array of Python objects cannot be carried")
        kind, numpy = "$ndarray", np.ascontiguousarray(value)
    elif isinstance(value, np.generic):
        return encode(value.item())
    else:
        return None
    if numpy.nbytes > MAX_BYTES:
        raise Unsupported(f"a tensor of {numpy.nbytes:,} bytes is more than an answer needs")
    return {kind: base64.b64encode(numpy.tobytes()).decode("ascii"), "dtype": str(numpy.dtype),
            "shape": list(numpy.shape)}


def _array(data):
    import numpy as np
    import torch

    raw = base64.b64decode(data.get("$tensor") or data.get("$ndarray") or "")
    array = np.frombuffer(raw, dtype=np.dtype(data["dtype"])).reshape(data["shape"]).copy()
    return torch.from_numpy(array) if "$tensor" in data else array


def _importable(value):
    """A library function, class or module as where to import it from; None if it is not one."""
    if isinstance(value, types.ModuleType):
        return {"$import": value.__name__, "name": ""}
    module, name = getattr(value, "__module__", None), getattr(value, "__qualname__", None)
    if not module or not name or module == "__main__" or "<" in name:
        return None
    try:
        if _import(module, name) is value:
            return {"$import": module, "name": name}
    except (ImportError, AttributeError):
        pass
    return None


def _import(module: str, name: str):
    found = importlib.import_module(module)
    for part in filter(None, name.split(".")):
        found = getattr(found, part)
    return found


def _function(function: types.FunctionType, depth: int, seen: frozenset) -> dict:
    """A function written in the notebook: its source and the outside names it uses."""
    found = _importable(function)
    if found is not None:
        return found
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):
        raise Unsupported(f"the source of {function.__name__} cannot be found; define it with "
                          "`def` in a cell of its own") from None
    if function.__name__ == "<lambda>":
        source = _lambda_source(source, function)
    seen = seen | {id(function)}
    names = {}
    for name in sorted(_outside_names(function.__code__)):
        value = _lookup(function, name)
        if value is _MISSING or (name in BUILTIN_NAMES and value is getattr(builtins, name)):
            continue
        if isinstance(value, types.FunctionType) and id(value) in seen:
            names[name] = {"$recursive": True}
            continue
        try:
            names[name] = encode(value, depth, seen)
        except Unsupported as problem:
            raise Unsupported(f"{function.__name__} uses `{name}`: {problem}") from None
    return {"$function": function.__name__, "source": source, "names": names}


_MISSING = object()


def _lookup(function: types.FunctionType, name: str):
    if function.__code__.co_freevars and name in function.__code__.co_freevars:
        cell = function.__closure__[function.__code__.co_freevars.index(name)]
        try:
            return cell.cell_contents
        except ValueError:
            return _MISSING
    return function.__globals__.get(name, _MISSING)


def _outside_names(code: types.CodeType, top: bool = True) -> set[str]:
    """The global names a code object and the code nested in it read, and its free names.

    Read from the bytecode: `co_names` alone also holds attribute names (`ru.data.STD` would
    make `data` look like a global).
    """
    names = {instruction.argval for instruction in dis.get_instructions(code)
             if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
    if top:
        names |= set(code.co_freevars)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _outside_names(constant, top=False)
    return names


def _lambda_source(source: str, function) -> str:
    import ast

    try:
        lambdas = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Lambda)]
    except SyntaxError:
        lambdas = []
    if len(lambdas) != 1:
        raise Unsupported("write the function with `def` rather than as a lambda among others")
    return f"{function.__name__.strip('<>')} = {ast.unparse(lambdas[0])}"


def _rebuild(data: dict, namespace: dict | None) -> types.FunctionType:
    """Compile a function's source again, with the names it uses, under `ANSWER_FILE`."""
    scope = dict(namespace or {})
    scope.setdefault("__builtins__", builtins)
    pending = []
    for name, value in data["names"].items():
        if isinstance(value, dict) and value.get("$recursive"):
            pending.append(name)
        else:
            scope[name] = decode(value, namespace)
    name = data["$function"]
    exec(compile(data["source"], ANSWER_FILE, "exec"), scope)  # the student's code, on purpose
    key = "lambda" if name == "<lambda>" else name
    if key not in scope or not callable(scope[key]):
        raise ValueError(f"the source of {name} does not define it")
    for other in pending:  # a function that calls itself, or a helper that calls back
        scope.setdefault(other, scope[key])
    return scope[key]


def dumps(answers: dict) -> str:
    """The JSON text of `answers` (name -> value), each name encoded on its own.

    A name whose value cannot be carried keeps the reason instead, so the others still count.
    """
    encoded = {}
    for name, value in answers.items():
        try:
            encoded[name] = {"value": encode(value)}
        except Unsupported as problem:
            encoded[name] = {"unsupported": str(problem)}
        except RecursionError:
            encoded[name] = {"unsupported": "the answer refers to itself"}
    text = json.dumps(encoded)
    if len(text) > MAX_BYTES:
        raise Unsupported(f"the answers take {len(text):,} bytes, more than an answer needs")
    return text

"""A safe evaluator for the arithmetic a procedure may write in a result (`(abs(left) + abs(right)) / sid`).

Only numbers, names of entered values, parameters, station settings and earlier results, + − × / **, unary
minus, and the functions abs, min, max, sqrt and k_tp (temperature–pressure correction of a vented chamber,
`k_tp(T, P, T0, P0)`) are allowed. Everything else — attribute access, subscripts, calls of anything else, lambdas,
comprehensions, `__import__` — is refused when the file is loaded. Values are pint Quantities, so units
follow the arithmetic.
"""

from __future__ import annotations

import ast
from typing import Any, Callable

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a ** b,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: lambda a: -a, ast.UAdd: lambda a: +a}


def _sqrt(x: Any) -> Any:
    return x ** 0.5


def _k_tp(temperature: Any, pressure: Any, t0: Any, p0: Any) -> Any:
    from ..analysis import k_tp

    return k_tp(temperature, pressure, t0, p0)


FUNCTIONS: dict[str, Callable[..., Any]] = {"abs": abs, "min": min, "max": max, "sqrt": _sqrt, "k_tp": _k_tp}


class Expression:
    """A checked expression: `names` are the variables it uses; `evaluate(values)` computes it."""

    def __init__(self, text: str) -> None:
        self.text = text
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            raise ValueError(f"'{text}' is not an expression ({exc.msg})") from None
        self.names: set[str] = set()
        self._check(tree.body)
        self._tree = tree.body

    def _check(self, node: ast.AST) -> None:
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            if isinstance(node.op, ast.Pow) and not (isinstance(node.right, ast.Constant)
                                                     and isinstance(node.right.value, (int, float))):
                raise ValueError(f"'{self.text}': a power must be a plain number")
            self._check(node.left)
            self._check(node.right)
        elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            self._check(node.operand)
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
                raise ValueError(f"'{self.text}': only {', '.join(FUNCTIONS)} may be called")
            for arg in node.args:
                self._check(arg)
        elif isinstance(node, ast.Name):
            if node.id.startswith("_"):
                raise ValueError(f"'{self.text}': names starting with _ are not allowed")
            self.names.add(node.id)
        elif isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                and not isinstance(node.value, bool):
            return
        else:
            raise ValueError(f"'{self.text}': {type(node).__name__} is not allowed in an expression "
                             "(only numbers, names, + - * / **, abs, min, max, sqrt, k_tp)")

    def evaluate(self, values: dict[str, Any]) -> Any:
        missing = self.names - set(values)
        if missing:
            raise ValueError(f"'{self.text}' needs {', '.join(sorted(missing))}")
        return self._eval(self._tree, values)

    def _eval(self, node: ast.AST, values: dict[str, Any]) -> Any:
        if isinstance(node, ast.BinOp):
            return _BINARY[type(node.op)](self._eval(node.left, values), self._eval(node.right, values))
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](self._eval(node.operand, values))
        if isinstance(node, ast.Call):
            return FUNCTIONS[node.func.id](*(self._eval(a, values) for a in node.args))  # type: ignore[attr-defined]
        if isinstance(node, ast.Name):
            return values[node.id]
        return node.value  # type: ignore[attr-defined]

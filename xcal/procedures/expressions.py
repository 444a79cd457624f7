"""A safe evaluator for the arithmetic a procedure may write in a result (`(abs(left) + abs(right)) / sid`).

Only numbers, names of entered values, parameters, station settings and earlier results, + − × / **, unary
minus, and the functions abs, min, max, sqrt and k_tp (temperature–pressure correction of a vented chamber,
`k_tp(T, P, T0, P0)`) are allowed. Everything else — attribute access, subscripts, calls of anything else, lambdas,
comprehensions, `__import__` — is refused when the file is loaded. Values are pint Quantities, so units
follow the arithmetic.

Nothing written can hang or exhaust the machine: an expression longer than MAX_LENGTH, nested deeper than
MAX_DEPTH, of more than MAX_NODES parts, with a power beyond ±MAX_EXPONENT or a number that is not finite is
refused when read. Arithmetic that fails on the real values (a result past 10^MAX_LOG10, the square root of a
negative number, a division by zero) raises ExpressionError, a ValueError naming the expression, which the
runner turns into a resumable stop (exit 3); a power's size is judged by logarithms before it is computed.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from typing import Any

MAX_LENGTH = 1000
"""Most characters an expression may have; the library's longest has under 200."""
MAX_DEPTH = 50
"""Deepest nesting of operations (a sum of n terms nests n − 1 deep); bounds the evaluator's recursion."""
MAX_NODES = 200
"""Most parts (numbers, names, operations, calls) an expression may have."""
MAX_EXPONENT = 100
"""Largest power, either sign, an expression may write: physics needs 2, 3, 0.5 or −1, and bounding it keeps
`9 ** 9999999` (minutes of exact integer arithmetic) from being started."""
MAX_LOG10 = 300
"""A result (or a power, judged before it is computed) above 10^300 in size is refused as too large: floats end
near 1.8e308, and a value that large is a mistake, not a measurement."""


class ExpressionError(ValueError):
    """An expression refused when read, or arithmetic that failed on real values; the message names the
    expression and what went wrong, `fix` says what to change. A ValueError, so the runner makes it a
    resumable stop."""

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.fix = fix


_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a ** b,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: lambda a: -a, ast.UAdd: lambda a: +a}
_EXAMPLES = {"abs": "abs(left)", "min": "min(left, right)", "max": "max(left, right)", "sqrt": "sqrt(area)",
             "k_tp": "k_tp(temperature, pressure, electrometer_calibration_temperature, "
                     "electrometer_calibration_pressure)"}
_SIZE_FIX = "split the expression into several results, each named and used by the next"


def _magnitude(value: Any) -> Any:
    return value.magnitude if hasattr(value, "magnitude") else value


def _shown(value: Any) -> str:
    """A value in an error message: `-2 cm`, `0.5`."""
    number = _magnitude(value)
    try:
        text = f"{number:g}"
    except (TypeError, ValueError):
        text = str(number)
    units = f"{value.units:~P}" if hasattr(value, "units") else ""
    return f"{text} {units}".strip()


def _sqrt(x: Any) -> Any:
    if _is_real(_magnitude(x)) and _magnitude(x) < 0:
        raise ExpressionError(f"the square root of a negative number ({_shown(x)})")
    return x ** 0.5


def _k_tp(temperature: Any, pressure: Any, t0: Any, p0: Any) -> Any:
    from ..analysis import k_tp

    return k_tp(temperature, pressure, t0, p0)


FUNCTIONS: dict[str, Callable[..., Any]] = {"abs": abs, "min": min, "max": max, "sqrt": _sqrt, "k_tp": _k_tp}
ARITY: dict[str, tuple[int, int | None]] = {"abs": (1, 1), "min": (2, None), "max": (2, None), "sqrt": (1, 1),
                                            "k_tp": (4, 4)}
"""How many values each function takes (fewest, most or None): checked when read, not found mid-run."""


def _is_real(number: Any) -> bool:
    """False for a complex number (Python's or numpy's): what `(-2) ** 0.5` gives."""
    return not (isinstance(number, complex) or "complex" in type(number).__name__)


def _exponent(node: ast.AST) -> float | int | None:
    """The number of a power's exponent written as a plain number, signed or not (`2`, `-1`, `0.5`), else None."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY and isinstance(node.operand, ast.Constant):
        sign, node = (-1 if isinstance(node.op, ast.USub) else 1), node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return sign * node.value
    return None


class Expression:
    """A checked expression: `names` are the variables it uses; `evaluate(values)` computes it."""

    def __init__(self, text: str) -> None:
        self.text = text
        if len(text) > MAX_LENGTH:
            raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters ({len(text)})",
                                  fix=_SIZE_FIX)
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            raise ExpressionError(f"'{text}' is not an expression ({exc.msg})") from None
        except (ValueError, MemoryError, RecursionError) as exc:
            raise ExpressionError(f"'{text}' is not an expression ({exc or type(exc).__name__})") from None
        self._source = text.strip()
        self.names: set[str] = set()
        self._measure(tree.body)
        self._check(tree.body)
        self._tree = tree.body

    def _measure(self, root: ast.AST) -> None:
        """Refuse more than MAX_NODES parts, then nesting deeper than MAX_DEPTH; without recursion, so a deep
        expression cannot exhaust Python's stack while it is being measured."""
        parts, deepest = 0, 0
        stack = [(root, 1)]
        while stack:
            node, depth = stack.pop()
            parts += 1
            deepest = max(deepest, depth)
            children = ([node.left, node.right] if isinstance(node, ast.BinOp) else
                        [node.operand] if isinstance(node, ast.UnaryOp) else
                        list(node.args) if isinstance(node, ast.Call) else [])
            stack.extend((child, depth + 1) for child in children)
        if parts > MAX_NODES:
            raise ExpressionError(f"'{self._short()}' has more than {MAX_NODES} parts (numbers, names and "
                                  f"operations: {parts})", fix=_SIZE_FIX)
        if deepest > MAX_DEPTH:
            raise ExpressionError(f"'{self._short()}' is nested more than {MAX_DEPTH} deep ({deepest})",
                                  fix=_SIZE_FIX)

    def _short(self) -> str:
        return self.text if len(self.text) <= 80 else self.text[:77] + "..."

    def _written(self, node: ast.AST) -> str:
        """The text of a part of the expression as written."""
        return ast.get_source_segment(self._source, node) or ast.dump(node)

    def _check(self, node: ast.AST) -> None:
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            if isinstance(node.op, ast.Pow):
                exponent = _exponent(node.right)
                if exponent is None:
                    raise ExpressionError(f"'{self.text}': a power must be a plain number")
                if not math.isfinite(exponent) or abs(exponent) > MAX_EXPONENT:
                    written = str(exponent) if isinstance(exponent, int) else f"{exponent:g}"
                    raise ExpressionError(f"'{self._short()}': the power {written} is beyond ±{MAX_EXPONENT}",
                                          fix=f"write a power between -{MAX_EXPONENT} and {MAX_EXPONENT}, "
                                              "e.g. `** 2` or `** 0.5`")
                self._check(node.left)
                return
            self._check(node.left)
            self._check(node.right)
        elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            self._check(node.operand)
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
                raise ExpressionError(f"'{self.text}': only {', '.join(FUNCTIONS)} may be called")
            fewest, most = ARITY[node.func.id]
            if len(node.args) < fewest or (most is not None and len(node.args) > most):
                wanted = f"{fewest}" if most == fewest else f"{fewest} or more"
                raise ExpressionError(f"'{self._short()}': {node.func.id} takes {wanted} value"
                                      f"{'' if wanted == '1' else 's'}, and {self._written(node)} gives "
                                      f"{len(node.args)}", fix=f"write e.g. `{_EXAMPLES[node.func.id]}`")
            for arg in node.args:
                self._check(arg)
        elif isinstance(node, ast.Name):
            if node.id.startswith("_"):
                raise ExpressionError(f"'{self.text}': names starting with _ are not allowed")
            self.names.add(node.id)
        elif isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                and not isinstance(node.value, bool):
            try:
                finite = math.isfinite(node.value) and abs(node.value) <= 10.0 ** MAX_LOG10
            except OverflowError:
                finite = False
            if not finite:
                raise ExpressionError(f"'{self._short()}': {self._written(node)} is not a finite number of at "
                                      f"most 1e{MAX_LOG10}", fix=f"write a number below 1e{MAX_LOG10}")
        else:
            raise ExpressionError(f"'{self.text}': {type(node).__name__} is not allowed in an expression "
                                  "(only numbers, names, + - * / **, abs, min, max, sqrt, k_tp)")

    def evaluate(self, values: dict[str, Any]) -> Any:
        """The expression's value over `values` (name -> Quantity); ExpressionError when the arithmetic fails."""
        missing = self.names - set(values)
        if missing:
            raise ExpressionError(f"'{self.text}' needs {', '.join(sorted(missing))}",
                                  fix="name only entered values, parameters, settings and earlier results")
        return self._eval(self._tree, values)

    def _fail(self, what: str) -> ExpressionError:
        return ExpressionError(f"'{self.text}': {what}",
                               fix="check the values it is computed from (an entry, a reading, a setting)")

    def _eval(self, node: ast.AST, values: dict[str, Any]) -> Any:
        if isinstance(node, ast.Name):
            return values[node.id]
        if isinstance(node, ast.Constant):
            return node.value
        try:
            if isinstance(node, ast.BinOp):
                left, right = self._eval(node.left, values), self._eval(node.right, values)
                if isinstance(node.op, ast.Pow):
                    self._power_fits(left, right, node)
                elif isinstance(node.op, ast.Div) and _is_real(_magnitude(right)) and _magnitude(right) == 0:
                    raise self._fail(f"division by zero in {self._written(node)}")
                result = _BINARY[type(node.op)](left, right)
            elif isinstance(node, ast.UnaryOp):
                result = _UNARY[type(node.op)](self._eval(node.operand, values))
            else:
                args = [self._eval(a, values) for a in node.args]  # type: ignore[attr-defined]
                result = FUNCTIONS[node.func.id](*args)  # type: ignore[attr-defined]
        except ExpressionError as exc:
            if str(exc).startswith(f"'{self.text}'"):
                raise
            raise self._fail(str(exc)) from None
        except ZeroDivisionError:
            raise self._fail(f"division by zero in {self._written(node)}") from None
        except OverflowError:
            raise self._fail(f"the result of {self._written(node)} is too large") from None
        except ArithmeticError as exc:
            raise self._fail(f"{self._written(node)} cannot be computed ({exc})") from None
        return self._fits(result, node)

    def _power_fits(self, base: Any, exponent: Any, node: ast.BinOp) -> None:
        """Refuse, before computing it, a power that would be complex, divide by zero or exceed 10^MAX_LOG10."""
        number = _magnitude(base)
        if not _is_real(number):
            return
        if number < 0 and float(exponent) != int(exponent):
            raise self._fail(f"a negative number ({_shown(base)}) to the power {exponent:g} is not a real number")
        if number == 0:
            if exponent < 0:
                raise self._fail(f"division by zero in {self._written(node)} (zero to a negative power)")
            return
        if exponent * math.log10(abs(number)) > MAX_LOG10:
            raise self._fail(f"the result of {self._written(node)} is too large (above 1e{MAX_LOG10})")

    def _fits(self, value: Any, node: ast.AST) -> Any:
        """The value, when it is a real, finite number of at most 10^MAX_LOG10; else ExpressionError."""
        number = _magnitude(value)
        if not _is_real(number):
            raise self._fail(f"{self._written(node)} is not a real number")
        try:
            size = abs(float(number))
        except OverflowError:
            size = math.inf
        except (TypeError, ValueError):
            return value
        if math.isnan(size):
            raise self._fail(f"{self._written(node)} is not a number")
        if size > 10.0 ** MAX_LOG10:
            raise self._fail(f"the result of {self._written(node)} is too large (above 1e{MAX_LOG10})")
        return value

"""Rules between a record form's fields: required when, must differ from, computed.

A field definition may say

- ``required_when: {field: result, not_in: [pass]}`` (or ``in: [...]``, ``equals: x``,
  ``filled: true``/``false``): the field must be filled when the condition on the other
  field holds. A condition on an empty field holds only for ``filled: false``.
- ``differs_from: producer``: when both are filled, the values must differ (for user
  fields, two different people).
- ``computed: "<expression>"``: the server computes the value from other fields on submit
  and amend; it is never typed. The expression is arithmetic (``+ - * /``, parentheses,
  numbers) over number, integer and date fields; a date minus a date is the number of
  days between them, a date plus or minus a number is a date. It is parsed with
  :mod:`ast` and only those nodes are taken: nothing is ever evaluated by Python.

Each rule names other fields of the same list (a table's columns name the table's
columns); :func:`resolve` checks those references once the whole list is parsed, and
:func:`apply` enforces the rules on clean values, for the browser and the API alike.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, replace
from dataclasses import field as dc_field
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, NoReturn

from flask_babel import gettext as _

if TYPE_CHECKING:
    from qms.records.fields import FieldDef

Fail = Callable[[str], NoReturn]

#: The settings these rules add to a field definition.
RULE_KEYS = frozenset({"required_when", "differs_from", "computed"})
#: The ways a condition compares the other field's value.
OPERATORS = ("in", "not_in", "equals", "filled")
#: The types a computed field may have, and the kind of value each holds.
COMPUTED_TYPES = {"number": "number", "integer": "number", "date": "date"}
#: The kind of value a field of each type gives an expression.
OPERAND_TYPES = {"number": "number", "integer": "number", "date": "date"}
MAX_EXPRESSION = 500


def filled(value) -> bool:
    """Return whether a clean value counts as given (an unticked box does not)."""
    if value is None or value is False or value == "" or value == []:
        return False
    return not (isinstance(value, str) and not value.strip())


# -- required when -------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """When another field's value makes this one required."""

    field: str
    op: str
    values: tuple[str, ...] = ()
    #: The field the condition reads, set by :func:`resolve` (for its label and options).
    subject: FieldDef | None = dc_field(default=None, compare=False, repr=False)

    def holds(self, values: dict) -> bool:
        """Return whether the condition holds for a form's clean values."""
        value = values.get(self.field)
        if self.op == "filled":
            return filled(value) == (self.values == ("true",))
        if not filled(value):
            return False
        given = {str(v) for v in value} if isinstance(value, list) else {str(value)}
        if self.op == "not_in":
            return not given & set(self.values)
        return bool(given & set(self.values))

    def describe(self) -> str:
        """Say the rule in the user's language: "Required when Result is not Pass"."""
        subject = self.subject.label if self.subject is not None else self.field
        if self.op == "filled":
            if self.values == ("true",):
                return _("Required when %(field)s is filled in.", field=subject)
            return _("Required when %(field)s is empty.", field=subject)
        shown = self.values
        if self.subject is not None:
            shown = tuple(self.subject.option_label(v) for v in self.values)
        choices = _(" or ").join(shown)
        if self.op == "not_in":
            return _("Required when %(field)s is not %(values)s.", field=subject, values=choices)
        return _("Required when %(field)s is %(values)s.", field=subject, values=choices)


def parse_condition(raw, fail: Fail) -> Condition | None:
    """Return the ``required_when`` of a definition as a :class:`Condition` (or None)."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("field"), str):
        fail(
            _(
                "required_when must name a field and one of %(ops)s, "
                "such as {field: result, not_in: [pass]}.",
                ops=", ".join(OPERATORS),
            )
        )
    ops = [k for k in raw if k != "field"]
    if len(ops) != 1 or ops[0] not in OPERATORS:
        fail(
            _(
                "required_when takes the field and exactly one of %(ops)s.",
                ops=", ".join(OPERATORS),
            )
        )
    op, given = ops[0], raw[ops[0]]
    if op == "filled":
        if not isinstance(given, bool):
            fail(_("required_when's filled must be true or false."))
        return Condition(raw["field"], op, ("true" if given else "false",))
    if op == "equals":
        given = [given]
        op = "in"
    if not isinstance(given, list) or not given:
        fail(_("required_when's %(op)s must be a list of values.", op=op))
    if any(isinstance(v, (bool, dict, list)) or v is None for v in given):
        fail(_("required_when's %(op)s must be a list of values.", op=op))
    return Condition(raw["field"], op, tuple(str(v) for v in given))


# -- computed ------------------------------------------------------------------------------

_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


@dataclass(frozen=True)
class Expression:
    """A computed field's arithmetic, kept as the checked syntax tree it was parsed into."""

    text: str
    tree: ast.expr = dc_field(compare=False, repr=False)
    names: frozenset[str] = frozenset()

    def evaluate(self, values: dict):
        """Return the value (a number, or a date in ISO form), or None when it cannot be had.

        A missing operand or a division by zero leaves the field empty.
        """
        try:
            result = _evaluate(self.tree, values)
        except (_Missing, ZeroDivisionError, ArithmeticError, OverflowError, ValueError):
            return None
        if isinstance(result, date):
            return result.isoformat()
        return result

    def shown(self, labels: dict[str, str]) -> str:
        """Return the expression with field labels for keys, and × ÷ for * /."""
        tree = _RenameToLabels(labels).visit(ast.parse(self.text, mode="eval"))
        return ast.unparse(tree).replace(" * ", " × ").replace(" / ", " ÷ ")


class _RenameToLabels(ast.NodeTransformer):
    def __init__(self, labels: dict[str, str]):
        self.labels = labels

    def visit_Name(self, node):  # noqa: N802 (the ast visitor's naming)
        return ast.copy_location(ast.Name(id=self.labels.get(node.id, node.id)), node)


class _Missing(Exception):
    """An operand of the expression has no value."""


def _evaluate(node: ast.expr, values: dict):
    if isinstance(node, ast.Constant):
        return Decimal(str(node.value))
    if isinstance(node, ast.Name):
        value = values.get(node.id)
        if not filled(value):
            raise _Missing(node.id)
        if isinstance(value, str):
            return date.fromisoformat(value[:10])
        return Decimal(str(value))
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, values)
        return -operand if isinstance(node.op, ast.USub) else operand
    assert isinstance(node, ast.BinOp)
    left, right = _evaluate(node.left, values), _evaluate(node.right, values)
    if isinstance(left, date) and isinstance(right, date):
        return Decimal((left - right).days)
    if isinstance(left, date):
        days = timedelta(days=int(right))
        return left + days if isinstance(node.op, ast.Add) else left - days
    if isinstance(right, date):
        return right + timedelta(days=int(left))
    if isinstance(node.op, ast.Add):
        return left + right
    if isinstance(node.op, ast.Sub):
        return left - right
    if isinstance(node.op, ast.Mult):
        return left * right
    return left / right


def parse_expression(raw, fail: Fail) -> Expression | None:
    """Return a ``computed`` setting as an :class:`Expression`, refusing anything but arithmetic."""
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)) or not str(raw).strip():
        fail(_("computed must be an expression such as weight * 2."))
    text = str(raw).strip().replace("×", "*").replace("÷", "/").replace("−", "-")
    if len(text) > MAX_EXPRESSION:
        fail(_("computed is longer than %(n)s characters.", n=MAX_EXPRESSION))
    try:
        tree = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        # Too deep a nesting is refused as the parser refuses it, not by crashing.
        fail(_("computed is not a valid expression: %(text)s", text=text))
    for node in ast.walk(tree):
        if not _allowed(node):
            fail(
                _(
                    "computed may only use numbers, field keys, + - * / and parentheses: %(text)s",
                    text=text,
                )
            )
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    return Expression(text, tree, frozenset(names))


def _allowed(node: ast.AST) -> bool:
    """Return whether an expression's node is one of the arithmetic ones taken."""
    if isinstance(node, ast.BinOp):
        return type(node.op) in _OPERATORS
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, (ast.USub, ast.UAdd))
    if isinstance(node, ast.Constant):
        return type(node.value) in (int, float)
    return isinstance(node, (ast.Name, ast.Load, *_OPERATORS, ast.USub, ast.UAdd))


def _kind_of(node: ast.expr, kinds: dict[str, str]) -> str:
    """Return "number" or "date" for an expression; :raises TypeError: it mixes them badly."""
    if isinstance(node, ast.Constant):
        return "number"
    if isinstance(node, ast.Name):
        return kinds[node.id]
    if isinstance(node, ast.UnaryOp):
        if _kind_of(node.operand, kinds) != "number":
            raise TypeError
        return "number"
    left, right = _kind_of(node.left, kinds), _kind_of(node.right, kinds)
    if left == right == "number":
        return "number"
    if left == right == "date" and isinstance(node.op, ast.Sub):
        return "number"
    if left == "date" and right == "number" and isinstance(node.op, (ast.Add, ast.Sub)):
        return "date"
    if left == "number" and right == "date" and isinstance(node.op, ast.Add):
        return "date"
    raise TypeError


# -- the rules of a list of fields ---------------------------------------------------------


def resolve(defs: tuple[FieldDef, ...], fail_for: Callable[[str, str], NoReturn]):
    """Check every rule's references in ``defs``; return the definitions in their final form.

    ``fail_for(key, message)`` raises the definition error naming field ``key``.
    """
    by_key = {fd.key: fd for fd in defs}

    def other(fd: FieldDef, key: str, setting: str) -> FieldDef:
        if key == fd.key:
            fail_for(fd.key, _("%(setting)s cannot name the field itself.", setting=setting))
        if key not in by_key:
            fail_for(
                fd.key,
                _(
                    "%(setting)s names %(other)s, which is not a field of this form.",
                    setting=setting,
                    other=key,
                ),
            )
        return by_key[key]

    resolved = []
    for fd in defs:
        changes: dict = {}
        if fd.required_when is not None:
            subject = other(fd, fd.required_when.field, "required_when")
            if subject.type == "table":
                fail_for(fd.key, _("required_when cannot name a table."))
            if subject.options and fd.required_when.op != "filled":
                known = {o.value for o in subject.options}
                wrong = [v for v in fd.required_when.values if v not in known]
                if wrong:
                    fail_for(
                        fd.key,
                        _(
                            "required_when: %(values)s is not an option of %(other)s.",
                            values=", ".join(wrong),
                            other=subject.key,
                        ),
                    )
            changes["required_when"] = replace(fd.required_when, subject=subject)
        if fd.differs_from is not None:
            subject = other(fd, fd.differs_from, "differs_from")
            if subject.type != fd.type:
                fail_for(
                    fd.key,
                    _(
                        "differs_from names %(other)s, a %(type)s field; both must be of one type.",
                        other=subject.key,
                        type=subject.type,
                    ),
                )
            changes["differs_from_label"] = subject.labels
        if fd.computed is not None:
            if fd.type not in COMPUTED_TYPES:
                fail_for(
                    fd.key,
                    _(
                        "only number, integer and date fields can be computed, not %(type)s.",
                        type=fd.type,
                    ),
                )
            kinds = {}
            for name in sorted(fd.computed.names):
                subject = other(fd, name, "computed")
                if subject.type not in OPERAND_TYPES:
                    fail_for(
                        fd.key,
                        _(
                            "computed uses %(other)s, a %(type)s field; only number, integer "
                            "and date fields can be computed with.",
                            other=name,
                            type=subject.type,
                        ),
                    )
                kinds[name] = OPERAND_TYPES[subject.type]
            try:
                kind = _kind_of(fd.computed.tree, kinds)
            except TypeError:
                kind = None
            if kind != COMPUTED_TYPES[fd.type]:
                fail_for(
                    fd.key,
                    _(
                        "computed does not give a %(type)s: %(text)s (a date minus a date gives "
                        "days, a date plus days gives a date).",
                        type=fd.type,
                        text=fd.computed.text,
                    ),
                )
            changes["computed_labels"] = {n: by_key[n].labels for n in fd.computed.names}
        resolved.append(replace(fd, **changes) if changes else fd)
    order = computed_order(tuple(resolved), fail_for)
    return tuple(resolved), order


def computed_order(defs: tuple[FieldDef, ...], fail_for) -> tuple[str, ...]:
    """Return the keys of computed fields in the order they are computed; refuse cycles."""
    computed = {fd.key: fd.computed.names for fd in defs if fd.computed is not None}
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(key: str, path: list[str]) -> None:
        if state.get(key) == "done":
            return
        if state.get(key) == "visiting":
            cycle = path[path.index(key) :] + [key]
            fail_for(
                key,
                _(
                    "computed fields depend on each other in a cycle: %(cycle)s.",
                    cycle=" → ".join(cycle),
                ),
            )
        state[key] = "visiting"
        for name in sorted(computed[key]):
            if name in computed:
                visit(name, [*path, key])
        state[key] = "done"
        order.append(key)

    for key in computed:
        visit(key, [])
    return tuple(order)


def apply(
    defs: tuple[FieldDef, ...],
    values: dict,
    errors: dict[str, list[str]],
    check: Callable[[FieldDef, object], tuple[object, str | None]],
    partial: bool,
) -> None:
    """Compute the computed fields into ``values``; add each broken rule to ``errors``.

    ``check(fd, value)`` cleans a computed value the way a typed one is (limits, rounding).
    With ``partial`` (a draft), a field required by a condition may still be empty.
    """
    by_key = {fd.key: fd for fd in defs}
    for key in _order_of(defs):
        fd = by_key[key]
        values.pop(key, None)
        result = fd.computed.evaluate(values)
        if result is None:
            continue
        if fd.type == "integer" and not isinstance(result, str):
            result = int(result.to_integral_value())
        clean, problem = check(fd, result)
        if problem:
            errors.setdefault(key, []).append(
                _(
                    "The computed value %(value)s is not valid: %(problem)s",
                    value=str(result),
                    problem=problem,
                )
            )
        else:
            values[key] = clean
    for fd in defs:
        if fd.key in errors:
            continue
        if (
            not partial
            and fd.required_when is not None
            and not filled(values.get(fd.key))
            and fd.required_when.holds(values)
        ):
            errors[fd.key] = [fd.required_when.describe()]
        if fd.differs_from is not None and fd.key not in errors:
            mine, theirs = values.get(fd.key), values.get(fd.differs_from)
            if filled(mine) and filled(theirs) and _same(mine, theirs):
                errors[fd.key] = [differs_message(fd)]


def _order_of(defs: tuple[FieldDef, ...]) -> tuple[str, ...]:
    def never(key, message):  # the definition was checked when parsed
        raise AssertionError(message)

    return computed_order(defs, never)


def _same(a, b) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return sorted(map(str, a)) == sorted(map(str, b))
    return str(a).strip().casefold() == str(b).strip().casefold()


def differs_message(fd: FieldDef) -> str:
    """Say that a field must differ from another, the way the form shows and refuses it."""
    from qms.records.fields import localised

    other = localised(fd.differs_from_label) or fd.differs_from
    if fd.type == "user":
        return _("%(field)s must be someone other than %(other)s.", field=fd.label, other=other)
    return _("Must differ from %(other)s.", other=other)


def computed_hint(fd: FieldDef) -> str:
    """Say how a computed field's value is had: "Computed: Weight × 2"."""
    from qms.records.fields import localised

    labels = {k: localised(v) or k for k, v in fd.computed_labels.items()}
    return _("Computed: %(expression)s", expression=fd.computed.shown(labels))


def rule_hints(fd: FieldDef) -> list[str]:
    """Return the rules of a field as sentences shown beside it."""
    hints = []
    if fd.required_when is not None:
        hints.append(fd.required_when.describe())
    if fd.differs_from is not None:
        hints.append(differs_message(fd))
    if fd.computed is not None:
        hints.append(computed_hint(fd))
    return hints

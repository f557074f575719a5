"""A Griffe extension for the docs: give Equinox modules their dataclass `__init__`.

Griffe's static analysis does not know that an `equinox.Module` subclass is a
dataclass, so a module such as `hopjax.Anderson` would be shown without a signature,
and the Optimistix-style `Anderson.__init__.__doc__ = "**Arguments:** ..."` would be
lost. For every class without an `__init__` of its own whose runtime object is a
dataclass, this adds an `__init__` with the dataclass's parameters (annotations and
defaults as written in the source where possible) and the runtime `__init__.__doc__`
if the source set one. Abstract classes are left alone. Only modules that define
classes are imported (so never `hopjax/__main__.py`, which runs the CLI).
"""

import dataclasses
import importlib
import inspect

import griffe


_KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: griffe.ParameterKind.positional_only,
    inspect.Parameter.POSITIONAL_OR_KEYWORD: griffe.ParameterKind.positional_or_keyword,
    inspect.Parameter.VAR_POSITIONAL: griffe.ParameterKind.var_positional,
    inspect.Parameter.KEYWORD_ONLY: griffe.ParameterKind.keyword_only,
    inspect.Parameter.VAR_KEYWORD: griffe.ParameterKind.var_keyword,
}


def _runtime_class(cls: griffe.Class):
    try:
        obj = importlib.import_module(cls.module.path)
    except Exception:  # noqa: BLE001 -- a module that cannot be imported keeps no signature
        return None
    for part in cls.path[len(cls.module.path) + 1 :].split("."):
        obj = getattr(obj, part, None)
    return obj if inspect.isclass(obj) else None


def _is_eqx_field_call(value) -> bool:
    return isinstance(value, griffe.ExprCall) and str(value.function).endswith("field")


class EquinoxInit(griffe.Extension):
    """Synthesise `__init__` for dataclass-like classes (Equinox modules)."""

    def on_class_members(self, *, cls: griffe.Class, **kwargs) -> None:
        del kwargs
        if "__init__" in cls.members or not cls.path.startswith("hopjax"):
            return
        obj = _runtime_class(cls)
        if obj is None or not dataclasses.is_dataclass(obj) or inspect.isabstract(obj):
            return  # abstract bases are not constructed: no signature to show
        init = obj.__init__
        parameters = [griffe.Parameter("self", kind=griffe.ParameterKind.positional_or_keyword)]
        for name, param in inspect.signature(obj).parameters.items():
            source = cls.all_members.get(name)
            annotation = getattr(source, "annotation", None)
            if annotation is None and param.annotation is not inspect.Parameter.empty:
                annotation = inspect.formatannotation(param.annotation)
            default = None
            if param.default is not inspect.Parameter.empty:
                default = getattr(source, "value", None)
                if default is None or _is_eqx_field_call(default):
                    value = param.default
                    default = getattr(value, "__name__", None) or repr(value)
            parameters.append(
                griffe.Parameter(
                    name, annotation=annotation, kind=_KINDS[param.kind], default=default
                )
            )
        function = griffe.Function(
            "__init__",
            parameters=griffe.Parameters(*parameters),
            returns="None",
            lineno=cls.lineno,
            endlineno=cls.lineno,
        )
        doc = init.__doc__
        generated = ("Initialize self.", f"{obj.__name__}(")  # Equinox's / dataclasses'
        if doc and not doc.startswith(generated):
            function.docstring = griffe.Docstring(
                inspect.cleandoc(doc), parent=function, lineno=cls.lineno
            )
        cls.set_member("__init__", function)

"""Job configuration: YAML defaults in ``conf/``, a user file over them, then env vars.

Configuration lives outside code so that the same job runs on a laptop, a
spark-submit cluster and Databricks, and so that a user's own CRM fits by
editing YAML rather than Python.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from leadlake.errors import ConfError

LAKEHOUSE_ENV = "LEADLAKE_LAKEHOUSE"
CONF_DIR_ENV = "LEADLAKE_CONF_DIR"


def conf_dir() -> Path:
    """The directory with ``default.yaml`` and the Spark profiles.

    ``LEADLAKE_CONF_DIR`` when set; else the copy an installed wheel carries
    (``leadlake/conf``, package data); else the checkout's ``conf/`` (editable
    install, spark-submit from the repository).
    """
    env = os.environ.get(CONF_DIR_ENV)
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve().parent
    candidates += [here / "conf", here.parent / "conf"]
    for cand in candidates:
        if (cand / "default.yaml").is_file():
            return cand
    raise ConfError(
        f"cannot find leadlake's conf/default.yaml (looked in {', '.join(map(str, candidates))}); "
        f"set {CONF_DIR_ENV} to the conf directory"
    )


def read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfError(f"configuration file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfError(f"{path} is not valid YAML{where}") from None
    except UnicodeDecodeError:
        raise ConfError(f"{path} is not UTF-8 text") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfError(f"{path} must hold a YAML mapping at the top level")
    return data


# Sections whose keys are the user's own (table names, Spark properties, labels, contracts).
OPEN_SECTIONS = ("tables", "spark.conf", "needs.categories", "discovery.classes", "contracts")


def check_keys(user: Mapping[str, Any], defaults: Mapping[str, Any], source: str, prefix: str = "") -> None:
    """Refuse keys the defaults do not know, naming the closest known one.

    Every setting has its default in ``conf/default.yaml``, so a key that is
    not there is a typo or a setting of another version; silently ignoring it
    would run the job with the default the user meant to change.
    """
    import difflib

    for key, value in user.items():
        dotted = f"{prefix}{key}"
        if dotted in OPEN_SECTIONS:
            continue
        if key not in defaults:
            known = [f"{prefix}{k}" for k in defaults]
            close = difflib.get_close_matches(dotted, known, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}?" if close else f"; known here: {', '.join(sorted(known)) or '(none)'}"
            raise ConfError(f"{source}: unknown conf key {dotted}{hint}")
        default = defaults[key]
        # A mapping default is a section to check; null, list or scalar defaults take any value.
        if isinstance(value, Mapping) and isinstance(default, Mapping):
            check_keys(value, default, source, f"{dotted}.")


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``over`` into a copy of ``base``; nested mappings merge, everything else replaces."""
    out = copy.deepcopy(dict(base))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


T = TypeVar("T")
_MISSING = object()


@dataclass(frozen=True)
class Conf:
    """The merged configuration of one job run.

    Lookups take no default: every key has its default in
    ``conf/default.yaml``, the one place a reader (or a user) looks for it, so
    a key that is absent here is a bug to report, not a value to guess.
    """

    data: dict[str, Any] = field(default_factory=dict)
    _views: dict = field(default_factory=dict, compare=False, repr=False)

    def get(self, dotted: str) -> Any:
        """Look up ``a.b.c``; keys that themselves contain dots are tried whole first."""
        value = self._find(dotted)
        if value is _MISSING:
            raise ConfError(f"conf key {dotted} is not set (every key has its default in conf/default.yaml; "
                            "a conf file that sets a section to null removes its keys)")
        return value

    def _find(self, dotted: str) -> Any:
        node: Any = self.data
        parts = dotted.split(".")
        i = 0
        while i < len(parts):
            if not isinstance(node, Mapping):
                return _MISSING
            for j in range(len(parts), i, -1):
                key = ".".join(parts[i:j])
                if key in node:
                    node = node[key]
                    i = j
                    break
            else:
                return _MISSING
        return node

    def section(self, dotted: str, cls: type[T]) -> T:
        """The section at ``dotted`` as the frozen dataclass ``cls``, checked once per run and then reused.

        Each field is read from the key of the same name and converted to its
        annotated type; a value of the wrong kind is a ConfError naming the
        key, not a TypeError deep inside a Spark job.
        """
        key = (dotted, cls)
        if key not in self._views:
            self._views[key] = _typed(self.get(dotted), cls, dotted)
        return self._views[key]

    @property
    def lakehouse(self) -> str:
        return str(self.data["lakehouse"])

    def with_overrides(self, overrides: Mapping[str, Any]) -> Conf:
        return Conf(deep_merge(self.data, overrides))


def _typed(value: Any, cls: type[T], dotted: str) -> T:
    if not isinstance(value, Mapping):
        raise ConfError(f"{dotted} must be a mapping of settings, not {value!r}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in value:
            raise ConfError(f"conf key {dotted}.{f.name} is not set (its default is in conf/default.yaml)")
        kwargs[f.name] = _convert(value[f.name], hints[f.name], f"{dotted}.{f.name}")
    try:
        return cls(**kwargs)
    except ValueError as exc:  # a section's own check, e.g. "trainer must be one of ..."
        raise ConfError(f"{dotted}.{exc}") from None


def _convert(value: Any, hint: Any, dotted: str) -> Any:
    """``value`` as the annotated type: int, float, str, bool, X | None, tuple[X, ...], dict, a dataclass."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        return _convert(value, next(a for a in args if a is not type(None)), dotted)
    if dataclasses.is_dataclass(hint):
        return _typed(value, hint, dotted)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfError(f"{dotted} must be a list, not {value!r}")
        return tuple(_convert(v, args[0], dotted) for v in value)
    if hint is dict or origin is dict:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise ConfError(f"{dotted} must be a mapping, not {value!r}")
        return dict(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfError(f"{dotted} must be true or false, not {value!r}")
        return value
    if hint in (int, float):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ConfError(f"{dotted} must be a number, not {value!r}")
        try:
            number = float(value)
        except ValueError:
            raise ConfError(f"{dotted} must be a number, not {value!r}") from None
        if hint is int and not number.is_integer():
            raise ConfError(f"{dotted} must be a whole number, not {value!r}")
        return hint(number)
    if hint is str:
        if value is None or isinstance(value, Mapping | list):
            raise ConfError(f"{dotted} must be text, not {value!r}")
        return str(value)
    return value


def load_conf(
    path: str | os.PathLike[str] | None = None,
    *,
    lakehouse: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Conf:
    """Defaults, then the user's file, then ``LEADLAKE_LAKEHOUSE``, then explicit values."""
    data = read_yaml(conf_dir() / "default.yaml")
    if path is not None:
        user = read_yaml(Path(path))
        check_keys(user, data, str(path))
        data = deep_merge(data, user)
    env_root = os.environ.get(LAKEHOUSE_ENV)
    if env_root:
        data["lakehouse"] = env_root
    if lakehouse:
        data["lakehouse"] = lakehouse
    if overrides:
        data = deep_merge(data, overrides)
    if not data.get("lakehouse"):
        raise ConfError("no lakehouse root configured (use --lakehouse or LEADLAKE_LAKEHOUSE)")
    return Conf(data)


def spark_properties(conf: Conf) -> dict[str, str]:
    """The Spark properties of the configured profile with ``spark.conf`` over them."""
    profile = conf.get("spark.profile")
    props: dict[str, Any] = {}
    if profile:
        profile_path = conf_dir() / "spark" / f"{profile}.yaml"
        if not profile_path.is_file():
            known = sorted(p.stem for p in (conf_dir() / "spark").glob("*.yaml"))
            raise ConfError(f"unknown Spark profile {profile!r}; known profiles: {', '.join(known)}")
        props.update(read_yaml(profile_path))
    props.update(conf.get("spark.conf") or {})
    return {str(k): _spark_value(v) for k, v in props.items()}


def _spark_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

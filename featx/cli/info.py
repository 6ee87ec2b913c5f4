"""featx info FILE: what a feature store holds and how it was made.

Its configurations and sources; then one configuration (the only one, or --config NAME): rows and
feature size, the configuration and software versions, labels, splits, exact duplicates (a copy
across splits is a leak, a copy across labels a conflict), and the images that failed with their
reasons; --json gives all of it as one JSON object.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter

import numpy as np

from featx.cli.options import EXIT_OK, add_command, add_config_option
from featx.store.groups import describe_counts
from featx.store.read import Features, configs, load, sources
from featx.store.schema import provenance

SHOWN = 20  # errors and duplicate groups listed in text (--json lists all)


def add_parser(subparsers) -> None:
    p = add_command(subparsers, "info", "summarise a feature file", __doc__)
    p.add_argument("file", help="HDF5 feature file written by `featx embed`")
    add_config_option(p)
    p.add_argument("--json", action="store_true",
                   help="print one JSON object with every error and duplicate listed (default: "
                   f"text, the first {SHOWN} of each)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    info = summary(args.file, args.config)
    print(json.dumps(info, indent=2) if args.json else describe(info))
    return EXIT_OK


def summary(path: str, config: str | None = None) -> dict:
    """What ``featx info`` reports, as plain values: the store's configurations and sources,
    and one configuration in full when the store holds one (or ``config`` names it)."""
    held, listed = configs(path), sources(path)
    info = {"file": str(path),
            "configurations": {name: _plain(attrs.get("feature_dim")) for name, attrs in
                               held.items()},
            "sources": [{"source": s["source"], "images": s["entries"]} for s in listed]}
    if len(held) == 1 or (held and config is not None):
        with load(path, config) as feats:
            info.update(_configuration(feats))
    elif not held:
        info["errors"] = [{"path": p, "reason": r} for s in listed for p, r in s["errors"]]
    return info


def _configuration(feats: Features) -> dict:
    names = feats.label_names
    paths = feats.paths
    return {
        "config": feats.config,
        "rows": len(feats),
        "feature_dim": feats.dim,
        "configuration": {k: _plain(feats.meta[k]) for k in provenance()
                          if feats.meta.get(k) not in (None, "")},
        "labels": dict(sorted(Counter(names[i] if i >= 0 else "(none)" for i in feats.y).items())),
        "splits": dict(sorted(Counter(str(s) or "(none)" for s in feats.split).items())),
        "duplicates": [{"leak": g.leak, "conflict": g.conflict,
                        "images": [{"path": paths[row], "label": label, "split": split}
                                   for row, label, split in zip(g.rows, g.labels, g.splits,
                                                                strict=True)]}
                       for g in feats.duplicates()],
        "not_embedded": list(feats.missing),
        "errors": [{"path": e.path, "reason": e.reason} for e in feats.errors],
    }


def describe(info: dict) -> str:
    """:func:`summary` as text."""
    lines = [f"{info['file']}: {len(info['configurations'])} configuration"
             f"{'s' if len(info['configurations']) != 1 else ''}, sources "
             + (", ".join(f"{s['source']} ({s['images']} images)" for s in info["sources"])
                or "none")]
    if "config" not in info:
        lines += [f"  {name}: {dim}-d" for name, dim in info["configurations"].items()]
        if info["configurations"]:
            lines.append("  (describe one with --config NAME)")
        return "\n".join(lines + _errors(info.get("errors", [])))
    config = info
    lines.append(f"{config['config']}: {config['rows']} rows x {config['feature_dim']} float32 "
                 "features")
    lines += [f"  {k:<20} {v}" for k, v in config["configuration"].items()]
    for what in ("labels", "splits"):
        counts = ", ".join(f"{k} {v}" for k, v in config[what].items())
        lines.append(f"  {what}: {counts or 'none'}")
    lines += _duplicates(config["duplicates"])
    if config["not_embedded"]:
        lines.append(f"  not embedded with this configuration: {len(config['not_embedded'])} "
                     "listed images (rerun `featx embed` with it)")
    return "\n".join(lines + _errors(config["errors"]))


def _duplicates(groups: list[dict]) -> list[str]:
    kinds = describe_counts(len(groups), sum(g["leak"] for g in groups),
                            sum(g["conflict"] for g in groups))
    lines = [f"  exact duplicates: {kinds if groups else 'none'}"]
    for group in groups[:SHOWN]:
        kind = " + ".join(k for k, flag in (("leak", group["leak"]),
                                            ("label conflict", group["conflict"])) if flag)
        lines.append(f"    {kind or 'copies'}: " + ", ".join(
            f"{i['path']} ({i['label'] or 'unlabelled'}, {i['split'] or 'no split'})"
            for i in group["images"]))
    if len(groups) > SHOWN:
        lines.append(f"    ... and {len(groups) - SHOWN} more groups (--json lists all)")
    return lines


def _errors(errors: list[dict]) -> list[str]:
    lines = [f"  errors: {len(errors)}"]
    lines += [f"    {e['path']}: {e['reason']}" for e in errors[:SHOWN]]
    if len(errors) > SHOWN:
        lines.append(f"    ... and {len(errors) - SHOWN} more (--json lists all)")
    return lines


def _plain(value):
    """An attribute as a JSON value (HDF5 gives NumPy scalars and arrays)."""
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    return value

"""``featx embed`` as a function: list -> plan -> batches through the backbone -> the journal.

1. :func:`featx.images.sources.list_images` lists the images (the configuration is resolved once,
   by :func:`featx.backbones.config.resolve`, and passed whole from there).
2. A :class:`featx.store.journal.Journal` locks the output and reads what it holds for this
   configuration, and the source's entries (the stat cache).
3. :func:`featx.embedding.plan.plan` keys every image and keeps only content the store lacks; a
   fully cached run stops here, before importing TensorFlow.
4. The runner, :func:`featx.embedding.batches.embed_batches`, embeds the rest batch by batch, each
   batch written as a journal part: here, or shard by shard on Dask workers
   (:mod:`featx.embedding.dask`).
5. :meth:`Journal.commit <featx.store.journal.Journal.commit>` commits the parts and the source's
   new entries: every listed image, embedded or failed, in listing order.

Several configurations that share a forward pass (several layers, or poolings, of one backbone,
input size, resize and augmentation) are embedded by one run: each image is decoded once, the
backbone runs once, and each configuration is written to the store as its own, an ordinary
configuration that :func:`featx.load` reads. Images are embedded when any of the configurations
lacks their content.

>>> options = dict(backbone="mobilenetv2", weights=None, input_size=32, progress=False)
>>> result = embed("images", "new.h5", **options)
>>> result.embedded, result.reused, result.failures
(16, 0, [])
>>> embed("images", "new.h5", **options).reused  # a rerun embeds nothing
16
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from featx.backbones.config import FeatureConfig, resolve
from featx.backbones.layers import layer_configs
from featx.backbones.registry import DEFAULT_BACKBONE
from featx.embedding.batches import Done, embed_batches
from featx.embedding.options import RunOptions
from featx.embedding.plan import Plan, plan
from featx.errors import FeatxError
from featx.images.sources import IMAGE_EXTENSIONS, Item, list_images
from featx.store.groups import Group, describe, duplicate_groups
from featx.store.journal import ContentIndex, Journal, Update
from featx.store.read import Snapshot, find_configs
from featx.store.schema import KEY, Failure, config_name, path_text, source_name
from featx.store.shards import deltas
from featx.store.tables import KeyIndex, Table


@dataclass
class EmbedResult:
    """What one run did. ``keys`` has each listed image's content key (``None`` where its file
    could not be read); ``duplicates`` counts listed images whose content another listed image
    has, ``groups`` those groups; ``config`` names the configuration in the store (``configs``
    every configuration of the run, in order);
    ``seconds`` is the whole run, ``load_seconds`` building the backbone and ``embed_seconds``
    the batches."""

    out: str
    items: list[Item]
    keys: list[str | None]
    config: str = ""
    configs: list[str] = field(default_factory=list)
    embedded: int = 0
    reused: int = 0
    duplicates: int = 0
    groups: list[Group] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0
    load_seconds: float = 0.0
    embed_seconds: float = 0.0
    interrupted: bool = False

    def summary(self) -> str:
        groups = f" ({describe(self.groups)})" if self.groups else ""
        rate = ""
        if self.embedded and self.embed_seconds:
            rate = f" ({self.embedded / self.embed_seconds:.1f} images/s"
            rate += f" after {self.load_seconds:.1f} s loading the backbone)" if self.load_seconds \
                else ")"
        stop = " (interrupted; rerun to finish)" if self.interrupted else ""
        several = (f" ({len(self.configs)} configurations, one forward pass)"
                   if len(self.configs) > 1 else "")
        return (f"{self.out}{several}: embedded {self.embedded}, reused {self.reused}, duplicates "
                f"{self.duplicates}{groups}, failed {len(self.failures)} in {self.seconds:.1f} s"
                f"{rate}{stop}")

    def report(self, limit: int = 20) -> str:
        """The summary line, then up to ``limit`` failed images with their reasons."""
        lines = [self.summary()]
        lines += [f"  failed: {path_text(f.path)}: {f.reason}" for f in self.failures[:limit]]
        if len(self.failures) > limit:
            lines.append(f"  ... and {len(self.failures) - limit} more "
                         f"(see `featx info {self.out}`)")
        return "\n".join(lines)


def embed(
    source: str | os.PathLike | Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    backbone: str = DEFAULT_BACKBONE,
    layer: str | Sequence[str] | None = None,
    pooling: str = "avg",
    input_size: int | tuple[int, int] | None = None,
    weights: str | os.PathLike | None = "imagenet",
    preprocess: str | None = None,
    resize: str = "squash",
    augment: str = "none",
    batch_size: int = 32,
    threads: int | None = None,
    extensions: Sequence[str] = IMAGE_EXTENSIONS,
    recursive: bool = True,
    on_error: str = "skip",
    progress: bool = True,
    lock_timeout: float = 0,
    client=None,
    workers: int | None = None,
    shard_size: int = 256,
) -> EmbedResult:
    """Embed every image of ``source`` into the feature store ``out`` (created or extended).

    The feature options are those of :func:`featx.backbones.config.resolve`, the run options those
    of :class:`featx.embedding.options.RunOptions`; ``layer`` may also list several layers
    (``"L1,L2"``, a list, or ``"auto"``: :func:`featx.backbones.layers.layer_configs`), each
    stored as its own configuration, all from one forward pass. Another process writing ``out``
    makes this fail at once, or wait up to ``lock_timeout`` s. ``client`` (a
    ``distributed.Client`` or a scheduler address) or ``workers`` (a new local cluster of that
    many processes) embeds on Dask, ``shard_size`` images per task; see
    :mod:`featx.embedding.dask`.
    """
    options = RunOptions(batch_size, threads, on_error, progress, lock_timeout, shard_size)
    config = resolve(backbone, pooling=pooling, input_size=input_size, weights=weights,
                     preprocess=preprocess, resize=resize, augment=augment)
    return run(layer_configs(config, layer), source, out, options, extensions=extensions,
               recursive=recursive, client=client, workers=workers)


def run(config: FeatureConfig | Sequence[FeatureConfig],
        source: str | os.PathLike | Sequence[str | os.PathLike], out: str | os.PathLike,
        options: RunOptions | None = None, *, extensions: Sequence[str] = IMAGE_EXTENSIONS,
        recursive: bool = True, client=None, workers: int | None = None,
        entries: bool = True) -> EmbedResult:
    """:func:`embed` for a resolved configuration (or several of one forward pass) and run
    options, passed whole.

    ``entries=False`` adds content only: the images are embedded (or found) in the store without
    recording them as a source's entries (as :class:`featx.FeatureExtractor` and ``featx predict
    --cache`` do), so no data set's entries, labels or splits change.
    """
    start = time.perf_counter()
    configs = _one_pass(config)
    listing = list_images(source, extensions, recursive)
    options = (options or RunOptions()).with_threads()
    with Journal(out, options.lock_timeout) as journal:
        contents = [journal.content(c) for c in configs]
        if None in contents:  # a model file's defaults match several stored configurations
            configs = list(_backbone(configs, options).configs)
            contents = [journal.content(c) for c in configs]
        source = path_text(listing.source)  # as stored: undecodable bytes escaped
        stats = journal.entries(source, ("path", "size", "mtime", "key")) \
            if entries else None
        work = plan(listing.items, HeldByAll(contents), stats, options.threads)
        result = EmbedResult(os.fspath(out), listing.items, [], reused=work.reused)
        finished = False
        try:
            if work.todo:
                _embed(work, configs, journal, options, result, client, workers)
            finished = True
        except KeyboardInterrupt:
            result.interrupted = True
        finally:  # what was embedded is kept; the source is complete only if the run finished
            result.configs = _names(contents, configs)
            result.config = result.configs[0]
            _finish(result, work)
            inherit = tuple(c for c in ("label", "split") if c not in listing.stated)
            journal.commit(Update(source, _entries(work), tuple(result.configs),
                                  complete=finished, inherit=inherit) if entries else None)
    result.seconds = time.perf_counter() - start
    return result


def _one_pass(config: FeatureConfig | Sequence[FeatureConfig]) -> list[FeatureConfig]:
    """The configurations of a run, refused unless one forward pass computes them all."""
    configs = [config] if isinstance(config, FeatureConfig) else list(dict.fromkeys(config))
    if not configs:
        raise FeatxError("no feature configuration to embed with")
    if len({c.forward_pass() for c in configs}) > 1:
        raise FeatxError("one run embeds configurations that differ only in layer and pooling "
                         "(one forward pass); run the others separately")
    return configs


class HeldByAll:
    """What every configuration of a run holds, for :func:`featx.embedding.plan.plan`: content
    all of them hold is reused; content any of them failed on fails."""

    def __init__(self, contents: Sequence[ContentIndex]):
        self.contents = contents
        self.failed = {key: reason for c in contents for key, reason in c.failed.items()}

    def has(self, keys) -> np.ndarray:
        return np.logical_and.reduce([content.has(keys) for content in self.contents])


def preview(config: FeatureConfig | Sequence[FeatureConfig],
            source: str | os.PathLike | Sequence[str | os.PathLike],
            out: str | os.PathLike | None, threads: int | None = None, *,
            extensions: Sequence[str] = IMAGE_EXTENSIONS,
            recursive: bool = True) -> Plan:
    """What :func:`run` would embed, found as it would (the stat cache, else hashing) but reading
    the store without locking or writing it: ``plan.todo`` holds one listed image per distinct
    content to embed, ``plan.reused`` counts the listed images already cached (none without a
    store: ``out`` ``None`` or absent). A model file's configuration whose defaults match
    several stored ones counts as not cached."""
    configs = _one_pass(config)
    listing = list_images(source, extensions, recursive)
    threads = threads or RunOptions().with_threads().threads
    if out is None or (not os.path.exists(out) and not deltas(out)):
        return plan(listing.items, ContentIndex.empty(), None, threads)
    snapshot = Snapshot(out)
    try:
        contents = [_stored(snapshot, c) for c in configs]
        stats = snapshot.entries(source_name(path_text(listing.source)),
                                 ("path", "size", "mtime", "key"))
        return plan(listing.items, HeldByAll(contents), stats, threads)
    finally:
        snapshot.close()


def _stored(snapshot: Snapshot, config: FeatureConfig) -> ContentIndex:
    names = find_configs(snapshot.configs(), config)
    if len(names) != 1:
        return ContentIndex.empty()
    nothing = KeyIndex(np.empty(0, KEY))
    return ContentIndex(names[0], KeyIndex(np.concatenate(snapshot.content_keys(names[0]))),
                        nothing, snapshot.failed(names[0]))


def _embed(work: Plan, configs: list[FeatureConfig], journal: Journal, options: RunOptions,
           result: EmbedResult, client, workers: int | None) -> None:
    """Run the runner on the todo list (here or on Dask), recording what it did in ``work``."""
    todo = [(i, work.keyed[i]) for i in work.todo]
    if client is not None or workers is not None:
        from featx.embedding.dask import embed_on_dask

        steps: Iterator[Done] = embed_on_dask(todo, _key(configs), journal.out, options,
                                              client=client, workers=workers)
    else:
        start = time.perf_counter()
        net = _backbone(configs, options)
        result.load_seconds = time.perf_counter() - start
        steps = embed_batches(todo, net, journal.write_part, options)
    start = time.perf_counter()
    with tqdm(total=len(todo), unit="img", disable=not options.progress,
              desc="embedding") as bar:
        for done in steps:
            for position, keyed in done.read.items():
                work.keyed[position] = keyed
            work.failed.update(done.failed)
            result.embedded += done.embedded
            bar.update(done.images)
    result.embed_seconds = time.perf_counter() - start


def _backbone(configs: list[FeatureConfig], options: RunOptions):
    """The built backbone of ``configs`` (saying so first when progress is shown)."""
    from featx.backbones.build import load_backbone

    if options.progress:
        layers = f" + {len(configs) - 1} more layers" if len(configs) > 1 else ""
        print(f"loading {configs[0].describe()}{layers} ...", file=sys.stderr, flush=True)
    return load_backbone(_key(configs))


def _key(configs: list[FeatureConfig]) -> FeatureConfig | tuple[FeatureConfig, ...]:
    """What :func:`featx.backbones.build.load_backbone` is given (and caches by): the one
    configuration, or the tuple of several."""
    return configs[0] if len(configs) == 1 else tuple(configs)


def _names(contents: list[ContentIndex], configs: list[FeatureConfig]) -> list[str]:
    """Each configuration's name in the store: the stored one, else made from the configuration
    resolved (building the backbone only then)."""
    if all(content.name for content in contents):
        return [content.name for content in contents]
    return [content.name or config_name(resolved.attrs())
            for content, resolved in zip(contents, _resolved(configs), strict=True)]


def _resolved(configs: list[FeatureConfig]) -> list[FeatureConfig]:
    """``configs`` with the values only the built model tells (a model file's default layer and
    input size), building it only when they are missing."""
    if all(c.layer is not None and c.input_size for c in configs):
        return configs
    from featx.backbones.build import load_backbone

    return list(load_backbone(_key(configs)).configs)


def _finish(result: EmbedResult, work: Plan) -> None:
    """Fill ``result`` from the planned and embedded images: keys, failures (an image whose
    content failed fails too, whichever listed copy was read), duplicates."""
    reasons = {work.keyed[i].key: reason for i, reason in work.failed.items()}
    failed = {**work.failures(), **work.failed,
              **{i: reasons[k.key] for i, k in enumerate(work.keyed) if k.key in reasons}}
    result.keys = [k.key or None for k in work.keyed]
    result.failures = [Failure(work.keyed[i].item.path, reason, work.keyed[i].key)
                       for i, reason in sorted(failed.items())]
    result.groups = duplicate_groups([k.key if i not in failed else ""
                                      for i, k in enumerate(work.keyed)],
                                     [k.item.label for k in work.keyed],
                                     [k.item.split for k in work.keyed])
    result.duplicates = sum(len(g.rows) - 1 for g in result.groups)


def _text(name: str | None) -> str | None:
    """A label or split as stored: a folder name's undecodable bytes as ``\\xNN`` escapes."""
    return path_text(name) if name else name


def _entries(work: Plan) -> Table:
    """The source's entries: every listed image as it was read, in listing order."""
    rows = work.keyed
    return Table.make("entries", path=[path_text(k.item.path) for k in rows],
                      label=[_text(k.item.label) for k in rows],
                      split=[_text(k.item.split) for k in rows],
                      key=[k.key for k in rows], size=[k.size for k in rows],
                      mtime=[k.mtime for k in rows], error=[_text(k.error) for k in rows])

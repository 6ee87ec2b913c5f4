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

from tqdm import tqdm

from featx.backbones.config import FeatureConfig, resolve
from featx.backbones.registry import DEFAULT_BACKBONE
from featx.embedding.batches import Done, embed_batches
from featx.embedding.options import RunOptions
from featx.embedding.plan import Plan, plan
from featx.images.sources import IMAGE_EXTENSIONS, Item, list_images
from featx.store.groups import Group, describe, duplicate_groups
from featx.store.journal import Journal, Update
from featx.store.schema import Failure, config_name, path_text
from featx.store.tables import Table


@dataclass
class EmbedResult:
    """What one run did. ``keys`` has each listed image's content key (``None`` where its file
    could not be read); ``duplicates`` counts listed images whose content another listed image
    has, ``groups`` those groups; ``config`` names the configuration in the store;
    ``seconds`` is the whole run, ``load_seconds`` building the backbone and ``embed_seconds``
    the batches."""

    out: str
    items: list[Item]
    keys: list[str | None]
    config: str = ""
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
        return (f"{self.out}: embedded {self.embedded}, reused {self.reused}, duplicates "
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
    layer: str | None = None,
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
    of :class:`featx.embedding.options.RunOptions`. Another process writing ``out`` makes this fail
    at once, or wait up to ``lock_timeout`` s. ``client`` (a ``distributed.Client`` or a scheduler
    address) or ``workers`` (a new local cluster of that many processes) embeds on Dask,
    ``shard_size`` images per task; see :mod:`featx.embedding.dask`.
    """
    options = RunOptions(batch_size, threads, on_error, progress, lock_timeout, shard_size)
    config = resolve(backbone, layer=layer, pooling=pooling, input_size=input_size,
                     weights=weights, preprocess=preprocess, resize=resize, augment=augment)
    return run(config, source, out, options, extensions=extensions, recursive=recursive,
               client=client, workers=workers)


def run(config: FeatureConfig, source: str | os.PathLike | Sequence[str | os.PathLike],
        out: str | os.PathLike, options: RunOptions | None = None, *,
        extensions: Sequence[str] = IMAGE_EXTENSIONS, recursive: bool = True, client=None,
        workers: int | None = None, entries: bool = True) -> EmbedResult:
    """:func:`embed` for a resolved configuration and run options, both passed whole.

    ``entries=False`` adds content only: the images are embedded (or found) in the store without
    recording them as a source's entries (as :class:`featx.FeatureExtractor` and ``featx predict
    --cache`` do), so no data set's entries, labels or splits change.
    """
    start = time.perf_counter()
    listing = list_images(source, extensions, recursive)
    options = (options or RunOptions()).with_threads()
    with Journal(out, options.lock_timeout) as journal:
        content = journal.content(config)
        if content is None:  # a model file's defaults match several stored configurations
            config = _backbone(config, options).config
            content = journal.content(config)
        stats = journal.entries(listing.source, ("path", "size", "mtime", "key")) \
            if entries else None
        work = plan(listing.items, content, stats, options.threads)
        result = EmbedResult(os.fspath(out), listing.items, [], reused=work.reused)
        try:
            if work.todo:
                _embed(work, config, journal, options, result, client, workers)
        except KeyboardInterrupt:
            result.interrupted = True
        finally:
            result.config = content.name or config_name(_resolved(config).attrs())
            _finish(result, work)
            journal.commit(Update(listing.source, _entries(work), result.config,
                                  complete=not result.interrupted) if entries else None)
    result.seconds = time.perf_counter() - start
    return result


def _embed(work: Plan, config: FeatureConfig, journal: Journal, options: RunOptions,
           result: EmbedResult, client, workers: int | None) -> None:
    """Run the runner on the todo list (here or on Dask), recording what it did in ``work``."""
    todo = [(i, work.keyed[i]) for i in work.todo]
    if client is not None or workers is not None:
        from featx.embedding.dask import embed_on_dask

        steps: Iterator[Done] = embed_on_dask(todo, config, journal.out, options, client=client,
                                              workers=workers)
    else:
        start = time.perf_counter()
        net = _backbone(config, options)
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


def _backbone(config: FeatureConfig, options: RunOptions):
    """The built backbone of ``config`` (saying so first when progress is shown)."""
    from featx.backbones.build import load_backbone

    if options.progress:
        print(f"loading {config.describe()} ...", file=sys.stderr, flush=True)
    return load_backbone(config)


def _resolved(config: FeatureConfig) -> FeatureConfig:
    """``config`` with the values only the built model tells (a model file's default layer and
    input size), building it only when they are missing."""
    if config.layer and config.input_size:
        return config
    from featx.backbones.build import load_backbone

    return load_backbone(config).config


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


def _entries(work: Plan) -> Table:
    """The source's entries: every listed image as it was read, in listing order."""
    rows = work.keyed
    return Table.make("entries", path=[path_text(k.item.path) for k in rows],
                      label=[k.item.label for k in rows], split=[k.item.split for k in rows],
                      key=[k.key for k in rows], size=[k.size for k in rows],
                      mtime=[k.mtime for k in rows], error=[k.error for k in rows])

"""``featx embed`` as a function: list -> plan -> batches through the backbone -> the journal.

1. :func:`featx.images.sources.list_images` lists the images (the configuration is resolved once,
   by :func:`featx.backbones.config.resolve`, and passed whole from there).
2. A :class:`featx.store.journal.Journal` locks the output and reads what it already holds.
3. :func:`featx.embedding.plan.plan` keys every image and keeps only unseen content; a fully cached
   run stops here, before importing TensorFlow.
4. The runner, :func:`featx.embedding.batches.embed_batches`, embeds the rest batch by batch, each
   batch written as a journal part: here, or shard by shard on Dask workers
   (:mod:`featx.embedding.dask`).
5. :meth:`Journal.commit <featx.store.journal.Journal.commit>` merges the parts into the file.

>>> options = dict(backbone="mobilenetv2", weights=None, input_size=32, progress=False)
>>> result = embed("images", "new.h5", **options)
>>> result.embedded, result.reused, result.failures
(16, 0, [])
>>> embed("images", "new.h5", **options).reused  # a rerun embeds nothing
16
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from tqdm import tqdm

from featx.backbones.config import FeatureConfig, resolve
from featx.backbones.registry import DEFAULT_BACKBONE
from featx.embedding.batches import Done, embed_batches
from featx.embedding.options import RunOptions
from featx.embedding.plan import plan
from featx.images.sources import IMAGE_EXTENSIONS, Item, list_images
from featx.store.journal import Journal
from featx.store.schema import Failure, path_text


@dataclass
class EmbedResult:
    """What one run did. ``keys`` has each listed image's content key (``None`` if it failed)."""

    out: str
    items: list[Item]
    keys: list[str | None]
    embedded: int = 0
    reused: int = 0
    duplicates: int = 0
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False

    def summary(self) -> str:
        rate = f" ({self.embedded / self.seconds:.1f} images/s)" if self.embedded else ""
        stop = " (interrupted; rerun to finish)" if self.interrupted else ""
        return (f"{self.out}: embedded {self.embedded}, reused {self.reused}, duplicates "
                f"{self.duplicates}, failed {len(self.failures)} in {self.seconds:.1f} s"
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
    """Embed every image of ``source`` into the HDF5 feature file ``out`` (created or extended).

    The feature options are those of :func:`featx.backbones.config.resolve`, the run options those
    of :class:`featx.embedding.options.RunOptions`. Another process writing ``out`` makes this fail
    at once, or wait up to ``lock_timeout`` s. ``client`` (a ``distributed.Client`` or a scheduler
    address) or ``workers`` (a new local cluster of that many processes) embeds on Dask,
    ``shard_size`` images per task; see :mod:`featx.embedding.dask`.
    """
    options = RunOptions(batch_size, threads, on_error, progress, lock_timeout, shard_size)
    config = resolve(backbone, layer=layer, pooling=pooling, input_size=input_size,
                     weights=weights, preprocess=preprocess, resize=resize)
    return run(config, source, out, options, extensions=extensions, recursive=recursive,
               client=client, workers=workers)


def run(config: FeatureConfig, source: str | os.PathLike | Sequence[str | os.PathLike],
        out: str | os.PathLike, options: RunOptions | None = None, *,
        extensions: Sequence[str] = IMAGE_EXTENSIONS, recursive: bool = True, client=None,
        workers: int | None = None) -> EmbedResult:
    """:func:`embed` for a resolved configuration and run options, both passed whole."""
    start = time.perf_counter()
    listing = list_images(source, extensions, recursive)
    options = (options or RunOptions()).with_threads()
    with Journal(out, config, options.lock_timeout) as journal:
        work = plan(listing.items, journal.index, options.threads)
        result = EmbedResult(os.fspath(out), listing.items, work.keys, reused=work.reused,
                             duplicates=work.duplicates, failures=work.failures)
        try:
            if work.todo:
                steps = (_on_dask(work.todo, config, out, options, client, workers)
                         if client is not None or workers is not None
                         else _locally(work.todo, config, journal, options))
                with tqdm(total=len(work.todo), unit="img", disable=not options.progress,
                          desc="embedding") as bar:
                    for done in steps:
                        result.embedded += done.embedded
                        result.failures.extend(done.failures)
                        bar.update(done.images)
        except KeyboardInterrupt:
            result.interrupted = True
        finally:
            journal.commit(work.seen, result.failures, {item.path for item in listing.items})
    result.seconds = time.perf_counter() - start
    return result


def _locally(todo: list, config: FeatureConfig, journal: Journal,
             options: RunOptions) -> Iterator[Done]:
    """The runner in this process, each batch a journal part (the backbone is built first)."""
    from featx.backbones.build import load_backbone

    return embed_batches(todo, load_backbone(config), journal.write_part, options)


def _on_dask(todo: list, config: FeatureConfig, out: str | os.PathLike, options: RunOptions,
             client, workers: int | None) -> Iterator[Done]:
    from featx.embedding.dask import embed_on_dask

    return embed_on_dask(todo, config, out, options, client=client, workers=workers)

"""featx.finetuning.loop: one training stage keeps its best weights, on Ctrl-C too."""

from __future__ import annotations

import numpy as np

from featx.backbones.config import resolve
from featx.finetuning import network
from featx.finetuning.loop import evaluate, fit_stage


def test_ctrl_c_keeps_the_best_weights_so_far(blocks_model_file):
    import keras
    import tensorflow as tf

    net = network.build(resolve(str(blocks_model_file)), 2)
    network.unfreeze(net, 1)
    trunk, top, _ = network.split(net.model, net.features_layer)
    x = np.random.default_rng(0).uniform(0, 255, (8, 32, 32, 3)).astype(np.float32)
    y = np.arange(8) % 2
    start = [w.copy() for w in net.model.get_weights()]

    class Interrupt(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            raise KeyboardInterrupt

    batches = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
    stage = fit_stage(net.model, top, batches, (trunk.predict(x[:4], verbose=0), y[:4]),
                      epochs=3, learning_rate=1.0, patience=3, n_images=8, progress=False,
                      callbacks=[Interrupt()])
    assert stage.interrupted and stage.epochs == 0 and stage.best_epoch == 0
    for a, b in zip(net.model.get_weights(), start, strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_starting_weights_are_kept_when_no_epoch_beats_them():
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    top = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    X = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)  # noqa: N806
    y = (X[:, 0] > 0).astype(np.int32)
    start = [w.copy() for w in top.get_weights()]
    wrong = tf.data.Dataset.from_tensor_slices((X, 1 - y)).batch(8)  # training makes it worse
    stage = fit_stage(top, top, wrong, (X, y), epochs=2, learning_rate=1.0, patience=5,
                      n_images=16, progress=False)
    assert stage.epochs == 2 and stage.best_epoch == 0
    assert stage.best == stage.start == evaluate(top, X, y)
    for a, b in zip(top.get_weights(), start, strict=True):
        np.testing.assert_array_equal(a, b)

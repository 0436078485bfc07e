"""Save results your own way: ``custom_save`` writes the file, tmt remembers where it is."""

import numpy as np

from tmt import TmtManager, tmt_recorder, tmt_save


def my_save_fn(obj, path):
    np.save(path, obj)


def save_fn_path(obj, path):
    new_path = path.replace(".npy", "_copy.npy")
    np.save(new_path, obj)
    return new_path  # returned paths are recorded instead of the proposed one


@tmt_recorder(name="custom_save_demo")
def train_and_predict():
    preds = np.random.default_rng(0).random(5)
    tmt_save(preds, name="lr_predictions", custom_save=my_save_fn, extension=".npy")
    tmt_save(preds, name="lr_predictions_elsewhere", custom_save=save_fn_path, extension=".npy")
    return {"mean": preds.mean()}


if __name__ == "__main__":
    train_and_predict()
    manager = TmtManager()
    manager.set_entry_by_name("custom_save_demo")
    for name, path in manager.results_paths():
        print(name, np.load(path).round(3))

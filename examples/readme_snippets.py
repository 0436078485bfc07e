"""Every snippet of the ThatMetricTimeline 0.1.x README, as written, run against tmt.

The README trains scikit-learn models; when scikit-learn is not installed, tiny stand-ins
with the same calls are used, so the tmt parts run exactly as the README shows them.
"""

import os
import pickle
import tempfile
from datetime import datetime, timedelta

try:
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
except ImportError:
    import numpy as np

    def make_classification(n_samples=100, seed=0):
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(n_samples, 2))
        return x, (x[:, 0] + x[:, 1] > 0).astype(int)

    class LogisticRegression:
        def fit(self, x, y):
            self.w = np.linalg.lstsq(np.c_[x, np.ones(len(x))], y * 2 - 1, rcond=None)[0]
            return self

        def predict(self, x):
            return (np.c_[x, np.ones(len(x))] @ self.w > 0).astype(int)

    def accuracy_score(y_true, y_pred):
        return float(np.mean(y_true == y_pred))

    def f1_score(y_true, y_pred):
        tp = np.sum((y_true == 1) & (y_pred == 1))
        return float(2 * tp / (np.sum(y_true == 1) + np.sum(y_pred == 1)))


from tmt import TmtManager, tmt_recorder, tmt_save

x_tr, y_tr = make_classification()
x_te, y_te = make_classification()

# --- Tracking experiments ------------------------------------------------------------------


@tmt_recorder(name="some_experiment")
def train_and_predict(x_tr, y_tr, x_te, y_te):
    lr = LogisticRegression()
    lr.fit(x_tr, y_tr)
    preds = lr.predict(x_te)
    return {'f1': f1_score(y_te, preds), 'accuracy': accuracy_score(y_te, preds)}


train_and_predict(x_tr, y_tr, x_te, y_te)


@tmt_recorder(name="some_experiment_with_data")
def train_and_predict(x_tr, y_tr, x_te, y_te):
    lr = LogisticRegression()
    lr.fit(x_tr, y_tr)
    preds = lr.predict(x_te)
    tmt_save(preds, name='lr_predictions')
    return {'f1': f1_score(y_te, preds), 'accuracy': accuracy_score(y_te, preds)}


train_and_predict(x_tr, y_tr, x_te, y_te)

# --- Loading and using tracked experiments in your code --------------------------------------

example = TmtManager().db.get_entry_by_exact_name("some_experiment_with_data").id

# An Entry is a row in the database, i.e. an experiment that was tracked.
manager = TmtManager()
manager.set_entry_by_id(example)

# load the results and unpickle them
for name, path in manager.results_paths():
    with open(path, 'rb') as f:
        # do stuff with your results. If it's a pickle it's
        # more convenient to use the code block below this one
        res = pickle.load(f)

# load the unpickled results
for name, res in manager.load_results():
    # do something with your results.
    # if res is a numpy array...
    print(res.mean())


for name, val in manager.get_metrics():
    print(f"{name}: {val}")

date_or_timestamp = datetime.now() - timedelta(hours=1)
print(len(manager.db.get_entries_greater_than_date(date_or_timestamp)), "runs in the last hour")

# --- Custom configuration -------------------------------------------------------------------
# The README uses /config/path/config.json; a temporary folder stands in for /config/path.

config_dir = tempfile.mkdtemp()
config_path = os.path.join(config_dir, "config.json")
with open(config_path, "w") as f:
    f.write("""{
    // tmt_dir specifies the path where code snapshots and
    // results will be saved. You may use an absolute
    // path as well
    "tmt_dir": ".example",
    "snapshot_source": ".",
    "snapshot_target": "snapshot_example",
    "last_snapshot_link": "snapshot_example/last",
    "json_db_path": "tmt_db.json",
    "results_path": "results"
}""")


@tmt_recorder('custom_config', config_path=config_path)
def with_custom_config():
    x, y = make_classification()
    lr = LogisticRegression()
    lr.fit(x, y)
    preds = lr.predict(x)
    return {'f1': f1_score(y, preds), 'accuracy': accuracy_score(y, preds)}


with_custom_config()

manager = TmtManager(config=config_path)
# do your stuff
print(manager.set_entry_by_name("custom_config").metrics)

"""Runs written for the tools people already use: TensorBoard event files, and MLflow runs.

Both are optional extras, imported only here and only when asked for: ``[tensorboard]`` (the
``tensorboard`` package alone writes and reads event files; TensorFlow is not needed) and
``[mlflow]``. Steps and wall times are the ones ``tmt_log`` recorded; TensorBoard keeps
scalars as 32-bit floats, as TensorFlow writes them (its data server shows no others), MLflow
as doubles. Exporting again replaces what an earlier export of the same run wrote, never
adding a second copy.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from decimal import Decimal

from .jsonvalue import flatten

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from .entry import Entry

#: The tag an exported MLflow run carries its tmt run's id in.
RUN_ID_TAG = "tmt.run_id"
#: The tag saying what state of the run was exported (exported again when it changes).
_EXPORTED_TAG = "tmt.exported_state"
#: The suffix of the event files tmt writes (those an export again replaces).
EVENTS_SUFFIX = ".tmt"
_UNSAFE = re.compile(r"[^\w.\-+=@]+")
_MLFLOW_KEY = re.compile(r"[^\w\-. /:]+")
_MLFLOW_STATUS = {
    "finished": "FINISHED",
    "failed": "FAILED",
    "crashed": "FAILED",
    "interrupted": "KILLED",
    "terminated": "KILLED",
    "pruned": "KILLED",
    "running": "RUNNING",
}


def _needs(module: str, extra: str, what: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(
            f"{what} needs {extra}: pip install 'ThatMetricTimeline[{extra.lower()}]'"
        ) from None


# TensorBoard ---------------------------------------------------------------------------------
def to_tensorboard(entries: Iterable[Entry], folder: str) -> list[str]:
    """Write each run as a TensorBoard run, ``folder/<name>/<id>``: its series as scalars
    (steps, wall times), final metrics not logged as series as scalars at its last step, and
    its parameters and status through the hparams plugin; returns the folders written."""
    _needs("tensorboard", "TensorBoard", "export to TensorBoard")
    from tensorboard.plugins.hparams import summary_v2 as hp

    entries = list(entries)
    written = []
    hparams: dict[str, None] = {}
    metrics: dict[str, None] = {}
    for entry in entries:
        run_folder = os.path.join(folder, _safe(entry.name), entry.id)
        params = _hparams(entry)
        hparams.update(dict.fromkeys(params))
        with _EventFile(run_folder) as events:
            start = entry.start_time
            events.write(hp.hparams_pb(params, trial_id=entry.id, start_time_secs=start), 0, start)
            last_step = 0
            for name, series in entry.all_series().items():
                metrics[name] = None
                for step, value, when in zip(series.steps, series.values, series.times):
                    events.write(_scalar(name, value), step, when)
                    last_step = max(last_step, step)
            logged = set(entry.series_names())
            ended = entry.end_time or start
            for name, value in _numbers(entry.metrics).items():
                if name not in logged:
                    metrics[name] = None
                    events.write(_scalar(name, value), last_step, ended)
            events.write(_session_end(entry), last_step, ended)
        written.append(run_folder)
    if entries:
        # What an earlier export into ``folder`` declared stays declared: its runs are there.
        before_params, before_metrics = _declared(folder)
        config = hp.hparams_config_pb(
            hparams=[hp.HParam(name) for name in {**dict.fromkeys(before_params), **hparams}],
            metrics=[hp.Metric(name) for name in {**dict.fromkeys(before_metrics), **metrics}],
        )
        with _EventFile(folder) as events:
            events.write(config, 0, min(e.start_time for e in entries))
    return written


def _declared(folder: str) -> tuple[list[str], list[str]]:
    """The parameters and metrics the experiment summary tmt wrote in ``folder`` declares."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    from tensorboard.plugins.hparams import metadata

    params: list[str] = []
    metrics: list[str] = []
    try:
        names = [n for n in os.listdir(folder) if n.endswith(EVENTS_SUFFIX)]
    except OSError:
        return params, metrics
    for name in names:
        if not name.startswith("events.out.tfevents."):
            continue
        try:
            for event in EventFileLoader(os.path.join(folder, name)).Load():
                for value in event.summary.value:
                    if value.tag == metadata.EXPERIMENT_TAG:
                        data = value.metadata.plugin_data.content
                        experiment = metadata.parse_experiment_plugin_data(data)
                        params += [h.name for h in experiment.hparam_infos]
                        metrics += [m.name.tag for m in experiment.metric_infos]
        except Exception:  # a damaged file of ours: it is replaced, its names forgotten
            continue
    return params, metrics


class _EventFile:
    """One event file of tmt's in ``folder``, replacing any earlier one of tmt's there."""

    def __init__(self, folder: str) -> None:
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(folder):
            if name.startswith("events.out.tfevents.") and name.endswith(EVENTS_SUFFIX):
                os.unlink(os.path.join(folder, name))
        self.writer = EventFileWriter(folder, filename_suffix=EVENTS_SUFFIX)

    def write(self, summary: Any, step: int, wall_time: float) -> None:
        from tensorboard.compat.proto import event_pb2

        self.writer.add_event(event_pb2.Event(summary=summary, step=step, wall_time=wall_time))

    def __enter__(self) -> _EventFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.writer.close()


def _scalar(tag: str, value: float) -> Any:
    """A scalar summary of ``value`` as ``tf.summary.scalar`` writes one: a 32-bit float
    (TensorBoard's data server shows no other kind)."""
    from tensorboard.compat.proto import summary_pb2
    from tensorboard.util import tensor_util

    metadata = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
        data_class=summary_pb2.DATA_CLASS_SCALAR,
    )
    tensor = tensor_util.make_tensor_proto(float(value), dtype="float32")
    return summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag=tag, tensor=tensor, metadata=metadata)]
    )


def _session_end(entry: Entry) -> Any:
    """The hparams plugin's end of a session: how the run ended, and when."""
    from tensorboard.compat.proto import summary_pb2
    from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

    status = {
        "finished": api_pb2.STATUS_SUCCESS,
        "failed": api_pb2.STATUS_FAILURE,
        "crashed": api_pb2.STATUS_FAILURE,
        "running": api_pb2.STATUS_RUNNING,
    }.get(entry.status, api_pb2.STATUS_UNKNOWN)  # interrupted, terminated, pruned
    info = plugin_data_pb2.SessionEndInfo(status=status, end_time_secs=entry.end_time or 0.0)
    data = plugin_data_pb2.HParamsPluginData(session_end_info=info)
    summary = summary_pb2.Summary()
    summary.value.add(
        tag=metadata.SESSION_END_INFO_TAG,
        metadata=metadata.create_summary_metadata(data),
        tensor=metadata.NULL_TENSOR,
    )
    return summary


def _hparams(entry: Entry) -> dict[str, Any]:
    """The run's parameters as TensorBoard takes them: flat, each a number, a bool or text."""
    found: dict[str, Any] = {}
    for name, value in flatten(entry.params).items():
        if value is None:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            found[name] = str(value)  # the hparams plugin drops a number that is not one
        elif isinstance(value, (bool, int, float, str)):
            found[name] = value
        else:
            found[name] = json.dumps(value, default=str)
    return found


# MLflow ------------------------------------------------------------------------------------
def to_mlflow(
    entries: Iterable[Entry], tracking_uri: str | None = None, experiment: str | None = None
) -> dict[str, int]:
    """Make each run an MLflow run, in ``experiment`` (default: one MLflow experiment per
    experiment name): its parameters, each metric with its whole history (steps and times),
    tags (tmt's, and ``tmt.run_id``), note, status, start and end. A run exported before is
    left as it is, unless it has changed since (it was running, or was tagged): then its
    earlier export is deleted and it is exported anew. Returns counts: created, replaced,
    unchanged."""
    _needs("mlflow", "MLflow", "export to MLflow")
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    counts = {"created": 0, "replaced": 0, "unchanged": 0}
    experiments: dict[str, tuple[str, dict[str, list[Any]]]] = {}
    for entry in entries:
        name = (experiment or entry.name or "tmt")[:500]  # MLflow's longest experiment name
        if name not in experiments:
            found = client.get_experiment_by_name(name)
            if found is not None and found.lifecycle_stage == "deleted":
                raise ValueError(
                    f"the MLflow experiment {name!r} is deleted: restore it (mlflow "
                    f"experiments restore --experiment-id {found.experiment_id}) or name "
                    "another with --experiment"
                )
            if found is None:
                experiments[name] = (client.create_experiment(name), {})
            else:
                experiments[name] = (found.experiment_id, _exported(client, found.experiment_id))
        experiment_id, exported = experiments[name]
        earlier = exported.get(entry.id, [])
        tags = _mlflow_tags(entry)
        if earlier:
            same = [r.data.tags.get(_EXPORTED_TAG) == tags[_EXPORTED_TAG] for r in earlier]
            if all(same) and entry.status != "running":  # a running run: its latest state
                counts["unchanged"] += 1
                continue
            for old in earlier:
                client.delete_run(old.info.run_id)
        state = tags.pop(_EXPORTED_TAG)  # set last: a run without it was not finished
        run = client.create_run(
            experiment_id,
            start_time=int(entry.start_time * 1000),
            tags=tags,
            run_name=entry.name,
        )
        run_id = run.info.run_id
        try:
            _log_run(client, run_id, entry)
            client.set_tag(run_id, _EXPORTED_TAG, state)
        except BaseException:
            client.delete_run(run_id)  # no half-exported run, and the next export tries again
            raise
        counts["replaced" if earlier else "created"] += 1
    return counts


def _log_run(client: Any, run_id: str, entry: Entry) -> None:
    """Log a run's parameters, metric histories and status into MLflow run ``run_id``."""
    from mlflow.entities import Metric, Param

    keys = _Keys()
    params = [Param(keys(k), _text(v)[:6000]) for k, v in flatten(entry.params).items()]
    keys = _Keys()
    metrics = []
    for name, series in entry.all_series().items():
        key = keys(name)
        for step, value, when in zip(series.steps, series.values, series.times):
            metrics.append(Metric(key, float(value), int(when * 1000), step))
    logged = set(entry.series_names())
    ended = int((entry.end_time or entry.start_time) * 1000)
    for name, value in _numbers(entry.metrics).items():
        if name not in logged:
            metrics.append(Metric(keys(name), value, ended, 0))
    for i in range(0, len(params), 100):  # MLflow's limits for one request
        client.log_batch(run_id, params=params[i : i + 100])
    for i in range(0, len(metrics), 1000):
        client.log_batch(run_id, metrics=metrics[i : i + 1000])
    status = _MLFLOW_STATUS.get(entry.status, "FAILED")
    if status != "RUNNING":
        client.set_terminated(run_id, status, end_time=ended)


class _Keys:
    """MLflow keys for names, one each: two names that read as one key once cleaned
    (``a?b`` and ``a_b``) are kept apart, the later as ``a_b_2``."""

    def __init__(self) -> None:
        self.given: dict[str, str] = {}
        self.used: set[str] = set()

    def __call__(self, name: str) -> str:
        if name in self.given:
            return self.given[name]
        key = base = _mlflow_key(name)
        n = 1
        while key in self.used:
            n += 1
            key = f"{base[:240]}_{n}"
        self.given[name] = key
        self.used.add(key)
        return key


def _exported(client: Any, experiment_id: str) -> dict[str, list[Any]]:
    """The runs of an MLflow experiment exported from tmt, by tmt run id (read once, a page
    of a thousand at a time, rather than searched for run by run)."""
    found: dict[str, list[Any]] = {}
    token = None
    while True:
        page = client.search_runs(
            [experiment_id],
            filter_string=f"tags.`{RUN_ID_TAG}` LIKE '%'",
            max_results=1000,
            page_token=token,
        )
        for run in page:
            found.setdefault(run.data.tags[RUN_ID_TAG], []).append(run)
        token = page.token
        if not token:
            return found


def _mlflow_tags(entry: Entry) -> dict[str, str]:
    import hashlib

    state = [entry.status, entry.end_time, entry.tags, entry.note, entry.description]
    tags = {
        RUN_ID_TAG: entry.id,
        _EXPORTED_TAG: hashlib.sha256(json.dumps(state, default=str).encode()).hexdigest()[:16],
        "tmt.status": entry.status,
        "tmt.host": entry.host or "",
        "mlflow.user": str(entry.environment.get("user") or ""),
    }
    text = "\n\n".join(t for t in (entry.description, entry.note) if t)
    if text:
        tags["mlflow.note.content"] = text
    command = entry.command or {}
    source = command.get("script") or command.get("module")
    if source:
        tags["mlflow.source.name"] = str(source)
    git = entry.git or {}
    if git.get("commit"):
        tags["mlflow.source.git.commit"] = str(git["commit"])
    if git.get("branch"):
        tags["mlflow.source.git.branch"] = str(git["branch"])
    for tag in entry.tags:
        tags[f"tmt.tag.{_mlflow_key(tag)}"] = "true"
    if entry.rerun_of:
        tags["tmt.rerun_of"] = entry.rerun_of
    # MLflow's limit for a tag's value (a long note is cut, not refused by a server).
    return {key: value[:8000] for key, value in tags.items()}


def _mlflow_key(name: str) -> str:
    """A name MLflow accepts as a key (letters, digits, ``_ - . / :`` and spaces)."""
    return _MLFLOW_KEY.sub("_", name)[:250] or "_"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _numbers(metrics: dict[str, Any]) -> dict[str, float]:
    """The metrics that are numbers (NaN and infinities included), flattened."""
    return {
        name: float(value)
        for name, value in flatten(metrics).items()
        if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)
    }


def _safe(name: str) -> str:
    """A folder name for an experiment name (TensorBoard names runs by their folders): safe
    characters, and at most 100 bytes (a longer name ends with a hash of the whole)."""
    safe = _UNSAFE.sub("_", name).strip(".") or "run"
    if len(safe.encode()) <= 100:
        return safe
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return safe.encode()[:90].decode(errors="ignore").rstrip(".") + "-" + digest

"""``metrics.csv``, where a run's logged values are kept, and reading it back.

Plain CSV, one line a logged value, appended as the run goes::

    name,step,value,time
    loss,0,0.693,1795379108.031

``time`` is the wall time of the ``tmt_log`` call, in seconds since the epoch, to the
millisecond. A line cut by a crash is skipped when read.
"""

from __future__ import annotations

import csv
import io

from .jsonfile import read_text

SERIES_FILE = "metrics.csv"
HEADER = "name,step,value,time\n"
#: The largest ``metrics.csv`` read back, in bytes (some 25 million logged values).
MAX_SERIES_FILE = 1024 * 1024 * 1024


def read_series(path: str) -> dict[str, tuple[list[int], list[float], list[float]]]:
    """The series in a ``metrics.csv``: name -> (steps, values, times), in logged order.

    Lines that are not a logged value (cut by a crash, edited, garbled) are skipped; a file
    that cannot be read at all gives no series.
    """
    series: dict[str, tuple[list[int], list[float], list[float]]] = {}
    try:
        text = read_text(path, MAX_SERIES_FILE)
    except OSError:
        return series
    rows = csv.reader(io.StringIO(text.replace("\0", ""), newline=""))
    next(rows, None)  # the header
    try:
        for row in rows:
            if len(row) != 4:
                continue  # a line cut by a crash
            try:
                step, value, when = int(row[1]), float(row[2]), float(row[3])
            except ValueError:
                continue
            steps, values, times = series.setdefault(row[0], ([], [], []))
            steps.append(step)
            values.append(value)
            times.append(when)
    except csv.Error:  # an unterminated quote, say: keep what came before it
        pass
    return series


def csv_field(name: str) -> str:
    """``name`` as a CSV field, quoted when it holds a comma, a quote or a line break."""
    if "," in name or '"' in name or "\n" in name or "\r" in name:
        return '"' + name.replace('"', '""') + '"'
    return name
